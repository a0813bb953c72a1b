/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (VIRTIO 1.2 §5.1): one receive and one transmit queue, served
 * on the event-loop thread; the host side is a struct net_backend.
 *
 * Every frame carries the 12-byte VERSION_1 header (§5.1.6, struct
 * virtio_net_hdr_mrg_rxbuf) both ways.
 *
 * TX (§5.1.6.2): a wake-up serves at most VIRTIO_NET_TX_BUDGET chains, one
 * backend send each, one interrupt at the end; with chains left it re-arms
 * the queue's notification and returns, so the loop stays responsive
 * however fast the guest refills the ring (the TAP RX path has the same
 * kind of budget).  A chain shorter than the header, with no
 * frame after it, or with a frame above NET_MAX_FRAME is dropped with a
 * rate-limited warning and still returned to the guest; a chain virtq_pop()
 * refuses puts the device in DEVICE_NEEDS_RESET.
 *
 * RX (§5.1.6.3-4): a frame needs one chain (no MRG_RXBUF) or as many as it
 * takes (MRG_RXBUF; num_buffers says how many).  There is no way to give a
 * popped chain back to the ring, so chains are popped into a stash until
 * the frame fits; if the ring runs dry first the stash is kept, the backend
 * is told -ENOBUFS (it holds the frame and stops reading) and the next RX
 * notify resumes it.  The stash is bounded by the queue size.
 *
 * Locks: tx_lock (TX queue, activation state) -> backend lock -> rx_lock
 * (RX queue and stash) -> transport state lock; see devices/net_backend.h.
 */
#include "devices/virtio_net.h"

#include <endian.h>
#include <errno.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RXQ 0
#define TXQ 1

/*
 * Buffers remembered per stashed RX chain.  Linux posts one buffer per
 * mergeable chain; a chain with more simply has the extra ones left unused
 * (the device may always write less than the chain holds).  Without
 * MRG_RXBUF the single chain of a frame is used straight from rx_chain.
 */
#define RX_SLOT_BUFS 4

#define NET_BASE_FEATURES                                                                          \
	((1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS) |                              \
	 (1ull << VIRTIO_NET_F_MRG_RXBUF))

/* The offloads a backend may add; anything else it claims is ignored. */
#define NET_OFFLOAD_FEATURES                                                                       \
	((1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_GUEST_CSUM) |                         \
	 (1ull << VIRTIO_NET_F_GUEST_TSO4) | (1ull << VIRTIO_NET_F_GUEST_TSO6) |                   \
	 (1ull << VIRTIO_NET_F_GUEST_ECN) | (1ull << VIRTIO_NET_F_GUEST_UFO) |                     \
	 (1ull << VIRTIO_NET_F_HOST_TSO4) | (1ull << VIRTIO_NET_F_HOST_TSO6) |                     \
	 (1ull << VIRTIO_NET_F_HOST_ECN))

/* Config space up to max_virtqueue_pairs: we offer neither MTU nor SPEED_DUPLEX. */
#define NET_CONFIG_SIZE offsetof(struct virtio_net_config, mtu)

struct rx_slot {
	uint16_t head;
	uint16_t nbufs;
	uint32_t len;
	struct virtq_buf bufs[RX_SLOT_BUFS];
};

struct virtio_net {
	struct net_backend *be;
	const struct logger *log;
	struct ev_loop *loop;
	struct virtio_net_config config; /* little-endian, as the guest reads it */
	struct virtio_device_ops ops;

	pthread_mutex_t tx_lock;
	pthread_mutex_t rx_lock;

	/* Between activate and reset; written holding both locks, read holding either. */
	struct virtio_transport *t;
	struct virtq *rxq, *txq;
	uint64_t features;

	/* TX, under tx_lock. */
	bool tx_broken;
	struct ratelimit tx_rl;
	struct virtq_chain tx_chain;
	struct iovec tx_iov[VIRTQ_MAX_CHAIN];
	uint64_t tx_frames, tx_bytes, tx_dropped, tx_errors;

	/* RX, under rx_lock. */
	bool rx_broken;
	bool rx_pushed; /* used entries since the last interrupt decision */
	struct ratelimit rx_rl;
	unsigned nstash;
	uint64_t stash_bytes;
	struct rx_slot stash[VIRTQ_MAX_SIZE];
	struct virtq_chain rx_chain;
	uint64_t rx_frames, rx_bytes, rx_dropped;
};

static bool has(uint64_t features, unsigned bit)
{
	return features & (1ull << bit);
}

/* ---- RX ---- */

/* May the guest see this header?  Sanitises flags, refuses GSO it did not negotiate (§5.1.6.4.1).
 */
static bool rx_header_ok(const struct virtio_net *net, struct virtio_net_hdr_mrg_rxbuf *hdr)
{
	uint64_t f = net->features;
	uint8_t gso = hdr->hdr.gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	if (!has(f, VIRTIO_NET_F_GUEST_CSUM))
		hdr->hdr.flags = 0;
	hdr->hdr.flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
	if ((hdr->hdr.gso_type & VIRTIO_NET_HDR_GSO_ECN) && !has(f, VIRTIO_NET_F_GUEST_ECN))
		return false;
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return true;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return has(f, VIRTIO_NET_F_GUEST_TSO4);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return has(f, VIRTIO_NET_F_GUEST_TSO6);
	case VIRTIO_NET_HDR_GSO_UDP:
		return has(f, VIRTIO_NET_F_GUEST_UFO);
	default:
		return false;
	}
}

/*
 * Pops one more RX chain into the stash.  1: stashed, 0: ring empty,
 * <0: guest error (queue broken).
 */
static int rx_stash_one(struct virtio_net *net)
{
	struct virtq_chain *c = &net->rx_chain;
	struct rx_slot *s;
	const char *why = NULL;
	int ret;

	if (net->nstash == VIRTQ_MAX_SIZE)
		return 0; /* cannot happen: the ring holds at most size chains */
	ret = virtq_pop(net->rxq, c, &why);
	if (ret < 0) {
		log_guest_error(net->log, &net->rx_rl, "virtio-net: bad RX descriptor chain: %s",
				why ? why : "invalid");
		return ret;
	}
	if (ret == 0)
		return 0;
	/* §5.1.6.3: receive buffers are device-writable only. */
	if (c->readable_len || !c->writable_len) {
		log_guest_error(net->log, &net->rx_rl,
				"virtio-net: RX chain with %u readable and %u writable bytes",
				c->readable_len, c->writable_len);
		return -EINVAL;
	}
	s = &net->stash[net->nstash++];
	s->head = c->head;
	s->nbufs = 0;
	s->len = 0;
	for (unsigned i = 0; i < c->nbufs && s->nbufs < RX_SLOT_BUFS; i++) {
		s->bufs[s->nbufs++] = c->bufs[i];
		s->len += c->bufs[i].len;
	}
	net->stash_bytes += s->len;
	return 1;
}

/* Copies bytes [off, off + n) of the frame as the guest sees it: `hdr`, then frame[12...]. */
static void frame_copy(uint8_t *dst, const uint8_t *hdr, const uint8_t *frame, size_t off, size_t n)
{
	if (off < NET_VNET_HDR_LEN) {
		size_t h = NET_VNET_HDR_LEN - off < n ? NET_VNET_HDR_LEN - off : n;

		memcpy(dst, hdr + off, h);
		dst += h;
		off += h;
		n -= h;
	}
	memcpy(dst, frame + off, n);
}

/* Writes frame bytes [off, off + len) into a slot's buffers, in order. */
static void slot_write(const struct rx_slot *s, const uint8_t *hdr, const uint8_t *frame,
		       size_t off, uint32_t len)
{
	for (unsigned i = 0; i < s->nbufs && len; i++) {
		uint32_t n = s->bufs[i].len < len ? s->bufs[i].len : len;

		frame_copy(s->bufs[i].host, hdr, frame, off, n);
		off += n;
		len -= n;
	}
}

/*
 * Places one frame into stashed chains (rx_lock held).  Returns 0, -ENOBUFS
 * or, on a guest error, -EINVAL with rx_broken set.
 */
static int rx_place(struct virtio_net *net, const uint8_t *frame, size_t len)
{
	bool mrg = has(net->features, VIRTIO_NET_F_MRG_RXBUF);
	struct virtio_net_hdr_mrg_rxbuf hdr;
	unsigned used = 0;
	uint64_t acc = 0;
	size_t off;
	int ret;

	memcpy(&hdr, frame, sizeof(hdr));
	if (!rx_header_ok(net, &hdr)) {
		net->rx_dropped++;
		return 0;
	}
	/* Without MRG_RXBUF one chain takes one whole frame (§5.1.6.3.1). */
	while (net->stash_bytes < len && (mrg || net->nstash == 0)) {
		ret = rx_stash_one(net);
		if (ret < 0) {
			net->rx_broken = true;
			return -EINVAL;
		}
		if (ret == 0)
			return -ENOBUFS;
	}
	if (!mrg && net->stash[0].len < len) {
		log_guest_error(net->log, &net->rx_rl,
				"virtio-net: %u-byte RX buffer too small for a %zu-byte frame",
				net->stash[0].len, len);
		net->rx_dropped++;
		return 0; /* the chain stays stashed for a smaller frame */
	}
	while (acc < len)
		acc += net->stash[used++].len;
	hdr.num_buffers = htole16((uint16_t)used);

	off = 0;
	for (unsigned i = 0; i < used; i++) {
		const struct rx_slot *s = &net->stash[i];
		uint32_t n = len - off < s->len ? (uint32_t)(len - off) : s->len;

		slot_write(s, (const uint8_t *)&hdr, frame, off, n);
		virtq_push(net->rxq, s->head, n);
		off += n;
	}
	net->stash_bytes -= acc;
	net->nstash -= used;
	memmove(net->stash, net->stash + used, net->nstash * sizeof(net->stash[0]));
	net->rx_pushed = true;
	net->rx_frames++;
	net->rx_bytes += len - NET_VNET_HDR_LEN;
	return 0;
}

static int net_rx_receive(void *opaque, const void *frame, size_t len)
{
	struct virtio_net *net = opaque;
	struct virtio_transport *t;
	int ret;

	pthread_mutex_lock(&net->rx_lock);
	if (!net->rxq || !net->rxq->ready || net->rx_broken || len <= NET_VNET_HDR_LEN ||
	    len > NET_VNET_HDR_LEN + NET_MAX_FRAME) {
		/* Not running (or a hopeless frame): a NIC with the link down drops. */
		net->rx_dropped++;
		pthread_mutex_unlock(&net->rx_lock);
		return 0;
	}
	ret = rx_place(net, frame, len);
	t = net->t;
	pthread_mutex_unlock(&net->rx_lock);
	if (ret == -EINVAL) {
		virtio_set_needs_reset(t);
		return 0;
	}
	return ret;
}

static void net_rx_flush(void *opaque)
{
	struct virtio_net *net = opaque;
	struct virtio_transport *t = NULL;
	bool notify = false;

	pthread_mutex_lock(&net->rx_lock);
	if (net->rx_pushed && net->rxq) {
		notify = virtq_needs_interrupt(net->rxq);
		t = net->t;
	}
	net->rx_pushed = false;
	pthread_mutex_unlock(&net->rx_lock);
	if (notify)
		virtio_notify_used(t, RXQ);
}

int net_backend_attach(struct net_backend *be, const struct net_rx_port *port)
{
	be->port = *port;
	return be->ops->start(be);
}

/* ---- TX ---- */

/* Builds tx_iov over the chain's readable buffers; returns the count. */
static int tx_iov(struct virtio_net *net)
{
	const struct virtq_chain *c = &net->tx_chain;
	int n = 0;

	for (unsigned i = 0; i < c->nbufs; i++) {
		if (c->bufs[i].device_writable || !c->bufs[i].len)
			continue;
		net->tx_iov[n].iov_base = c->bufs[i].host;
		net->tx_iov[n].iov_len = c->bufs[i].len;
		n++;
	}
	return n;
}

/* One TX chain (tx_lock held). */
static void tx_one(struct virtio_net *net)
{
	const struct virtq_chain *c = &net->tx_chain;
	uint32_t len = c->readable_len;
	int ret;

	if (len <= NET_VNET_HDR_LEN || len - NET_VNET_HDR_LEN > NET_MAX_FRAME || c->writable_len) {
		log_guest_error(net->log, &net->tx_rl,
				"virtio-net: TX chain of %u readable, %u writable bytes dropped "
				"(want a %u-byte header and a 1..%u-byte frame)",
				len, c->writable_len, NET_VNET_HDR_LEN, NET_MAX_FRAME);
		net->tx_dropped++;
		return;
	}
	ret = net->be->ops->send(net->be, net->tx_iov, tx_iov(net));
	if (ret < 0) {
		/* A host-side failure (TAP down: EIO, buffers full: EAGAIN): drop, as a NIC would.
		 */
		if (net->tx_errors++ == 0 || ret != -EAGAIN)
			log_guest_error(net->log, &net->tx_rl, "virtio-net: %s send failed: %s",
					net->be->kind, strerror(-ret));
		return;
	}
	net->tx_frames++;
	net->tx_bytes += len - NET_VNET_HDR_LEN;
}

/*
 * One wake-up's worth of TX (tx_lock held, device active): until the ring
 * is empty or the budget is spent.  Returns true if chains may be left.
 */
static bool tx_serve(struct virtio_net *net, bool *notify, bool *needs_reset)
{
	const char *why = NULL;
	bool pushed = false, more = false;
	int ret;

	for (unsigned n = 0;; n++) {
		if (n == VIRTIO_NET_TX_BUDGET) {
			more = true;
			break;
		}
		ret = virtq_pop(net->txq, &net->tx_chain, &why);
		if (ret < 0) {
			log_guest_error(net->log, &net->tx_rl,
					"virtio-net: bad TX descriptor chain: %s",
					why ? why : "invalid");
			*needs_reset = true;
			break;
		}
		if (ret == 0)
			break; /* with EVENT_IDX, virtq_pop() re-armed avail_event */
		tx_one(net);
		virtq_push(net->txq, net->tx_chain.head, 0);
		pushed = true;
	}
	if (*needs_reset)
		net->tx_broken = true;
	if (pushed)
		*notify = virtq_needs_interrupt(net->txq);
	return more;
}

static void net_tx_notify(struct virtio_net *net)
{
	struct virtio_transport *t;
	bool more;

	/*
	 * Under the transport's ops mutex: t stays valid.  Without an event
	 * loop to come back to, the rest is served here, budget by budget.
	 */
	do {
		bool notify = false, needs_reset = false;

		pthread_mutex_lock(&net->tx_lock);
		t = net->t;
		if (!net->txq || net->tx_broken) {
			pthread_mutex_unlock(&net->tx_lock);
			return;
		}
		more = tx_serve(net, &notify, &needs_reset);
		pthread_mutex_unlock(&net->tx_lock);

		if (needs_reset)
			virtio_set_needs_reset(t);
		if (notify)
			virtio_notify_used(t, TXQ);
	} while (more && virtio_queue_reschedule(t, TXQ) < 0);
}

/* ---- virtio_device_ops ---- */

static void net_queue_notify(void *dev, unsigned q)
{
	struct virtio_net *net = dev;
	bool running;

	if (q == TXQ) {
		net_tx_notify(net);
		return;
	}
	if (q != RXQ) {
		pthread_mutex_lock(&net->tx_lock);
		log_guest_error(net->log, &net->tx_rl, "virtio-net: notify of queue %u", q);
		pthread_mutex_unlock(&net->tx_lock);
		return;
	}
	/* New RX buffers: let the backend deliver what it holds and read again. */
	pthread_mutex_lock(&net->rx_lock);
	running = net->rxq && !net->rx_broken;
	pthread_mutex_unlock(&net->rx_lock);
	if (running)
		net->be->ops->rx_resume(net->be);
}

static void net_config_read(void *dev, uint32_t offset, void *data, uint32_t len)
{
	struct virtio_net *net = dev;

	/* Never changes after create (the link is always up): no lock. */
	memcpy(data, (const uint8_t *)&net->config + offset, len);
}

static void net_config_write(void *dev, uint32_t offset, const void *data, uint32_t len)
{
	struct virtio_net *net = dev;

	(void)data; /* §5.1.4: the MAC is writable only in legacy mode; nothing else is */
	pthread_mutex_lock(&net->tx_lock);
	log_guest_error(net->log, &net->tx_rl, "virtio-net: %u-byte config write at %u ignored",
			len, offset);
	pthread_mutex_unlock(&net->tx_lock);
}

static void set_running(struct virtio_net *net, struct virtio_transport *t, uint64_t features,
			struct virtq *queues)
{
	pthread_mutex_lock(&net->tx_lock);
	pthread_mutex_lock(&net->rx_lock);
	net->t = t;
	net->rxq = queues ? &queues[RXQ] : NULL;
	net->txq = queues ? &queues[TXQ] : NULL;
	net->features = features;
	net->tx_broken = net->rx_broken = false;
	net->rx_pushed = false;
	net->nstash = 0;
	net->stash_bytes = 0;
	pthread_mutex_unlock(&net->rx_lock);
	pthread_mutex_unlock(&net->tx_lock);
}

static int net_activate(void *dev, struct virtio_transport *t, uint64_t driver_features,
			struct virtq *queues)
{
	struct virtio_net *net = dev;
	int ret;

	set_running(net, t, driver_features, queues);
	ret = net->be->ops->set_offloads(net->be, driver_features);
	if (ret < 0)
		set_running(net, NULL, 0, NULL);
	return ret;
}

static void net_reset(void *dev)
{
	struct virtio_net *net = dev;

	/* Waits for TX and RX in progress: after this the queues are not touched. */
	set_running(net, NULL, 0, NULL);
	net->be->ops->set_offloads(net->be, 0);
}

static void net_metrics(void *dev, const char *prefix, mvm_metric_fn fn, void *opaque);

static const struct virtio_device_ops virtio_net_ops = {
    .name = "virtio-net",
    .device_id = VIRTIO_ID_NET,
    .nqueues = 2,
    .features = NET_BASE_FEATURES,
    .config_size = NET_CONFIG_SIZE,
    .config_read = net_config_read,
    .config_write = net_config_write,
    .activate = net_activate,
    .reset = net_reset,
    .queue_notify = net_queue_notify,
    .metrics = net_metrics,
};

/* ---- Creation ---- */

void virtio_net_default_mac(uint32_t vm_id, unsigned index, uint8_t mac[6])
{
	mac[0] = 0x02; /* locally administered, unicast */
	mac[1] = 0x4d; /* 'M' */
	mac[2] = 0x56; /* 'V' */
	mac[3] = (uint8_t)(vm_id >> 8);
	mac[4] = (uint8_t)vm_id;
	mac[5] = (uint8_t)index;
}

int virtio_net_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	int end = 0;

	if (!s ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &end) != 6 ||
	    end != 17 || s[end] != '\0')
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return (mac[0] & 1) ? -EINVAL : 0; /* a multicast address cannot be a NIC's */
}

int virtio_net_create_with_backend(struct virtio_net **out, struct net_backend *be,
				   const uint8_t mac[6], struct ev_loop *loop,
				   const struct logger *log, struct vmm_err *err)
{
	struct net_rx_port port;
	struct virtio_net *net;
	int ret;

	if (!out || !be || !mac) {
		if (be)
			be->ops->destroy(be);
		return vmm_errf(err, -EINVAL, "virtio-net: no backend or MAC");
	}
	if (mac[0] & 1) {
		be->ops->destroy(be);
		return vmm_errf(err, -EINVAL,
				"virtio-net: MAC %02x:%02x:%02x:%02x:%02x:%02x is multicast",
				mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	}
	net = calloc(1, sizeof(*net));
	if (!net) {
		be->ops->destroy(be);
		return vmm_errf(err, -ENOMEM, "virtio-net: out of memory");
	}
	pthread_mutex_init(&net->tx_lock, NULL);
	pthread_mutex_init(&net->rx_lock, NULL);
	net->be = be;
	net->log = log;
	net->loop = loop;
	net->tx_rl = (struct ratelimit)RATELIMIT_INIT;
	net->rx_rl = (struct ratelimit)RATELIMIT_INIT;
	memcpy(net->config.mac, mac, 6);
	net->config.status = htole16(VIRTIO_NET_S_LINK_UP);
	net->config.max_virtqueue_pairs = htole16(1);
	net->ops = virtio_net_ops;
	net->ops.features = NET_BASE_FEATURES | (be->features & NET_OFFLOAD_FEATURES);

	port = (struct net_rx_port){net_rx_receive, net_rx_flush, net};
	ret = net_backend_attach(be, &port);
	if (ret < 0) {
		virtio_net_destroy(net);
		return vmm_errf(err, ret, "virtio-net: cannot start the %s backend", be->kind);
	}
	*out = net;
	return 0;
}

int virtio_net_create(struct virtio_net **out, const struct virtio_net_params *params,
		      struct ev_loop *loop, const struct logger *log, struct vmm_err *err)
{
	struct net_backend *be = NULL;
	uint8_t mac[6];
	int ret;

	if (!params)
		return vmm_errf(err, -EINVAL, "virtio-net: no parameters");
	switch (params->backend) {
	case NET_BACKEND_TAP:
		ret = net_tap_open(&be, params->tap_name, loop, log, err);
		break;
	case NET_BACKEND_USER:
		ret = net_slirp_open(&be, params->hostfwd, loop, log, err);
		break;
	default:
		return vmm_errf(err, -EINVAL, "net%u: unknown backend %d", params->index,
				(int)params->backend);
	}
	if (ret < 0)
		return ret;
	if (params->mac_set)
		memcpy(mac, params->mac, 6);
	else
		virtio_net_default_mac(params->vm_id, params->index, mac);
	return virtio_net_create_with_backend(out, be, mac, loop, log, err);
}

const struct virtio_device_ops *virtio_net_device_ops(const struct virtio_net *net)
{
	return &net->ops;
}

void virtio_net_get_stats(struct virtio_net *net, struct virtio_net_stats *out)
{
	pthread_mutex_lock(&net->tx_lock);
	out->tx_frames = net->tx_frames;
	out->tx_bytes = net->tx_bytes;
	out->tx_dropped = net->tx_dropped;
	out->tx_errors = net->tx_errors;
	pthread_mutex_unlock(&net->tx_lock);
	pthread_mutex_lock(&net->rx_lock);
	out->rx_frames = net->rx_frames;
	out->rx_bytes = net->rx_bytes;
	out->rx_dropped = net->rx_dropped;
	pthread_mutex_unlock(&net->rx_lock);
}

void virtio_net_destroy(struct virtio_net *net)
{
	if (!net)
		return;
	net->be->ops->destroy(net->be);
	pthread_mutex_destroy(&net->tx_lock);
	pthread_mutex_destroy(&net->rx_lock);
	free(net);
}

/*
 * Under the TX and RX locks (virtio_net_get_stats): each is held for one
 * bounded wake-up at most, and the counters stay plain fields of the paths
 * that already own them.
 */
static void net_metrics(void *dev, const char *prefix, mvm_metric_fn fn, void *opaque)
{
	struct virtio_net_stats st;
	char name[64];

	virtio_net_get_stats(dev, &st);
	const struct {
		const char *name;
		uint64_t v;
	} c[] = {
	    {"rx_packets", st.rx_frames}, {"rx_bytes", st.rx_bytes}, {"rx_drops", st.rx_dropped},
	    {"tx_packets", st.tx_frames}, {"tx_bytes", st.tx_bytes}, {"tx_drops", st.tx_dropped},
	    {"tx_errors", st.tx_errors},
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(name, sizeof(name), "%s.%s", prefix, c[i].name);
		fn(opaque, name, c[i].v);
	}
}
