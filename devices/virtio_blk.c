/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (VIRTIO 1.2 §5.2): one request queue, served synchronously on
 * the event-loop thread (queue_notify is called there, via ioeventfd), so a
 * vCPU never waits for the disk.  The host side lives in disk_image.c.
 *
 * A request (§5.2.6) is a device-readable header {type, reserved, sector},
 * data (readable for OUT, writable for IN/GET_ID), and one device-writable
 * status byte at the very end of the chain.  Everything in it is guest
 * controlled: lengths, sectors and segment counts are checked before the
 * image is touched, and a chain without a status byte (nowhere to report
 * the error) is a guest error that puts the device in DEVICE_NEEDS_RESET.
 */
#include "devices/virtio_blk.h"

#include <endian.h>
#include <errno.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "devices/disk_image.h"
#include "vmm/stats.h"

#define BLK_HDR_BYTES sizeof(struct virtio_blk_outhdr) /* 16 */

/*
 * Limits we advertise, and enforce: a request with more data segments than
 * SEG_MAX or a segment above SIZE_MAX completes with IOERR and never reaches
 * the image (VIRTIO 1.2 §5.2.3 defines them as maxima; Linux sets
 * max_segments and max_segment_size from them and never exceeds them, so
 * only a hostile driver sees the error).  SEG_MAX: a chain holds at most
 * the ring size, less the header and status descriptors.  SIZE_MAX (1 MiB
 * per segment) matches the bounce chunk; with SEG_MAX it caps one request
 * at 254 MiB, which is moved BLK_CHUNK_BYTES at a time over as many
 * wake-ups as the budget below needs.  Discard
 * on a file is a hole punch and cheap at any size; write zeroes may fall
 * back to writing zeroes synchronously on the event loop, so it is kept
 * small enough (32 MiB) not to stall other devices for long.
 */
#define BLK_SEG_MAX		     (VIRTQ_MAX_SIZE - 2)
#define BLK_SIZE_MAX		     DISK_IMAGE_BOUNCE_BYTES
#define BLK_MAX_DISCARD_SECTORS	     (1u << 22) /* 2 GiB */
#define BLK_MAX_WRITE_ZEROES_SECTORS (1u << 16) /* 32 MiB */
#define BLK_MAX_DWZ_SEG		     1u

/*
 * Budget per wake-up (DESIGN "Budgets, not drains"): at most this many new
 * requests, and data moved until this many bytes are spent (a read or write
 * continues on the next wake-up where its budget ran out), then the device
 * re-arms its notification and returns to the loop, so stop, timers, other
 * disks and the NICs get their turn however fast the guest refills the ring.
 * 4 MiB is a few ms of page-cache copying: large enough that the extra
 * wake-ups cost nothing measurable in throughput.
 */
#define BLK_BUDGET_REQUESTS VIRTIO_BLK_BUDGET_REQUESTS
#define BLK_BUDGET_BYTES    VIRTIO_BLK_BUDGET_BYTES
#define BLK_CHUNK_BYTES	    (1u << 20) /* data per host call; a multiple of any block size */
/*
 * An fdatasync is charged as if it moved this much data: a guest sending
 * nothing but FLUSH (or writes without FLUSH negotiated, each synced) gets
 * four syncs per wake-up, not 32 device cache flushes in a row.
 */
#define BLK_SYNC_COST (1u << 20)

#define BLK_BASE_FEATURES                                                                          \
	((1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |                          \
	 (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_SIZE_MAX))

struct blk_req_result {
	uint8_t status;
	uint32_t written; /* bytes written into device-writable buffers, status included */
};

/* A read or write whose data moves over one or more wake-ups. */
struct blk_rw {
	bool active;
	bool write;
	uint64_t off;  /* image offset of the next chunk */
	uint32_t skip; /* offset of the next chunk in the chain's data direction */
	uint32_t left; /* data bytes still to move */
	uint32_t len;  /* data bytes of the whole request */
};

struct virtio_blk {
	/*
	 * Guards everything below: queue_notify runs on the event loop,
	 * activate/reset on a vCPU thread (MMIO write).  The transport's
	 * callbacks (notify_used, set_needs_reset) are called after dropping
	 * it so that no lock order against the transport's lock exists.
	 */
	pthread_mutex_t lock;
	struct disk_image img;
	const struct logger *log;
	struct ev_loop *loop;
	struct ratelimit rl;
	enum mvm_disk_cache cache;
	char id[VIRTIO_BLK_ID_BYTES];	 /* serial, NUL-padded, not NUL-terminated at 20 */
	struct virtio_blk_config config; /* little-endian, as the guest reads it */
	struct virtio_device_ops ops;	 /* virtio_blk_ops with this disk's features */

	/* Between activate and reset. */
	struct virtio_transport *t;
	struct virtq *vq;
	uint64_t driver_features;
	bool write_through; /* FLUSH not negotiated: the driver cannot ask, so sync each write */
	bool broken;	    /* a fatal guest error: nothing more until reset */

	/*
	 * The request being served (too big for the stack of a loop
	 * callback); with rw.active it outlives the wake-up that popped it.
	 */
	struct virtq_chain chain;
	struct iovec iov[VIRTQ_MAX_CHAIN];
	uint8_t *status; /* the chain's status byte */
	struct blk_req_result res;
	struct blk_rw rw;
	uint32_t req_type; /* the request's header type; UINT32_MAX: no valid header */

	/*
	 * mvm_vm_replace_disk with a read or write in flight: the new image
	 * waits here until that request has finished on the old one.
	 */
	struct disk_image next_img;
	bool has_next;

	/* Counted under `lock`, read live by blk_metrics() (vmm/stats.h). */
	struct {
		uint64_t read_requests, read_bytes;
		uint64_t write_requests, write_bytes;
		uint64_t flush_requests;
		uint64_t errors; /* requests completed with IOERR or UNSUPP */
	} stats;
};

static bool negotiated(const struct virtio_blk *blk, unsigned bit)
{
	return blk->driver_features & (1ull << bit);
}

/*
 * Builds iovecs over the chain's readable or writable bytes
 * [skip, skip + len) (writable: the status byte is excluded by the
 * caller's len).  Returns the iovec count.
 */
static int chain_iov(struct virtio_blk *blk, bool writable, uint64_t skip, uint64_t len)
{
	const struct virtq_chain *c = &blk->chain;
	int n = 0;

	for (unsigned i = 0; i < c->nbufs && len; i++) {
		const struct virtq_buf *b = &c->bufs[i];
		uint64_t take;

		if (b->device_writable != writable || b->len == 0)
			continue;
		if (skip >= b->len) {
			skip -= b->len;
			continue;
		}
		take = b->len - skip < len ? b->len - skip : len;
		blk->iov[n].iov_base = (uint8_t *)b->host + skip;
		blk->iov[n].iov_len = (size_t)take;
		n++;
		len -= take;
		skip = 0;
	}
	return n;
}

/*
 * SEG_MAX and SIZE_MAX over the request's data bytes: each iovec is the
 * data part of one descriptor.  A guest error, logged; the request fails.
 */
static bool segments_ok(struct virtio_blk *blk, bool writable, uint64_t skip, uint32_t len)
{
	int n = chain_iov(blk, writable, skip, len);

	for (int i = 0; i < n; i++) {
		if (blk->iov[i].iov_len > BLK_SIZE_MAX) {
			log_guest_error(blk->log, &blk->rl,
					"virtio-blk: %zu-byte segment above size_max (%u)",
					blk->iov[i].iov_len, BLK_SIZE_MAX);
			return false;
		}
	}
	if (n > BLK_SEG_MAX) {
		log_guest_error(blk->log, &blk->rl,
				"virtio-blk: request of %d segments above seg_max (%u)", n,
				BLK_SEG_MAX);
		return false;
	}
	return true;
}

/* Byte offset of [sector, +len) if it lies inside the disk; false on overflow or past the end. */
static bool sector_range(const struct virtio_blk *blk, uint64_t sector, uint64_t len, uint64_t *off)
{
	uint64_t end;

	if (sector > UINT64_MAX / DISK_SECTOR_SIZE)
		return false;
	*off = sector * DISK_SECTOR_SIZE;
	return !__builtin_add_overflow(*off, len, &end) && end <= blk->img.size;
}

static uint8_t io_status(struct virtio_blk *blk, const char *what, int ret)
{
	if (ret == 0)
		return VIRTIO_BLK_S_OK;
	/*
	 * A host-side failure (EIO, ENOSPC): the guest sees IOERR, the host log
	 * says why, rate-limited: the guest can repeat the request at will.
	 */
	log_guest_error(blk->log, &blk->rl, "disk %s: %s failed: %s", blk->img.path, what,
			strerror(-ret));
	return VIRTIO_BLK_S_IOERR;
}

/* Checks a read and starts it (blk->rw); the data moves in blk_rw_step(). */
/* fdatasync for a FLUSH or a write-through write, charged to the wake-up's budget. */
static uint8_t blk_sync(struct virtio_blk *blk, uint64_t *spent)
{
	*spent += BLK_SYNC_COST;
	return io_status(blk, "fdatasync", disk_image_flush(&blk->img));
}

static void blk_read(struct virtio_blk *blk, uint64_t sector, uint32_t rlen, uint32_t dlen)
{
	uint64_t off;

	if (rlen != BLK_HDR_BYTES || dlen == 0 || dlen % DISK_SECTOR_SIZE) {
		log_guest_error(blk->log, &blk->rl,
				"virtio-blk: read with %u readable, %u writable data bytes", rlen,
				dlen);
		return;
	}
	if (!sector_range(blk, sector, dlen, &off)) {
		log_guest_error(blk->log, &blk->rl,
				"virtio-blk: read of %u bytes at sector %llu is past the end", dlen,
				(unsigned long long)sector);
		return;
	}
	if (!segments_ok(blk, true, 0, dlen))
		return;
	blk->rw = (struct blk_rw){true, false, off, 0, dlen, dlen};
}

/* Checks a write and starts it (blk->rw); the data moves in blk_rw_step(). */
static void blk_write(struct virtio_blk *blk, uint64_t sector, uint32_t rlen, uint32_t dlen)
{
	uint32_t len = rlen - BLK_HDR_BYTES;
	uint64_t off;

	if (blk->img.read_only)
		return; /* IOERR, and the fd is O_RDONLY anyway */
	if (dlen != 0 || len == 0 || len % DISK_SECTOR_SIZE) {
		log_guest_error(blk->log, &blk->rl,
				"virtio-blk: write with %u readable, %u writable data bytes", len,
				dlen);
		return;
	}
	if (!sector_range(blk, sector, len, &off)) {
		log_guest_error(blk->log, &blk->rl,
				"virtio-blk: write of %u bytes at sector %llu is past the end", len,
				(unsigned long long)sector);
		return;
	}
	if (!segments_ok(blk, false, BLK_HDR_BYTES, len))
		return;
	blk->rw = (struct blk_rw){true, true, off, BLK_HDR_BYTES, len, len};
}

/*
 * Moves the active read/write's data, a chunk at a time, while *spent is
 * under the byte budget.  Returns true when the request is complete
 * (blk->res final), false when it must continue on a later wake-up.
 */
static bool blk_rw_step(struct virtio_blk *blk, uint64_t *spent)
{
	struct blk_rw *rw = &blk->rw;

	while (rw->left) {
		uint32_t chunk = rw->left < BLK_CHUNK_BYTES ? rw->left : BLK_CHUNK_BYTES;
		int n, ret;

		if (*spent >= BLK_BUDGET_BYTES)
			return false;
		n = chain_iov(blk, !rw->write, rw->skip, chunk);
		ret = rw->write ? disk_image_pwritev(&blk->img, blk->iov, n, rw->off)
				: disk_image_preadv(&blk->img, blk->iov, n, rw->off);
		*spent += chunk;
		if (ret < 0) {
			/* IOERR; a read's used length stays 1 (the status byte). */
			blk->res.status = io_status(blk, rw->write ? "write" : "read", ret);
			rw->active = false;
			return true;
		}
		rw->off += chunk;
		rw->skip += chunk;
		rw->left -= chunk;
	}
	rw->active = false;
	blk->res.status = VIRTIO_BLK_S_OK;
	if (!rw->write)
		blk->res.written += rw->len;
	else if (blk->write_through)
		blk->res.status = blk_sync(blk, spent);
	return true;
}

static void blk_get_id(struct virtio_blk *blk, uint32_t dlen, struct blk_req_result *res)
{
	uint32_t len = dlen < VIRTIO_BLK_ID_BYTES ? dlen : VIRTIO_BLK_ID_BYTES;
	const char *src = blk->id;
	int n;

	if (len == 0)
		return;
	n = chain_iov(blk, true, 0, len);
	for (int i = 0; i < n; i++) {
		memcpy(blk->iov[i].iov_base, src, blk->iov[i].iov_len);
		src += blk->iov[i].iov_len;
	}
	res->written += len;
	res->status = VIRTIO_BLK_S_OK;
}

/* DISCARD and WRITE_ZEROES (§5.2.6): an array of {sector, num_sectors, flags} segments. */
static void blk_discard_write_zeroes(struct virtio_blk *blk, uint32_t type, uint32_t rlen,
				     struct blk_req_result *res, uint64_t *spent)
{
	bool wz = type == VIRTIO_BLK_T_WRITE_ZEROES;
	unsigned feature = wz ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD;
	uint32_t max_sectors = wz ? BLK_MAX_WRITE_ZEROES_SECTORS : BLK_MAX_DISCARD_SECTORS;
	uint32_t len = rlen - BLK_HDR_BYTES;
	struct virtio_blk_discard_write_zeroes seg[BLK_MAX_DWZ_SEG];
	uint32_t nseg = len / sizeof(seg[0]);

	if (blk->img.read_only)
		return;
	if (!negotiated(blk, feature)) {
		res->status = VIRTIO_BLK_S_UNSUPP;
		return;
	}
	if (len == 0 || len % sizeof(seg[0]) || nseg > BLK_MAX_DWZ_SEG) {
		log_guest_error(blk->log, &blk->rl, "virtio-blk: %s with %u bytes of segments",
				wz ? "write-zeroes" : "discard", len);
		return;
	}
	virtq_chain_read(&blk->chain, BLK_HDR_BYTES, seg, len);
	/* Check every segment before acting on any, so a bad one changes nothing. */
	for (uint32_t i = 0; i < nseg; i++) {
		uint32_t flags = le32toh(seg[i].flags);
		uint32_t allowed = wz ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0;
		uint32_t nsect = le32toh(seg[i].num_sectors);
		uint64_t off;

		if (flags & ~allowed) {
			res->status =
			    VIRTIO_BLK_S_UNSUPP; /* §5.2.6.2: unmap on discard, reserved bits */
			return;
		}
		if (nsect > max_sectors ||
		    !sector_range(blk, le64toh(seg[i].sector), (uint64_t)nsect * DISK_SECTOR_SIZE,
				  &off)) {
			log_guest_error(blk->log, &blk->rl,
					"virtio-blk: %s of %u sectors at sector %llu out of range",
					wz ? "write-zeroes" : "discard", nsect,
					(unsigned long long)le64toh(seg[i].sector));
			return;
		}
	}
	for (uint32_t i = 0; i < nseg; i++) {
		uint64_t off = le64toh(seg[i].sector) * DISK_SECTOR_SIZE;
		uint64_t bytes = (uint64_t)le32toh(seg[i].num_sectors) * DISK_SECTOR_SIZE;
		bool unmap = (le32toh(seg[i].flags) & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) &&
			     blk->config.write_zeroes_may_unmap;
		int ret = wz ? disk_image_write_zeroes(&blk->img, off, bytes, unmap)
			     : disk_image_discard(&blk->img, off, bytes);

		/* Zeroes may be written for real (the fallback); a hole punch is cheap. */
		if (wz)
			*spent += bytes;

		res->status = io_status(blk, wz ? "write-zeroes" : "discard", ret);
		if (res->status != VIRTIO_BLK_S_OK)
			return;
	}
	if (wz && blk->write_through)
		res->status = blk_sync(blk, spent);
}

/*
 * Starts blk->chain: checks it and serves it, except the data of a read or
 * write, which blk_rw_step() moves (blk->rw.active).  Returns false if the
 * chain has no status byte: the request cannot be completed and the device
 * needs a reset.
 */
static bool blk_start(struct virtio_blk *blk, uint64_t *spent)
{
	const struct virtq_chain *c = &blk->chain;
	const struct virtq_buf *last = c->nbufs ? &c->bufs[c->nbufs - 1] : NULL;
	struct blk_req_result *res = &blk->res;
	struct virtio_blk_outhdr hdr;
	uint32_t type, dlen;
	uint64_t sector;

	/* §5.2.6: the status byte is the last byte of the chain, device-writable. */
	if (!last || !last->device_writable || last->len == 0) {
		log_guest_error(blk->log, &blk->rl,
				"virtio-blk: request without a writable status byte at its end");
		return false;
	}
	blk->status = (uint8_t *)last->host + last->len - 1;
	blk->req_type = UINT32_MAX;
	dlen = c->writable_len - 1; /* writable bytes before the status */
	res->status = VIRTIO_BLK_S_IOERR;
	res->written = 1;

	if (c->readable_len < BLK_HDR_BYTES) {
		log_guest_error(blk->log, &blk->rl, "virtio-blk: request header of %u bytes",
				c->readable_len);
		return true;
	}
	virtq_chain_read(c, 0, &hdr, sizeof(hdr));
	type = le32toh(hdr.type);
	sector = le64toh(hdr.sector);
	blk->req_type = type;

	switch (type) {
	case VIRTIO_BLK_T_IN:
		blk_read(blk, sector, c->readable_len, dlen);
		break;
	case VIRTIO_BLK_T_OUT:
		blk_write(blk, sector, c->readable_len, dlen);
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (blk->cache == MVM_DISK_CACHE_UNSAFE)
			res->status = VIRTIO_BLK_S_OK;
		else
			res->status = blk_sync(blk, spent);
		break;
	case VIRTIO_BLK_T_GET_ID:
		blk_get_id(blk, dlen, res);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		blk_discard_write_zeroes(blk, type, c->readable_len, res, spent);
		break;
	default:
		res->status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	return true;
}

static void blk_count(struct virtio_blk *blk)
{
	bool ok = blk->res.status == VIRTIO_BLK_S_OK;

	switch (blk->req_type) {
	case VIRTIO_BLK_T_IN:
		STAT_ADD(blk->stats.read_requests, 1);
		if (ok)
			STAT_ADD(blk->stats.read_bytes, blk->rw.len);
		break;
	case VIRTIO_BLK_T_OUT:
		STAT_ADD(blk->stats.write_requests, 1);
		if (ok)
			STAT_ADD(blk->stats.write_bytes, blk->rw.len);
		break;
	case VIRTIO_BLK_T_FLUSH:
		STAT_ADD(blk->stats.flush_requests, 1);
		break;
	default:
		break;
	}
	if (!ok)
		STAT_ADD(blk->stats.errors, 1);
}

/* The image a replace left waiting takes over (lock held, no request in flight). */
static void blk_take_next_image(struct virtio_blk *blk)
{
	disk_image_close(&blk->img);
	blk->img = blk->next_img;
	blk->has_next = false;
	memset(&blk->next_img, 0, sizeof(blk->next_img));
	blk->next_img.fd = -1;
	blk->config.capacity = htole64(blk->img.size / DISK_SECTOR_SIZE);
}

/*
 * One wake-up's worth of requests (lock held, device active): serves until
 * the ring is empty or the budget is spent.  Returns true if work is left.
 */
static bool blk_serve(struct virtio_blk *blk, bool *notify, bool *needs_reset, bool *config_changed)
{
	struct virtq *vq = blk->vq;
	const char *why = NULL;
	bool pushed = false, more = false;
	unsigned nreq = 0;
	uint64_t spent = 0;
	int ret;

	for (;;) {
		if (!blk->rw.active && blk->has_next) {
			blk_take_next_image(blk);
			*config_changed = true;
		}
		if (!blk->rw.active) {
			if (nreq == BLK_BUDGET_REQUESTS || spent >= BLK_BUDGET_BYTES) {
				more = true;
				break;
			}
			ret = virtq_pop(vq, &blk->chain, &why);
			if (ret < 0) {
				log_guest_error(blk->log, &blk->rl,
						"virtio-blk: bad descriptor chain: %s",
						why ? why : "invalid");
				*needs_reset = true;
				break;
			}
			/*
			 * Empty.  With EVENT_IDX, virtq_pop() has already
			 * published avail_event and looked again (§2.7.10), so
			 * no kick is lost.  A wake-up that stopped early
			 * published nothing; its reschedule stands in for the
			 * driver's kick.
			 */
			if (ret == 0)
				break;
			nreq++;
			if (!blk_start(blk, &spent)) {
				*needs_reset = true;
				break;
			}
		}
		if (blk->rw.active && !blk_rw_step(blk, &spent)) {
			more = true;
			break;
		}
		*blk->status = blk->res.status;
		blk_count(blk);
		virtq_push(vq, blk->chain.head, blk->res.written);
		pushed = true;
	}
	if (*needs_reset) {
		blk->broken = true;
		more = false;
	}
	if (pushed)
		*notify = virtq_needs_interrupt(vq);
	return more;
}

static void blk_queue_notify(void *dev, unsigned q)
{
	struct virtio_blk *blk = dev;
	struct virtio_transport *t;
	bool more;

	if (q != 0) {
		pthread_mutex_lock(&blk->lock);
		log_guest_error(blk->log, &blk->rl, "virtio-blk: notify of queue %u", q);
		pthread_mutex_unlock(&blk->lock);
		return;
	}
	/*
	 * The transport serialises this with reset (its ops mutex), so t stays
	 * valid for the whole call.  Without an event loop to come back to,
	 * the work left is finished here, one budget (and interrupt) at a time.
	 */
	do {
		bool notify = false, needs_reset = false, config_changed = false;

		pthread_mutex_lock(&blk->lock);
		t = blk->t;
		if (!blk->vq || blk->broken) {
			pthread_mutex_unlock(&blk->lock);
			return;
		}
		more = blk_serve(blk, &notify, &needs_reset, &config_changed);
		pthread_mutex_unlock(&blk->lock);

		if (config_changed)
			virtio_config_changed(t);
		if (needs_reset)
			virtio_set_needs_reset(t);
		if (notify)
			virtio_notify_used(t, 0);
	} while (more && virtio_queue_reschedule(t, 0) < 0);
}

static void blk_config_read(void *dev, uint32_t offset, void *data, uint32_t len)
{
	struct virtio_blk *blk = dev;

	/* Under the lock: a disk replacement changes the capacity (loop thread). */
	pthread_mutex_lock(&blk->lock);
	memcpy(data, (const uint8_t *)&blk->config + offset, len);
	pthread_mutex_unlock(&blk->lock);
}

static void blk_config_write(void *dev, uint32_t offset, const void *data, uint32_t len)
{
	struct virtio_blk *blk = dev;

	(void)data; /* only `wce` is writable, with CONFIG_WCE, which we do not offer */
	pthread_mutex_lock(&blk->lock);
	log_guest_error(blk->log, &blk->rl, "virtio-blk: %u-byte config write at %u ignored", len,
			offset);
	pthread_mutex_unlock(&blk->lock);
}

static int blk_activate(void *dev, struct virtio_transport *t, uint64_t driver_features,
			struct virtq *queues)
{
	struct virtio_blk *blk = dev;

	pthread_mutex_lock(&blk->lock);
	blk->t = t;
	blk->vq = &queues[0];
	blk->driver_features = driver_features;
	blk->write_through =
	    !negotiated(blk, VIRTIO_BLK_F_FLUSH) && blk->cache != MVM_DISK_CACHE_UNSAFE;
	blk->broken = false;
	blk->rw.active = false;
	pthread_mutex_unlock(&blk->lock);
	return 0;
}

static void blk_reset(void *dev)
{
	struct virtio_blk *blk = dev;

	/* Waits for a queue_notify in progress: after this the queues are not touched. */
	pthread_mutex_lock(&blk->lock);
	blk->t = NULL;
	blk->vq = NULL;
	blk->driver_features = 0;
	blk->broken = false;
	blk->rw.active = false; /* a request in progress is dropped with the ring */
	if (blk->has_next)
		blk_take_next_image(blk); /* nothing in flight now; the driver re-reads config */
	pthread_mutex_unlock(&blk->lock);
}

static void blk_metrics(void *dev, const char *prefix, mvm_metric_fn fn, void *opaque)
{
	struct virtio_blk *blk = dev;
	const struct {
		const char *name;
		const uint64_t *v;
	} c[] = {
	    {"read_requests", &blk->stats.read_requests},
	    {"read_bytes", &blk->stats.read_bytes},
	    {"write_requests", &blk->stats.write_requests},
	    {"write_bytes", &blk->stats.write_bytes},
	    {"flush_requests", &blk->stats.flush_requests},
	    {"errors", &blk->stats.errors},
	};
	char name[64];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(name, sizeof(name), "%s.%s", prefix, c[i].name);
		fn(opaque, name, STAT_READ(*c[i].v));
	}
}

const struct virtio_device_ops virtio_blk_ops = {
    .name = "virtio-blk",
    .device_id = VIRTIO_ID_BLOCK,
    .nqueues = 1,
    .features = BLK_BASE_FEATURES,
    .config_size = sizeof(struct virtio_blk_config),
    .config_read = blk_config_read,
    .config_write = blk_config_write,
    .activate = blk_activate,
    .reset = blk_reset,
    .queue_notify = blk_queue_notify,
    .metrics = blk_metrics,
};

static void build_config(struct virtio_blk *blk)
{
	struct virtio_blk_config *cfg = &blk->config;
	const struct disk_image *img = &blk->img;
	uint64_t features = BLK_BASE_FEATURES;

	memset(cfg, 0, sizeof(*cfg));
	cfg->capacity = htole64(img->size / DISK_SECTOR_SIZE);
	cfg->size_max = htole32(BLK_SIZE_MAX);
	cfg->seg_max = htole32(BLK_SEG_MAX);
	cfg->blk_size = htole32(img->block_size);
	if (img->read_only)
		features |= 1ull << VIRTIO_BLK_F_RO;
	if (img->can_discard) {
		features |= 1ull << VIRTIO_BLK_F_DISCARD;
		cfg->max_discard_sectors = htole32(BLK_MAX_DISCARD_SECTORS);
		cfg->max_discard_seg = htole32(BLK_MAX_DWZ_SEG);
		cfg->discard_sector_alignment =
		    htole32(img->discard_granularity / DISK_SECTOR_SIZE);
	}
	if (!img->read_only) {
		/* Always possible: the backend falls back to writing zeroes. */
		features |= 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
		cfg->max_write_zeroes_sectors = htole32(BLK_MAX_WRITE_ZEROES_SECTORS);
		cfg->max_write_zeroes_seg = htole32(BLK_MAX_DWZ_SEG);
		cfg->write_zeroes_may_unmap = img->discard_zeroes;
	}
	blk->ops = virtio_blk_ops;
	blk->ops.features = features;
}

int virtio_blk_create(struct virtio_blk **out, const struct mvm_disk_config *disk,
		      struct ev_loop *loop, const struct logger *log, struct vmm_err *err)
{
	struct virtio_blk *blk;
	size_t serial_len = 0;
	int ret;

	if (!out || !disk || !disk->path)
		return vmm_errf(err, -EINVAL, "virtio-blk: no disk path");
	if (disk->serial) {
		serial_len = strlen(disk->serial);
		if (serial_len > VIRTIO_BLK_ID_BYTES)
			return vmm_errf(err, -EINVAL,
					"disk %s: serial \"%s\" is longer than %d bytes",
					disk->path, disk->serial, VIRTIO_BLK_ID_BYTES);
	}
	if (disk->cache != MVM_DISK_CACHE_WRITEBACK && disk->cache != MVM_DISK_CACHE_NONE &&
	    disk->cache != MVM_DISK_CACHE_UNSAFE)
		return vmm_errf(err, -EINVAL, "disk %s: unknown cache mode %d", disk->path,
				(int)disk->cache);
	blk = calloc(1, sizeof(*blk));
	if (!blk)
		return vmm_errf(err, -ENOMEM, "disk %s: out of memory", disk->path);
	ret = pthread_mutex_init(&blk->lock, NULL);
	if (ret) {
		free(blk);
		return vmm_errf(err, -ret, "disk %s: mutex: %s", disk->path, strerror(ret));
	}
	ret = disk_image_open(&blk->img, disk->path, disk->read_only,
			      disk->cache == MVM_DISK_CACHE_NONE, log, err);
	if (ret < 0) {
		pthread_mutex_destroy(&blk->lock);
		free(blk);
		return ret;
	}
	blk->log = log;
	blk->loop = loop;
	blk->rl = (struct ratelimit)RATELIMIT_INIT;
	blk->cache = disk->cache;
	if (serial_len)
		memcpy(blk->id, disk->serial, serial_len);
	build_config(blk);
	*out = blk;
	return 0;
}

void virtio_blk_destroy(struct virtio_blk *blk)
{
	if (!blk)
		return;
	if (blk->has_next)
		disk_image_close(&blk->next_img);
	disk_image_close(&blk->img);
	pthread_mutex_destroy(&blk->lock);
	free(blk);
}

uint64_t virtio_blk_capacity_bytes(const struct virtio_blk *blk)
{
	return blk->img.size;
}

const struct virtio_device_ops *virtio_blk_device_ops(const struct virtio_blk *blk)
{
	return &blk->ops;
}

int virtio_blk_replace_image(struct virtio_blk *blk, struct disk_image *img)
{
	struct disk_image old;
	int ret = 0;

	pthread_mutex_lock(&blk->lock);
	if (blk->rw.active) {
		/* In flight on the old image: the swap waits for its end (blk_serve). */
		if (blk->has_next)
			disk_image_close(&blk->next_img);
		blk->next_img = *img;
		blk->has_next = true;
		memset(&old, 0, sizeof(old));
		old.fd = -1;
		ret = 1;
	} else {
		old = blk->img;
		blk->img = *img;
		blk->config.capacity = htole64(blk->img.size / DISK_SECTOR_SIZE);
	}
	pthread_mutex_unlock(&blk->lock);
	/* Moved: the caller's struct keeps nothing to close. */
	memset(img, 0, sizeof(*img));
	img->fd = -1;
	disk_image_close(&old); /* drops the old image's lock */
	return ret;
}
