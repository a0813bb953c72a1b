/* SPDX-License-Identifier: MIT */
/*
 * The per-connection state machine of virtio-vsock's host end (see
 * vsock_conn.h).  States follow Firecracker's hybrid-vsock design reduced
 * to what the host end must tell apart: PeerInit collapses into accepting
 * the REQUEST, because the muxer's connect() to PATH_<port> is nonblocking
 * and a Unix-socket connect either succeeds at once or fails (EAGAIN for a
 * full backlog is a refusal, never a wait).
 */
#include "devices/vsock_conn.h"

#include <linux/virtio_vsock.h>
#include <string.h>

#define SHUTDOWN_BOTH (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND)

static void init_common(struct vsock_conn *c, uint32_t local_port, uint32_t peer_port)
{
	memset(c, 0, sizeof(*c));
	c->local_port = local_port;
	c->peer_port = peer_port;
	c->buf_alloc = VSOCK_BUF_ALLOC;
}

void vsock_conn_init_local(struct vsock_conn *c, uint32_t local_port, uint32_t peer_port)
{
	init_common(c, local_port, peer_port);
	c->state = VSOCK_LOCAL_INIT;
	c->pending = VSOCK_SEND_REQUEST;
}

void vsock_conn_init_peer(struct vsock_conn *c, const struct vsock_pkt *p)
{
	init_common(c, p->dst_port, p->src_port);
	c->state = VSOCK_ESTABLISHED;
	c->peer_buf_alloc = p->buf_alloc;
	c->peer_fwd_cnt = p->fwd_cnt;
	c->pending = VSOCK_SEND_RESPONSE;
}

uint32_t vsock_conn_buffered(const struct vsock_conn *c)
{
	return c->recv_cnt - c->fwd_cnt; /* mod 2^32: right across a wrap */
}

uint32_t vsock_conn_peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	if (c->state != VSOCK_ESTABLISHED || (c->peer_shutdown & VIRTIO_VSOCK_SHUTDOWN_RCV) ||
	    (c->local_shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND))
		return 0;
	/*
	 * A guest that claims to have consumed more than we sent, or shrank
	 * its buffer below what is in flight, gets nothing until its numbers
	 * make sense again; never a huge unsigned credit.
	 */
	if (in_flight > c->peer_buf_alloc)
		return 0;
	return c->peer_buf_alloc - in_flight;
}

void vsock_conn_sent(struct vsock_conn *c, uint32_t n)
{
	c->tx_cnt += n;
}

void vsock_conn_forwarded(struct vsock_conn *c, uint32_t n)
{
	uint32_t free_told;

	c->fwd_cnt += n;
	/* What the guest thinks is free: buf_alloc minus what it sent since our last header. */
	free_told = c->buf_alloc - (c->recv_cnt - c->fwd_cnt_told);
	if (c->state == VSOCK_ESTABLISHED && c->fwd_cnt != c->fwd_cnt_told &&
	    free_told < VSOCK_CREDIT_THRESHOLD)
		c->pending |= VSOCK_SEND_CREDIT_UPDATE;
}

void vsock_conn_local_eof(struct vsock_conn *c)
{
	if (c->state != VSOCK_ESTABLISHED || (c->local_shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND))
		return;
	c->local_shutdown |= VIRTIO_VSOCK_SHUTDOWN_SEND;
	c->pending |= VSOCK_SEND_SHUTDOWN;
}

bool vsock_conn_finished(const struct vsock_conn *c)
{
	return c->state == VSOCK_ESTABLISHED &&
	       (c->peer_shutdown & SHUTDOWN_BOTH) == SHUTDOWN_BOTH && vsock_conn_buffered(c) == 0;
}

static enum vsock_verdict reset(struct vsock_conn *c)
{
	c->state = VSOCK_CLOSED;
	c->pending = 0;
	return VSOCK_V_RESET;
}

enum vsock_verdict vsock_conn_recv(struct vsock_conn *c, const struct vsock_pkt *p)
{
	uint32_t flags;

	if (c->state == VSOCK_CLOSED)
		return VSOCK_V_NONE;
	if (p->op == VIRTIO_VSOCK_OP_RST) {
		c->state = VSOCK_CLOSED;
		c->pending = 0;
		return VSOCK_V_CLOSE;
	}
	/* §5.10.6.3: every header updates the sender's credit information. */
	c->peer_buf_alloc = p->buf_alloc;
	c->peer_fwd_cnt = p->fwd_cnt;

	if (c->state == VSOCK_LOCAL_INIT) {
		if (p->op != VIRTIO_VSOCK_OP_RESPONSE || (c->pending & VSOCK_SEND_REQUEST))
			return reset(c); /* a RESPONSE before our REQUEST went out is forged */
		c->state = VSOCK_ESTABLISHED;
		return VSOCK_V_ESTABLISHED;
	}

	switch (p->op) {
	case VIRTIO_VSOCK_OP_RW:
		/* Data after the guest said it would send no more is a protocol error. */
		if (c->peer_shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND)
			return reset(c);
		/* The guest may use only the credit we gave: beyond it, we would have to buffer. */
		if (p->len > c->buf_alloc - vsock_conn_buffered(c))
			return reset(c);
		c->recv_cnt += p->len;
		return p->len ? VSOCK_V_DATA : VSOCK_V_NONE;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		return VSOCK_V_NONE;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		c->pending |= VSOCK_SEND_CREDIT_UPDATE;
		return VSOCK_V_NONE;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		/* Unknown flag bits are ignored, as Linux does; the known ones only accumulate. */
		flags = c->peer_shutdown | (p->flags & SHUTDOWN_BOTH);
		if (flags == c->peer_shutdown)
			return VSOCK_V_NONE;
		c->peer_shutdown = flags;
		return VSOCK_V_PEER_SHUTDOWN;
	default:
		/* REQUEST or RESPONSE on a live connection, INVALID, unknown ops. */
		return reset(c);
	}
}

void vsock_conn_stamp(struct vsock_conn *c, struct vsock_pkt *p)
{
	p->src_port = c->local_port;
	p->dst_port = c->peer_port;
	p->buf_alloc = c->buf_alloc;
	p->fwd_cnt = c->fwd_cnt;
	c->fwd_cnt_told = c->fwd_cnt;
	/* The guest reads credit from every header (Linux: space_update on each packet). */
	c->pending &= ~(unsigned)VSOCK_SEND_CREDIT_UPDATE;
}

uint16_t vsock_conn_next_control(struct vsock_conn *c, uint32_t *flags)
{
	*flags = 0;
	if (c->pending & VSOCK_SEND_REQUEST) {
		c->pending &= ~(unsigned)VSOCK_SEND_REQUEST;
		return VIRTIO_VSOCK_OP_REQUEST;
	}
	if (c->pending & VSOCK_SEND_RESPONSE) {
		c->pending &= ~(unsigned)VSOCK_SEND_RESPONSE;
		return VIRTIO_VSOCK_OP_RESPONSE;
	}
	if (c->pending & VSOCK_SEND_SHUTDOWN) {
		c->pending &= ~(unsigned)VSOCK_SEND_SHUTDOWN;
		*flags = c->local_shutdown;
		return VIRTIO_VSOCK_OP_SHUTDOWN;
	}
	if (c->pending & VSOCK_SEND_CREDIT_UPDATE) {
		c->pending &= ~(unsigned)VSOCK_SEND_CREDIT_UPDATE;
		return VIRTIO_VSOCK_OP_CREDIT_UPDATE;
	}
	return 0;
}

const char *vsock_op_name(uint16_t op)
{
	static const char *const names[] = {"INVALID",	     "REQUEST",	      "RESPONSE",
					    "RST",	     "SHUTDOWN",      "RW",
					    "CREDIT_UPDATE", "CREDIT_REQUEST"};

	return op < sizeof(names) / sizeof(names[0]) ? names[op] : "unknown";
}
