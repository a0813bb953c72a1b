/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock (see virtio_vsock.h): packets between the rings and the
 * muxer.  Everything runs under vs->lock, from three places: queue_notify
 * (transport ops mutex held), the muxer's rx_kick from its fd callbacks on
 * the loop (ops mutex not held) and virtio_vsock_transport_reset (any
 * thread).  The lock is what keeps the latter two away from a concurrent
 * reset, as in virtio_rng.c.  Lock order: vs->lock -> muxer lock ->
 * transport state mutex; transport calls are made after dropping vs->lock.
 */
#include "devices/virtio_vsock.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_vsock.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "devices/vsock_muxer.h"

_Static_assert(sizeof(struct virtio_vsock_hdr) == VIRTIO_VSOCK_HDR_LEN, "44-byte header");

struct virtio_vsock {
	pthread_mutex_t lock;
	const struct logger *log;
	struct ratelimit rl;
	uint64_t guest_cid;
	struct vsock_muxer *mux;

	/* Between activate and reset. */
	struct virtio_transport *t;
	struct virtq *vq; /* the three queues */
	bool broken;
	bool rx_held; /* rx_chain was popped but had nothing to carry yet */
	bool event_pending;

	struct virtq_chain rx_chain, tx_chain; /* too big for a loop callback's stack */
	struct iovec iov[VIRTQ_MAX_CHAIN];

	_Atomic uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, errors;
};

static void count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static void pkt_from_le(struct vsock_pkt *p, const struct virtio_vsock_hdr *h)
{
	*p = (struct vsock_pkt){
	    .src_cid = le64toh(h->src_cid),
	    .dst_cid = le64toh(h->dst_cid),
	    .src_port = le32toh(h->src_port),
	    .dst_port = le32toh(h->dst_port),
	    .len = le32toh(h->len),
	    .type = le16toh(h->type),
	    .op = le16toh(h->op),
	    .flags = le32toh(h->flags),
	    .buf_alloc = le32toh(h->buf_alloc),
	    .fwd_cnt = le32toh(h->fwd_cnt),
	};
}

static void pkt_to_le(struct virtio_vsock_hdr *h, const struct vsock_pkt *p)
{
	*h = (struct virtio_vsock_hdr){
	    .src_cid = htole64(p->src_cid),
	    .dst_cid = htole64(p->dst_cid),
	    .src_port = htole32(p->src_port),
	    .dst_port = htole32(p->dst_port),
	    .len = htole32(p->len),
	    .type = htole16(p->type),
	    .op = htole16(p->op),
	    .flags = htole32(p->flags),
	    .buf_alloc = htole32(p->buf_alloc),
	    .fwd_cnt = htole32(p->fwd_cnt),
	};
}

/*
 * The iovecs of a chain's buffers of one direction from byte `skip` on,
 * at most `max` bytes; returns the count, total in *len.
 */
static int chain_iov(const struct virtq_chain *c, bool writable, size_t skip, size_t max,
		     struct iovec *iov, size_t *len)
{
	int n = 0;

	*len = 0;
	for (unsigned i = 0; i < c->nbufs && *len < max; i++) {
		const struct virtq_buf *b = &c->bufs[i];
		size_t take;

		if (b->device_writable != writable)
			continue;
		if (skip >= b->len) {
			skip -= b->len;
			continue;
		}
		take = b->len - skip;
		if (take > max - *len)
			take = max - *len;
		iov[n++] = (struct iovec){(uint8_t *)b->host + skip, take};
		*len += take;
		skip = 0;
	}
	return n;
}

/* A malformed packet: counted, warned about, answered with RST unless it is one. */
static void reject(struct virtio_vsock *vs, const struct vsock_pkt *p, bool answer, const char *why)
{
	count(&vs->errors, 1);
	log_guest_error(vs->log, &vs->rl,
			"virtio-vsock: %s packet %" PRIu32 "->%" PRIu32 " (op %u, len %" PRIu32
			"): %s%s",
			vsock_op_name(p->op), p->src_port, p->dst_port, p->op, p->len, why,
			answer ? "; RST" : "; dropped");
	/* A live connection it names ends too: the guest and we must agree it is gone. */
	if (answer && p->op != VIRTIO_VSOCK_OP_RST)
		vsock_muxer_reset_ports(vs->mux, p->dst_port, p->src_port);
}

/* One guest packet from vs->tx_chain. */
static void tx_one(struct virtio_vsock *vs)
{
	const struct virtq_chain *c = &vs->tx_chain;
	struct virtio_vsock_hdr h;
	struct vsock_pkt p;
	size_t got;
	int n;

	if (virtq_chain_read(c, 0, &h, sizeof(h)) != sizeof(h)) {
		count(&vs->errors, 1);
		log_guest_error(vs->log, &vs->rl,
				"virtio-vsock: tx chain of %" PRIu32 " bytes: no header; dropped",
				c->readable_len);
		return;
	}
	pkt_from_le(&p, &h);
	count(&vs->tx_packets, 1);
	/* Forged addresses cannot be answered: whoever they name did not send this. */
	if (p.src_cid != vs->guest_cid)
		return reject(vs, &p, false, "src_cid is not the guest's");
	if (p.dst_cid != VSOCK_HOST_CID)
		return reject(vs, &p, false, "dst_cid is not the host (2)");
	if (p.type != VIRTIO_VSOCK_TYPE_STREAM)
		return reject(vs, &p, true, "not a stream (type)");
	if (p.op == VIRTIO_VSOCK_OP_INVALID || p.op > VIRTIO_VSOCK_OP_CREDIT_REQUEST)
		return reject(vs, &p, true, "unknown op");
	if (p.op != VIRTIO_VSOCK_OP_RW && p.len)
		return reject(vs, &p, true, "payload on a control packet");
	if (p.len > VIRTIO_VSOCK_MAX_PKT)
		return reject(vs, &p, true, "len over 64 KiB");
	if (p.len > c->readable_len - VIRTIO_VSOCK_HDR_LEN)
		return reject(vs, &p, true, "len beyond the descriptor chain");
	n = chain_iov(c, false, VIRTIO_VSOCK_HDR_LEN, p.len, vs->iov, &got);
	count(&vs->tx_bytes, p.len);
	vsock_muxer_guest_pkt(vs->mux, &p, vs->iov, n);
}

/* Lock held, device active.  Returns true if the budget ran out with work left. */
static bool serve_tx(struct virtio_vsock *vs, bool *notify, bool *needs_reset)
{
	struct virtq *vq = &vs->vq[VIRTIO_VSOCK_TXQ];
	const char *why = NULL;
	bool pushed = false;

	for (unsigned i = 0; i < VIRTIO_VSOCK_BUDGET_PACKETS; i++) {
		int ret = virtq_pop(vq, &vs->tx_chain, &why);
		if (ret < 0) {
			log_guest_error(vs->log, &vs->rl, "virtio-vsock: bad tx chain: %s",
					why ? why : "invalid");
			*needs_reset = true;
			return false;
		}
		if (ret == 0)
			goto done;
		tx_one(vs);
		virtq_push(vq, vs->tx_chain.head, 0);
		pushed = true;
	}
	if (pushed)
		*notify = virtq_needs_interrupt(vq);
	return true;
done:
	if (pushed)
		*notify = virtq_needs_interrupt(vq);
	return false;
}

static bool serve_rx(struct virtio_vsock *vs, bool *notify, bool *needs_reset)
{
	struct virtq *vq = &vs->vq[VIRTIO_VSOCK_RXQ];
	const char *why = NULL;
	bool pushed = false, more = false;

	for (unsigned i = 0;; i++) {
		struct virtio_vsock_hdr h;
		struct vsock_pkt p;
		size_t space;
		int n;

		if (!vsock_muxer_has_rx(vs->mux))
			break;
		if (i == VIRTIO_VSOCK_BUDGET_PACKETS) {
			more = true;
			break;
		}
		if (!vs->rx_held) {
			int ret = virtq_pop(vq, &vs->rx_chain, &why);
			if (ret < 0) {
				log_guest_error(vs->log, &vs->rl, "virtio-vsock: bad rx chain: %s",
						why ? why : "invalid");
				*needs_reset = true;
				break;
			}
			if (ret == 0)
				break; /* the guest's next rx notify resumes */
			if (vs->rx_chain.writable_len < VIRTIO_VSOCK_HDR_LEN) {
				count(&vs->errors, 1);
				log_guest_error(vs->log, &vs->rl,
						"virtio-vsock: rx buffer of %" PRIu32
						" bytes cannot hold a header",
						vs->rx_chain.writable_len);
				virtq_push(vq, vs->rx_chain.head, 0);
				pushed = true;
				continue;
			}
			vs->rx_held = true;
		}
		n = chain_iov(&vs->rx_chain, true, VIRTIO_VSOCK_HDR_LEN, VIRTIO_VSOCK_MAX_PKT,
			      vs->iov, &space);
		if (vsock_muxer_next_rx(vs->mux, &p, vs->iov, n, (uint32_t)space) == 0)
			break; /* nothing after all; the chain waits for the next packet */
		pkt_to_le(&h, &p);
		virtq_chain_write(&vs->rx_chain, 0, &h, sizeof(h));
		virtq_push(vq, vs->rx_chain.head, VIRTIO_VSOCK_HDR_LEN + p.len);
		vs->rx_held = false;
		pushed = true;
		count(&vs->rx_packets, 1);
		count(&vs->rx_bytes, p.len);
	}
	if (pushed)
		*notify = virtq_needs_interrupt(vq);
	return more;
}

/* Lock held.  The pending TRANSPORT_RESET into an event buffer; true if delivered. */
static bool serve_event(struct virtio_vsock *vs, bool *notify, bool *needs_reset)
{
	struct virtq *vq = &vs->vq[VIRTIO_VSOCK_EVQ];
	struct virtio_vsock_event ev = {.id = htole32(VIRTIO_VSOCK_EVENT_TRANSPORT_RESET)};
	struct virtq_chain *c = &vs->tx_chain;
	const char *why = NULL;
	int ret;

	if (!vs->event_pending)
		return false;
	ret = virtq_pop(vq, c, &why);
	if (ret < 0) {
		log_guest_error(vs->log, &vs->rl, "virtio-vsock: bad event chain: %s",
				why ? why : "invalid");
		*needs_reset = true;
		return false;
	}
	if (ret == 0)
		return false;
	if (virtq_chain_write(c, 0, &ev, sizeof(ev)) != sizeof(ev)) {
		count(&vs->errors, 1);
		log_guest_error(vs->log, &vs->rl, "virtio-vsock: event buffer under 4 bytes");
		virtq_push(vq, c->head, 0);
		*notify = virtq_needs_interrupt(vq);
		return false;
	}
	virtq_push(vq, c->head, sizeof(ev));
	vs->event_pending = false;
	*notify = virtq_needs_interrupt(vq);
	return true;
}

/*
 * Lock held on entry, released on return.  Serves the queues in `mask`
 * (bit per queue) and rx after tx (tx answers are rx packets); interrupts
 * and re-arms without the lock.
 */
static void vsock_kick(struct virtio_vsock *vs, unsigned mask)
{
	bool notify[3] = {false, false, false}, needs_reset = false, more_rx = false,
	     more_tx = false;
	struct virtio_transport *t = vs->t;

	if (vs->vq && !vs->broken) {
		if (mask & (1u << VIRTIO_VSOCK_TXQ))
			more_tx = serve_tx(vs, &notify[VIRTIO_VSOCK_TXQ], &needs_reset);
		if (!needs_reset)
			more_rx = serve_rx(vs, &notify[VIRTIO_VSOCK_RXQ], &needs_reset);
		if (!needs_reset && (mask & (1u << VIRTIO_VSOCK_EVQ)))
			serve_event(vs, &notify[VIRTIO_VSOCK_EVQ], &needs_reset);
		if (needs_reset)
			vs->broken = true;
	} else {
		t = NULL;
	}
	pthread_mutex_unlock(&vs->lock);
	if (!t)
		return;
	if (needs_reset) {
		virtio_set_needs_reset(t);
		return;
	}
	for (unsigned q = 0; q < 3; q++)
		if (notify[q])
			virtio_notify_used(t, q);
	/*
	 * A spent budget: the loop serves the rest after everything else
	 * waiting there.  Without an event loop (unit tests) the caller's
	 * next kick does.
	 */
	if (more_tx)
		virtio_queue_reschedule(t, VIRTIO_VSOCK_TXQ);
	if (more_rx)
		virtio_queue_reschedule(t, VIRTIO_VSOCK_RXQ);
}

static void vsock_queue_notify(void *dev, unsigned q)
{
	struct virtio_vsock *vs = dev;

	pthread_mutex_lock(&vs->lock);
	if (q > VIRTIO_VSOCK_EVQ) {
		log_guest_error(vs->log, &vs->rl, "virtio-vsock: notify of queue %u", q);
		pthread_mutex_unlock(&vs->lock);
		return;
	}
	vsock_kick(vs, 1u << q);
}

/* The muxer has a packet for the guest (loop thread, muxer lock not held). */
static void vsock_rx_kick(void *opaque)
{
	struct virtio_vsock *vs = opaque;

	pthread_mutex_lock(&vs->lock);
	vsock_kick(vs, 0);
}

static int vsock_activate(void *dev, struct virtio_transport *t, uint64_t driver_features,
			  struct virtq *queues)
{
	struct virtio_vsock *vs = dev;

	(void)driver_features;
	pthread_mutex_lock(&vs->lock);
	vs->t = t;
	vs->vq = queues;
	vs->broken = false;
	vs->rx_held = false;
	/* Host CONNECTs that came before the driver: their REQUESTs go out now. */
	vsock_kick(vs, 1u << VIRTIO_VSOCK_EVQ);
	return 0;
}

static void vsock_reset(void *dev)
{
	struct virtio_vsock *vs = dev;

	pthread_mutex_lock(&vs->lock);
	vsock_muxer_reset(vs->mux); /* the guest's sockets are gone with its driver */
	vs->t = NULL;
	vs->vq = NULL;
	vs->broken = false;
	vs->rx_held = false;
	pthread_mutex_unlock(&vs->lock);
}

static void vsock_config_read(void *dev, uint32_t offset, void *data, uint32_t len)
{
	struct virtio_vsock *vs = dev;
	uint64_t cid = htole64(vs->guest_cid);

	/* offset + len <= config_size (8) is the transport's check. */
	memcpy(data, (const uint8_t *)&cid + offset, len);
}

static void vsock_config_write(void *dev, uint32_t offset, const void *data, uint32_t len)
{
	struct virtio_vsock *vs = dev;

	(void)offset;
	(void)data;
	(void)len;
	pthread_mutex_lock(&vs->lock);
	log_guest_error(vs->log, &vs->rl, "virtio-vsock: config space is read-only");
	pthread_mutex_unlock(&vs->lock);
}

static void vsock_metrics(void *dev, const char *prefix, mvm_metric_fn fn, void *opaque)
{
	struct virtio_vsock_stats st;
	char name[96];

	virtio_vsock_get_stats(dev, &st);
#define EMIT(field)                                                                                \
	do {                                                                                       \
		snprintf(name, sizeof(name), "%s." #field, prefix);                                \
		fn(opaque, name, st.field);                                                        \
	} while (0)
	EMIT(rx_packets);
	EMIT(rx_bytes);
	EMIT(tx_packets);
	EMIT(tx_bytes);
	EMIT(conns_opened);
	EMIT(conns_reset);
	EMIT(errors);
#undef EMIT
}

const struct virtio_device_ops virtio_vsock_ops = {
    .name = "virtio-vsock",
    .device_id = VIRTIO_ID_VSOCK,
    .nqueues = 3,
    .features = 0, /* streams only: no VIRTIO_VSOCK_F_SEQPACKET */
    .config_size = sizeof(struct virtio_vsock_config),
    .config_read = vsock_config_read,
    .config_write = vsock_config_write,
    .activate = vsock_activate,
    .reset = vsock_reset,
    .queue_notify = vsock_queue_notify,
    .metrics = vsock_metrics,
};

int virtio_vsock_create(struct virtio_vsock **out, uint64_t guest_cid, const char *uds_path,
			struct ev_loop *loop, const struct logger *log, struct vmm_err *err)
{
	struct virtio_vsock *vs;
	int ret;

	if (guest_cid < 3 || guest_cid >= UINT32_MAX)
		return vmm_errf(err, -EINVAL, "vsock: guest CID %" PRIu64 " (use 3..4294967294)",
				guest_cid);
	vs = calloc(1, sizeof(*vs));
	if (!vs)
		return vmm_errf(err, -ENOMEM, "vsock: out of memory");
	pthread_mutex_init(&vs->lock, NULL);
	vs->log = log;
	vs->rl = (struct ratelimit)RATELIMIT_INIT;
	vs->guest_cid = guest_cid;
	ret = vsock_muxer_create(&vs->mux, uds_path, guest_cid, loop, log, vsock_rx_kick, vs, err);
	if (ret < 0) {
		pthread_mutex_destroy(&vs->lock);
		free(vs);
		return ret;
	}
	*out = vs;
	return 0;
}

void virtio_vsock_destroy(struct virtio_vsock *vs)
{
	if (!vs)
		return;
	vsock_muxer_destroy(vs->mux);
	pthread_mutex_destroy(&vs->lock);
	free(vs);
}

int virtio_vsock_transport_reset(struct virtio_vsock *vs)
{
	bool delivered = false;

	pthread_mutex_lock(&vs->lock);
	vsock_muxer_reset(vs->mux);
	vs->event_pending = true;
	vsock_kick(vs, 1u << VIRTIO_VSOCK_EVQ);
	pthread_mutex_lock(&vs->lock);
	delivered = !vs->event_pending;
	pthread_mutex_unlock(&vs->lock);
	return delivered ? 0 : -EAGAIN;
}

unsigned virtio_vsock_nconns(struct virtio_vsock *vs)
{
	return vsock_muxer_nconns(vs->mux);
}

const char *virtio_vsock_uds_path(const struct virtio_vsock *vs)
{
	return vsock_muxer_path(vs->mux);
}

void virtio_vsock_get_stats(struct virtio_vsock *vs, struct virtio_vsock_stats *out)
{
	struct vsock_muxer_stats ms;

	vsock_muxer_get_stats(vs->mux, &ms);
	*out = (struct virtio_vsock_stats){
	    .rx_packets = atomic_load_explicit(&vs->rx_packets, memory_order_relaxed),
	    .rx_bytes = atomic_load_explicit(&vs->rx_bytes, memory_order_relaxed),
	    .tx_packets = atomic_load_explicit(&vs->tx_packets, memory_order_relaxed),
	    .tx_bytes = atomic_load_explicit(&vs->tx_bytes, memory_order_relaxed),
	    .conns_opened = ms.conns_opened,
	    .conns_reset = ms.conns_reset,
	    .errors = atomic_load_explicit(&vs->errors, memory_order_relaxed),
	};
}
