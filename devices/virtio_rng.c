/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng (VIRTIO 1.2 §5.4): one request queue of device-writable
 * buffers, filled from getrandom(2).  The semantics (partial fills under the
 * rate limit, EAGAIN, readable buffers) are described in virtio_rng.h.
 *
 * Serving happens in two places, both under rng->lock: queue_notify (called
 * by the transport under its ops mutex) and the resume timer's callback on
 * the event loop (not under the ops mutex).  The device lock is what keeps
 * the timer away from a concurrent reset: reset clears vq and cancels the
 * timer under it, and the callback re-checks both under it.
 */
#include "devices/virtio_rng.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define NSEC_PER_SEC  1000000000ull
#define NSEC_PER_MSEC 1000000ull
/*
 * The resume timer never fires sooner than this: at high rates it batches
 * refills into ~100 wakeups a second instead of one per byte.
 */
#define RNG_MIN_WAIT_MS 10u
/* Retry interval while the host's pool is not initialised (getrandom EAGAIN). */
#define RNG_EAGAIN_RETRY_MS 100u /* also for any other failure of the entropy source */

struct virtio_rng {
	/*
	 * Guards everything below.  Transport callbacks (notify_used,
	 * set_needs_reset) are called after dropping it, as in virtio_blk.c.
	 * Lock order: rng->lock -> the event loop's lock (ev_add/ev_del).
	 */
	pthread_mutex_t lock;
	const struct logger *log;
	struct ev_loop *loop;
	struct ratelimit rl;
	struct virtio_rng_hooks hooks;

	/* Token bucket (bytes_per_sec == 0: unlimited, the rest unused). */
	uint64_t bytes_per_sec;
	uint64_t burst;
	uint64_t tokens;
	uint64_t refill_ns; /* time up to which tokens have been credited */
	int timer_fd;	    /* armed resume timer, or -1 */
	bool timer_failed;  /* ev_add_timer_ms() failed: warned once */
	bool source_failed; /* the entropy source failed (not EAGAIN): warned once */

	/* Between activate and reset. */
	struct virtio_transport *t;
	struct virtq *vq;
	bool broken;  /* a fatal guest error: nothing more until reset */
	bool pending; /* `chain` was popped but not served (EAGAIN): serve it first */

	struct virtio_rng_stats stats;
	/* The chain being served (too big for the stack of a loop callback). */
	struct virtq_chain chain;
};

static uint64_t default_now_ns(void *opaque)
{
	(void)opaque;
	return clock_ns();
}

static ssize_t default_get_bytes(void *opaque, void *buf, size_t len)
{
	ssize_t n;

	(void)opaque;
	do {
		n = getrandom(buf, len, GRND_NONBLOCK);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static uint64_t now_ns(struct virtio_rng *rng)
{
	return rng->hooks.now_ns(rng->hooks.opaque);
}

/*
 * Credits the tokens earned since refill_ns.  refill_ns advances only by the
 * time the credited whole bytes took, so fractions of a byte are not lost
 * between frequent calls (at most 1 ns per call is, from rounding).
 */
static void bucket_refill(struct virtio_rng *rng)
{
	uint64_t now = now_ns(rng), elapsed, add;

	if (now <= rng->refill_ns)
		return; /* a clock that went backwards credits nothing */
	elapsed = now - rng->refill_ns;
	add = (uint64_t)((unsigned __int128)elapsed * rng->bytes_per_sec / NSEC_PER_SEC);
	if (add >= rng->burst - rng->tokens) {
		rng->tokens = rng->burst;
		rng->refill_ns = now;
		return;
	}
	rng->tokens += add;
	rng->refill_ns += (uint64_t)((unsigned __int128)add * NSEC_PER_SEC / rng->bytes_per_sec);
}

/* Milliseconds until the bucket holds a byte again, at least RNG_MIN_WAIT_MS. */
static uint64_t bucket_wait_ms(const struct virtio_rng *rng)
{
	uint64_t ms = 1000 / rng->bytes_per_sec + (1000 % rng->bytes_per_sec != 0);

	return ms < RNG_MIN_WAIT_MS ? RNG_MIN_WAIT_MS : ms;
}

static void rng_timer_cb(struct ev_loop *loop, int fd, uint32_t events, void *opaque);

/* Lock held.  One timer at a time: a second reason to wait shares the armed one. */
static void arm_timer(struct virtio_rng *rng, uint64_t ms)
{
	int fd;

	if (rng->timer_fd >= 0 || !rng->loop)
		return; /* no loop (unit tests without a rate limit): the next kick retries */
	fd = ev_add_timer_ms(rng->loop, ms, rng_timer_cb, rng);
	if (fd < 0) {
		/* Host trouble (out of fds): the next guest kick retries. */
		if (!rng->timer_failed)
			log_warn(rng->log, "virtio-rng: cannot arm the resume timer: %s",
				 strerror(-fd));
		rng->timer_failed = true;
		return;
	}
	rng->timer_failed = false;
	rng->timer_fd = fd;
}

/* Lock held. */
static void cancel_timer(struct virtio_rng *rng)
{
	if (rng->timer_fd < 0)
		return;
	ev_del(rng->loop, rng->timer_fd); /* closes it */
	rng->timer_fd = -1;
}

/*
 * Fills up to `len` bytes of rng->chain's writable buffers.  Returns the
 * bytes written, or -errno if the source gave none (EAGAIN: the host pool
 * is not initialised yet).  A short count from the source (a signal, or
 * getrandom's 32 MiB cap) is retried; a failure after some bytes returns
 * those bytes.
 */
static ssize_t fill_chain(struct virtio_rng *rng, uint32_t len)
{
	const struct virtq_chain *c = &rng->chain;
	uint32_t done = 0;

	for (unsigned i = 0; i < c->nbufs && done < len; i++) {
		const struct virtq_buf *b = &c->bufs[i];
		uint32_t off = 0;

		if (!b->device_writable)
			continue;
		while (off < b->len && done < len) {
			uint32_t want = b->len - off < len - done ? b->len - off : len - done;
			ssize_t n =
			    rng->hooks.get_bytes(rng->hooks.opaque, (uint8_t *)b->host + off, want);

			if (n <= 0 || (size_t)n > want)
				return done ? (ssize_t)done : n < 0 ? n : -EIO;
			off += (uint32_t)n;
			done += (uint32_t)n;
		}
	}
	return done;
}

/*
 * Serves chains until the ring is empty, the bucket is dry, the source
 * has nothing yet or the wake-up's budget (VIRTIO_RNG_BUDGET_*) is spent.
 * Lock held, device active and not broken.  Sets *notify if the driver
 * must be interrupted, *needs_reset on a bad ring.  Returns true if the
 * budget ran out with chains possibly left: the caller re-arms.
 */
static bool rng_serve(struct virtio_rng *rng, bool *notify, bool *needs_reset)
{
	struct virtq *vq = rng->vq;
	const char *why = NULL;
	bool pushed = false, more = false;
	uint64_t spent = 0;

	for (unsigned nreq = 0;; nreq++) {
		uint32_t len;
		ssize_t got;
		int ret;

		if (nreq == VIRTIO_RNG_BUDGET_REQUESTS || spent >= VIRTIO_RNG_BUDGET_BYTES) {
			more = true;
			break;
		}

		if (rng->bytes_per_sec) {
			bucket_refill(rng);
			if (rng->tokens == 0) {
				/*
				 * Leave the chains on the ring: the timer
				 * resumes.  (When the ring happens to be empty
				 * this costs one idle wakeup.)
				 */
				if (rng->timer_fd < 0)
					rng->stats.throttled++;
				arm_timer(rng, bucket_wait_ms(rng));
				break;
			}
		}
		if (!rng->pending) {
			ret = virtq_pop(vq, &rng->chain, &why);
			if (ret < 0) {
				log_guest_error(rng->log, &rng->rl,
						"virtio-rng: bad descriptor chain: %s",
						why ? why : "invalid");
				*needs_reset = true;
				break;
			}
			/* Empty; with EVENT_IDX virtq_pop() published avail_event first. */
			if (ret == 0)
				break;
			if (rng->chain.readable_len)
				log_guest_error(rng->log, &rng->rl,
						"virtio-rng: request with %u device-readable bytes "
						"(ignored)",
						rng->chain.readable_len);
		}
		len = rng->chain.writable_len;
		if (len > VIRTIO_RNG_MAX_REQUEST_BYTES)
			len = VIRTIO_RNG_MAX_REQUEST_BYTES;
		if (rng->bytes_per_sec && len > rng->tokens)
			len = (uint32_t)rng->tokens;
		got = len ? fill_chain(rng, len) : 0;
		if (got < 0) {
			/*
			 * Nothing to give (§5.4.6.1 wants at least one
			 * byte): keep the chain and retry it from a timer.
			 * EAGAIN is the host's early boot; anything else
			 * is worth one warning.
			 */
			if (got != -EAGAIN && !rng->source_failed)
				log_warn(rng->log, "virtio-rng: entropy source failed: %s",
					 strerror((int)-got));
			rng->source_failed = got != -EAGAIN;
			rng->pending = true;
			arm_timer(rng, RNG_EAGAIN_RETRY_MS);
			break;
		}
		rng->source_failed = false;
		rng->pending = false;
		if (rng->bytes_per_sec)
			rng->tokens -= (uint64_t)got;
		virtq_push(vq, rng->chain.head, (uint32_t)got);
		rng->stats.requests++;
		rng->stats.bytes += (uint64_t)got;
		spent += (uint64_t)got;
		pushed = true;
	}
	if (*needs_reset)
		rng->broken = true;
	if (pushed)
		*notify = virtq_needs_interrupt(vq);
	return more;
}

/*
 * Lock held on entry, released on return.  Serves under the lock, then
 * calls the transport without it.  A spent budget re-arms the queue's
 * notification; without one (no event loop) the rest is served here.
 */
static void rng_kick(struct virtio_rng *rng)
{
	for (;;) {
		bool notify = false, needs_reset = false, more = false;
		struct virtio_transport *t = rng->t;

		if (rng->vq && !rng->broken)
			more = rng_serve(rng, &notify, &needs_reset);
		pthread_mutex_unlock(&rng->lock);

		if (needs_reset)
			virtio_set_needs_reset(t);
		if (notify)
			virtio_notify_used(t, 0);
		/*
		 * `more` means the device was active, so t is set; the
		 * transport outlives every loop callback, and a reset racing
		 * the timer path only turns this kick into one that
		 * dispatch_notify() drops.
		 */
		if (!more || virtio_queue_reschedule(t, 0) == 0)
			return;
		pthread_mutex_lock(&rng->lock);
	}
}

static void rng_timer_cb(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct virtio_rng *rng = opaque;

	(void)events;
	pthread_mutex_lock(&rng->lock);
	/*
	 * Not our armed timer: reset or destroy cancelled (and closed) it
	 * after the loop picked up the event, and the fd number may already
	 * belong to someone else, so it must not be deleted here.
	 */
	if (rng->timer_fd != fd) {
		pthread_mutex_unlock(&rng->lock);
		return;
	}
	ev_del(loop, fd);
	rng->timer_fd = -1;
	rng_kick(rng); /* unlocks */
}

static void rng_queue_notify(void *dev, unsigned q)
{
	struct virtio_rng *rng = dev;

	pthread_mutex_lock(&rng->lock);
	if (q != 0) {
		log_guest_error(rng->log, &rng->rl, "virtio-rng: notify of queue %u", q);
		pthread_mutex_unlock(&rng->lock);
		return;
	}
	rng_kick(rng); /* unlocks */
}

static int rng_activate(void *dev, struct virtio_transport *t, uint64_t driver_features,
			struct virtq *queues)
{
	struct virtio_rng *rng = dev;

	(void)driver_features; /* no device features; the ring features live in the virtq */
	pthread_mutex_lock(&rng->lock);
	rng->t = t;
	rng->vq = &queues[0];
	rng->broken = false;
	rng->pending = false;
	pthread_mutex_unlock(&rng->lock);
	return 0;
}

static void rng_reset(void *dev)
{
	struct virtio_rng *rng = dev;

	/* Waits for a serve in progress: after this the queue is not touched. */
	pthread_mutex_lock(&rng->lock);
	cancel_timer(rng);
	rng->t = NULL;
	rng->vq = NULL;
	rng->broken = false;
	rng->pending = false;
	/* The bucket is kept as it is: a reset must not buy the guest more entropy. */
	pthread_mutex_unlock(&rng->lock);
}

/* Under rng->lock (virtio_rng_get_stats): held for one bounded wake-up at most. */
static void rng_metrics(void *dev, const char *prefix, mvm_metric_fn fn, void *opaque)
{
	struct virtio_rng_stats st;
	char name[64];

	virtio_rng_get_stats(dev, &st);
	snprintf(name, sizeof(name), "%s.requests", prefix);
	fn(opaque, name, st.requests);
	snprintf(name, sizeof(name), "%s.bytes", prefix);
	fn(opaque, name, st.bytes);
	snprintf(name, sizeof(name), "%s.throttled", prefix);
	fn(opaque, name, st.throttled);
}

const struct virtio_device_ops virtio_rng_ops = {
    .name = "virtio-rng",
    .device_id = VIRTIO_ID_RNG,
    .nqueues = 1,
    .features = 0,
    .config_size = 0, /* §5.4.4: none; the transport refuses every config access */
    .config_read = NULL,
    .config_write = NULL,
    .activate = rng_activate,
    .reset = rng_reset,
    .queue_notify = rng_queue_notify,
    .metrics = rng_metrics,
};

int virtio_rng_create(struct virtio_rng **out, uint64_t bytes_per_sec, struct ev_loop *loop,
		      const struct logger *log, struct vmm_err *err)
{
	struct virtio_rng *rng;
	uint8_t probe;
	int ret;

	if (!out)
		return vmm_errf(err, -EINVAL, "virtio-rng: no output pointer");
	if (bytes_per_sec && !loop)
		return vmm_errf(err, -EINVAL,
				"virtio-rng: a rate limit needs an event loop for its timer");
	/* ENOSYS (pre-3.17 kernel or a seccomp filter) is a host problem: say so now. */
	if (getrandom(&probe, 1, GRND_NONBLOCK) < 0 && errno == ENOSYS)
		return vmm_errf(err, -ENOSYS,
				"virtio-rng: getrandom(2) is not available on this host; "
				"run with --rng off");
	rng = calloc(1, sizeof(*rng));
	if (!rng)
		return vmm_errf(err, -ENOMEM, "virtio-rng: out of memory");
	ret = pthread_mutex_init(&rng->lock, NULL);
	if (ret) {
		free(rng);
		return vmm_errf(err, -ret, "virtio-rng: mutex: %s", strerror(ret));
	}
	rng->log = log;
	rng->loop = loop;
	rng->rl = (struct ratelimit)RATELIMIT_INIT;
	rng->hooks = (struct virtio_rng_hooks){default_now_ns, default_get_bytes, NULL};
	rng->bytes_per_sec = bytes_per_sec;
	rng->burst = bytes_per_sec; /* one second's worth */
	rng->tokens = rng->burst;
	rng->refill_ns = now_ns(rng);
	rng->timer_fd = -1;
	*out = rng;
	return 0;
}

void virtio_rng_destroy(struct virtio_rng *rng)
{
	if (!rng)
		return;
	cancel_timer(rng);
	pthread_mutex_destroy(&rng->lock);
	free(rng);
}

void virtio_rng_set_hooks(struct virtio_rng *rng, const struct virtio_rng_hooks *hooks)
{
	pthread_mutex_lock(&rng->lock);
	if (hooks->now_ns)
		rng->hooks.now_ns = hooks->now_ns;
	if (hooks->get_bytes)
		rng->hooks.get_bytes = hooks->get_bytes;
	rng->hooks.opaque = hooks->opaque;
	if (hooks->now_ns) {
		rng->tokens = rng->burst;
		rng->refill_ns = now_ns(rng);
	}
	pthread_mutex_unlock(&rng->lock);
}

void virtio_rng_get_stats(struct virtio_rng *rng, struct virtio_rng_stats *out)
{
	pthread_mutex_lock(&rng->lock);
	*out = rng->stats;
	pthread_mutex_unlock(&rng->lock);
}
