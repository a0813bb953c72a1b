/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng driven like a guest driver would: through the real virtio-mmio
 * transport's registers, with a split ring in fake guest memory.  The token
 * bucket runs on a fake clock; the entropy source is getrandom(2) except
 * where a test swaps in a failing or stingy one.
 */
#include <check.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio_mmio.h"
#include "devices/virtio_rng.h"

#define RAM_BYTES (4u << 20)
#define DESC_GPA  0x1000u
#define AVAIL_GPA 0x2000u
#define USED_GPA  0x3000u
#define BUF_GPA	  0x10000u
#define QSIZE	  16u
#define RATE	  1000u /* bytes per second in the rate-limit tests */
#define MS	  1000000ull

static const struct logger quiet = {LOG_ERROR, -1, "test"};

struct irq_recorder {
	unsigned pulses;
};

static void record_level(void *opaque, uint32_t gsi, int level)
{
	struct irq_recorder *r = opaque;
	(void)gsi;
	if (level)
		r->pulses++;
}

/* A fake clock and a scriptable entropy source (the hooks' opaque). */
struct fake_env {
	uint64_t now;
	int fail_calls; /* this many get_bytes calls fail with fail_errno */
	int fail_errno;
	size_t max_chunk; /* 0: no limit; else at most this many bytes per call */
	unsigned calls;
};

static struct guest_mem gm;
static uint8_t *ram;
static struct virtio_rng *rng;
static struct virtio_transport *t;
static struct ev_loop *loop;
static struct irq_recorder irqs;
static struct irq_chip chip = {record_level, &irqs};
static struct fake_env fenv;
static uint16_t avail_idx, used_seen, next_desc;
static uint64_t next_buf;

static uint64_t fake_now(void *opaque)
{
	return ((struct fake_env *)opaque)->now;
}

static ssize_t fake_get_bytes(void *opaque, void *buf, size_t len)
{
	struct fake_env *f = opaque;

	f->calls++;
	if (f->fail_calls > 0) {
		f->fail_calls--;
		return -f->fail_errno;
	}
	if (f->max_chunk && len > f->max_chunk)
		len = f->max_chunk;
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = (uint8_t)(0x80 | (f->calls + i));
	return (ssize_t)len;
}

/* ---- Transport registers, as a driver uses them ---- */

static void mmio_w(uint64_t off, uint32_t v)
{
	virtio_mmio_write(t, off, &v, 4);
}

static uint32_t mmio_r(uint64_t off)
{
	uint32_t v = 0xdeadbeef;
	virtio_mmio_read(t, off, &v, 4);
	return v;
}

static uint64_t device_features(void)
{
	mmio_w(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint64_t lo = mmio_r(VIRTIO_MMIO_DEVICE_FEATURES);
	mmio_w(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return lo | (uint64_t)mmio_r(VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

/* §3.1.1 driver initialisation; accepts every offered feature except `drop`. */
static void driver_init(uint64_t drop)
{
	uint64_t f = device_features() & ~drop;

	memset(ram + DESC_GPA, 0, 0x3000);
	avail_idx = used_seen = next_desc = 0;
	mmio_w(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	mmio_w(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	mmio_w(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	mmio_w(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	mmio_w(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_w(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	mmio_w(VIRTIO_MMIO_STATUS,
	       VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	ck_assert(mmio_r(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	mmio_w(VIRTIO_MMIO_QUEUE_SEL, 0);
	ck_assert_uint_ge(mmio_r(VIRTIO_MMIO_QUEUE_NUM_MAX), QSIZE);
	mmio_w(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	mmio_w(VIRTIO_MMIO_QUEUE_DESC_LOW, DESC_GPA);
	mmio_w(VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	mmio_w(VIRTIO_MMIO_QUEUE_AVAIL_LOW, AVAIL_GPA);
	mmio_w(VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	mmio_w(VIRTIO_MMIO_QUEUE_USED_LOW, USED_GPA);
	mmio_w(VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	mmio_w(VIRTIO_MMIO_QUEUE_READY, 1);
	mmio_w(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	ck_assert(mmio_r(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK);
}

/*
 * rate: 0 = unlimited.  fake_source: use fake_get_bytes instead of
 * getrandom.  The fake clock is always installed.
 */
static void start_device(uint64_t rate, bool fake_source, uint64_t drop)
{
	struct virtio_mmio_env env = {
	    .mem = &gm, .log = &quiet, .irq = {&chip, 5}, .loop = loop, .register_notify = NULL};
	struct virtio_rng_hooks hooks = {fake_now, fake_source ? fake_get_bytes : NULL, &fenv};
	struct vmm_err err = {{0}};

	ck_assert_int_eq(virtio_rng_create(&rng, rate, loop, &quiet, &err), 0);
	virtio_rng_set_hooks(rng, &hooks);
	ck_assert_int_eq(virtio_mmio_create(&t, &virtio_rng_ops, rng, 0xd0000000, &env, &err), 0);
	driver_init(drop);
}

static void setup(void)
{
	memset(&gm, 0, sizeof(gm));
	ram = calloc(1, RAM_BYTES);
	ck_assert_int_eq(gm_add_region(&gm, 0, RAM_BYTES, ram), 0);
	ck_assert_int_eq(ev_loop_create(&loop), 0);
	rng = NULL;
	t = NULL;
	irqs.pulses = 0;
	fenv = (struct fake_env){.now = 1000 * MS};
	avail_idx = used_seen = next_desc = 0;
	next_buf = BUF_GPA;
}

static void teardown(void)
{
	virtio_mmio_destroy(t);
	virtio_rng_destroy(rng);
	ev_loop_destroy(loop);
	free(ram);
}

/* ---- A tiny driver-side split ring ---- */

struct buf {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

/* A zeroed guest buffer with 16 bytes of 0xcc after it (to catch overruns). */
static struct buf gbuf(uint32_t len, bool writable)
{
	struct buf b = {next_buf, len, writable};

	memset(ram + b.gpa, 0, len);
	memset(ram + b.gpa + len, 0xcc, 16);
	next_buf = (next_buf + len + 16 + 15) & ~15ull;
	return b;
}

static uint8_t *host(struct buf b)
{
	return ram + b.gpa;
}

/* Writes a chain of descriptors and makes it available; returns its head. */
static uint16_t add_chain(const struct buf *bufs, unsigned n)
{
	struct vring_desc *desc = (struct vring_desc *)(ram + DESC_GPA);
	struct vring_avail *avail = (struct vring_avail *)(ram + AVAIL_GPA);
	uint16_t head = next_desc;

	for (unsigned i = 0; i < n; i++) {
		uint16_t d = (uint16_t)((next_desc + i) % QSIZE);
		desc[d].addr = bufs[i].gpa;
		desc[d].len = bufs[i].len;
		desc[d].flags = (uint16_t)((bufs[i].writable ? VRING_DESC_F_WRITE : 0) |
					   (i + 1 < n ? VRING_DESC_F_NEXT : 0));
		desc[d].next = (uint16_t)((d + 1) % QSIZE);
	}
	next_desc = (uint16_t)((next_desc + n) % QSIZE);
	avail->ring[avail_idx % QSIZE] = head;
	avail_idx++;
	__atomic_store_n(&avail->idx, avail_idx, __ATOMIC_RELEASE);
	return head;
}

static void notify(void)
{
	mmio_w(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

static uint16_t used_idx(void)
{
	return ((struct vring_used *)(ram + USED_GPA))->idx;
}

/* Next used element's length (and head in *id); fails if there is none. */
static uint32_t take_used_id(uint32_t *id)
{
	struct vring_used *used = (struct vring_used *)(ram + USED_GPA);
	struct vring_used_elem *e;

	ck_assert_uint_ne(used_idx(), used_seen);
	e = &used->ring[used_seen++ % QSIZE];
	/* As a driver re-enabling callbacks does: with EVENT_IDX, interrupt for the next one. */
	((struct vring_avail *)(ram + AVAIL_GPA))->ring[QSIZE] = used_seen;
	if (id)
		*id = e->id;
	return e->len;
}

static uint32_t take_used(void)
{
	return take_used_id(NULL);
}

/* One writable buffer of `len` bytes, notified; returns the buffer. */
static struct buf request(uint32_t len)
{
	struct buf b = gbuf(len, true);

	add_chain(&b, 1);
	notify();
	return b;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static bool guard_intact(struct buf b)
{
	for (unsigned i = 0; i < 16; i++)
		if (host(b)[b.len + i] != 0xcc)
			return false;
	return true;
}

static bool needs_reset(void)
{
	return mmio_r(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

static void stop_loop(struct ev_loop *l, int fd, uint32_t events, void *opaque)
{
	(void)fd;
	(void)events;
	(void)opaque;
	ev_stop(l);
}

/* Runs the event loop for `ms` of real time. */
static void run_loop_ms(uint64_t ms)
{
	ck_assert_int_ge(ev_add_timer_ms(loop, ms, stop_loop, NULL), 0);
	ck_assert_int_eq(ev_run(loop), 0);
}

/* ---- Tests ---- */

START_TEST(identity_features_no_config)
{
	uint64_t f;

	start_device(0, false, 0);
	ck_assert_uint_eq(mmio_r(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	ck_assert_uint_eq(virtio_rng_ops.device_id, 4);
	f = device_features();
	/* §5.4.3: no device feature bits; only the transport's ring/version bits. */
	ck_assert_uint_eq(f & ((1ull << VIRTIO_TRANSPORT_F_START) - 1), 0);
	ck_assert(f & (1ull << VIRTIO_F_VERSION_1));
	/* No config space: reads are refused (0), writes ignored. */
	ck_assert_uint_eq(mmio_r(VIRTIO_MMIO_CONFIG), 0);
	mmio_w(VIRTIO_MMIO_CONFIG, 1);
	ck_assert_uint_eq(mmio_r(VIRTIO_MMIO_CONFIG), 0);
	ck_assert(!needs_reset());
}
END_TEST

START_TEST(fills_buffers_with_random_bytes)
{
	struct buf a, b;
	struct virtio_rng_stats st;

	start_device(0, false, 0);
	a = request(64);
	ck_assert_uint_eq(take_used(), 64);
	b = request(64);
	ck_assert_uint_eq(take_used(), 64);
	ck_assert(!all_zero(host(a), 64));
	ck_assert(!all_zero(host(b), 64));
	ck_assert(memcmp(host(a), host(b), 64) != 0);
	ck_assert(guard_intact(a));
	ck_assert(guard_intact(b));
	ck_assert_uint_eq(irqs.pulses, 2);
	ck_assert_uint_eq(mmio_r(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING,
			  VIRTIO_MMIO_INT_VRING);
	virtio_rng_get_stats(rng, &st);
	ck_assert_uint_eq(st.requests, 2);
	ck_assert_uint_eq(st.bytes, 128);
	ck_assert_uint_eq(st.throttled, 0);
}
END_TEST

START_TEST(chain_of_buffers_and_one_byte)
{
	struct buf bufs[3];

	start_device(0, false, 0);
	bufs[0] = gbuf(40, true);
	bufs[1] = gbuf(1, true);
	bufs[2] = gbuf(40, true);
	add_chain(bufs, 3);
	notify();
	ck_assert_uint_eq(take_used(), 81);
	ck_assert(!all_zero(host(bufs[0]), 40));
	ck_assert(!all_zero(host(bufs[2]), 40));
	for (int i = 0; i < 3; i++)
		ck_assert(guard_intact(bufs[i]));
	/* A one-byte request gets its byte. */
	bufs[0] = request(1);
	ck_assert_uint_eq(take_used(), 1);
	ck_assert(guard_intact(bufs[0]));
}
END_TEST

/* The source may hand out fewer bytes per call: the device keeps asking. */
START_TEST(short_reads_from_the_source_are_retried)
{
	struct buf b;

	fenv.max_chunk = 7;
	start_device(0, true, 0);
	b = request(100);
	ck_assert_uint_eq(take_used(), 100);
	ck_assert_uint_eq(fenv.calls, 15); /* ceil(100 / 7) */
	for (int i = 0; i < 100; i++)
		ck_assert_uint_ne(host(b)[i], 0); /* the fake source never writes 0 */
	ck_assert(guard_intact(b));
}
END_TEST

START_TEST(huge_request_is_capped)
{
	struct buf b;

	start_device(0, false, 0);
	b = request(VIRTIO_RNG_MAX_REQUEST_BYTES + 4096);
	ck_assert_uint_eq(take_used(), VIRTIO_RNG_MAX_REQUEST_BYTES);
	ck_assert(!all_zero(host(b) + VIRTIO_RNG_MAX_REQUEST_BYTES - 64, 64));
	ck_assert(all_zero(host(b) + VIRTIO_RNG_MAX_REQUEST_BYTES, 4096));
}
END_TEST

START_TEST(batch_gets_one_interrupt)
{
	struct buf b[3];

	start_device(0, false, 1ull << VIRTIO_RING_F_EVENT_IDX);
	for (int i = 0; i < 3; i++) {
		b[i] = gbuf(32, true);
		add_chain(&b[i], 1);
	}
	notify();
	ck_assert_uint_eq(used_idx(), 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(take_used(), 32);
		ck_assert(!all_zero(host(b[i]), 32));
	}
	ck_assert_uint_eq(irqs.pulses, 1);

	/* The driver suppressed interrupts: completions without a pulse. */
	((struct vring_avail *)(ram + AVAIL_GPA))->flags = VRING_AVAIL_F_NO_INTERRUPT;
	request(16);
	ck_assert_uint_eq(take_used(), 16);
	ck_assert_uint_eq(irqs.pulses, 1);
}
END_TEST

START_TEST(batch_with_event_idx)
{
	start_device(0, false, 0);
	for (int i = 0; i < 4; i++) {
		struct buf b = gbuf(8, true);
		add_chain(&b, 1);
	}
	notify();
	ck_assert_uint_eq(used_idx(), 4);
	ck_assert_uint_eq(irqs.pulses, 1);
}
END_TEST

/* §5.4.6.2: readable buffers are the driver's mistake; ignored, the writable part served. */
START_TEST(readable_buffers_are_ignored)
{
	struct buf bufs[2];

	start_device(0, false, 0);
	bufs[0] = gbuf(16, false);
	memset(host(bufs[0]), 0x5a, 16);
	bufs[1] = gbuf(32, true);
	add_chain(bufs, 2);
	notify();
	ck_assert_uint_eq(take_used(), 32);
	ck_assert(!all_zero(host(bufs[1]), 32));
	for (int i = 0; i < 16; i++)
		ck_assert_uint_eq(host(bufs[0])[i], 0x5a);
	/* Only readable: nothing to fill, completed with 0 so the ring moves on. */
	bufs[0] = gbuf(16, false);
	memset(host(bufs[0]), 0x5a, 16);
	add_chain(bufs, 1);
	notify();
	ck_assert_uint_eq(take_used(), 0);
	for (int i = 0; i < 16; i++)
		ck_assert_uint_eq(host(bufs[0])[i], 0x5a);
	ck_assert(!needs_reset());
	request(8);
	ck_assert_uint_eq(take_used(), 8);
}
END_TEST

static void check_hostile(void (*corrupt)(void))
{
	unsigned pulses;

	start_device(0, false, 0);
	corrupt();
	notify();
	ck_assert_uint_eq(used_idx(), 0);
	ck_assert(needs_reset());
	ck_assert_uint_eq(mmio_r(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG,
			  VIRTIO_MMIO_INT_CONFIG);
	/* Nothing more is served until the driver resets. */
	pulses = irqs.pulses;
	request(8);
	ck_assert_uint_eq(used_idx(), 0);
	ck_assert_uint_eq(irqs.pulses, pulses);
	mmio_w(VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(mmio_r(VIRTIO_MMIO_STATUS), 0);
	driver_init(0);
	request(8);
	ck_assert_uint_eq(take_used(), 8);
}

static void head_out_of_range(void)
{
	struct vring_avail *avail = (struct vring_avail *)(ram + AVAIL_GPA);

	avail->ring[0] = QSIZE;
	avail->idx = 1;
}

static void descriptor_loop(void)
{
	struct vring_desc *desc = (struct vring_desc *)(ram + DESC_GPA);
	struct vring_avail *avail = (struct vring_avail *)(ram + AVAIL_GPA);

	desc[0] = (struct vring_desc){BUF_GPA, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1};
	desc[1] = (struct vring_desc){BUF_GPA + 8, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0};
	avail->ring[0] = 0;
	avail->idx = 1;
}

static void buffer_outside_ram(void)
{
	struct vring_desc *desc = (struct vring_desc *)(ram + DESC_GPA);
	struct vring_avail *avail = (struct vring_avail *)(ram + AVAIL_GPA);

	desc[0] = (struct vring_desc){RAM_BYTES - 8, 64, VRING_DESC_F_WRITE, 0};
	avail->ring[0] = 0;
	avail->idx = 1;
}

static void avail_idx_too_far(void)
{
	struct vring_avail *avail = (struct vring_avail *)(ram + AVAIL_GPA);

	avail->idx = QSIZE + 1;
}

START_TEST(hostile_head_needs_reset)
{
	check_hostile(head_out_of_range);
}
END_TEST

START_TEST(hostile_loop_needs_reset)
{
	check_hostile(descriptor_loop);
}
END_TEST

START_TEST(hostile_address_needs_reset)
{
	check_hostile(buffer_outside_ram);
	ck_assert_uint_eq(ram[RAM_BYTES - 8], 0); /* the chain was refused, not half-filled */
}
END_TEST

START_TEST(hostile_avail_idx_needs_reset)
{
	check_hostile(avail_idx_too_far);
}
END_TEST

/* The host pool is not ready (EAGAIN): the chain waits, then is served, not dropped. */
START_TEST(eagain_delays_the_request)
{
	uint32_t id;
	uint16_t head;
	struct buf b;

	fenv.fail_calls = 2;
	fenv.fail_errno = EAGAIN;
	start_device(0, true, 0);
	b = gbuf(64, true);
	head = add_chain(&b, 1);
	notify();
	ck_assert_uint_eq(used_idx(), 0);
	ck_assert_uint_eq(irqs.pulses, 0);
	notify(); /* still failing */
	ck_assert_uint_eq(used_idx(), 0);
	notify();
	ck_assert_uint_eq(take_used_id(&id), 64);
	ck_assert_uint_eq(id, head);
	ck_assert(!all_zero(host(b), 64));
	ck_assert_uint_eq(irqs.pulses, 1);
	ck_assert(!needs_reset());
}
END_TEST

/* With an event loop, the retry comes from the device's own timer. */
START_TEST(eagain_retried_from_timer)
{
	struct buf b;

	fenv.fail_calls = 1;
	fenv.fail_errno = EIO; /* any failure is retried, not completed empty */
	start_device(0, true, 0);
	b = request(64);
	ck_assert_uint_eq(used_idx(), 0);
	run_loop_ms(400); /* the retry timer is 100 ms */
	ck_assert_uint_eq(take_used(), 64);
	ck_assert(!all_zero(host(b), 64));
	ck_assert_uint_eq(irqs.pulses, 1);
}
END_TEST

/* A reset drops the pending chain: after it, the new ring is served from scratch. */
START_TEST(reset_drops_pending_chain)
{
	uint32_t id;

	fenv.fail_calls = 1;
	fenv.fail_errno = EAGAIN;
	start_device(0, true, 0);
	request(64);
	ck_assert_uint_eq(used_idx(), 0);
	mmio_w(VIRTIO_MMIO_STATUS, 0);
	driver_init(0);
	request(16);
	ck_assert_uint_eq(take_used_id(&id), 16);
	ck_assert_uint_eq(id, 0);
	ck_assert_uint_eq(used_idx(), 1);
	run_loop_ms(200); /* the cancelled retry timer must not fire into the new ring */
	ck_assert_uint_eq(used_idx(), 1);
}
END_TEST

START_TEST(rate_limit_partial_then_refill)
{
	struct virtio_rng_stats st;
	struct buf b;

	start_device(RATE, false, 0);
	/* The bucket starts full with one second's worth: a 4096-byte request gets 1000. */
	b = request(4096);
	ck_assert_uint_eq(take_used(), RATE);
	ck_assert(!all_zero(host(b) + RATE - 32, 32));
	ck_assert(all_zero(host(b) + RATE, 4096 - RATE));
	ck_assert_uint_eq(irqs.pulses, 1);

	/* Dry: the request stays on the ring. */
	request(64);
	ck_assert_uint_eq(used_idx(), 1);
	ck_assert_uint_eq(irqs.pulses, 1);
	virtio_rng_get_stats(rng, &st);
	ck_assert_uint_eq(st.throttled, 1);
	notify(); /* kicks while dry: no work, no second timer */
	ck_assert_uint_eq(used_idx(), 1);
	virtio_rng_get_stats(rng, &st);
	ck_assert_uint_eq(st.throttled, 1);

	/* 50 ms later: 50 tokens. */
	fenv.now += 50 * MS;
	notify();
	ck_assert_uint_eq(take_used(), 50);
	ck_assert_uint_eq(irqs.pulses, 2);

	/* Fractions of a byte are kept: 1.5 ms gives 1 byte, 1.5 ms more gives 2. */
	fenv.now += 1500000;
	request(64);
	ck_assert_uint_eq(take_used(), 1);
	fenv.now += 1500000;
	request(64);
	ck_assert_uint_eq(take_used(), 2);

	/* A long pause refills no further than the burst. */
	fenv.now += 10000 * MS;
	request(4096);
	ck_assert_uint_eq(take_used(), RATE);
	virtio_rng_get_stats(rng, &st);
	ck_assert_uint_eq(st.bytes, RATE + 50 + 1 + 2 + RATE);
}
END_TEST

/* Several requests share the bucket in one notify; the rest wait. */
START_TEST(rate_limit_across_a_batch)
{
	struct buf b[4];

	start_device(RATE, false, 1ull << VIRTIO_RING_F_EVENT_IDX);
	for (int i = 0; i < 4; i++) {
		b[i] = gbuf(400, true);
		add_chain(&b[i], 1);
	}
	notify();
	ck_assert_uint_eq(used_idx(), 3);
	ck_assert_uint_eq(take_used(), 400);
	ck_assert_uint_eq(take_used(), 400);
	ck_assert_uint_eq(take_used(), 200);
	ck_assert_uint_eq(irqs.pulses, 1);
	fenv.now += 1000 * MS;
	notify();
	ck_assert_uint_eq(take_used(), 400);
	ck_assert_uint_eq(irqs.pulses, 2);
}
END_TEST

/* The dry bucket arms a timer on the event loop that serves the waiting request. */
START_TEST(rate_limit_timer_resumes)
{
	struct buf b;

	start_device(RATE, false, 0);
	request(RATE);
	ck_assert_uint_eq(take_used(), RATE);
	b = request(64);
	ck_assert_uint_eq(used_idx(), 1);
	fenv.now += 100 * MS; /* the fake clock says 100 tokens are back */
	run_loop_ms(300);     /* the timer is 10 ms of real time */
	ck_assert_uint_eq(take_used(), 64);
	ck_assert(!all_zero(host(b), 64));
	ck_assert_uint_eq(irqs.pulses, 2);
}
END_TEST

/* A reset neither refills the bucket nor leaves the timer running. */
START_TEST(rate_limit_survives_reset)
{
	start_device(RATE, false, 0);
	request(4096);
	ck_assert_uint_eq(take_used(), RATE);
	request(64);
	ck_assert_uint_eq(used_idx(), 1);
	mmio_w(VIRTIO_MMIO_STATUS, 0);
	driver_init(0);
	request(64);
	ck_assert_uint_eq(used_idx(), 0);
	fenv.now += 10 * MS;
	notify();
	ck_assert_uint_eq(take_used(), 10);
}
END_TEST

START_TEST(clock_going_backwards_credits_nothing)
{
	start_device(RATE, false, 0);
	request(4096);
	ck_assert_uint_eq(take_used(), RATE);
	fenv.now -= 500 * MS;
	request(64);
	ck_assert_uint_eq(used_idx(), 1);
	fenv.now += 500 * MS + 20 * MS;
	notify();
	ck_assert_uint_eq(take_used(), 20);
}
END_TEST

/* Huge rates must not overflow the bucket arithmetic. */
START_TEST(huge_rate)
{
	start_device(UINT64_MAX, false, 0);
	request(4096);
	ck_assert_uint_eq(take_used(), 4096);
	fenv.now += 1;
	request(4096);
	ck_assert_uint_eq(take_used(), 4096);
}
END_TEST

START_TEST(rate_limit_needs_a_loop)
{
	struct vmm_err err = {{0}};

	ck_assert_int_eq(virtio_rng_create(&rng, RATE, NULL, &quiet, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "event loop"));
	rng = NULL;
	ck_assert_int_eq(virtio_rng_create(&rng, 0, NULL, &quiet, &err), 0);
}
END_TEST

Suite *virtio_rng_suite(void)
{
	Suite *s = suite_create("virtio_rng");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, identity_features_no_config);
	tcase_add_test(tc, fills_buffers_with_random_bytes);
	tcase_add_test(tc, chain_of_buffers_and_one_byte);
	tcase_add_test(tc, short_reads_from_the_source_are_retried);
	tcase_add_test(tc, huge_request_is_capped);
	tcase_add_test(tc, batch_gets_one_interrupt);
	tcase_add_test(tc, batch_with_event_idx);
	tcase_add_test(tc, readable_buffers_are_ignored);
	tcase_add_test(tc, hostile_head_needs_reset);
	tcase_add_test(tc, hostile_loop_needs_reset);
	tcase_add_test(tc, hostile_address_needs_reset);
	tcase_add_test(tc, hostile_avail_idx_needs_reset);
	tcase_add_test(tc, eagain_delays_the_request);
	tcase_add_test(tc, eagain_retried_from_timer);
	tcase_add_test(tc, reset_drops_pending_chain);
	tcase_add_test(tc, rate_limit_partial_then_refill);
	tcase_add_test(tc, rate_limit_across_a_batch);
	tcase_add_test(tc, rate_limit_timer_resumes);
	tcase_add_test(tc, rate_limit_survives_reset);
	tcase_add_test(tc, clock_going_backwards_credits_nothing);
	tcase_add_test(tc, huge_rate);
	tcase_add_test(tc, rate_limit_needs_a_loop);
	suite_add_tcase(s, tc);
	return s;
}
