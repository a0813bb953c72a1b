/* SPDX-License-Identifier: MIT */
#include "tests/fuzz/virtio_fuzz.h"

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_CHAIN 8

/*
 * What the driver knows of each chain it made, to hold the device to
 * §2.7.8.2 (the used length is the number of bytes written into the
 * chain's device-writable buffers): per head, whether it is in flight (made,
 * not yet seen in the used ring), which ring slots it covers, and its
 * writable total.  vtd's driver reuses slots round-robin without waiting for
 * completions, so a chain overwritten while in flight may still complete:
 * its head becomes "stale" and is not checked again until a reset.
 */
struct head_rec {
	bool inflight;
	uint8_t first, n; /* ring slots first..first+n-1 (mod VTD_QSIZE) */
	uint64_t writable;
};
static struct head_rec recs[VTD_MAX_QUEUES][VTD_QSIZE];
static uint32_t stale[VTD_MAX_QUEUES]; /* bit h: head h may complete an unknown chain */
/*
 * Set once any buffer may lie on the ring pages or the rings were
 * scribbled on: descriptors may then change behind the records' back.
 */
static bool tainted;

/* VFZ_TRACE=1 in the environment: one line per driver action on stderr, to read a reproducer. */
static bool tracing(void)
{
	static int on = -1;

	if (on < 0)
		on = getenv("VFZ_TRACE") != NULL;
	return on;
}

#define TRACE(...)                                                                                 \
	do {                                                                                       \
		if (tracing())                                                                     \
			fprintf(stderr, "vfz: " __VA_ARGS__);                                      \
	} while (0)

static void forget_all(void)
{
	memset(recs, 0, sizeof(recs));
	memset(stale, 0, sizeof(stale));
}

/* Slots [first, first+n) are being rewritten: chains in flight there go stale. */
static void clobber_slots(unsigned q, unsigned first, unsigned n)
{
	for (unsigned h = 0; h < VTD_QSIZE; h++) {
		struct head_rec *r = &recs[q][h];

		for (unsigned i = 0; r->inflight && i < r->n; i++)
			for (unsigned j = 0; j < n; j++)
				if ((r->first + i) % VTD_QSIZE == (first + j) % VTD_QSIZE) {
					r->inflight = false;
					stale[q] |= 1u << h;
				}
	}
}

void vfz_untracked(void)
{
	tainted = true;
}

/* The driver must accept VERSION_1 (else FEATURES_OK is refused and vtd asserts). */
static uint64_t pick_drop(struct fuzz_in *in)
{
	return fuzz_u64(in) & ~(1ull << VIRTIO_F_VERSION_1);
}

void vfz_start(struct virtio_test_driver *d, struct fuzz_in *in, unsigned nqueues,
	       const struct virtio_device_ops *ops, void *dev, struct ev_loop *loop)
{
	static uint8_t *ram;

	/*
	 * One RAM buffer for every input, cleared each time: fresh pages per
	 * input (vtd_init's calloc) made page faults 70% of the run time.
	 * Cleared so an input means the same thing whatever ran before it.
	 */
	if (!ram && !(ram = malloc(VTD_RAM_BYTES)))
		abort();
	memset(ram, 0, VTD_RAM_BYTES);
	vtd_init_ram(d, nqueues, ram);
	vtd_attach(d, ops, dev, loop);
	vtd_driver_init(d, pick_drop(in));
	forget_all();
	tainted = false;
}

void vfz_stop(struct virtio_test_driver *d)
{
	vtd_write32(d, VIRTIO_MMIO_STATUS, 0);
	vtd_fini(d);
}

static uint64_t pick_gpa(struct fuzz_in *in)
{
	uint8_t sel = fuzz_u8(in);

	if (sel < 224)
		return VTD_BUF_GPA + (uint64_t)fuzz_u16(in) * 16; /* the buffer area */
	if (sel < 240)
		return VTD_RAM_BYTES - (fuzz_u16(in) & 0xfff); /* the end of RAM */
	return fuzz_u64(in);
}

static uint32_t pick_len(struct fuzz_in *in)
{
	uint8_t sel = fuzz_u8(in);

	if (sel < 96)
		return fuzz_u8(in);
	if (sel < 192)
		return 512u * (fuzz_u8(in) % 9); /* sectors */
	if (sel < 248)
		return fuzz_u16(in);
	return fuzz_u32(in); /* huge: must be refused or clamped, never followed */
}

static void fill_buf(struct virtio_test_driver *d, struct fuzz_in *in, const struct vfz_hooks *h,
		     const struct vtd_buf *b, unsigned index)
{
	uint8_t *host = gm_ptr(&d->gm, b->gpa, b->len);

	if (!host || b->writable)
		return;
	if (h->fill)
		h->fill(h->ctx, in, host, b->len, index);
}

/* A chain laid out as a driver would, possibly through an indirect table. */
static void add_chain(struct virtio_test_driver *d, struct fuzz_in *in, const struct vfz_hooks *h,
		      unsigned q)
{
	uint8_t shape = fuzz_u8(in);
	unsigned n = 1 + shape % MAX_CHAIN;
	struct vtd_buf bufs[MAX_CHAIN];
	unsigned readable = 0;

	for (unsigned i = 0; i < n; i++) {
		uint8_t f = fuzz_u8(in);

		bufs[i].gpa = pick_gpa(in);
		if (bufs[i].gpa < VTD_BUF_GPA)
			tainted = true;
		bufs[i].len = pick_len(in);
		/* Mostly readable first, then writable, as the spec orders them. */
		bufs[i].writable = f & 0x80 ? (f & 1) : i >= (unsigned)(shape >> 3 & 7);
		fill_buf(d, in, h, &bufs[i], bufs[i].writable ? 0 : readable++);
	}
	if (shape & 0x80) {
		/* §2.7.5.3: one ring descriptor pointing at a table of n descriptors. */
		uint64_t table = VTD_BUF_GPA + (uint64_t)(fuzz_u16(in) % 4096) * 16;
		struct vring_desc *t = gm_ptr(&d->gm, table, n * sizeof(*t));
		struct vtd_buf ind = {table, n * (uint32_t)sizeof(*t), false};
		uint16_t head;

		if (!t)
			return;
		for (unsigned i = 0; i < n; i++) {
			t[i].addr = bufs[i].gpa;
			t[i].len = bufs[i].len;
			t[i].flags = (uint16_t)((bufs[i].writable ? VRING_DESC_F_WRITE : 0) |
						(i + 1 < n ? VRING_DESC_F_NEXT : 0));
			t[i].next = (uint16_t)(i + 1);
		}
		clobber_slots(q, d->queue[q].next_desc, 1);
		head = vtd_add_chain(d, q, &ind, 1);
		stale[q] |= 1u << head; /* not tracked: its table lies in the buffer area */
		vtd_desc_table(d, q)[head].flags = VRING_DESC_F_INDIRECT;
		return;
	}
	{
		struct head_rec r = {true, (uint8_t)d->queue[q].next_desc, (uint8_t)n, 0};
		uint16_t head;

		for (unsigned i = 0; i < n; i++)
			r.writable += bufs[i].writable ? bufs[i].len : 0;
		clobber_slots(q, r.first, n);
		head = vtd_add_chain(d, q, bufs, n);
		recs[q][head] = r;
		TRACE("q%u chain head %u, %u descs, %llu writable%s\n", q, head, n,
		      (unsigned long long)r.writable, stale[q] >> head & 1 ? " (stale)" : "");
		for (unsigned i = 0; i < n; i++)
			TRACE("   0x%llx +%u %s\n", (unsigned long long)bufs[i].gpa, bufs[i].len,
			      bufs[i].writable ? "w" : "r");
	}
}

/* The driver takes what the device completed, checking each used length. */
static void take_used(struct virtio_test_driver *d, unsigned q)
{
	while (vtd_used_pending(d, q) && vtd_used_pending(d, q) <= VTD_QSIZE) {
		uint32_t id, len = vtd_take_used(d, q, &id);

		TRACE("q%u used head %u len %u\n", q, id, len);
		if (id >= VTD_QSIZE || (stale[q] >> id & 1) || !recs[q][id].inflight)
			continue;
		if (!tainted && len > recs[q][id].writable) {
			fprintf(stderr,
				"queue %u: used length %u for head %u, whose chain has %llu "
				"writable bytes\n",
				q, len, id, (unsigned long long)recs[q][id].writable);
			abort();
		}
		recs[q][id].inflight = false; /* back with the driver */
	}
}

void vfz_step(struct virtio_test_driver *d, struct fuzz_in *in, const struct vfz_hooks *h)
{
	uint8_t op = fuzz_u8(in);
	unsigned q = (op >> 4) % d->nqueues;

	TRACE("op %u q%u\n", op & 15, q);
	switch (op & 15) {
	case 0:
	case 1:
	case 2:
	case 3:
		add_chain(d, in, h, q);
		break;
	case 4:
	case 5:
		vtd_notify(d, q);
		break;
	case 6: { /* one raw descriptor */
		unsigned slot = fuzz_u8(in) % VTD_QSIZE;
		struct vring_desc *desc = &vtd_desc_table(d, q)[slot];

		clobber_slots(q, slot, 1);
		tainted = true; /* its buffer may be anywhere */

		desc->addr = pick_gpa(in);
		desc->len = pick_len(in);
		desc->flags = fuzz_u16(in);
		desc->next = fuzz_u16(in);
		break;
	}
	case 7: { /* raw bytes on the ring pages or in the buffer area */
		uint64_t off = fuzz_u8(in) & 1 ? 0x1000 + fuzz_u16(in) % (VTD_BUF_GPA - 0x1000)
					       : VTD_BUF_GPA + fuzz_u16(in);
		size_t got;
		const uint8_t *src = fuzz_take(in, fuzz_u8(in) % 16, &got);

		memcpy(d->ram + off, src, got);
		if (off < VTD_BUF_GPA)
			tainted = true; /* descriptors and rings are anyone's guess now */
		break;
	}
	case 8: /* avail->idx anywhere */
		d->queue[q].avail_idx = fuzz_u16(in);
		vtd_avail_ring(d, q)->idx = d->queue[q].avail_idx;
		tainted = true; /* stale avail entries re-offer heads the driver has back */
		break;
	case 9: /* the driver takes what the device completed */
		take_used(d, q);
		break;
	case 10: /* reset, and initialise again with other features */
		vtd_write32(d, VIRTIO_MMIO_STATUS, 0);
		vtd_driver_init(d, pick_drop(in));
		forget_all();
		break;
	case 11: { /* any register write (status, ack, queue setup while live...) */
		uint64_t off = (fuzz_u8(in) % (VIRTIO_MMIO_CONFIG / 4)) * 4;

		if (off == VIRTIO_MMIO_QUEUE_NOTIFY || off == VIRTIO_MMIO_STATUS)
			vtd_write32(d, off, fuzz_u8(in));
		else
			vtd_write32(d, off, fuzz_u32(in));
		break;
	}
	case 12: { /* config space, any width */
		static const uint32_t widths[] = {1, 2, 4, 8};
		uint8_t buf[8];
		uint64_t off = VIRTIO_MMIO_CONFIG + fuzz_u8(in);

		virtio_mmio_read(d->t, off, buf, widths[fuzz_u8(in) & 3]);
		break;
	}
	case 13:
	case 14:
		if (h->extra)
			h->extra(h->ctx, in);
		break;
	default:
		(void)vtd_read32(d, VIRTIO_MMIO_INTERRUPT_STATUS);
		vtd_write32(d, VIRTIO_MMIO_INTERRUPT_ACK, 3);
		break;
	}
}

void vfz_run(struct virtio_test_driver *d, struct fuzz_in *in, const struct vfz_hooks *h)
{
	while (!fuzz_empty(in))
		vfz_step(d, in, h);
}
