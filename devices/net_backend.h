/* SPDX-License-Identifier: MIT */
/*
 * The host side of a virtio-net device: where guest frames go (TX) and where
 * frames for the guest come from (RX).  Two backends: a TAP device or any
 * fd carrying one frame per message with a virtio-net header
 * (devices/net_tap.c), and user-mode networking through libslirp
 * (devices/net_slirp.c).
 *
 * Every frame crossing this interface, either way, starts with the 12-byte
 * VERSION_1 header (struct virtio_net_hdr_mrg_rxbuf, NET_VNET_HDR_LEN).
 *
 * RX is pushed by the backend into a `struct net_rx_port` (the device).
 * Back-pressure: when the guest has no room, port->receive() returns
 * -ENOBUFS; the backend then keeps that one frame, stops reading its fd(s)
 * and waits for ops->rx_resume(), which the device calls when the guest
 * notifies the RX queue.  Nothing is queued without bound.
 *
 * Threading and lock order: backends run their fds on the device's event
 * loop and guard their state with their own mutex.  The order is
 * device TX lock -> backend lock -> device RX lock -> transport state lock:
 * the device calls ops->send() holding its TX lock and never holds its RX
 * lock while calling into the backend; port->receive() and port->flush()
 * are called with the backend lock held.
 */
#ifndef MINIVMM_NET_BACKEND_H
#define MINIVMM_NET_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "vmm/eventloop.h"
#include "vmm/log.h"

#define NET_VNET_HDR_LEN 12u /* sizeof(struct virtio_net_hdr_mrg_rxbuf) */
/*
 * The largest Ethernet frame (after the virtio-net header) either way: a
 * 65535-byte IP packet (a TSO/GSO super-frame) plus an Ethernet header with
 * one VLAN tag.  TX frames above it are dropped as malformed.
 */
#define NET_MAX_FRAME (65535u + 18u)

struct net_backend;

/* Where a backend delivers frames for the guest: implemented by the device. */
struct net_rx_port {
	/*
	 * One frame: NET_VNET_HDR_LEN header bytes, then the Ethernet frame.
	 * Returns 0 when the frame was taken (delivered, or dropped because
	 * it cannot ever be delivered), -ENOBUFS when the guest has no room
	 * now: the backend keeps the frame and stops reading until rx_resume.
	 */
	int (*receive)(void *opaque, const void *frame, size_t len);
	/* End of a batch of receive() calls: interrupt the guest if needed. */
	void (*flush)(void *opaque);
	void *opaque;
};

struct net_backend_ops {
	/* Starts RX: be->port is set.  Called once, by net_backend_attach(). */
	int (*start)(struct net_backend *be);
	/*
	 * One guest frame, header first (iov may split anywhere).  Returns 0
	 * (sent, or dropped by the host network, as a NIC would) or -errno.
	 */
	int (*send)(struct net_backend *be, const struct iovec *iov, int iovcnt);
	/*
	 * The guest negotiated `features` (VIRTIO_NET_F_* bits): enable the
	 * matching RX offloads (GUEST_CSUM, GUEST_TSO4...).  0 on reset.
	 */
	int (*set_offloads)(struct net_backend *be, uint64_t features);
	/* The guest posted RX buffers: deliver the held frame, read again. */
	void (*rx_resume)(struct net_backend *be);
	void (*destroy)(struct net_backend *be);
};

struct net_backend {
	const struct net_backend_ops *ops;
	const char *kind;	 /* "tap", "fd", "user": for logs */
	uint64_t features;	 /* VIRTIO_NET_F_* offloads this backend can honour */
	struct net_rx_port port; /* set by net_backend_attach() before any RX */
};

/* Connects the backend's RX to a device and starts reading (devices/virtio_net.c). */
int net_backend_attach(struct net_backend *be, const struct net_rx_port *port);

/*
 * TAP (devices/net_tap.c).  Opens /dev/net/tun and attaches to `name`,
 * creating it when it does not exist and we have CAP_NET_ADMIN (a created
 * device is not persistent: it disappears when the fd is closed).  Sets
 * IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, a 12-byte vnet header, probes which
 * TUNSETOFFLOAD flags the kernel accepts and offers the matching features.
 * The fd is added to `loop` by net_backend_attach().
 */
int net_tap_open(struct net_backend **out, const char *name, struct ev_loop *loop,
		 const struct logger *log, struct vmm_err *err);

/*
 * Any fd carrying one frame per read()/write(), each with the 12-byte
 * header: a TAP fd passed in by a parent, or a SOCK_SEQPACKET socketpair
 * (unit tests).  Takes ownership of fd (made non-blocking).  `features` are
 * the VIRTIO_NET_F_* offloads to offer; no TUNSETOFFLOAD is issued.
 */
int net_fd_backend_create(struct net_backend **out, int fd, uint64_t features, struct ev_loop *loop,
			  const struct logger *log, struct vmm_err *err);

/*
 * fd backend: handle readable frames now, exactly as the event-loop
 * callback would (unit tests drive RX with it instead of running the loop).
 */
void net_fd_backend_poll(struct net_backend *be);
/* fd backend: is the fd on the event loop?  False while RX is paused (back-pressure). */
bool net_fd_backend_reading(struct net_backend *be);

/* The TAP's interface name (the kernel's choice when name was "" or a pattern). */
const char *net_tap_ifname(const struct net_backend *be);

/*
 * User-mode networking (devices/net_slirp.c): QEMU's defaults, guest network
 * 10.0.2.0/24, host 10.0.2.2, DNS 10.0.2.3, DHCP from 10.0.2.15.  hostfwd:
 * NULL or a comma-separated list of "tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT"
 * (HOSTADDR defaults to 127.0.0.1, GUESTADDR to 10.0.2.15).
 */
int net_slirp_open(struct net_backend **out, const char *hostfwd, struct ev_loop *loop,
		   const struct logger *log, struct vmm_err *err);

/*
 * Maps libslirp (dlopen, everything resolved now) so that a later
 * net_slirp_open() needs no file of it: for a process about to lose its view
 * of the file system (vmm/jail.c).  The mapping stays for the process's life.
 */
int net_slirp_preload(struct vmm_err *err);

#endif
