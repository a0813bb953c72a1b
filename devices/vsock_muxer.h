/* SPDX-License-Identifier: MIT */
/*
 * The host side of virtio-vsock (Firecracker's "hybrid vsock"): guest
 * streams become Unix-socket connections (README "vsock").
 *
 *  - host -> guest: a program connects to PATH and writes "CONNECT <port>\n";
 *    once the guest accepts, it reads "OK <hostport>\n" and the stream is the
 *    guest's.  The line is read through a bounded per-socket buffer (it may
 *    arrive split across reads; anything but a well-formed line closes the
 *    socket; bytes after the newline are kept and sent on).
 *  - guest -> host: a guest connect to CID 2 port P is a nonblocking
 *    connect() to "PATH_P"; a full backlog or no listener is an RST, never
 *    a wait on the event loop.
 *
 * Every fd is nonblocking and served from the VM's event loop.  Guest data
 * the host socket refuses is kept, up to the VSOCK_BUF_ALLOC the host
 * advertises, and written when the socket polls writable; host data is read
 * only while the guest has credit, straight into its receive buffers, so a
 * slow reader on either side stalls only its own connection.
 *
 * Threads and locks: the muxer has its own mutex; the device calls it with
 * the device's lock held (device -> muxer), and the muxer calls the
 * device's rx_kick only with its own lock released.
 */
#ifndef MINIVMM_VSOCK_MUXER_H
#define MINIVMM_VSOCK_MUXER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/vsock_conn.h"
#include "vmm/eventloop.h"
#include "vmm/log.h"

/* Connections (and handshakes in progress) per device. */
#define VSOCK_MAX_CONNS 1024u
/* "CONNECT 4294967295\n" is 19 bytes; a longer line is garbage. */
#define VSOCK_LINE_MAX 32u
/* A CONNECT line, and the guest's answer to our REQUEST, must come within this. */
#define VSOCK_HANDSHAKE_MS 2000u
/* Answers owed to the guest for packets of unknown connections; beyond, dropped. */
#define VSOCK_MAX_STRAY_RST 64u

struct vsock_muxer;

struct vsock_muxer_stats {
	uint64_t conns_opened; /* streams that reached Established */
	uint64_t conns_reset;  /* RSTs sent to the guest */
	uint64_t host_refused; /* host connects/guest connects refused (limit, no listener) */
};

/*
 * Creates the listening socket `path` (mode 0600; -EEXIST if anything is
 * there) and adds it to `loop`.  rx_kick(opaque) is called (muxer lock not
 * held) when a packet for the guest became available.
 */
int vsock_muxer_create(struct vsock_muxer **out, const char *path, uint64_t guest_cid,
		       struct ev_loop *loop, const struct logger *log, void (*rx_kick)(void *),
		       void *opaque, struct vmm_err *err);
/* Closes every socket and removes PATH.  After the loop stopped, or on its thread. */
void vsock_muxer_destroy(struct vsock_muxer *mux);
/* Device reset: every connection's socket closes; the listener stays. */
void vsock_muxer_reset(struct vsock_muxer *mux);

/*
 * A guest packet (already checked by the device: cids, type, length) with
 * its payload in `iov`.  Answers (RST, RESPONSE, credit) are queued for
 * vsock_muxer_next_rx(); returns true if there is something to send.
 */
bool vsock_muxer_guest_pkt(struct vsock_muxer *mux, const struct vsock_pkt *p,
			   const struct iovec *iov, int iovcnt);
/* Closes the stream local/peer if there is one, and owes the guest an RST for it. */
void vsock_muxer_reset_ports(struct vsock_muxer *mux, uint32_t local_port, uint32_t peer_port);
/* Is a packet for the guest waiting? */
bool vsock_muxer_has_rx(struct vsock_muxer *mux);
/*
 * The next packet for the guest: header in *p (host order; len = payload),
 * payload (at most `cap` bytes) read into `iov`.  1, or 0 if nothing is
 * waiting after all (a host socket had no data yet).
 */
int vsock_muxer_next_rx(struct vsock_muxer *mux, struct vsock_pkt *p, const struct iovec *iov,
			int iovcnt, uint32_t cap);

void vsock_muxer_get_stats(struct vsock_muxer *mux, struct vsock_muxer_stats *out);
const char *vsock_muxer_path(const struct vsock_muxer *mux);
/* For tests: live connections (handshakes included). */
unsigned vsock_muxer_nconns(struct vsock_muxer *mux);

/*
 * The CONNECT line parser: `line` is what was read so far (`len` bytes, no
 * NUL needed).  1 with *port set and *used = bytes up to and including
 * '\n'; 0 if more bytes are needed; -EINVAL for garbage or a line over
 * VSOCK_LINE_MAX.
 */
int vsock_parse_connect(const char *line, size_t len, uint32_t *port, size_t *used);

/*
 * The client side, for mvm_vm_vsock_connect(): connects to `path`, sends
 * CONNECT, reads the OK line within timeout_ms.  A connected blocking
 * socket fd, or -errno (-ECONNREFUSED: the guest refused or nobody listens,
 * -ETIMEDOUT) with one line in err.
 */
int vsock_uds_connect(const char *path, uint32_t port, unsigned timeout_ms, char *err,
		      size_t errlen);

#endif
