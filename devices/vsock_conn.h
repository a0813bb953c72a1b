/* SPDX-License-Identifier: MIT */
/*
 * One virtio-vsock stream connection as the host end sees it: the state
 * machine and the credit accounting of VIRTIO 1.2 §5.10.6, and nothing else
 * (no fds, no rings, no clock), so every transition is tested alone
 * (tests/unit/test_vsock_conn.c).  devices/vsock_muxer.c owns the host
 * sockets and asks this module what each guest packet means.
 *
 * Ports: `local` is the host end's port, `peer` the guest's.  The guest is
 * hostile: every field of its headers is checked, a packet that makes no
 * sense for the state answers with RST, and it can never make the host
 * buffer more than the buf_alloc the host advertised.
 *
 * Credit (§5.10.6.3): each side advertises its receive buffer (buf_alloc)
 * and how much of what it received it has consumed (fwd_cnt) in every
 * header it sends.  A sender may have at most buf_alloc - (sent - fwd_cnt)
 * bytes in flight.  All counters are 32-bit and wrap; differences of them
 * are what count, computed modulo 2^32.
 */
#ifndef MINIVMM_VSOCK_CONN_H
#define MINIVMM_VSOCK_CONN_H

#include <stdbool.h>
#include <stdint.h>

#define VSOCK_HOST_CID 2u
/* What the host end advertises per connection (what it buffers at most). */
#define VSOCK_BUF_ALLOC (256u * 1024)
/*
 * A CREDIT_UPDATE goes out unasked once the guest believes fewer than this
 * many bytes are free and the host has freed more since it last said so:
 * early enough that a guest sender rarely runs dry.
 */
#define VSOCK_CREDIT_THRESHOLD (64u * 1024)

enum vsock_state {
	VSOCK_LOCAL_INIT = 0, /* host wrote CONNECT; REQUEST sent or to send; waits for RESPONSE */
	VSOCK_ESTABLISHED,    /* data both ways (each direction may be shut down) */
	VSOCK_CLOSED,	      /* ended: the muxer closes the host socket and forgets it */
};

/* Control packets the host end owes the guest (bits). */
enum vsock_pending {
	VSOCK_SEND_REQUEST = 1u << 0,
	VSOCK_SEND_RESPONSE = 1u << 1,
	VSOCK_SEND_SHUTDOWN = 1u << 2,
	VSOCK_SEND_CREDIT_UPDATE = 1u << 3,
};

/* A header in host byte order (the device converts from the ring's le). */
struct vsock_pkt {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags;
	uint32_t buf_alloc, fwd_cnt;
};

struct vsock_conn {
	enum vsock_state state;
	uint32_t local_port, peer_port;

	/* Guest -> host: what we advertise. */
	uint32_t buf_alloc;    /* VSOCK_BUF_ALLOC */
	uint32_t recv_cnt;     /* payload bytes the guest sent us */
	uint32_t fwd_cnt;      /* ... of which the host socket took */
	uint32_t fwd_cnt_told; /* fwd_cnt in the last header we sent */

	/* Host -> guest: what the guest advertised. */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t tx_cnt; /* payload bytes we sent the guest */

	uint32_t peer_shutdown;	 /* VIRTIO_VSOCK_SHUTDOWN_* the guest sent, accumulated */
	uint32_t local_shutdown; /* ... we sent */
	unsigned pending;	 /* enum vsock_pending */
};

/* What the muxer must do after a guest packet. */
enum vsock_verdict {
	VSOCK_V_NONE = 0,      /* accounting only */
	VSOCK_V_DATA,	       /* RW accepted: forward its `len` payload bytes to the host socket */
	VSOCK_V_ESTABLISHED,   /* RESPONSE to our REQUEST: write "OK <port>\n" to the host */
	VSOCK_V_PEER_SHUTDOWN, /* peer_shutdown grew: shut the host socket's matching half */
	VSOCK_V_CLOSE,	       /* the guest reset it: close the host socket, send nothing */
	VSOCK_V_RESET,	       /* nonsense for this state, or an overrun: RST, then close */
};

/* A host program asked for guest port `peer_port` (CONNECT): REQUEST owed. */
void vsock_conn_init_local(struct vsock_conn *c, uint32_t local_port, uint32_t peer_port);
/* The guest's REQUEST `p` was accepted (the host socket connected): RESPONSE owed. */
void vsock_conn_init_peer(struct vsock_conn *c, const struct vsock_pkt *p);

/*
 * A guest packet for this connection (the caller matched cids, type and
 * ports).  Updates the guest's credit from every header.  Never more than
 * one verdict; VSOCK_V_RESET and VSOCK_V_CLOSE leave state VSOCK_CLOSED.
 */
enum vsock_verdict vsock_conn_recv(struct vsock_conn *c, const struct vsock_pkt *p);

/* Bytes the host may send the guest now (0 once the guest shut its receive side). */
uint32_t vsock_conn_peer_credit(const struct vsock_conn *c);
/* Bytes the guest sent that the host socket has not taken yet. */
uint32_t vsock_conn_buffered(const struct vsock_conn *c);
/* `n` payload bytes went to the guest in an RW packet. */
void vsock_conn_sent(struct vsock_conn *c, uint32_t n);
/* The host socket took `n` more bytes; may owe a CREDIT_UPDATE. */
void vsock_conn_forwarded(struct vsock_conn *c, uint32_t n);
/* The host socket reached EOF: SHUTDOWN(SEND) owed, nothing more read from it. */
void vsock_conn_local_eof(struct vsock_conn *c);
/*
 * The guest shut down both directions and nothing it sent waits for the
 * host socket any more: the end (§5.10.6.7: the host answers with RST).
 */
bool vsock_conn_finished(const struct vsock_conn *c);

/*
 * Every header the host sends carries its credit: fills buf_alloc and
 * fwd_cnt of `p` (and the ports) and records what the guest was told.
 */
void vsock_conn_stamp(struct vsock_conn *c, struct vsock_pkt *p);
/*
 * The next control packet owed (its op, clearing its bit; flags in *flags
 * for SHUTDOWN), or 0 for none.  Order: REQUEST/RESPONSE, SHUTDOWN, credit.
 */
uint16_t vsock_conn_next_control(struct vsock_conn *c, uint32_t *flags);

const char *vsock_op_name(uint16_t op);

#endif
