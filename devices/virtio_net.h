/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (VIRTIO 1.2 §5.1) over a pluggable backend: a TAP device
 * (devices/net_tap.c) or user-mode networking through libslirp
 * (devices/net_slirp.c).  RX and TX run on the event-loop thread.
 */
#ifndef MINIVMM_VIRTIO_NET_H
#define MINIVMM_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio.h"

struct virtio_net;

/* What minivmm passes in; filled from --net / [netN] by the lead. */
struct virtio_net_config {
	enum { NET_BACKEND_TAP, NET_BACKEND_USER } backend;
	const char *tap_name;   /* TAP: existing device name, or one to create */
	uint8_t mac[6];
	bool mac_set;           /* false: a stable default MAC derived from the VM + index */
	const char *hostfwd;    /* USER: "tcp:127.0.0.1:2222-:22,udp:..." or NULL */
	unsigned index;         /* eth0, eth1 ... (for default MACs and logs) */
};

int virtio_net_create(struct virtio_net **out, const struct virtio_net_config *cfg,
		      struct ev_loop *loop, const struct logger *log, struct vmm_err *err);
const struct virtio_device_ops *virtio_net_device_ops(const struct virtio_net *net);
void virtio_net_destroy(struct virtio_net *net);

#endif
