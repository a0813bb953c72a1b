// SPDX-License-Identifier: MIT
/*
 * The split virtqueue, device side (VIRTIO 1.2 §2.7).
 *
 * Everything in a ring belongs to the guest and may change under our feet,
 * from another vCPU, at any moment.  So: each index or descriptor is read
 * exactly once into a local and only the local is used; every guest address
 * goes through gm_ptr() (one RAM region, no wrap); and the walk of a chain is
 * bounded (queue size for the descriptor table, table length for an
 * indirect table, VIRTQ_MAX_CHAIN buffers in all) so a loop cannot hang us.
 *
 * Memory ordering, device side, against the Linux driver (virtio_ring.c):
 *  - pop:  load avail->idx with acquire, then the ring entry and descriptors;
 *          pairs with the driver's virtio_wmb() between writing the ring entry
 *          and avail->idx (virtqueue_add_split).
 *  - push: store the used element, then used->idx with release; pairs with
 *          the driver's virtio_rmb() after reading used->idx (virtqueue_get_buf).
 *  - interrupt decision: a full fence between storing used->idx and reading
 *          used_event / avail->flags; pairs with the driver's virtio_mb() in
 *          virtqueue_enable_cb_delayed/virtqueue_poll between publishing
 *          used_event and re-reading used->idx.
 *  - avail_event: store it, full fence, re-read avail->idx; pairs with the
 *          driver's virtio_mb() in virtqueue_kick_prepare_split between
 *          storing avail->idx and reading avail_event.
 *
 * The three ring areas are translated once, by virtq_validate(), for the
 * size checked there (vq->ring); pop and push index them with that size
 * only.  Re-deriving them per call from fields a register write can change
 * left a window between the check and the index (issue 10, defect 1).
 *
 * Zero-length buffers are allowed (the spec does not forbid them) but are
 * skipped: they count towards the chain-length bound and the readable-
 * before-writable order, but do not appear in chain->bufs and their address
 * is not checked (nothing is ever read or written there).
 *
 * The guest is little-endian like the host (x86 only); le*toh() marks where
 * the ring's byte order matters.
 */
#include "devices/virtqueue.h"

#include <endian.h>
#include <errno.h>
#include <linux/virtio_ring.h>
#include <string.h>

/* A descriptor as read (once) from guest memory. */
struct desc_copy {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* The table a chain walk is currently in: the ring's, or an indirect one. */
struct desc_table {
	const uint8_t *desc; /* bytes: an indirect table may be misaligned */
	uint32_t len;	     /* entries */
	uint32_t steps;	     /* descriptors visited in this table (loop bound) */
	bool indirect;
};

static uint64_t desc_area_bytes(uint16_t size)
{
	return (uint64_t)size * sizeof(struct vring_desc);
}

/* flags, idx, ring[size], used_event (§2.7.6) */
static uint64_t avail_area_bytes(uint16_t size)
{
	return 6 + (uint64_t)size * 2;
}

/* flags, idx, ring[size], avail_event (§2.7.8) */
static uint64_t used_area_bytes(uint16_t size)
{
	return 6 + (uint64_t)size * sizeof(struct vring_used_elem);
}

static bool is_power_of_2(uint32_t v)
{
	return v && !(v & (v - 1));
}

/*
 * The ring as validated, or NULL (never validated, or validation failed:
 * also guards devices that set a queue up without virtq_validate()).
 * Callers take `num` and the area pointers from the result only.
 */
static const struct virtq_ring *validated_ring(const struct virtq *vq)
{
	return vq->ring.num ? &vq->ring : NULL;
}

static uint16_t load_u16_relaxed(const uint16_t *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static void store_u16_relaxed(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELAXED);
}

/*
 * One copy of a descriptor.  Indirect tables have no alignment guarantee,
 * so memcpy rather than atomic loads; the compiler barrier stops the
 * compiler from re-reading guest memory instead of using the copy (the
 * READ_ONCE trick for odd sizes).
 */
static void read_desc(const uint8_t *src, struct desc_copy *d)
{
	struct vring_desc raw;

	memcpy(&raw, src, sizeof(raw));
	__asm__ __volatile__("" ::: "memory");
	d->addr = le64toh(raw.addr);
	d->len = le32toh(raw.len);
	d->flags = le16toh(raw.flags);
	d->next = le16toh(raw.next);
}

static uint16_t *used_event_ptr(const struct virtq_ring *r)
{
	return &r->avail->ring[r->num];
}

static uint16_t *avail_event_ptr(const struct virtq_ring *r)
{
	return (uint16_t *)&r->used->ring[r->num];
}

void virtq_reset(struct virtq *vq)
{
	vq->last_avail_idx = 0;
	vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_used_valid = false;
	vq->broken = false;
}

/* §2.7: alignment 16 (descriptors), 2 (driver area), 4 (device area). */
int virtq_validate(struct virtq *vq)
{
	/* One read of each input: what is checked is what is recorded. */
	uint16_t num = vq->size;
	uint64_t desc = vq->desc_gpa, avail = vq->avail_gpa, used = vq->used_gpa;
	struct virtq_ring r = {0};

	vq->ring = (struct virtq_ring){0};
	if (!vq->mem || num > VIRTQ_MAX_SIZE || !is_power_of_2(num))
		return -EINVAL;
	if (desc % VRING_DESC_ALIGN_SIZE || avail % VRING_AVAIL_ALIGN_SIZE ||
	    used % VRING_USED_ALIGN_SIZE)
		return -EINVAL;
	r.desc = gm_ptr(vq->mem, desc, desc_area_bytes(num));
	r.avail = gm_ptr(vq->mem, avail, avail_area_bytes(num));
	r.used = gm_ptr(vq->mem, used, used_area_bytes(num));
	if (!r.desc || !r.avail || !r.used)
		return -EINVAL;
	r.num = num;
	vq->ring = r;
	return 0;
}

static int guest_error(struct virtq *vq, const char **why, const char *what)
{
	vq->broken = true;
	if (why)
		*why = what;
	return -EINVAL;
}

/* An indirect descriptor becomes the table the walk continues in (§2.7.5.3). */
static const char *enter_indirect(const struct virtq *vq, const struct desc_copy *d,
				  struct desc_table *table)
{
	const uint8_t *ind;

	if (!vq->indirect)
		return "indirect descriptor but VIRTIO_RING_F_INDIRECT_DESC not negotiated";
	if (table->indirect)
		return "nested indirect descriptor";
	if (d->flags & VRING_DESC_F_NEXT)
		return "indirect descriptor with the NEXT flag";
	if (d->len == 0 || d->len % sizeof(struct vring_desc))
		return "indirect table length not a non-zero multiple of 16";
	if (d->len / sizeof(struct vring_desc) > VIRTQ_MAX_CHAIN)
		return "indirect table longer than VIRTQ_MAX_CHAIN";
	ind = gm_ptr(vq->mem, d->addr, d->len);
	if (!ind)
		return "indirect table outside guest RAM";
	table->desc = ind;
	table->len = d->len / sizeof(struct vring_desc);
	table->steps = 0;
	table->indirect = true;
	return NULL;
}

/* Appends one buffer; device-readable ones must all come first (§2.7.4.2). */
static const char *add_buf(const struct virtq *vq, const struct desc_copy *d,
			   struct virtq_chain *chain, bool *seen_writable)
{
	bool writable = d->flags & VRING_DESC_F_WRITE;
	uint32_t *total = writable ? &chain->writable_len : &chain->readable_len;
	void *host;

	if (!writable && *seen_writable)
		return "device-readable buffer after a device-writable one";
	*seen_writable |= writable;
	if (d->len == 0)
		return NULL; /* allowed, skipped: see the top of the file */
	if (chain->nbufs == VIRTQ_MAX_CHAIN)
		return "chain has more than VIRTQ_MAX_CHAIN buffers";
	host = gm_ptr(vq->mem, d->addr, d->len);
	if (!host)
		return "buffer outside guest RAM or wrapping";
	if (__builtin_add_overflow(*total, d->len, total))
		return "chain longer than 4 GiB";
	chain->bufs[chain->nbufs++] = (struct virtq_buf){host, d->len, writable};
	return NULL;
}

/*
 * Walks the chain starting at `head`.  A table is left only by a descriptor
 * without NEXT; each table bounds its own number of steps (its length), so a
 * loop ends with an error after at most size + VIRTQ_MAX_CHAIN descriptors.
 */
static const char *walk_chain(const struct virtq *vq, const struct virtq_ring *r, uint16_t head,
			      struct virtq_chain *chain)
{
	struct desc_table table = {(const uint8_t *)r->desc, r->num, 0, false};
	uint32_t idx = head;
	bool seen_writable = false;
	struct desc_copy d;
	const char *err;

	for (;;) {
		if (idx >= table.len)
			return table.indirect ? "indirect descriptor index out of range"
					      : "descriptor index out of range";
		if (++table.steps > table.len)
			return "descriptor chain longer than its table (loop?)";
		read_desc(table.desc + idx * sizeof(struct vring_desc), &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			err = enter_indirect(vq, &d, &table);
			if (err)
				return err;
			idx = 0;
			continue;
		}
		err = add_buf(vq, &d, chain, &seen_writable);
		if (err)
			return err;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return NULL;
		idx = d.next;
	}
}

/*
 * With EVENT_IDX, before reporting an empty ring: ask to be kicked for the
 * next entry, then look again, because the driver may have added it before
 * it could see our avail_event.  Returns the re-read avail->idx.
 */
static uint16_t arm_and_recheck(struct virtq *vq, const struct virtq_ring *r)
{
	store_u16_relaxed(avail_event_ptr(r), vq->last_avail_idx);
	/* Pairs with virtio_mb() in the driver's virtqueue_kick_prepare_split(). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return le16toh(__atomic_load_n(&r->avail->idx, __ATOMIC_ACQUIRE));
}

int virtq_pop(struct virtq *vq, struct virtq_chain *chain, const char **why)
{
	const struct virtq_ring *r = validated_ring(vq);
	uint16_t avail_idx, head;
	const char *err;

	if (vq->broken) {
		if (why)
			*why = "queue is broken until reset";
		return -EIO;
	}
	if (!vq->ready || !r)
		return guest_error(vq, why, "queue not ready or rings not validated");

	/* Acquire pairs with the driver's virtio_wmb() before it bumps avail->idx. */
	avail_idx = le16toh(__atomic_load_n(&r->avail->idx, __ATOMIC_ACQUIRE));
	if (avail_idx == vq->last_avail_idx && vq->event_idx)
		avail_idx = arm_and_recheck(vq, r);
	if (avail_idx == vq->last_avail_idx)
		return 0;
	if ((uint16_t)(avail_idx - vq->last_avail_idx) > r->num)
		return guest_error(vq, why, "avail->idx more than the queue size ahead");

	head = load_u16_relaxed(&r->avail->ring[vq->last_avail_idx & (r->num - 1)]);
	chain->head = head;
	chain->nbufs = 0;
	chain->readable_len = 0;
	chain->writable_len = 0;
	if (head >= r->num)
		return guest_error(vq, why, "avail ring head index out of range");
	err = walk_chain(vq, r, head, chain);
	if (err)
		return guest_error(vq, why, err);
	vq->last_avail_idx++;
	return 1;
}

int virtq_push(struct virtq *vq, uint16_t head, uint32_t written)
{
	const struct virtq_ring *r = validated_ring(vq);
	struct vring_used_elem *elem;

	if (vq->broken || !vq->ready)
		return -EIO;
	if (!r || head >= r->num)
		return -EINVAL;
	elem = &r->used->ring[vq->used_idx & (r->num - 1)];
	__atomic_store_n(&elem->id, htole32(head), __ATOMIC_RELAXED);
	__atomic_store_n(&elem->len, htole32(written), __ATOMIC_RELAXED);
	vq->used_idx++;
	/* Release pairs with the driver's virtio_rmb() after reading used->idx. */
	__atomic_store_n(&r->used->idx, htole16(vq->used_idx), __ATOMIC_RELEASE);
	return 0;
}

bool virtq_needs_interrupt(struct virtq *vq)
{
	const struct virtq_ring *r = validated_ring(vq);
	uint16_t old, used_event;
	bool was_valid;

	if (!vq->ready || !r)
		return false;
	/*
	 * Full fence between our used->idx store and reading used_event or
	 * avail->flags; pairs with virtio_mb() in the driver's
	 * virtqueue_enable_cb_delayed()/virtqueue_poll(), which publish
	 * used_event (or clear NO_INTERRUPT) and then re-read used->idx.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(load_u16_relaxed(&r->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);

	/* §2.7.10: interrupt iff used_event lies in [old, new). */
	used_event = load_u16_relaxed(used_event_ptr(r));
	old = vq->signalled_used;
	was_valid = vq->signalled_used_valid;
	vq->signalled_used = vq->used_idx;
	vq->signalled_used_valid = true;
	if (!was_valid)
		return true;
	return vring_need_event(used_event, vq->used_idx, old);
}

void virtq_update_avail_event(struct virtq *vq)
{
	const struct virtq_ring *r = validated_ring(vq);

	if (!vq->event_idx || !vq->ready || !r)
		return;
	store_u16_relaxed(avail_event_ptr(r), vq->last_avail_idx);
	/* Pairs with virtio_mb() in the driver's virtqueue_kick_prepare_split(). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/*
 * Copies between a flat range and the chain's readable (or writable)
 * buffers, `offset` counted from the first buffer of that direction.
 */
static size_t chain_copy(const struct virtq_chain *chain, bool writable, size_t offset, void *flat,
			 size_t len, bool to_chain)
{
	size_t done = 0;

	for (unsigned i = 0; i < chain->nbufs && done < len; i++) {
		const struct virtq_buf *b = &chain->bufs[i];
		size_t n;

		if (b->device_writable != writable)
			continue;
		if (offset >= b->len) {
			offset -= b->len;
			continue;
		}
		n = b->len - offset;
		if (n > len - done)
			n = len - done;
		if (to_chain)
			memcpy((uint8_t *)b->host + offset, (uint8_t *)flat + done, n);
		else
			memcpy((uint8_t *)flat + done, (uint8_t *)b->host + offset, n);
		done += n;
		offset = 0;
	}
	return done;
}

size_t virtq_chain_read(const struct virtq_chain *chain, size_t offset, void *dst, size_t len)
{
	return chain_copy(chain, false, offset, dst, len, false);
}

size_t virtq_chain_write(const struct virtq_chain *chain, size_t offset, const void *src,
			 size_t len)
{
	return chain_copy(chain, true, offset, (void *)src, len, true);
}
