// SPDX-License-Identifier: MIT
/*
 * The split virtqueue against well-formed and hostile rings.  A small
 * driver-side helper below builds rings in fake guest memory (calloc'd,
 * added with gm_add_region), the way Linux's virtio_ring.c would.
 */
#include <check.h>
#include <errno.h>
#include <linux/virtio_ring.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtqueue.h"

#define RAM_SIZE  0x100000ull
#define QSIZE	  16
#define DESC_GPA  0x1000ull
#define AVAIL_GPA 0x2000ull
#define USED_GPA  0x3000ull
#define IND_GPA	  0x8000ull  /* indirect tables */
#define BUF_GPA	  0x10000ull /* data buffers, 0x100 apart */

static struct guest_mem gm;
static uint8_t *ram;
static struct virtq vq;
static struct virtq_chain chain;
static uint16_t drv_avail_idx;

/* ---- driver side ---- */

static struct vring_desc *desc_table(void)
{
	return (struct vring_desc *)(ram + DESC_GPA);
}

static struct vring_desc *ind_table(unsigned n)
{
	return (struct vring_desc *)(ram + IND_GPA + n * 0x1000);
}

static struct vring_avail *avail(void)
{
	return (struct vring_avail *)(ram + AVAIL_GPA);
}

static struct vring_used *used(void)
{
	return (struct vring_used *)(ram + USED_GPA);
}

static uint16_t *used_event(void)
{
	return &avail()->ring[vq.size];
}

static uint16_t avail_event(void)
{
	return *(uint16_t *)&used()->ring[vq.size];
}

static uint64_t buf_gpa(unsigned i)
{
	return BUF_GPA + i * 0x100ull;
}

/* memcpy: indirect tables in these tests may be misaligned on purpose. */
static void set_desc(void *table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	struct vring_desc d = {addr, len, flags, next};

	memcpy((uint8_t *)table + i * sizeof(d), &d, sizeof(d));
}

/* Makes the chain at `head` available, as virtqueue_add_split() + kick would. */
static void publish(uint16_t head)
{
	avail()->ring[drv_avail_idx % vq.size] = head;
	drv_avail_idx++;
	avail()->idx = drv_avail_idx;
}

static void setup(void)
{
	memset(&gm, 0, sizeof(gm));
	ram = calloc(1, RAM_SIZE);
	ck_assert_ptr_nonnull(ram);
	ck_assert_int_eq(gm_add_region(&gm, 0, RAM_SIZE, ram), 0);
	memset(&vq, 0, sizeof(vq));
	vq.size = QSIZE;
	vq.desc_gpa = DESC_GPA;
	vq.avail_gpa = AVAIL_GPA;
	vq.used_gpa = USED_GPA;
	vq.mem = &gm;
	vq.indirect = true;
	ck_assert_int_eq(virtq_validate(&vq), 0);
	virtq_reset(&vq);
	vq.ready = true;
	drv_avail_idx = 0;
}

static void teardown(void)
{
	free(ram);
}

/* Pops expecting a guest error, then checks the queue stays broken. */
static void expect_broken(const char *needle)
{
	const char *why = NULL;
	uint16_t last = vq.last_avail_idx;

	ck_assert_int_eq(virtq_pop(&vq, &chain, &why), -EINVAL);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, needle), "why=\"%s\", expected \"%s\"", why, needle);
	ck_assert(vq.broken);
	ck_assert_uint_eq(vq.last_avail_idx, last);
	ck_assert_int_eq(virtq_pop(&vq, &chain, &why), -EIO);
	ck_assert_int_eq(virtq_push(&vq, 0, 0), -EIO);
}

/* ---- validate ---- */

START_TEST(validate_accepts_good_layout)
{
	vq.size = VIRTQ_MAX_SIZE;
	ck_assert_int_eq(virtq_validate(&vq), 0);
	vq.size = 1;
	ck_assert_int_eq(virtq_validate(&vq), 0);
}
END_TEST

START_TEST(validate_rejects_bad_sizes)
{
	uint16_t bad[] = {0, 3, 24, VIRTQ_MAX_SIZE * 2};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vq.size = bad[i];
		ck_assert_int_eq(virtq_validate(&vq), -EINVAL);
	}
}
END_TEST

START_TEST(validate_rejects_unaligned_rings)
{
	vq.desc_gpa = DESC_GPA + 8;
	ck_assert_int_eq(virtq_validate(&vq), -EINVAL);
	vq.desc_gpa = DESC_GPA;
	vq.avail_gpa = AVAIL_GPA + 1;
	ck_assert_int_eq(virtq_validate(&vq), -EINVAL);
	vq.avail_gpa = AVAIL_GPA;
	vq.used_gpa = USED_GPA + 2;
	ck_assert_int_eq(virtq_validate(&vq), -EINVAL);
	vq.used_gpa = USED_GPA;
	ck_assert_int_eq(virtq_validate(&vq), 0);
}
END_TEST

START_TEST(validate_rejects_rings_outside_ram)
{
	vq.used_gpa = RAM_SIZE - 8; /* needs 6 + 16 * 8 bytes */
	ck_assert_int_eq(virtq_validate(&vq), -EINVAL);
	vq.used_gpa = USED_GPA;
	vq.desc_gpa = 0xfffffffffffffff0ull; /* wraps */
	ck_assert_int_eq(virtq_validate(&vq), -EINVAL);
	vq.desc_gpa = DESC_GPA;
	vq.avail_gpa = RAM_SIZE;
	ck_assert_int_eq(virtq_validate(&vq), -EINVAL);
	vq.avail_gpa = AVAIL_GPA;
	vq.mem = NULL;
	ck_assert_int_eq(virtq_validate(&vq), -EINVAL);
}
END_TEST

/* ---- well-formed chains ---- */

START_TEST(pop_empty_ring)
{
	ck_assert_int_eq(virtq_pop(&vq, &chain, NULL), 0);
	ck_assert_uint_eq(vq.last_avail_idx, 0);
}
END_TEST

START_TEST(pop_direct_chain)
{
	set_desc(desc_table(), 5, buf_gpa(0), 16, VRING_DESC_F_NEXT, 2);
	set_desc(desc_table(), 2, buf_gpa(1), 100, VRING_DESC_F_NEXT, 9);
	set_desc(desc_table(), 9, buf_gpa(2), 1, VRING_DESC_F_WRITE, 0);
	publish(5);

	ck_assert_int_eq(virtq_pop(&vq, &chain, NULL), 1);
	ck_assert_uint_eq(chain.head, 5);
	ck_assert_uint_eq(chain.nbufs, 3);
	ck_assert_ptr_eq(chain.bufs[0].host, ram + buf_gpa(0));
	ck_assert_uint_eq(chain.bufs[0].len, 16);
	ck_assert(!chain.bufs[0].device_writable);
	ck_assert_ptr_eq(chain.bufs[1].host, ram + buf_gpa(1));
	ck_assert_uint_eq(chain.bufs[1].len, 100);
	ck_assert_ptr_eq(chain.bufs[2].host, ram + buf_gpa(2));
	ck_assert(chain.bufs[2].device_writable);
	ck_assert_uint_eq(chain.readable_len, 116);
	ck_assert_uint_eq(chain.writable_len, 1);
	ck_assert_uint_eq(vq.last_avail_idx, 1);
	ck_assert_int_eq(virtq_pop(&vq, &chain, NULL), 0);
}
END_TEST

START_TEST(pop_full_length_chain)
{
	/* A chain using every descriptor of the ring is legal. */
	for (unsigned i = 0; i < QSIZE; i++)
		set_desc(desc_table(), i, buf_gpa(i), 8, i + 1 < QSIZE ? VRING_DESC_F_NEXT : 0,
			 i + 1);
	publish(0);
	ck_assert_int_eq(virtq_pop(&vq, &chain, NULL), 1);
	ck_assert_uint_eq(chain.nbufs, QSIZE);
	ck_assert_uint_eq(chain.readable_len, QSIZE * 8);
}
END_TEST

START_TEST(pop_indirect_chain)
{
	struct vring_desc *t = ind_table(0);

	set_desc(t, 0, buf_gpa(0), 16, VRING_DESC_F_NEXT, 2);
	set_desc(t, 2, buf_gpa(1), 32, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_desc(t, 1, buf_gpa(2), 1, VRING_DESC_F_WRITE, 0);
	/* The WRITE flag on the indirect descriptor itself is ignored (§2.7.5.3.2). */
	set_desc(desc_table(), 3, IND_GPA, 3 * 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	publish(3);

	ck_assert_int_eq(virtq_pop(&vq, &chain, NULL), 1);
	ck_assert_uint_eq(chain.head, 3);
	ck_assert_uint_eq(chain.nbufs, 3);
	ck_assert_ptr_eq(chain.bufs[0].host, ram + buf_gpa(0));
	ck_assert(!chain.bufs[0].device_writable);
	ck_assert_ptr_eq(chain.bufs[1].host, ram + buf_gpa(1));
	ck_assert(chain.bufs[1].device_writable);
	ck_assert_ptr_eq(chain.bufs[2].host, ram + buf_gpa(2));
	ck_assert_uint_eq(chain.readable_len, 16);
	ck_assert_uint_eq(chain.writable_len, 33);
}
END_TEST

START_TEST(pop_mixed_direct_then_indirect)
{
	uint8_t *t = ram + IND_GPA + 8; /* §2.7.5.3 asks no alignment of indirect tables */

	set_desc(desc_table(), 0, buf_gpa(0), 4, VRING_DESC_F_NEXT, 1);
	set_desc(desc_table(), 1, IND_GPA + 8, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(t, 0, buf_gpa(1), 8, VRING_DESC_F_NEXT, 1);
	set_desc(t, 1, buf_gpa(2), 12, VRING_DESC_F_WRITE, 0);
	publish(0);

	ck_assert_int_eq(virtq_pop(&vq, &chain, NULL), 1);
	ck_assert_uint_eq(chain.nbufs, 3);
	ck_assert_uint_eq(chain.bufs[0].len, 4);
	ck_assert_uint_eq(chain.bufs[1].len, 8);
	ck_assert_ptr_eq(chain.bufs[2].host, ram + buf_gpa(2));
	ck_assert(chain.bufs[2].device_writable);
	ck_assert_uint_eq(chain.readable_len, 12);
	ck_assert_uint_eq(chain.writable_len, 12);
}
END_TEST

START_TEST(pop_skips_zero_length_buffers)
{
	/* Zero-length buffers are allowed, skipped, and their address never checked. */
	set_desc(desc_table(), 0, 0xffffffffffffff00ull, 0, VRING_DESC_F_NEXT, 1);
	set_desc(desc_table(), 1, buf_gpa(1), 4, VRING_DESC_F_NEXT, 2);
	set_desc(desc_table(), 2, RAM_SIZE * 4, 0, VRING_DESC_F_WRITE, 0);
	publish(0);
	ck_assert_int_eq(virtq_pop(&vq, &chain, NULL), 1);
	ck_assert_uint_eq(chain.nbufs, 1);
	ck_assert_ptr_eq(chain.bufs[0].host, ram + buf_gpa(1));
	ck_assert_uint_eq(chain.readable_len, 4);
	ck_assert_uint_eq(chain.writable_len, 0);
}
END_TEST

START_TEST(pop_several_and_avail_idx_wrap)
{
	vq.last_avail_idx = 65534;
	drv_avail_idx = 65534;
	for (unsigned i = 0; i < 3; i++) {
		set_desc(desc_table(), i, buf_gpa(i), 8 + i, 0, 0);
		publish(i);
	}
	ck_assert_uint_eq(avail()->idx, 1);
	for (unsigned i = 0; i < 3; i++) {
		ck_assert_int_eq(virtq_pop(&vq, &chain, NULL), 1);
		ck_assert_uint_eq(chain.head, i);
		ck_assert_uint_eq(chain.readable_len, 8 + i);
	}
	ck_assert_uint_eq(vq.last_avail_idx, 1);
	ck_assert_int_eq(virtq_pop(&vq, &chain, NULL), 0);
}
END_TEST

/* ---- hostile rings ---- */

START_TEST(pop_rejects_descriptor_loop)
{
	set_desc(desc_table(), 0, buf_gpa(0), 8, VRING_DESC_F_NEXT, 1);
	set_desc(desc_table(), 1, buf_gpa(1), 8, VRING_DESC_F_NEXT, 0);
	publish(0);
	expect_broken("loop");
}
END_TEST

START_TEST(pop_rejects_self_loop_in_indirect_table)
{
	set_desc(ind_table(0), 0, buf_gpa(0), 8, VRING_DESC_F_NEXT, 1);
	set_desc(ind_table(0), 1, buf_gpa(1), 8, VRING_DESC_F_NEXT, 1);
	set_desc(desc_table(), 0, IND_GPA, 4 * 16, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken("loop");
}
END_TEST

START_TEST(pop_rejects_head_out_of_range)
{
	publish(QSIZE);
	expect_broken("head index out of range");
}
END_TEST

START_TEST(pop_rejects_next_out_of_range)
{
	set_desc(desc_table(), 0, buf_gpa(0), 8, VRING_DESC_F_NEXT, QSIZE);
	publish(0);
	expect_broken("descriptor index out of range");
}
END_TEST

START_TEST(pop_rejects_next_out_of_indirect_table)
{
	set_desc(ind_table(0), 0, buf_gpa(0), 8, VRING_DESC_F_NEXT, 2);
	set_desc(desc_table(), 0, IND_GPA, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken("indirect descriptor index out of range");
}
END_TEST

START_TEST(pop_rejects_chain_longer_than_queue)
{
	/* Queue of 4 whose chain revisits: 0 1 2 3 0 ... */
	vq.size = 4;
	ck_assert_int_eq(virtq_validate(&vq), 0);
	for (unsigned i = 0; i < 4; i++)
		set_desc(desc_table(), i, buf_gpa(i), 8, VRING_DESC_F_NEXT, (i + 1) % 4);
	publish(0);
	expect_broken("longer than its table");
}
END_TEST

START_TEST(pop_rejects_too_long_indirect_table)
{
	set_desc(desc_table(), 0, IND_GPA, (VIRTQ_MAX_CHAIN + 1) * 16, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken("longer than VIRTQ_MAX_CHAIN");
}
END_TEST

START_TEST(pop_rejects_avail_overrun)
{
	avail()->idx = QSIZE + 1;
	expect_broken("avail->idx");
}
END_TEST

START_TEST(pop_accepts_exactly_full_avail)
{
	for (unsigned i = 0; i < QSIZE; i++) {
		set_desc(desc_table(), i, buf_gpa(i), 8, 0, 0);
		publish(i);
	}
	for (unsigned i = 0; i < QSIZE; i++)
		ck_assert_int_eq(virtq_pop(&vq, &chain, NULL), 1);
	ck_assert_int_eq(virtq_pop(&vq, &chain, NULL), 0);
}
END_TEST

START_TEST(pop_rejects_buffer_beyond_ram)
{
	set_desc(desc_table(), 0, RAM_SIZE - 4, 8, 0, 0);
	publish(0);
	expect_broken("outside guest RAM");
}
END_TEST

START_TEST(pop_rejects_buffer_wrapping_2_64)
{
	set_desc(desc_table(), 0, 0xfffffffffffffffcull, 8, 0, 0);
	publish(0);
	expect_broken("wrapping");
}
END_TEST

START_TEST(pop_rejects_nested_indirect)
{
	set_desc(ind_table(1), 0, buf_gpa(0), 8, 0, 0);
	set_desc(ind_table(0), 0, IND_GPA + 0x1000, 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(desc_table(), 0, IND_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken("nested indirect");
}
END_TEST

START_TEST(pop_rejects_indirect_len_not_multiple_of_16)
{
	set_desc(ind_table(0), 0, buf_gpa(0), 8, 0, 0);
	set_desc(desc_table(), 0, IND_GPA, 24, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken("multiple of 16");
}
END_TEST

START_TEST(pop_rejects_empty_indirect_table)
{
	set_desc(desc_table(), 0, IND_GPA, 0, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken("multiple of 16");
}
END_TEST

START_TEST(pop_rejects_indirect_table_outside_ram)
{
	set_desc(desc_table(), 0, RAM_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken("indirect table outside guest RAM");
}
END_TEST

START_TEST(pop_rejects_indirect_not_negotiated)
{
	vq.indirect = false;
	set_desc(ind_table(0), 0, buf_gpa(0), 8, 0, 0);
	set_desc(desc_table(), 0, IND_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken("not negotiated");
}
END_TEST

START_TEST(pop_rejects_indirect_with_next)
{
	set_desc(ind_table(0), 0, buf_gpa(0), 8, 0, 0);
	set_desc(desc_table(), 0, IND_GPA, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	set_desc(desc_table(), 1, buf_gpa(1), 8, 0, 0);
	publish(0);
	expect_broken("NEXT");
}
END_TEST

START_TEST(pop_rejects_readable_after_writable)
{
	set_desc(desc_table(), 0, buf_gpa(0), 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(desc_table(), 1, buf_gpa(1), 8, 0, 0);
	publish(0);
	expect_broken("readable buffer after a device-writable");
}
END_TEST

START_TEST(pop_rejects_readable_after_writable_in_indirect)
{
	set_desc(ind_table(0), 0, buf_gpa(0), 0, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(ind_table(0), 1, buf_gpa(1), 8, 0, 0);
	set_desc(desc_table(), 0, IND_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken("readable buffer after a device-writable");
}
END_TEST

START_TEST(reset_clears_broken)
{
	publish(QSIZE);
	expect_broken("head index");
	virtq_reset(&vq);
	ck_assert(!vq.broken);
	ck_assert_uint_eq(vq.last_avail_idx, 0);
	avail()->idx = 0;
	drv_avail_idx = 0;
	set_desc(desc_table(), 0, buf_gpa(0), 8, 0, 0);
	publish(0);
	ck_assert_int_eq(virtq_pop(&vq, &chain, NULL), 1);
}
END_TEST

/* ---- used ring and interrupts ---- */

START_TEST(push_writes_used_ring)
{
	ck_assert_int_eq(virtq_push(&vq, 7, 512), 0);
	ck_assert_int_eq(virtq_push(&vq, 3, 1), 0);
	ck_assert_uint_eq(used()->idx, 2);
	ck_assert_uint_eq(used()->ring[0].id, 7);
	ck_assert_uint_eq(used()->ring[0].len, 512);
	ck_assert_uint_eq(used()->ring[1].id, 3);
	ck_assert_uint_eq(used()->ring[1].len, 1);
	ck_assert_int_eq(virtq_push(&vq, QSIZE, 0), -EINVAL);
	ck_assert_uint_eq(used()->idx, 2);
}
END_TEST

START_TEST(push_used_idx_wraps)
{
	vq.used_idx = 65535;
	ck_assert_int_eq(virtq_push(&vq, 4, 9), 0);
	ck_assert_uint_eq(used()->idx, 0);
	ck_assert_uint_eq(used()->ring[65535 % QSIZE].id, 4);
	ck_assert_uint_eq(used()->ring[65535 % QSIZE].len, 9);
	ck_assert_int_eq(virtq_push(&vq, 5, 10), 0);
	ck_assert_uint_eq(used()->idx, 1);
	ck_assert_uint_eq(used()->ring[0].id, 5);
}
END_TEST

START_TEST(no_interrupt_flag_without_event_idx)
{
	ck_assert_int_eq(virtq_push(&vq, 0, 0), 0);
	ck_assert(virtq_needs_interrupt(&vq));
	avail()->flags = VRING_AVAIL_F_NO_INTERRUPT;
	ck_assert(!virtq_needs_interrupt(&vq));
	avail()->flags = 0;
	ck_assert(virtq_needs_interrupt(&vq));
}
END_TEST

START_TEST(event_idx_interrupt_decisions)
{
	vq.event_idx = true;
	/* NO_INTERRUPT is ignored with EVENT_IDX (§2.7.10). */
	avail()->flags = VRING_AVAIL_F_NO_INTERRUPT;
	*used_event() = 100;

	/* The first decision after reset always interrupts. */
	virtq_push(&vq, 0, 0);
	ck_assert(virtq_needs_interrupt(&vq));
	ck_assert_uint_eq(vq.signalled_used, 1);

	/* Nothing pushed since: no interrupt. */
	ck_assert(!virtq_needs_interrupt(&vq));

	/* used_event = 1 lies in [old 1, new 2): interrupt. */
	*used_event() = 1;
	virtq_push(&vq, 0, 0);
	ck_assert(virtq_needs_interrupt(&vq));

	/* used_event in the future (5) and new = 3: suppressed. */
	*used_event() = 5;
	virtq_push(&vq, 0, 0);
	ck_assert(!virtq_needs_interrupt(&vq));

	/* Two more (old 3, new 5), used_event 3 was crossed: interrupt. */
	*used_event() = 3;
	virtq_push(&vq, 0, 0);
	virtq_push(&vq, 0, 0);
	ck_assert(virtq_needs_interrupt(&vq));

	/* used_event behind old (driver slow to update): suppressed. */
	*used_event() = 2;
	virtq_push(&vq, 0, 0);
	ck_assert(!virtq_needs_interrupt(&vq));
}
END_TEST

START_TEST(event_idx_across_wrap)
{
	vq.event_idx = true;
	vq.used_idx = 65534;
	vq.signalled_used = 65534;
	vq.signalled_used_valid = true;
	*used_event() = 65535;
	virtq_push(&vq, 0, 0);
	virtq_push(&vq, 0, 0);
	virtq_push(&vq, 0, 0); /* used_idx = 1 */
	ck_assert_uint_eq(used()->idx, 1);
	ck_assert(virtq_needs_interrupt(&vq));
	ck_assert_uint_eq(vq.signalled_used, 1);

	*used_event() = 2; /* next interrupt wanted once entry 2 is used */
	virtq_push(&vq, 0, 0);
	ck_assert(!virtq_needs_interrupt(&vq));
	virtq_push(&vq, 0, 0);
	ck_assert(virtq_needs_interrupt(&vq));
}
END_TEST

START_TEST(avail_event_published_when_ring_empty)
{
	vq.event_idx = true;
	for (unsigned i = 0; i < 3; i++) {
		set_desc(desc_table(), i, buf_gpa(i), 8, 0, 0);
		publish(i);
	}
	ck_assert_int_eq(virtq_pop(&vq, &chain, NULL), 1);
	ck_assert_uint_eq(avail_event(), 0); /* not touched while busy */
	ck_assert_int_eq(virtq_pop(&vq, &chain, NULL), 1);
	ck_assert_int_eq(virtq_pop(&vq, &chain, NULL), 1);
	ck_assert_int_eq(virtq_pop(&vq, &chain, NULL), 0);
	ck_assert_uint_eq(avail_event(), 3); /* kick me when entry 3 is added */

	vq.last_avail_idx = 9;
	virtq_update_avail_event(&vq);
	ck_assert_uint_eq(avail_event(), 9);
}
END_TEST

START_TEST(avail_event_untouched_without_event_idx)
{
	*(uint16_t *)&used()->ring[QSIZE] = 0x1234;
	ck_assert_int_eq(virtq_pop(&vq, &chain, NULL), 0);
	virtq_update_avail_event(&vq);
	ck_assert_uint_eq(avail_event(), 0x1234);
}
END_TEST

/* ---- chain copy helpers ---- */

START_TEST(chain_read_write_across_buffers)
{
	char out[16] = {0};

	memcpy(ram + buf_gpa(0), "hel", 3);
	memcpy(ram + buf_gpa(1), "lo wor", 6);
	memcpy(ram + buf_gpa(2), "ld", 2);
	set_desc(desc_table(), 0, buf_gpa(0), 3, VRING_DESC_F_NEXT, 1);
	set_desc(desc_table(), 1, buf_gpa(1), 6, VRING_DESC_F_NEXT, 2);
	set_desc(desc_table(), 2, buf_gpa(2), 2, VRING_DESC_F_NEXT, 3);
	set_desc(desc_table(), 3, buf_gpa(3), 3, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 4);
	set_desc(desc_table(), 4, buf_gpa(4), 5, VRING_DESC_F_WRITE, 0);
	publish(0);
	ck_assert_int_eq(virtq_pop(&vq, &chain, NULL), 1);

	ck_assert_uint_eq(virtq_chain_read(&chain, 0, out, sizeof(out)), 11);
	ck_assert_str_eq(out, "hello world");
	memset(out, 0, sizeof(out));
	ck_assert_uint_eq(virtq_chain_read(&chain, 2, out, 6), 6);
	ck_assert_str_eq(out, "llo wo");
	ck_assert_uint_eq(virtq_chain_read(&chain, 11, out, 1), 0);

	/* Writes go to the writable buffers only, offset counted from the first. */
	ck_assert_uint_eq(virtq_chain_write(&chain, 1, "ABCDEFGHIJ", 10), 7);
	ck_assert_mem_eq(ram + buf_gpa(3), "\0AB", 3);
	ck_assert_mem_eq(ram + buf_gpa(4), "CDEFG", 5);
	ck_assert_mem_eq(ram + buf_gpa(2), "ld", 2);
}
END_TEST

Suite *virtqueue_suite(void)
{
	Suite *s = suite_create("virtqueue");
	TCase *good = tcase_create("well-formed");
	TCase *hostile = tcase_create("hostile");
	TCase *used_tc = tcase_create("used ring");

	tcase_add_checked_fixture(good, setup, teardown);
	tcase_add_test(good, validate_accepts_good_layout);
	tcase_add_test(good, validate_rejects_bad_sizes);
	tcase_add_test(good, validate_rejects_unaligned_rings);
	tcase_add_test(good, validate_rejects_rings_outside_ram);
	tcase_add_test(good, pop_empty_ring);
	tcase_add_test(good, pop_direct_chain);
	tcase_add_test(good, pop_full_length_chain);
	tcase_add_test(good, pop_indirect_chain);
	tcase_add_test(good, pop_mixed_direct_then_indirect);
	tcase_add_test(good, pop_skips_zero_length_buffers);
	tcase_add_test(good, pop_several_and_avail_idx_wrap);
	tcase_add_test(good, pop_accepts_exactly_full_avail);
	tcase_add_test(good, chain_read_write_across_buffers);
	suite_add_tcase(s, good);

	tcase_add_checked_fixture(hostile, setup, teardown);
	tcase_add_test(hostile, pop_rejects_descriptor_loop);
	tcase_add_test(hostile, pop_rejects_self_loop_in_indirect_table);
	tcase_add_test(hostile, pop_rejects_head_out_of_range);
	tcase_add_test(hostile, pop_rejects_next_out_of_range);
	tcase_add_test(hostile, pop_rejects_next_out_of_indirect_table);
	tcase_add_test(hostile, pop_rejects_chain_longer_than_queue);
	tcase_add_test(hostile, pop_rejects_too_long_indirect_table);
	tcase_add_test(hostile, pop_rejects_avail_overrun);
	tcase_add_test(hostile, pop_rejects_buffer_beyond_ram);
	tcase_add_test(hostile, pop_rejects_buffer_wrapping_2_64);
	tcase_add_test(hostile, pop_rejects_nested_indirect);
	tcase_add_test(hostile, pop_rejects_indirect_len_not_multiple_of_16);
	tcase_add_test(hostile, pop_rejects_empty_indirect_table);
	tcase_add_test(hostile, pop_rejects_indirect_table_outside_ram);
	tcase_add_test(hostile, pop_rejects_indirect_not_negotiated);
	tcase_add_test(hostile, pop_rejects_indirect_with_next);
	tcase_add_test(hostile, pop_rejects_readable_after_writable);
	tcase_add_test(hostile, pop_rejects_readable_after_writable_in_indirect);
	tcase_add_test(hostile, reset_clears_broken);
	suite_add_tcase(s, hostile);

	tcase_add_checked_fixture(used_tc, setup, teardown);
	tcase_add_test(used_tc, push_writes_used_ring);
	tcase_add_test(used_tc, push_used_idx_wraps);
	tcase_add_test(used_tc, no_interrupt_flag_without_event_idx);
	tcase_add_test(used_tc, event_idx_interrupt_decisions);
	tcase_add_test(used_tc, event_idx_across_wrap);
	tcase_add_test(used_tc, avail_event_published_when_ring_empty);
	tcase_add_test(used_tc, avail_event_untouched_without_event_idx);
	suite_add_tcase(s, used_tc);
	return s;
}
