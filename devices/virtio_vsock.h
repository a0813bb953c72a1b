/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock (VIRTIO 1.2 §5.10), device ID 19: queues rx (0), tx (1) and
 * event (2), config space le64 guest_cid, stream sockets only (no
 * VIRTIO_VSOCK_F_SEQPACKET).  The host side is devices/vsock_muxer.c
 * (Unix sockets), the per-connection protocol devices/vsock_conn.c.
 *
 * Semantics (tests/unit/test_virtio_vsock.c):
 *  - tx: each chain is one packet, a 44-byte header (split across buffers
 *    any way the guest likes) and `len` payload bytes.  A packet whose
 *    src_cid is not the guest's, or whose dst_cid is not 2, is dropped with
 *    a rate-limited warning (it cannot be answered); a bad type or op, a
 *    `len` over VIRTIO_VSOCK_MAX_PKT or beyond the chain, is answered with
 *    RST (and counted as an error).  Ring errors set DEVICE_NEEDS_RESET.
 *  - rx: a packet goes into one chain: header, then as much payload as the
 *    chain's writable space, the guest's credit and VIRTIO_VSOCK_MAX_PKT
 *    allow.  A chain too small for a header is returned empty (warning).
 *  - Per wake-up at most VIRTIO_VSOCK_BUDGET_PACKETS packets each way; the
 *    rest is re-armed (DESIGN "Budgets, not drains").
 *  - Device reset and destroy close every host socket of a connection.
 */
#ifndef MINIVMM_VIRTIO_VSOCK_H
#define MINIVMM_VIRTIO_VSOCK_H

#include <stdint.h>

#include "devices/virtio.h"

#define VIRTIO_VSOCK_RXQ     0u
#define VIRTIO_VSOCK_TXQ     1u
#define VIRTIO_VSOCK_EVQ     2u
#define VIRTIO_VSOCK_HDR_LEN 44u
/* Payload per packet, either way (Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE). */
#define VIRTIO_VSOCK_MAX_PKT	    (64u * 1024)
#define VIRTIO_VSOCK_BUDGET_PACKETS 64u

struct virtio_vsock;

extern const struct virtio_device_ops virtio_vsock_ops;

/* Creates the device and its listening socket `uds_path` (vsock_muxer_create). */
int virtio_vsock_create(struct virtio_vsock **out, uint64_t guest_cid, const char *uds_path,
			struct ev_loop *loop, const struct logger *log, struct vmm_err *err);
/* After the transport; after the event loop stopped, or from its thread. */
void virtio_vsock_destroy(struct virtio_vsock *vs);

/*
 * Queues VIRTIO_VSOCK_EVENT_TRANSPORT_RESET (§5.10.6.6; what a snapshot
 * restore sends: the guest's connections are gone) and closes every host
 * connection.  Delivered at once if the driver gave an event buffer, else
 * at its next event-queue notify.  0 if delivered, -EAGAIN if still pending.
 */
int virtio_vsock_transport_reset(struct virtio_vsock *vs);

/* Host connections open now (handshakes included); for tests. */
unsigned virtio_vsock_nconns(struct virtio_vsock *vs);
const char *virtio_vsock_uds_path(const struct virtio_vsock *vs);

struct virtio_vsock_stats {
	uint64_t rx_packets, rx_bytes; /* to the guest: packets, payload bytes */
	uint64_t tx_packets, tx_bytes; /* from the guest */
	uint64_t conns_opened, conns_reset;
	uint64_t errors; /* malformed guest packets */
};
void virtio_vsock_get_stats(struct virtio_vsock *vs, struct virtio_vsock_stats *out);

#endif
