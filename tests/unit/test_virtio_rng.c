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
#include "tests/unit/virtio_driver.h"

#define REQUEST_Q 0u
#define RATE	  1000u /* bytes per second in the rate-limit tests */
#define MS	  1000000ull

/* A fake clock and a scriptable entropy source (the hooks' opaque). */
struct fake_env {
	uint64_t now;
	int fail_calls; /* this many get_bytes calls fail with fail_errno */
	int fail_errno;
	size_t max_chunk; /* 0: no limit; else at most this many bytes per call */
	unsigned calls;
};

static struct virtio_test_driver drv;
static struct virtio_rng *rng;
static struct ev_loop *loop;
static struct fake_env fenv;

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

/* ---- The device, behind the transport ---- */

/*
 * rate: 0 = unlimited.  fake_source: use fake_get_bytes instead of
 * getrandom.  The fake clock is always installed.
 */
static void start_device(uint64_t rate, bool fake_source, uint64_t drop)
{
	struct virtio_rng_hooks hooks = {fake_now, fake_source ? fake_get_bytes : NULL, &fenv};
	struct vmm_err err = {{0}};

	ck_assert_int_eq(virtio_rng_create(&rng, rate, loop, drv.log, &err), 0);
	virtio_rng_set_hooks(rng, &hooks);
	vtd_attach(&drv, &virtio_rng_ops, rng, loop);
	vtd_driver_init(&drv, drop);
}

static void setup(void)
{
	vtd_init(&drv, 1);
	ck_assert_int_eq(ev_loop_create(&loop), 0);
	rng = NULL;
	fenv = (struct fake_env){.now = 1000 * MS};
}

static void teardown(void)
{
	vtd_detach(&drv);
	virtio_rng_destroy(rng);
	ev_loop_destroy(loop);
	vtd_fini(&drv);
}

/* ---- Requests ---- */

/* One writable buffer of `len` bytes, notified; returns the buffer. */
static struct vtd_buf request(uint32_t len)
{
	struct vtd_buf b = vtd_alloc(&drv, len, true);

	vtd_add_chain(&drv, REQUEST_Q, &b, 1);
	vtd_notify(&drv, REQUEST_Q);
	return b;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* ---- Tests ---- */

START_TEST(identity_features_no_config)
{
	uint64_t f;

	start_device(0, false, 0);
	ck_assert_uint_eq(vtd_read32(&drv, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	ck_assert_uint_eq(virtio_rng_ops.device_id, 4);
	f = vtd_device_features(&drv);
	/* §5.4.3: no device feature bits; only the transport's ring/version bits. */
	ck_assert_uint_eq(f & ((1ull << VIRTIO_TRANSPORT_F_START) - 1), 0);
	ck_assert(f & (1ull << VIRTIO_F_VERSION_1));
	/* No config space: reads are refused (0), writes ignored. */
	ck_assert_uint_eq(vtd_read32(&drv, VIRTIO_MMIO_CONFIG), 0);
	vtd_write32(&drv, VIRTIO_MMIO_CONFIG, 1);
	ck_assert_uint_eq(vtd_read32(&drv, VIRTIO_MMIO_CONFIG), 0);
	ck_assert(!vtd_needs_reset(&drv));
}
END_TEST

START_TEST(fills_buffers_with_random_bytes)
{
	struct vtd_buf a, b;
	struct virtio_rng_stats st;

	start_device(0, false, 0);
	a = request(64);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 64);
	b = request(64);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 64);
	ck_assert(!all_zero(vtd_host(&drv, a), 64));
	ck_assert(!all_zero(vtd_host(&drv, b), 64));
	ck_assert(memcmp(vtd_host(&drv, a), vtd_host(&drv, b), 64) != 0);
	ck_assert(vtd_guard_intact(&drv, a));
	ck_assert(vtd_guard_intact(&drv, b));
	ck_assert_uint_eq(drv.irq_pulses, 2);
	ck_assert_uint_eq(vtd_read32(&drv, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING,
			  VIRTIO_MMIO_INT_VRING);
	virtio_rng_get_stats(rng, &st);
	ck_assert_uint_eq(st.requests, 2);
	ck_assert_uint_eq(st.bytes, 128);
	ck_assert_uint_eq(st.throttled, 0);
	ck_assert_uint_eq(vtd_metric(&virtio_rng_ops, rng, "rng", "rng.requests"), 2);
	ck_assert_uint_eq(vtd_metric(&virtio_rng_ops, rng, "rng", "rng.bytes"), 128);
	ck_assert_uint_eq(vtd_metric(&virtio_rng_ops, rng, "rng", "rng.throttled"), 0);
}
END_TEST

START_TEST(chain_of_buffers_and_one_byte)
{
	struct vtd_buf bufs[3];

	start_device(0, false, 0);
	bufs[0] = vtd_alloc(&drv, 40, true);
	bufs[1] = vtd_alloc(&drv, 1, true);
	bufs[2] = vtd_alloc(&drv, 40, true);
	vtd_add_chain(&drv, REQUEST_Q, bufs, 3);
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 81);
	ck_assert(!all_zero(vtd_host(&drv, bufs[0]), 40));
	ck_assert(!all_zero(vtd_host(&drv, bufs[2]), 40));
	for (int i = 0; i < 3; i++)
		ck_assert(vtd_guard_intact(&drv, bufs[i]));
	/* A one-byte request gets its byte. */
	bufs[0] = request(1);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 1);
	ck_assert(vtd_guard_intact(&drv, bufs[0]));
}
END_TEST

/* The source may hand out fewer bytes per call: the device keeps asking. */
START_TEST(short_reads_from_the_source_are_retried)
{
	struct vtd_buf b;

	fenv.max_chunk = 7;
	start_device(0, true, 0);
	b = request(100);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 100);
	ck_assert_uint_eq(fenv.calls, 15); /* ceil(100 / 7) */
	for (int i = 0; i < 100; i++)
		ck_assert_uint_ne(vtd_host(&drv, b)[i], 0); /* the fake source never writes 0 */
	ck_assert(vtd_guard_intact(&drv, b));
}
END_TEST

START_TEST(huge_request_is_capped)
{
	struct vtd_buf b;

	start_device(0, false, 0);
	b = request(VIRTIO_RNG_MAX_REQUEST_BYTES + 4096);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), VIRTIO_RNG_MAX_REQUEST_BYTES);
	ck_assert(!all_zero(vtd_host(&drv, b) + VIRTIO_RNG_MAX_REQUEST_BYTES - 64, 64));
	ck_assert(all_zero(vtd_host(&drv, b) + VIRTIO_RNG_MAX_REQUEST_BYTES, 4096));
}
END_TEST

START_TEST(batch_gets_one_interrupt)
{
	struct vtd_buf b[3];

	start_device(0, false, 1ull << VIRTIO_RING_F_EVENT_IDX);
	for (int i = 0; i < 3; i++) {
		b[i] = vtd_alloc(&drv, 32, true);
		vtd_add_chain(&drv, REQUEST_Q, &b[i], 1);
	}
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_used_idx(&drv, REQUEST_Q), 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 32);
		ck_assert(!all_zero(vtd_host(&drv, b[i]), 32));
	}
	ck_assert_uint_eq(drv.irq_pulses, 1);

	/* The driver suppressed interrupts: completions without a pulse. */
	vtd_avail_ring(&drv, REQUEST_Q)->flags = VRING_AVAIL_F_NO_INTERRUPT;
	request(16);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 16);
	ck_assert_uint_eq(drv.irq_pulses, 1);
}
END_TEST

/*
 * Issue 10, defect 2: a wake-up serves at most VIRTIO_RNG_BUDGET_REQUESTS
 * requests (or _BYTES), re-arms, and the rest is served from the loop
 * without another kick.
 */
static void start_device_ioeventfd(void)
{
	struct vmm_err err = {{0}};

	ck_assert_int_eq(virtio_rng_create(&rng, 0, loop, drv.log, &err), 0);
	vtd_attach_ioeventfd(&drv, &virtio_rng_ops, rng, loop);
	drv.qsize = VIRTQ_MAX_SIZE;
	vtd_driver_init(&drv, 0);
}

START_TEST(budget_caps_requests_per_wakeup)
{
	const unsigned n = 100;

	start_device_ioeventfd();
	for (unsigned i = 0; i < n; i++) {
		struct vtd_buf b = vtd_alloc(&drv, 16, true);
		vtd_add_chain(&drv, REQUEST_Q, &b, 1);
	}
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_used_pending(&drv, REQUEST_Q), VIRTIO_RNG_BUDGET_REQUESTS);
	ck_assert(vtd_kick_pending(&drv, REQUEST_Q));
	vtd_run_loop_ms(loop, 50);
	ck_assert_uint_eq(vtd_used_pending(&drv, REQUEST_Q), n);
}
END_TEST

START_TEST(budget_caps_bytes_per_wakeup)
{
	const unsigned per_wakeup = VIRTIO_RNG_BUDGET_BYTES / VIRTIO_RNG_MAX_REQUEST_BYTES;
	struct vtd_buf b = vtd_alloc(&drv, VIRTIO_RNG_MAX_REQUEST_BYTES, true);

	start_device_ioeventfd();
	/* Ten 64 KiB requests over one buffer: four fit the 256 KiB budget. */
	for (unsigned i = 0; i < 10; i++)
		vtd_add_chain(&drv, REQUEST_Q, &b, 1);
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_used_pending(&drv, REQUEST_Q), per_wakeup);
	ck_assert_uint_eq(vtd_serve_rearmed(&drv, REQUEST_Q),
			  (10 + per_wakeup - 1) / per_wakeup - 1);
	ck_assert_uint_eq(vtd_used_pending(&drv, REQUEST_Q), 10);
}
END_TEST

START_TEST(batch_with_event_idx)
{
	start_device(0, false, 0);
	for (int i = 0; i < 4; i++) {
		struct vtd_buf b = vtd_alloc(&drv, 8, true);
		vtd_add_chain(&drv, REQUEST_Q, &b, 1);
	}
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_used_idx(&drv, REQUEST_Q), 4);
	ck_assert_uint_eq(drv.irq_pulses, 1);
}
END_TEST

/* §5.4.6.2: readable buffers are the driver's mistake; ignored, the writable part served. */
START_TEST(readable_buffers_are_ignored)
{
	struct vtd_buf bufs[2];

	start_device(0, false, 0);
	bufs[0] = vtd_alloc(&drv, 16, false);
	memset(vtd_host(&drv, bufs[0]), 0x5a, 16);
	bufs[1] = vtd_alloc(&drv, 32, true);
	vtd_add_chain(&drv, REQUEST_Q, bufs, 2);
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 32);
	ck_assert(!all_zero(vtd_host(&drv, bufs[1]), 32));
	for (int i = 0; i < 16; i++)
		ck_assert_uint_eq(vtd_host(&drv, bufs[0])[i], 0x5a);
	/* Only readable: nothing to fill, completed with 0 so the ring moves on. */
	bufs[0] = vtd_alloc(&drv, 16, false);
	memset(vtd_host(&drv, bufs[0]), 0x5a, 16);
	vtd_add_chain(&drv, REQUEST_Q, bufs, 1);
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 0);
	for (int i = 0; i < 16; i++)
		ck_assert_uint_eq(vtd_host(&drv, bufs[0])[i], 0x5a);
	ck_assert(!vtd_needs_reset(&drv));
	request(8);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 8);
}
END_TEST

static void check_hostile(void (*corrupt)(void))
{
	unsigned pulses;

	start_device(0, false, 0);
	corrupt();
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_used_idx(&drv, REQUEST_Q), 0);
	ck_assert(vtd_needs_reset(&drv));
	ck_assert_uint_eq(vtd_read32(&drv, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG,
			  VIRTIO_MMIO_INT_CONFIG);
	/* Nothing more is served until the driver resets. */
	pulses = drv.irq_pulses;
	request(8);
	ck_assert_uint_eq(vtd_used_idx(&drv, REQUEST_Q), 0);
	ck_assert_uint_eq(drv.irq_pulses, pulses);
	vtd_write32(&drv, VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(vtd_read32(&drv, VIRTIO_MMIO_STATUS), 0);
	vtd_driver_init(&drv, 0);
	request(8);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 8);
}

static void head_out_of_range(void)
{
	struct vring_avail *avail = vtd_avail_ring(&drv, REQUEST_Q);

	avail->ring[0] = VTD_QSIZE;
	avail->idx = 1;
}

static void descriptor_loop(void)
{
	struct vring_desc *desc = vtd_desc_table(&drv, REQUEST_Q);
	struct vring_avail *avail = vtd_avail_ring(&drv, REQUEST_Q);

	desc[0] = (struct vring_desc){VTD_BUF_GPA, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1};
	desc[1] =
	    (struct vring_desc){VTD_BUF_GPA + 8, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0};
	avail->ring[0] = 0;
	avail->idx = 1;
}

static void buffer_outside_ram(void)
{
	struct vring_desc *desc = vtd_desc_table(&drv, REQUEST_Q);
	struct vring_avail *avail = vtd_avail_ring(&drv, REQUEST_Q);

	desc[0] = (struct vring_desc){VTD_RAM_BYTES - 8, 64, VRING_DESC_F_WRITE, 0};
	avail->ring[0] = 0;
	avail->idx = 1;
}

static void avail_idx_too_far(void)
{
	struct vring_avail *avail = vtd_avail_ring(&drv, REQUEST_Q);

	avail->idx = VTD_QSIZE + 1;
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
	ck_assert_uint_eq(drv.ram[VTD_RAM_BYTES - 8],
			  0); /* the chain was refused, not half-filled */
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
	struct vtd_buf b;

	fenv.fail_calls = 2;
	fenv.fail_errno = EAGAIN;
	start_device(0, true, 0);
	b = vtd_alloc(&drv, 64, true);
	head = vtd_add_chain(&drv, REQUEST_Q, &b, 1);
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_used_idx(&drv, REQUEST_Q), 0);
	ck_assert_uint_eq(drv.irq_pulses, 0);
	vtd_notify(&drv, REQUEST_Q); /* still failing */
	ck_assert_uint_eq(vtd_used_idx(&drv, REQUEST_Q), 0);
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, &id), 64);
	ck_assert_uint_eq(id, head);
	ck_assert(!all_zero(vtd_host(&drv, b), 64));
	ck_assert_uint_eq(drv.irq_pulses, 1);
	ck_assert(!vtd_needs_reset(&drv));
}
END_TEST

/* With an event loop, the retry comes from the device's own timer. */
START_TEST(eagain_retried_from_timer)
{
	struct vtd_buf b;

	fenv.fail_calls = 1;
	fenv.fail_errno = EIO; /* any failure is retried, not completed empty */
	start_device(0, true, 0);
	b = request(64);
	ck_assert_uint_eq(vtd_used_idx(&drv, REQUEST_Q), 0);
	vtd_run_loop_ms(loop, 400); /* the retry timer is 100 ms */
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 64);
	ck_assert(!all_zero(vtd_host(&drv, b), 64));
	ck_assert_uint_eq(drv.irq_pulses, 1);
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
	ck_assert_uint_eq(vtd_used_idx(&drv, REQUEST_Q), 0);
	vtd_write32(&drv, VIRTIO_MMIO_STATUS, 0);
	vtd_driver_init(&drv, 0);
	request(16);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, &id), 16);
	ck_assert_uint_eq(id, 0);
	ck_assert_uint_eq(vtd_used_idx(&drv, REQUEST_Q), 1);
	vtd_run_loop_ms(loop, 200); /* the cancelled retry timer must not fire into the new ring */
	ck_assert_uint_eq(vtd_used_idx(&drv, REQUEST_Q), 1);
}
END_TEST

START_TEST(rate_limit_partial_then_refill)
{
	struct virtio_rng_stats st;
	struct vtd_buf b;

	start_device(RATE, false, 0);
	/* The bucket starts full with one second's worth: a 4096-byte request gets 1000. */
	b = request(4096);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), RATE);
	ck_assert(!all_zero(vtd_host(&drv, b) + RATE - 32, 32));
	ck_assert(all_zero(vtd_host(&drv, b) + RATE, 4096 - RATE));
	ck_assert_uint_eq(drv.irq_pulses, 1);

	/* Dry: the request stays on the ring. */
	request(64);
	ck_assert_uint_eq(vtd_used_idx(&drv, REQUEST_Q), 1);
	ck_assert_uint_eq(drv.irq_pulses, 1);
	virtio_rng_get_stats(rng, &st);
	ck_assert_uint_eq(st.throttled, 1);
	vtd_notify(&drv, REQUEST_Q); /* kicks while dry: no work, no second timer */
	ck_assert_uint_eq(vtd_used_idx(&drv, REQUEST_Q), 1);
	virtio_rng_get_stats(rng, &st);
	ck_assert_uint_eq(st.throttled, 1);

	/* 50 ms later: 50 tokens. */
	fenv.now += 50 * MS;
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 50);
	ck_assert_uint_eq(drv.irq_pulses, 2);

	/* Fractions of a byte are kept: 1.5 ms gives 1 byte, 1.5 ms more gives 2. */
	fenv.now += 1500000;
	request(64);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 1);
	fenv.now += 1500000;
	request(64);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 2);

	/* A long pause refills no further than the burst. */
	fenv.now += 10000 * MS;
	request(4096);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), RATE);
	virtio_rng_get_stats(rng, &st);
	ck_assert_uint_eq(st.bytes, RATE + 50 + 1 + 2 + RATE);
}
END_TEST

/* Several requests share the bucket in one notify; the rest wait. */
START_TEST(rate_limit_across_a_batch)
{
	struct vtd_buf b[4];

	start_device(RATE, false, 1ull << VIRTIO_RING_F_EVENT_IDX);
	for (int i = 0; i < 4; i++) {
		b[i] = vtd_alloc(&drv, 400, true);
		vtd_add_chain(&drv, REQUEST_Q, &b[i], 1);
	}
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_used_idx(&drv, REQUEST_Q), 3);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 400);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 400);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 200);
	ck_assert_uint_eq(drv.irq_pulses, 1);
	fenv.now += 1000 * MS;
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 400);
	ck_assert_uint_eq(drv.irq_pulses, 2);
}
END_TEST

/* The dry bucket arms a timer on the event loop that serves the waiting request. */
START_TEST(rate_limit_timer_resumes)
{
	struct vtd_buf b;

	start_device(RATE, false, 0);
	request(RATE);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), RATE);
	b = request(64);
	ck_assert_uint_eq(vtd_used_idx(&drv, REQUEST_Q), 1);
	fenv.now += 100 * MS;	    /* the fake clock says 100 tokens are back */
	vtd_run_loop_ms(loop, 300); /* the timer is 10 ms of real time */
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 64);
	ck_assert(!all_zero(vtd_host(&drv, b), 64));
	ck_assert_uint_eq(drv.irq_pulses, 2);
}
END_TEST

/* A reset neither refills the bucket nor leaves the timer running. */
START_TEST(rate_limit_survives_reset)
{
	start_device(RATE, false, 0);
	request(4096);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), RATE);
	request(64);
	ck_assert_uint_eq(vtd_used_idx(&drv, REQUEST_Q), 1);
	vtd_write32(&drv, VIRTIO_MMIO_STATUS, 0);
	vtd_driver_init(&drv, 0);
	request(64);
	ck_assert_uint_eq(vtd_used_idx(&drv, REQUEST_Q), 0);
	fenv.now += 10 * MS;
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 10);
}
END_TEST

START_TEST(clock_going_backwards_credits_nothing)
{
	start_device(RATE, false, 0);
	request(4096);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), RATE);
	fenv.now -= 500 * MS;
	request(64);
	ck_assert_uint_eq(vtd_used_idx(&drv, REQUEST_Q), 1);
	fenv.now += 500 * MS + 20 * MS;
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 20);
}
END_TEST

/* Huge rates must not overflow the bucket arithmetic. */
START_TEST(huge_rate)
{
	start_device(UINT64_MAX, false, 0);
	request(4096);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 4096);
	fenv.now += 1;
	request(4096);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 4096);
}
END_TEST

START_TEST(rate_limit_needs_a_loop)
{
	struct vmm_err err = {{0}};

	ck_assert_int_eq(virtio_rng_create(&rng, RATE, NULL, drv.log, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "event loop"));
	rng = NULL;
	ck_assert_int_eq(virtio_rng_create(&rng, 0, NULL, drv.log, &err), 0);
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
	tcase_add_test(tc, budget_caps_requests_per_wakeup);
	tcase_add_test(tc, budget_caps_bytes_per_wakeup);
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
