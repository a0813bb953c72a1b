/* SPDX-License-Identifier: MIT */
/*
 * virtio-net driven like a guest driver would: through the real virtio-mmio
 * transport's registers, with split rings in fake guest memory.  The backend
 * is the fd backend over a SOCK_SEQPACKET socketpair (one message = one
 * frame with its 12-byte header, exactly like a TAP with IFF_VNET_HDR); the
 * test holds the other end.  The TAP and libslirp backends get their own
 * tests at the end (TAP in a private network namespace, root only).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "devices/net_backend.h"
#include "devices/virtio_mmio.h"
#include "devices/virtio_net.h"
#include "tests/unit/virtio_driver.h"

#define HDR NET_VNET_HDR_LEN
#define RXQ 0u
#define TXQ 1u

static struct virtio_test_driver drv;
static struct ev_loop *loop;
static struct virtio_net *net;
static struct net_backend *be;
static int peer;  /* the test's end of the socketpair: the "host network" */
static int devfd; /* the device's end (owned by the backend) */

/* ---- The device, behind the transport ---- */

static const uint64_t fd_offloads = (1ull << VIRTIO_NET_F_CSUM) |
				    (1ull << VIRTIO_NET_F_GUEST_CSUM) |
				    (1ull << VIRTIO_NET_F_GUEST_TSO4);

/* A device over a socketpair; `init`: also run the driver's initialisation. */
static void start_device(uint64_t drop, bool init)
{
	static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	struct vmm_err err = {{0}};
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	peer = sv[1];
	devfd = sv[0];
	ck_assert_int_eq(net_fd_backend_create(&be, sv[0], fd_offloads, loop, drv.log, &err), 0);
	ck_assert_int_eq(virtio_net_create_with_backend(&net, be, mac, loop, drv.log, &err), 0);
	vtd_attach(&drv, virtio_net_device_ops(net), net, NULL);
	if (init)
		vtd_driver_init(&drv, drop);
}

static void setup(void)
{
	vtd_init(&drv, 2);
	ck_assert_int_eq(ev_loop_create(&loop), 0);
	net = NULL;
	be = NULL;
	peer = -1;
}

static void teardown(void)
{
	vtd_detach(&drv);
	virtio_net_destroy(net);
	if (peer >= 0)
		close(peer);
	ev_loop_destroy(loop);
	vtd_fini(&drv);
}

/* ---- Frames ---- */

static struct virtio_net_stats stats(void)
{
	struct virtio_net_stats s;
	virtio_net_get_stats(net, &s);
	return s;
}

static void fill_pattern(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 13 + seed + (i >> 8));
}

/* A TX chain: header (flags, gso) in one buffer, `len` frame bytes in another. */
static struct vtd_buf tx_frame(size_t len, unsigned seed)
{
	struct vtd_buf bufs[2] = {vtd_alloc(&drv, HDR, false),
				  vtd_alloc(&drv, (uint32_t)len, false)};
	struct virtio_net_hdr_mrg_rxbuf h = {0};

	memcpy(vtd_host(&drv, bufs[0]), &h, sizeof(h));
	fill_pattern(vtd_host(&drv, bufs[1]), len, seed);
	vtd_add_chain(&drv, TXQ, bufs, 2);
	return bufs[1];
}

/* The host sends one frame (header + `len` pattern bytes) towards the guest. */
static void host_send(const struct virtio_net_hdr_mrg_rxbuf *h, size_t len, unsigned seed)
{
	uint8_t *msg = malloc(HDR + len);

	memcpy(msg, h, HDR);
	fill_pattern(msg + HDR, len, seed);
	ck_assert_int_eq(send(peer, msg, HDR + len, 0), (ssize_t)(HDR + len));
	free(msg);
}

static ssize_t host_recv(uint8_t *buf, size_t len)
{
	return recv(peer, buf, len, MSG_DONTWAIT);
}

static struct vtd_buf post_rx(uint32_t len)
{
	struct vtd_buf b = vtd_alloc(&drv, len, true);

	memset(vtd_host(&drv, b), 0xee, len);
	vtd_add_chain(&drv, RXQ, &b, 1);
	return b;
}

/* ---- Tests ---- */

START_TEST(config_space_and_features)
{
	uint64_t f;
	uint8_t mac[6];

	start_device(0, false);
	ck_assert_uint_eq(vtd_read32(&drv, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
	f = vtd_device_features(&drv);
	ck_assert(f & (1ull << VIRTIO_NET_F_MAC));
	ck_assert(f & (1ull << VIRTIO_NET_F_STATUS));
	ck_assert(f & (1ull << VIRTIO_NET_F_MRG_RXBUF));
	ck_assert(f & (1ull << VIRTIO_F_VERSION_1));
	/* Exactly the backend's offloads, nothing it did not claim. */
	ck_assert(f & (1ull << VIRTIO_NET_F_CSUM));
	ck_assert(f & (1ull << VIRTIO_NET_F_GUEST_CSUM));
	ck_assert(f & (1ull << VIRTIO_NET_F_GUEST_TSO4));
	ck_assert(!(f & (1ull << VIRTIO_NET_F_GUEST_TSO6)));
	ck_assert(!(f & (1ull << VIRTIO_NET_F_HOST_TSO4)));
	ck_assert(!(f & (1ull << VIRTIO_NET_F_CTRL_VQ)));
	ck_assert(!(f & (1ull << VIRTIO_NET_F_MQ)));

	for (unsigned i = 0; i < 6; i++) {
		uint8_t v;
		virtio_mmio_read(drv.t, VIRTIO_MMIO_CONFIG + i, &v, 1);
		mac[i] = v;
	}
	ck_assert_mem_eq(mac, ((uint8_t[]){0x52, 0x54, 0x00, 0x12, 0x34, 0x56}), 6);
	uint16_t status;
	virtio_mmio_read(drv.t, VIRTIO_MMIO_CONFIG + offsetof(struct virtio_net_config, status),
			 &status, 2);
	ck_assert_uint_eq(status, VIRTIO_NET_S_LINK_UP);
	uint16_t pairs;
	virtio_mmio_read(
	    drv.t, VIRTIO_MMIO_CONFIG + offsetof(struct virtio_net_config, max_virtqueue_pairs),
	    &pairs, 2);
	ck_assert_uint_eq(pairs, 1);

	/* Config writes (legacy MAC setting) are ignored. */
	uint8_t zero = 0;
	virtio_mmio_write(drv.t, VIRTIO_MMIO_CONFIG, &zero, 1);
	virtio_mmio_read(drv.t, VIRTIO_MMIO_CONFIG, &zero, 1);
	ck_assert_uint_eq(zero, 0x52);
}
END_TEST

START_TEST(tx_frame_reaches_backend)
{
	uint8_t got[2048];
	struct vtd_buf b;
	struct vtd_buf bufs[3];
	struct virtio_net_hdr_mrg_rxbuf h = {
	    .hdr = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 16}};

	start_device(0, true);
	b = tx_frame(1000, 1);
	vtd_notify(&drv, TXQ);
	ck_assert_int_eq(host_recv(got, sizeof(got)), HDR + 1000);
	ck_assert_mem_eq(got + HDR, vtd_host(&drv, b), 1000);
	ck_assert_uint_eq(vtd_take_used(&drv, TXQ, NULL), 0);
	ck_assert_uint_eq(drv.irq_pulses, 1);

	/* The header passes through to a TAP untouched; a split frame is gathered. */
	bufs[0] = vtd_alloc(&drv, 5, false);
	bufs[1] = vtd_alloc(&drv, HDR - 5 + 100, false);
	bufs[2] = vtd_alloc(&drv, 60, false);
	memcpy(vtd_host(&drv, bufs[0]), &h, 5);
	memcpy(vtd_host(&drv, bufs[1]), (uint8_t *)&h + 5, HDR - 5);
	fill_pattern(vtd_host(&drv, bufs[1]) + HDR - 5, 100, 2);
	fill_pattern(vtd_host(&drv, bufs[2]), 60, 3);
	vtd_add_chain(&drv, TXQ, bufs, 3);
	vtd_notify(&drv, TXQ);
	ck_assert_int_eq(host_recv(got, sizeof(got)), HDR + 160);
	ck_assert_mem_eq(got, &h, HDR);
	ck_assert_mem_eq(got + HDR, vtd_host(&drv, bufs[1]) + HDR - 5, 100);
	ck_assert_mem_eq(got + HDR + 100, vtd_host(&drv, bufs[2]), 60);
	ck_assert_uint_eq(stats().tx_frames, 2);
	ck_assert_uint_eq(stats().tx_bytes, 1160);
	ck_assert_uint_eq(vtd_metric(virtio_net_device_ops(net), net, "net0", "net0.tx_packets"),
			  2);
	ck_assert_uint_eq(vtd_metric(virtio_net_device_ops(net), net, "net0", "net0.tx_bytes"),
			  1160);
	ck_assert_uint_eq(vtd_metric(virtio_net_device_ops(net), net, "net0", "net0.tx_drops"), 0);
}
END_TEST

START_TEST(tx_batches_one_interrupt)
{
	uint8_t got[256];

	start_device(0, true);
	for (unsigned i = 0; i < 5; i++)
		tx_frame(60 + i, i);
	vtd_notify(&drv, TXQ);
	for (unsigned i = 0; i < 5; i++) {
		ck_assert_int_eq(host_recv(got, sizeof(got)), HDR + 60 + i);
		ck_assert_uint_eq(got[HDR], (uint8_t)i); /* in ring order */
	}
	ck_assert_int_lt(host_recv(got, sizeof(got)), 0);
	ck_assert_uint_eq(vtd_used_pending(&drv, TXQ), 5);
	ck_assert_uint_eq(drv.irq_pulses, 1);
	ck_assert_uint_eq(stats().tx_frames, 5);
}
END_TEST

/*
 * Issue 10, defect 2: a guest keeping the TX ring full must not keep the
 * loop.  One wake-up sends at most VIRTIO_NET_TX_BUDGET frames, re-arms,
 * and the rest goes out from the loop without another kick.
 */
START_TEST(tx_budget_per_wakeup)
{
	static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	const unsigned n = 100;
	struct vmm_err err = {{0}};
	uint8_t got[256];
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	peer = sv[1];
	ck_assert_int_eq(net_fd_backend_create(&be, sv[0], fd_offloads, loop, drv.log, &err), 0);
	ck_assert_int_eq(virtio_net_create_with_backend(&net, be, mac, loop, drv.log, &err), 0);
	vtd_attach_ioeventfd(&drv, virtio_net_device_ops(net), net, loop);
	drv.qsize = VIRTQ_MAX_SIZE;
	vtd_driver_init(&drv, 0);

	for (unsigned i = 0; i < n; i++)
		tx_frame(60, i);
	vtd_notify(&drv, TXQ);
	ck_assert_uint_eq(vtd_used_pending(&drv, TXQ), VIRTIO_NET_TX_BUDGET);
	ck_assert_uint_eq(stats().tx_frames, VIRTIO_NET_TX_BUDGET);
	ck_assert(vtd_kick_pending(&drv, TXQ));
	vtd_run_loop_ms(loop, 50);
	ck_assert_uint_eq(vtd_used_pending(&drv, TXQ), n);
	for (unsigned i = 0; i < n; i++) {
		ck_assert_int_eq(host_recv(got, sizeof(got)), HDR + 60);
		ck_assert_uint_eq(got[HDR], (uint8_t)i); /* in ring order */
	}
	ck_assert(!vtd_needs_reset(&drv));
}
END_TEST

START_TEST(tx_malformed_dropped)
{
	uint8_t *got = malloc(HDR + NET_MAX_FRAME + 16);
	struct vtd_buf b;

	start_device(0, true);
	/* Header shorter than 12 bytes. */
	b = vtd_alloc(&drv, 8, false);
	vtd_add_chain(&drv, TXQ, &b, 1);
	/* A header and no frame. */
	b = vtd_alloc(&drv, HDR, false);
	vtd_add_chain(&drv, TXQ, &b, 1);
	/* One byte above the largest frame. */
	tx_frame(NET_MAX_FRAME + 1, 0);
	/* A writable buffer in a TX chain. */
	struct vtd_buf wb[2] = {vtd_alloc(&drv, HDR + 60, false), vtd_alloc(&drv, 16, true)};
	vtd_add_chain(&drv, TXQ, wb, 2);
	vtd_notify(&drv, TXQ);
	ck_assert_int_lt(host_recv(got, HDR + NET_MAX_FRAME + 16), 0);
	ck_assert_uint_eq(vtd_used_pending(&drv, TXQ), 4); /* all returned to the guest */
	ck_assert_uint_eq(stats().tx_dropped, 4);
	ck_assert(!vtd_needs_reset(&drv));

	/* The largest frame is fine, and the device still works. */
	b = tx_frame(NET_MAX_FRAME, 9);
	vtd_notify(&drv, TXQ);
	ck_assert_int_eq(host_recv(got, HDR + NET_MAX_FRAME + 16), HDR + NET_MAX_FRAME);
	ck_assert_mem_eq(got + HDR, vtd_host(&drv, b), NET_MAX_FRAME);
	free(got);
}
END_TEST

START_TEST(tx_hostile_chain_needs_reset)
{
	struct vtd_buf bad = {VTD_RAM_BYTES - 8, 64, false}; /* runs off the end of RAM */
	uint8_t got[64];

	start_device(0, true);
	vtd_add_chain(&drv, TXQ, &bad, 1);
	vtd_notify(&drv, TXQ);
	ck_assert(vtd_needs_reset(&drv));
	ck_assert_int_lt(host_recv(got, sizeof(got)), 0);
	/* Nothing more is processed until reset. */
	tx_frame(60, 0);
	vtd_notify(&drv, TXQ);
	ck_assert_int_lt(host_recv(got, sizeof(got)), 0);
}
END_TEST

START_TEST(rx_frame_with_header)
{
	struct virtio_net_hdr_mrg_rxbuf h = {.hdr = {.flags = VIRTIO_NET_HDR_F_DATA_VALID},
					     .num_buffers = 77};
	struct virtio_net_hdr_mrg_rxbuf got;
	uint8_t want[100];
	struct vtd_buf b;

	start_device(0, true);
	b = post_rx(2048);
	vtd_notify(&drv, RXQ);
	host_send(&h, 100, 5);
	net_fd_backend_poll(be);
	ck_assert_uint_eq(vtd_take_used(&drv, RXQ, NULL), HDR + 100);
	memcpy(&got, vtd_host(&drv, b), HDR);
	ck_assert_uint_eq(got.num_buffers, 1); /* ours, not the backend's 77 */
	ck_assert_uint_eq(got.hdr.flags, VIRTIO_NET_HDR_F_DATA_VALID); /* GUEST_CSUM negotiated */
	fill_pattern(want, 100, 5);
	ck_assert_mem_eq(vtd_host(&drv, b) + HDR, want, 100);
	ck_assert_uint_eq(vtd_host(&drv, b)[HDR + 100], 0xee); /* nothing written past the frame */
	ck_assert_uint_eq(drv.irq_pulses, 1);
	ck_assert_uint_eq(stats().rx_frames, 1);
	ck_assert_uint_eq(stats().rx_bytes, 100);
	ck_assert_uint_eq(vtd_metric(virtio_net_device_ops(net), net, "net0", "net0.rx_packets"),
			  1);
	ck_assert_uint_eq(vtd_metric(virtio_net_device_ops(net), net, "net0", "net0.rx_bytes"),
			  100);
}
END_TEST

START_TEST(rx_mergeable_spans_two_buffers)
{
	struct virtio_net_hdr_mrg_rxbuf h = {0}, got;
	uint8_t *want = malloc(3000);
	struct vtd_buf b0, b1;
	uint32_t head0, head1;

	start_device(0, true);
	b0 = post_rx(2048);
	b1 = post_rx(2048);
	vtd_notify(&drv, RXQ);
	host_send(&h, 3000, 7);
	net_fd_backend_poll(be);
	ck_assert_uint_eq(vtd_used_pending(&drv, RXQ), 2);
	ck_assert_uint_eq(vtd_take_used(&drv, RXQ, &head0), 2048);
	ck_assert_uint_eq(vtd_take_used(&drv, RXQ, &head1), HDR + 3000 - 2048);
	ck_assert_uint_eq(head0, 0);
	ck_assert_uint_eq(head1, 1);
	memcpy(&got, vtd_host(&drv, b0), HDR);
	ck_assert_uint_eq(got.num_buffers, 2);
	fill_pattern(want, 3000, 7);
	ck_assert_mem_eq(vtd_host(&drv, b0) + HDR, want, 2048 - HDR);
	ck_assert_mem_eq(vtd_host(&drv, b1), want + 2048 - HDR, 3000 - (2048 - HDR));
	ck_assert_uint_eq(drv.irq_pulses, 1);
	free(want);
}
END_TEST

START_TEST(rx_without_mrg_one_chain_per_frame)
{
	struct virtio_net_hdr_mrg_rxbuf h = {0}, got;
	struct vtd_buf b;
	uint32_t head;

	start_device(1ull << VIRTIO_NET_F_MRG_RXBUF, true);
	b = post_rx(1024);
	post_rx(2048);
	vtd_notify(&drv, RXQ);
	/* Too big for the first chain: dropped, not spread over two. */
	host_send(&h, 1500, 1);
	net_fd_backend_poll(be);
	ck_assert_uint_eq(vtd_used_pending(&drv, RXQ), 0);
	ck_assert_uint_eq(stats().rx_dropped, 1);
	/* The chain is kept for the next frame that fits. */
	host_send(&h, 500, 2);
	net_fd_backend_poll(be);
	ck_assert_uint_eq(vtd_take_used(&drv, RXQ, &head), HDR + 500);
	ck_assert_uint_eq(head, 0);
	memcpy(&got, vtd_host(&drv, b), HDR);
	ck_assert_uint_eq(got.num_buffers, 1);
}
END_TEST

START_TEST(rx_back_pressure)
{
	struct virtio_net_hdr_mrg_rxbuf h = {0};
	uint8_t peek[128];

	/* Without EVENT_IDX every batch of used buffers interrupts (used_event stays 0 here). */
	start_device(1ull << VIRTIO_RING_F_EVENT_IDX, true);
	/* No RX buffers: the first frame is held and the fd leaves the loop. */
	ck_assert(net_fd_backend_reading(be));
	host_send(&h, 60, 1);
	host_send(&h, 61, 2);
	net_fd_backend_poll(be);
	ck_assert(!net_fd_backend_reading(be));
	ck_assert_uint_eq(vtd_used_pending(&drv, RXQ), 0);
	ck_assert_uint_eq(stats().rx_dropped, 0);
	/* The second frame is still in the socket: the backend stopped reading. */
	ck_assert_int_eq(recv(devfd, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT), HDR + 61);
	net_fd_backend_poll(be); /* as a stray event would: still nothing read */
	ck_assert_int_eq(recv(devfd, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT), HDR + 61);

	/* One buffer posted: the held frame goes in, the next one is held again. */
	post_rx(2048);
	vtd_notify(&drv, RXQ);
	ck_assert_uint_eq(vtd_take_used(&drv, RXQ, NULL), HDR + 60);
	ck_assert_uint_eq(drv.irq_pulses, 1);
	vtd_write32(&drv, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	ck_assert(!net_fd_backend_reading(be));
	post_rx(2048);
	vtd_notify(&drv, RXQ);
	ck_assert_uint_eq(vtd_take_used(&drv, RXQ, NULL), HDR + 61);
	ck_assert(net_fd_backend_reading(be));
	ck_assert_uint_eq(drv.irq_pulses, 2);
	ck_assert_uint_eq(stats().rx_frames, 2);
	ck_assert_uint_eq(stats().rx_dropped, 0);
}
END_TEST

START_TEST(rx_mergeable_waits_for_enough_buffers)
{
	struct virtio_net_hdr_mrg_rxbuf h = {0}, got;
	struct vtd_buf b0;

	start_device(0, true);
	b0 = post_rx(1024);
	vtd_notify(&drv, RXQ);
	host_send(&h, 1500, 3);
	net_fd_backend_poll(be);
	/* One 1 KiB buffer is not enough: nothing used yet, the chain is kept. */
	ck_assert_uint_eq(vtd_used_pending(&drv, RXQ), 0);
	ck_assert(!net_fd_backend_reading(be));
	post_rx(1024);
	vtd_notify(&drv, RXQ);
	ck_assert_uint_eq(vtd_take_used(&drv, RXQ, NULL), 1024);
	ck_assert_uint_eq(vtd_take_used(&drv, RXQ, NULL), HDR + 1500 - 1024);
	memcpy(&got, vtd_host(&drv, b0), HDR);
	ck_assert_uint_eq(got.num_buffers, 2);
}
END_TEST

START_TEST(rx_offloads_follow_negotiation)
{
	struct virtio_net_hdr_mrg_rxbuf csum = {
	    .hdr = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 16}};
	struct virtio_net_hdr_mrg_rxbuf tso = {
	    .hdr = {.gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1448}};
	struct virtio_net_hdr_mrg_rxbuf got;
	struct vtd_buf b;

	/* The guest takes no offloads at all. */
	start_device((1ull << VIRTIO_NET_F_GUEST_CSUM) | (1ull << VIRTIO_NET_F_GUEST_TSO4), true);
	b = post_rx(2048);
	vtd_notify(&drv, RXQ);
	host_send(&tso, 100, 1); /* GSO the guest cannot take: dropped */
	host_send(&csum, 100, 2);
	net_fd_backend_poll(be);
	ck_assert_uint_eq(vtd_take_used(&drv, RXQ, NULL), HDR + 100);
	ck_assert_uint_eq(vtd_used_pending(&drv, RXQ), 0);
	memcpy(&got, vtd_host(&drv, b), HDR);
	ck_assert_uint_eq(got.hdr.flags, 0); /* §5.1.6.4.1: flags zero without GUEST_CSUM */
	ck_assert_uint_eq(vtd_host(&drv, b)[HDR], 2); /* pattern of seed 2: the csum frame */
	ck_assert_uint_eq(stats().rx_dropped, 1);
}
END_TEST

START_TEST(rx_hostile_chain_needs_reset)
{
	struct virtio_net_hdr_mrg_rxbuf h = {0};
	struct vtd_buf b =
	    vtd_alloc(&drv, 2048, false); /* device-readable buffer on the RX queue */

	start_device(0, true);
	vtd_add_chain(&drv, RXQ, &b, 1);
	vtd_notify(&drv, RXQ);
	host_send(&h, 100, 1);
	net_fd_backend_poll(be);
	ck_assert(vtd_needs_reset(&drv));
	ck_assert_uint_eq(vtd_used_pending(&drv, RXQ), 0);
}
END_TEST

START_TEST(rx_dropped_before_driver_ok)
{
	struct virtio_net_hdr_mrg_rxbuf h = {0};
	uint8_t peek[64];

	start_device(0, false);
	host_send(&h, 60, 1);
	net_fd_backend_poll(be);
	/* Read and dropped, as by a NIC that is down: the host queue never backs up. */
	ck_assert(net_fd_backend_reading(be));
	ck_assert_uint_eq(stats().rx_dropped, 1);
	ck_assert_int_lt(recv(peer, peek, sizeof(peek), MSG_DONTWAIT), 0);
}
END_TEST

START_TEST(rx_through_event_loop)
{
	struct virtio_net_hdr_mrg_rxbuf h = {0};

	start_device(0, true);
	post_rx(2048);
	vtd_notify(&drv, RXQ);
	host_send(&h, 200, 4);
	vtd_run_loop_ms(loop, 100);
	ck_assert_uint_eq(vtd_take_used(&drv, RXQ, NULL), HDR + 200);
	ck_assert_uint_eq(drv.irq_pulses, 1);
}
END_TEST

START_TEST(mac_parse_and_default)
{
	uint8_t mac[6];

	ck_assert_int_eq(virtio_net_parse_mac("52:54:00:AB:cd:0f", mac), 0);
	ck_assert_mem_eq(mac, ((uint8_t[]){0x52, 0x54, 0x00, 0xab, 0xcd, 0x0f}), 6);
	ck_assert_int_eq(virtio_net_parse_mac("52:54:00:ab:cd", mac), -EINVAL);
	ck_assert_int_eq(virtio_net_parse_mac("52:54:00:ab:cd:0f:11", mac), -EINVAL);
	ck_assert_int_eq(virtio_net_parse_mac("52-54-00-ab-cd-0f", mac), -EINVAL);
	ck_assert_int_eq(virtio_net_parse_mac("5:54:00:ab:cd:0f", mac), -EINVAL);
	ck_assert_int_eq(virtio_net_parse_mac("01:00:5e:00:00:01", mac), -EINVAL); /* multicast */
	ck_assert_int_eq(virtio_net_parse_mac(NULL, mac), -EINVAL);

	virtio_net_default_mac(0x12345678, 2, mac);
	ck_assert_mem_eq(mac, ((uint8_t[]){0x02, 0x4d, 0x56, 0x56, 0x78, 0x02}), 6);
}
END_TEST

START_TEST(tap_in_private_netns)
{
	pid_t pid;
	int status;

	if (geteuid() != 0)
		return; /* needs CAP_NET_ADMIN: skipped */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct vmm_err err = {{0}};
		struct net_backend *tap;
		int rc = 0;

		if (unshare(CLONE_NEWNET) < 0 || access("/dev/net/tun", F_OK) < 0)
			_exit(77);
		if (net_tap_open(&tap, "mvmtest0", loop, drv.log, &err) < 0)
			_exit(10);
		if (if_nametoindex("mvmtest0") == 0)
			rc = 11;
		else if (strcmp(net_tap_ifname(tap), "mvmtest0"))
			rc = 12;
		else if (!(tap->features & (1ull << VIRTIO_NET_F_CSUM)) ||
			 !(tap->features & (1ull << VIRTIO_NET_F_GUEST_CSUM)))
			rc = 13;
		else if (tap->ops->set_offloads(tap, tap->features) < 0 ||
			 tap->ops->set_offloads(tap, 0) < 0)
			rc = 14;
		tap->ops->destroy(tap);
		/* Created by us, so not persistent: gone with the fd. */
		if (!rc && if_nametoindex("mvmtest0") != 0)
			rc = 15;
		_exit(rc);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		return; /* no network namespaces or no TUN here: skipped */
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

START_TEST(tap_bad_names)
{
	struct vmm_err err = {{0}};
	struct net_backend *tap = NULL;

	ck_assert_int_eq(net_tap_open(&tap, "a-name-that-is-far-too-long", loop, drv.log, &err),
			 -EINVAL);
	ck_assert_ptr_null(tap);
	ck_assert(strstr(err.msg, "1..15 characters"));
}
END_TEST

#ifdef MINIVMM_HAVE_SLIRP
/* An ARP request for the virtual host 10.0.2.2 from the guest's 10.0.2.15. */
static size_t arp_request(uint8_t *f)
{
	static const uint8_t frame[42] = {
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x06,
	    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
	    10,	  0,	2,    15,   0,	  0,	0,    0,    0,	  0,	10,   0,    2,	  2};
	memcpy(f, frame, sizeof(frame));
	return sizeof(frame);
}

START_TEST(slirp_answers_arp)
{
	static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	struct vmm_err err = {{0}};
	struct vtd_buf bufs[2], rx;
	struct virtio_net_hdr_mrg_rxbuf got;
	uint32_t len;
	uint8_t *reply;

	ck_assert_int_eq(net_slirp_open(&be, "tcp:127.0.0.1:0-:22", loop, drv.log, &err), 0);
	ck_assert_uint_eq(be->features, 0); /* no offloads: slirp sees whole frames */
	ck_assert_int_eq(virtio_net_create_with_backend(&net, be, mac, loop, drv.log, &err), 0);
	vtd_attach(&drv, virtio_net_device_ops(net), net, NULL);
	vtd_driver_init(&drv, 0);
	rx = post_rx(2048);
	vtd_notify(&drv, RXQ);
	bufs[0] = vtd_alloc(&drv, HDR, false);
	memset(vtd_host(&drv, bufs[0]), 0, HDR);
	bufs[1] = vtd_alloc(&drv, 64, false);
	bufs[1].len = (uint32_t)arp_request(vtd_host(&drv, bufs[1]));
	vtd_add_chain(&drv, TXQ, bufs, 2);
	vtd_notify(&drv, TXQ);
	ck_assert_uint_eq(vtd_take_used(&drv, TXQ, NULL), 0);
	/* slirp answered synchronously through send_packet -> RX. */
	len = vtd_take_used(&drv, RXQ, NULL);
	ck_assert_uint_ge(len, HDR + 42);
	memcpy(&got, vtd_host(&drv, rx), HDR);
	ck_assert_uint_eq(got.num_buffers, 1);
	reply = vtd_host(&drv, rx) + HDR;
	ck_assert_mem_eq(reply, mac, 6);    /* to the guest */
	ck_assert_uint_eq(reply[12], 0x08); /* ARP */
	ck_assert_uint_eq(reply[13], 0x06);
	ck_assert_uint_eq(reply[21], 2);			     /* reply */
	ck_assert_mem_eq(reply + 28, ((uint8_t[]){10, 0, 2, 2}), 4); /* sender 10.0.2.2 */
}
END_TEST

START_TEST(slirp_bad_hostfwd)
{
	struct vmm_err err = {{0}};
	struct net_backend *b = NULL;

	ck_assert_int_eq(net_slirp_open(&b, "tcp:127.0.0.1:2222", loop, drv.log, &err), -EINVAL);
	ck_assert(strstr(err.msg, "tcp:127.0.0.1:2222"));
	err.msg[0] = '\0';
	ck_assert_int_eq(net_slirp_open(&b, "sctp::1-:2", loop, drv.log, &err), -EINVAL);
	err.msg[0] = '\0';
	ck_assert_int_eq(net_slirp_open(&b, "tcp::99999-:22", loop, drv.log, &err), -EINVAL);
	ck_assert_ptr_null(b);
}
END_TEST
#endif

Suite *virtio_net_suite(void)
{
	Suite *s = suite_create("virtio_net");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, config_space_and_features);
	tcase_add_test(tc, tx_frame_reaches_backend);
	tcase_add_test(tc, tx_batches_one_interrupt);
	tcase_add_test(tc, tx_budget_per_wakeup);
	tcase_add_test(tc, tx_malformed_dropped);
	tcase_add_test(tc, tx_hostile_chain_needs_reset);
	tcase_add_test(tc, rx_frame_with_header);
	tcase_add_test(tc, rx_mergeable_spans_two_buffers);
	tcase_add_test(tc, rx_without_mrg_one_chain_per_frame);
	tcase_add_test(tc, rx_back_pressure);
	tcase_add_test(tc, rx_mergeable_waits_for_enough_buffers);
	tcase_add_test(tc, rx_offloads_follow_negotiation);
	tcase_add_test(tc, rx_hostile_chain_needs_reset);
	tcase_add_test(tc, rx_dropped_before_driver_ok);
	tcase_add_test(tc, rx_through_event_loop);
	tcase_add_test(tc, mac_parse_and_default);
	tcase_add_test(tc, tap_in_private_netns);
	tcase_add_test(tc, tap_bad_names);
#ifdef MINIVMM_HAVE_SLIRP
	tcase_add_test(tc, slirp_answers_arp);
	tcase_add_test(tc, slirp_bad_hostfwd);
#endif
	suite_add_tcase(s, tc);
	return s;
}
