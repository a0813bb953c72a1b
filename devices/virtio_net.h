/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (VIRTIO 1.2 §5.1) over a pluggable backend: a TAP device
 * (devices/net_tap.c) or user-mode networking through libslirp
 * (devices/net_slirp.c).  RX and TX run on the event-loop thread.
 *
 * Queues: 0 = receiveq1, 1 = transmitq1 (no multiqueue, no control queue).
 * Offered: MAC, STATUS (link always up), MRG_RXBUF, plus the backend's
 * offloads (TAP: CSUM, HOST_TSO4/6/ECN and the GUEST_* offloads the kernel
 * accepts for TUNSETOFFLOAD; user: none, so slirp only sees complete frames).
 */
#ifndef MINIVMM_VIRTIO_NET_H
#define MINIVMM_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/net_backend.h"
#include "devices/virtio.h"

struct virtio_net;

/* TX chains served per wake-up before the device yields to the event loop and re-arms. */
#define VIRTIO_NET_TX_BUDGET 64u

/*
 * What minivmm passes in; filled from --net / [netN] by the lead.  (Not
 * called virtio_net_config: that is the config-space struct of
 * <linux/virtio_net.h>.)
 */
struct virtio_net_params {
	enum { NET_BACKEND_TAP, NET_BACKEND_USER } backend;
	const char *tap_name; /* TAP: existing device name, or one to create */
	uint8_t mac[6];
	bool mac_set;	     /* false: virtio_net_default_mac(vm_id, index) */
	const char *hostfwd; /* USER: "tcp:127.0.0.1:2222-:22,udp:..." or NULL */
	unsigned index;	     /* eth0, eth1 ... (for default MACs and logs) */
	uint32_t vm_id;	     /* a stable hash of the VM's identity (e.g. its name or config path) */
};

struct virtio_net_stats {
	uint64_t rx_frames, rx_bytes;
	uint64_t rx_dropped; /* device not running, offload the guest did not accept, no fit */
	uint64_t tx_frames, tx_bytes;
	uint64_t tx_dropped; /* malformed guest frames */
	uint64_t tx_errors;  /* the backend failed to send */
};

/* Opens the backend the params name, then virtio_net_create_with_backend(). */
int virtio_net_create(struct virtio_net **out, const struct virtio_net_params *params,
		      struct ev_loop *loop, const struct logger *log, struct vmm_err *err);

/* Takes ownership of `be` (destroyed with the device, also on failure). */
int virtio_net_create_with_backend(struct virtio_net **out, struct net_backend *be,
				   const uint8_t mac[6], struct ev_loop *loop,
				   const struct logger *log, struct vmm_err *err);

/* The ops for virtio_mmio_create(): features depend on the backend.  Valid until destroy. */
const struct virtio_device_ops *virtio_net_device_ops(const struct virtio_net *net);

/* Destroy after the event loop has stopped (or from its thread), after the transport. */
void virtio_net_destroy(struct virtio_net *net);

void virtio_net_get_stats(struct virtio_net *net, struct virtio_net_stats *out);

/*
 * The default MAC: 02:4d:56:hh:ll:index ("MV", locally administered,
 * unicast), hh:ll the low 16 bits of vm_id.  Stable as long as vm_id is.
 */
void virtio_net_default_mac(uint32_t vm_id, unsigned index, uint8_t mac[6]);

/* Parses "52:54:00:12:34:56"; -EINVAL on bad syntax or a multicast address. */
int virtio_net_parse_mac(const char *s, uint8_t mac[6]);

#endif
