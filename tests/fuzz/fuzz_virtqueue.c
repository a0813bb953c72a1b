/* SPDX-License-Identifier: MIT */
/*
 * The split virtqueue (devices/virtqueue.c) against a hostile driver: the
 * input is a program of driver actions (write descriptors, publish avail
 * entries, scribble on the rings, move avail->idx) interleaved with the
 * device's pop/push/interrupt decisions, all over fake guest RAM of two
 * small regions.  Every buffer a pop hands out is read and written in full,
 * so ASan reports any host pointer gm_ptr() should not have produced.
 *
 * Addresses and lengths are decoded "mostly valid": a selector byte picks a
 * range inside RAM, just past it, or a raw 64-bit value, so chains reach
 * the interesting checks instead of failing at the first bounds test.
 */
#include <linux/virtio_ring.h>
#include <stdlib.h>

#include "devices/virtqueue.h"
#include "tests/fuzz/fuzz.h"

#define RAM0_BYTES (64u << 10) /* at 0 */
#define RAM1_GPA   (1u << 20)  /* a second region, to test chains that straddle regions */
#define RAM1_BYTES (8u << 10)

/* The default ring layout (what a sane driver uses): desc, avail, used. */
#define DESC_GPA  0x0000u
#define AVAIL_GPA 0x1000u
#define USED_GPA  0x2000u
#define BUF_GPA	  0x3000u

static uint8_t *ram0, *ram1;

static uint64_t pick_addr(struct fuzz_in *in)
{
	uint8_t sel = fuzz_u8(in);

	switch (sel & 7) {
	case 0:
	case 1:
	case 2:
		return BUF_GPA + fuzz_u16(in) % (RAM0_BYTES - BUF_GPA);
	case 3:
		return RAM1_GPA + fuzz_u16(in) % (RAM1_BYTES + 64);
	case 4:
		return RAM0_BYTES - (fuzz_u8(in) % 64); /* the last bytes of a region */
	case 5:
		return fuzz_u16(in); /* anywhere in the low 64 KiB, rings included */
	default:
		return fuzz_u64(in);
	}
}

static uint32_t pick_len(struct fuzz_in *in)
{
	uint8_t sel = fuzz_u8(in);

	switch (sel & 3) {
	case 0:
	case 1:
		return fuzz_u8(in);
	case 2:
		return fuzz_u16(in);
	default:
		return fuzz_u32(in); /* huge lengths: must fail fast, never loop */
	}
}

static void write_desc(uint8_t *at, struct fuzz_in *in)
{
	struct vring_desc d;

	d.addr = pick_addr(in);
	d.len = pick_len(in);
	d.flags = fuzz_u8(in) & 7; /* NEXT, WRITE, INDIRECT: other bits rarely matter */
	d.next = fuzz_u8(in);
	memcpy(at, &d, sizeof(d));
}

/* Touches every byte of a popped chain, as a device would. */
static void consume_chain(const struct virtq_chain *c)
{
	uint32_t readable = 0, writable = 0;
	volatile uint8_t sink = 0;

	if (c->nbufs > VIRTQ_MAX_CHAIN)
		abort();
	for (unsigned i = 0; i < c->nbufs; i++) {
		const struct virtq_buf *b = &c->bufs[i];
		const uint8_t *p = b->host;

		if (b->len == 0)
			abort(); /* zero-length buffers are left out */
		if (b->device_writable) {
			memset(b->host, 0xa5, b->len);
			writable += b->len;
		} else {
			if (writable)
				abort(); /* readable after writable must have been refused */
			for (uint32_t j = 0; j < b->len; j += 61)
				sink ^= p[j];
			sink ^= p[b->len - 1];
			readable += b->len;
		}
	}
	if (readable != c->readable_len || writable != c->writable_len)
		abort();
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);
	struct guest_mem gm = {0};
	static struct virtq_chain chain;
	struct virtq vq = {0};
	uint16_t heads[8];
	unsigned nheads = 0;
	uint16_t avail_idx = 0;
	uint8_t cfg;

	if (!ram0) {
		ram0 = malloc(RAM0_BYTES);
		ram1 = malloc(RAM1_BYTES);
		if (!ram0 || !ram1)
			abort();
	}
	memset(ram0, 0, RAM0_BYTES);
	memset(ram1, 0, RAM1_BYTES);
	if (gm_add_region(&gm, 0, RAM0_BYTES, ram0) ||
	    gm_add_region(&gm, RAM1_GPA, RAM1_BYTES, ram1))
		abort();

	cfg = fuzz_u8(&in);
	/* Mostly a power of two up to 256; sometimes anything (the transport refuses it). */
	vq.size = cfg & 0x80 ? fuzz_u16(&in) : (uint16_t)(1u << (fuzz_u8(&in) % 9));
	vq.event_idx = cfg & 1;
	vq.indirect = cfg & 2;
	vq.mem = &gm;
	if (cfg & 4) {
		vq.desc_gpa = pick_addr(&in);
		vq.avail_gpa = pick_addr(&in);
		vq.used_gpa = pick_addr(&in);
	} else {
		vq.desc_gpa = DESC_GPA;
		vq.avail_gpa = AVAIL_GPA;
		vq.used_gpa = USED_GPA;
	}
	virtq_reset(&vq);
	/* As the transport does: a queue is ready only once virtq_validate() accepted it. */
	vq.ready = virtq_validate(&vq) == 0;

	while (!fuzz_empty(&in)) {
		uint8_t op = fuzz_u8(&in);
		uint8_t *desc = ram0 + DESC_GPA;
		struct vring_avail *avail = (struct vring_avail *)(ram0 + AVAIL_GPA);

		switch (op % 12) {
		case 0: /* a descriptor of the default table (256 entries fit in 4 KiB) */
			write_desc(desc + (fuzz_u8(&in) * sizeof(struct vring_desc)), &in);
			break;
		case 1: { /* an indirect table entry somewhere in the buffer area */
			uint32_t off = BUF_GPA + (fuzz_u16(&in) % 256) * 16;

			write_desc(ram0 + off, &in);
			break;
		}
		case 2: /* publish a head */
			avail->ring[avail_idx % 256] = fuzz_u8(&in);
			avail_idx++;
			__atomic_store_n(&avail->idx, avail_idx, __ATOMIC_RELEASE);
			break;
		case 3: /* avail->idx jumps anywhere */
			avail_idx = fuzz_u16(&in);
			avail->idx = avail_idx;
			break;
		case 4:
		case 5:
		case 6: {
			const char *why = NULL;
			int ret = virtq_pop(&vq, &chain, &why);

			if (ret == 1) {
				consume_chain(&chain);
				if (nheads < 8)
					heads[nheads++] = chain.head;
				uint8_t tmp[64];
				size_t off = fuzz_u8(&in);
				virtq_chain_read(&chain, off, tmp, sizeof(tmp));
				virtq_chain_write(&chain, off, tmp, sizeof(tmp));
			} else if (ret < 0 && !why) {
				abort(); /* a guest error always says why */
			}
			break;
		}
		case 7: { /* push a popped head, or a forged one */
			uint16_t head = nheads && !(op & 0x80) ? heads[--nheads] : fuzz_u16(&in);

			virtq_push(&vq, head, fuzz_u32(&in));
			break;
		}
		case 8:
			(void)virtq_needs_interrupt(&vq);
			break;
		case 9:
			virtq_update_avail_event(&vq);
			break;
		case 10: { /* raw bytes anywhere in the low region (rings, used_event, flags) */
			uint16_t off = fuzz_u16(&in);
			size_t got;
			const uint8_t *src = fuzz_take(&in, fuzz_u8(&in) % 32, &got);

			if (got <= RAM0_BYTES - off)
				memcpy(ram0 + off, src, got);
			break;
		}
		default: /* a device reset and re-setup */
			virtq_reset(&vq);
			nheads = 0;
			break;
		}
	}
	return 0;
}
