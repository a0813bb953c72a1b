/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng / entropy device (VIRTIO 1.2 §5.4): fills the guest's buffers
 * from getrandom(2), optionally rate-limited so one guest cannot drain the
 * host's pool.
 *
 * One request queue, no config space, no device features.  Requests are
 * served on the thread that delivers queue_notify (the event loop) and, when
 * rate-limited, from a one-shot timer on the same loop.
 *
 * Semantics (decided here, tested in tests/unit/test_virtio_rng.c):
 *  - Each request gets min(writable bytes, 64 KiB, tokens in the bucket)
 *    random bytes and is completed at once with that used length: §5.4.6.1
 *    lets the device use less than the whole buffer, so a rate limit never
 *    stalls a driver that asked for a lot.
 *  - The rate limit is a token bucket of `bytes_per_sec` tokens per second
 *    holding at most one second's worth (burst = bytes_per_sec), full at
 *    create.  When it is empty the device stops taking chains off the ring
 *    and arms a timer for when tokens are back: requests are delayed, never
 *    dropped, and nothing spins.  A device reset does not refill the bucket
 *    (else a guest could reset its way past the limit).
 *  - getrandom() failing with EAGAIN (the host pool is not initialised yet,
 *    early host boot only), or failing at all, keeps the popped chain and
 *    retries it from a timer (100 ms): §5.4.6.1 says the device MUST place
 *    at least one byte, so a zero-byte completion is not an option.
 *  - Device-readable buffers in a request (§5.4.6.2: the driver MUST NOT
 *    post them) are a guest error: a rate-limited warning, the readable
 *    part is ignored and the writable part served; a chain with no writable
 *    byte completes with used length 0.  The device stays usable.
 *  - A malformed ring (virtq_pop() error) sets DEVICE_NEEDS_RESET.
 */
#ifndef MINIVMM_VIRTIO_RNG_H
#define MINIVMM_VIRTIO_RNG_H

#include <stdint.h>
#include <sys/types.h>

#include "devices/virtio.h"

/* At most this many bytes per request, so one chain cannot hold the event loop for long. */
#define VIRTIO_RNG_MAX_REQUEST_BYTES (64u * 1024)
/*
 * Per wake-up of the queue: at most this many requests or bytes, then the
 * device re-arms its notification and yields to the event loop (a guest
 * refilling its ring as fast as it can must not keep the loop to itself).
 */
#define VIRTIO_RNG_BUDGET_REQUESTS 64u
#define VIRTIO_RNG_BUDGET_BYTES	   (256u * 1024)

struct virtio_rng;

extern const struct virtio_device_ops virtio_rng_ops;

/*
 * bytes_per_sec: 0 = unlimited.  A rate limit needs `loop` (for the resume
 * timer); -EINVAL without one.  Fails with a clear message if the host
 * kernel has no getrandom(2).
 */
int virtio_rng_create(struct virtio_rng **out, uint64_t bytes_per_sec, struct ev_loop *loop,
		      const struct logger *log, struct vmm_err *err);
/* After the transport; after the event loop has stopped, or from its thread. */
void virtio_rng_destroy(struct virtio_rng *rng);

/*
 * Test hooks: the clock of the token bucket (default clock_ns()) and the
 * entropy source (default getrandom(buf, len, GRND_NONBLOCK); returns the
 * bytes written or -errno).  NULL members keep the default.  Call before
 * the device is activated; setting a clock restarts the bucket full.
 */
struct virtio_rng_hooks {
	uint64_t (*now_ns)(void *opaque);
	ssize_t (*get_bytes)(void *opaque, void *buf, size_t len);
	void *opaque;
};
void virtio_rng_set_hooks(struct virtio_rng *rng, const struct virtio_rng_hooks *hooks);

struct virtio_rng_stats {
	uint64_t requests;  /* chains completed */
	uint64_t bytes;	    /* random bytes given to the guest */
	uint64_t throttled; /* times the bucket ran dry and a resume timer was armed */
};
void virtio_rng_get_stats(struct virtio_rng *rng, struct virtio_rng_stats *out);

#endif
