/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock's host side on Unix sockets (see vsock_muxer.h).
 *
 * Hostile inputs: the guest (through vsock_muxer_guest_pkt, whose headers
 * the device checked and whose meaning vsock_conn.c judges) and every
 * program that can reach PATH (the CONNECT line).  Neither can make the
 * muxer block, buffer without bound, or keep the loop busy: host sockets
 * are read only into the guest's own buffers, at most what it has credit
 * for, one packet per call; writes that the socket refuses are kept up to
 * the credit the guest was given.
 *
 * Fd callbacks carry the muxer as opaque and find their connection by fd
 * under the lock: a reset on a vCPU thread may free a connection while the
 * loop has its event in hand, and a stale event then finds nothing (or, if
 * the fd number was reused, a live connection for which it is a spurious
 * wake-up: every read and write here copes with EAGAIN).
 */
#include "devices/vsock_muxer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/virtio_vsock.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmm/unix_sock.h"

#define ACCEPT_BUDGET 16u /* connections accepted per wake-up of the listener */
/* First port the host end picks for host-initiated streams (Firecracker starts at 2^30). */
#define LOCAL_PORT_BASE (1u << 30)

enum conn_kind {
	CONN_HANDSHAKE = 0, /* accepted, reading the CONNECT line */
	CONN_STREAM,	    /* a vsock_conn exists */
};

struct mux_conn {
	TAILQ_ENTRY(mux_conn) rxq;
	bool queued; /* on mux->rxq */
	int fd;
	enum conn_kind kind;
	struct vsock_conn vc;
	uint32_t events;      /* epoll mask in force */
	bool readable;	      /* EPOLLIN seen; EPOLLIN is off until a read says EAGAIN */
	bool host_eof;	      /* the host socket said EOF (or failed): read no more */
	bool shut_wr;	      /* shutdown(SHUT_WR) done after the guest's SHUTDOWN(SEND) */
	uint64_t deadline_ns; /* handshake / LOCAL_INIT: closed if not done by then */
	char line[VSOCK_LINE_MAX];
	uint8_t line_len;
	uint8_t prefix[VSOCK_LINE_MAX]; /* bytes that followed the CONNECT line */
	uint8_t prefix_len, prefix_off;
	/* Guest bytes the host socket has not taken: a ring of VSOCK_BUF_ALLOC, lazily allocated.
	 */
	uint8_t *txbuf;
	uint32_t tx_head, tx_len;
};

struct stray_rst {
	uint32_t local_port, peer_port;
};

struct vsock_muxer {
	pthread_mutex_t lock;
	const struct logger *log;
	struct ev_loop *loop;
	struct ratelimit rl;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uint64_t guest_cid;
	int listen_fd;
	int timer_fd; /* the handshake sweep timer, or -1 */
	void (*rx_kick)(void *);
	void *opaque;
	uint32_t next_local_port;

	struct mux_conn *conns[VSOCK_MAX_CONNS];
	unsigned nconns;
	TAILQ_HEAD(, mux_conn) rxq; /* connections with a packet for the guest */
	struct stray_rst stray[VSOCK_MAX_STRAY_RST];
	unsigned nstray;

	struct vsock_muxer_stats stats;
};

static void conn_set_events(struct vsock_muxer *mux, struct mux_conn *c);
static void arm_sweep(struct vsock_muxer *mux);
static void conn_event(struct ev_loop *loop, int fd, uint32_t events, void *opaque);

/* ---- The CONNECT line ---- */

int vsock_parse_connect(const char *line, size_t len, uint32_t *port, size_t *used)
{
	static const char verb[] = "CONNECT ";
	const size_t vlen = sizeof(verb) - 1;
	uint64_t value = 0;
	size_t i;

	/* Every prefix must still be able to become a valid line: fail early. */
	for (i = 0; i < len && i < vlen; i++)
		if (line[i] != verb[i])
			return -EINVAL;
	if (len <= vlen)
		return 0;
	for (i = vlen; i < len && i < VSOCK_LINE_MAX; i++) {
		char ch = line[i];
		if (ch == '\n') {
			if (i == vlen)
				return -EINVAL; /* no digits */
			*port = (uint32_t)value;
			*used = i + 1;
			return 1;
		}
		if (ch < '0' || ch > '9' || i - vlen >= 10)
			return -EINVAL;
		value = value * 10 + (uint64_t)(ch - '0');
		if (value > UINT32_MAX)
			return -EINVAL;
	}
	return i >= VSOCK_LINE_MAX ? -EINVAL : 0;
}

/* ---- Connections ---- */

static uint64_t now_ns(void)
{
	return clock_ns();
}

static struct mux_conn *find_fd(struct vsock_muxer *mux, int fd)
{
	for (unsigned i = 0; i < mux->nconns; i++)
		if (mux->conns[i]->fd == fd)
			return mux->conns[i];
	return NULL;
}

static struct mux_conn *find_ports(struct vsock_muxer *mux, uint32_t local, uint32_t peer)
{
	for (unsigned i = 0; i < mux->nconns; i++) {
		struct mux_conn *c = mux->conns[i];
		if (c->kind == CONN_STREAM && c->vc.local_port == local && c->vc.peer_port == peer)
			return c;
	}
	return NULL;
}

static void enqueue(struct vsock_muxer *mux, struct mux_conn *c)
{
	if (!c->queued) {
		TAILQ_INSERT_TAIL(&mux->rxq, c, rxq);
		c->queued = true;
	}
}

static void dequeue(struct vsock_muxer *mux, struct mux_conn *c)
{
	if (c->queued) {
		TAILQ_REMOVE(&mux->rxq, c, rxq);
		c->queued = false;
	}
}

static bool has_data(const struct mux_conn *c)
{
	return c->prefix_off < c->prefix_len || (c->readable && !c->host_eof);
}

/* Does this connection have a packet for the guest now? */
static bool conn_has_rx(const struct mux_conn *c)
{
	if (c->kind != CONN_STREAM || c->vc.state == VSOCK_CLOSED)
		return false;
	if (c->vc.pending)
		return true;
	return has_data(c) && vsock_conn_peer_credit(&c->vc) > 0;
}

static void conn_free(struct vsock_muxer *mux, struct mux_conn *c)
{
	for (unsigned i = 0; i < mux->nconns; i++) {
		if (mux->conns[i] == c) {
			mux->conns[i] = mux->conns[--mux->nconns];
			break;
		}
	}
	dequeue(mux, c);
	if (c->fd >= 0) {
		ev_del(mux->loop, c->fd);
		close(c->fd);
	}
	free(c->txbuf);
	free(c);
}

static void queue_stray_rst(struct vsock_muxer *mux, uint32_t local, uint32_t peer)
{
	if (mux->nstray == VSOCK_MAX_STRAY_RST)
		return; /* the guest times the connection out itself */
	mux->stray[mux->nstray++] = (struct stray_rst){local, peer};
}

/* Ends a stream: RST to the guest (if `rst`), the host socket closed. */
static void conn_kill(struct vsock_muxer *mux, struct mux_conn *c, bool rst)
{
	if (rst && c->kind == CONN_STREAM)
		queue_stray_rst(mux, c->vc.local_port, c->vc.peer_port);
	conn_free(mux, c);
}

static void conn_set_events(struct vsock_muxer *mux, struct mux_conn *c)
{
	uint32_t ev = 0;

	if (c->kind == CONN_HANDSHAKE)
		ev = EPOLLIN;
	else if (c->vc.state == VSOCK_ESTABLISHED && !c->readable && !c->host_eof)
		ev = EPOLLIN; /* level-triggered: off while we owe a read, or it would spin */
	if (c->tx_len)
		ev |= EPOLLOUT;
	if (ev == c->events)
		return;
	/*
	 * Nothing wanted: out of the epoll set altogether, since EPOLLHUP
	 * cannot be masked and a hung-up peer would wake the loop forever.
	 */
	if (ev == 0)
		ev_del(mux->loop, c->fd);
	else if (c->events == 0)
		ev_add(mux->loop, c->fd, ev, conn_event, mux);
	else
		ev_mod(mux->loop, c->fd, ev);
	c->events = ev;
}

static struct mux_conn *conn_new(struct vsock_muxer *mux, int fd, enum conn_kind kind)
{
	struct mux_conn *c;

	if (mux->nconns == VSOCK_MAX_CONNS)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd = fd;
	c->kind = kind;
	mux->conns[mux->nconns++] = c;
	return c;
}

static uint32_t alloc_local_port(struct vsock_muxer *mux, uint32_t peer)
{
	for (;;) {
		uint32_t port = mux->next_local_port++;
		if (mux->next_local_port < LOCAL_PORT_BASE)
			mux->next_local_port = LOCAL_PORT_BASE; /* wrapped */
		if (!find_ports(mux, port, peer))
			return port;
	}
}

/* ---- Host socket I/O ---- */

/* Writes what the ring holds; false if the socket failed (the stream is then reset). */
static bool flush_tx(struct vsock_muxer *mux, struct mux_conn *c)
{
	while (c->tx_len) {
		uint32_t chunk = VSOCK_BUF_ALLOC - c->tx_head;
		ssize_t n;

		if (chunk > c->tx_len)
			chunk = c->tx_len;
		n = send(c->fd, c->txbuf + c->tx_head, chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break; /* EPOLLOUT resumes (firecracker#1751: EAGAIN is no error) */
			return false;
		}
		c->tx_head = (c->tx_head + (uint32_t)n) % VSOCK_BUF_ALLOC;
		c->tx_len -= (uint32_t)n;
		vsock_conn_forwarded(&c->vc, (uint32_t)n);
	}
	return true;
}

/*
 * Guest payload to the host socket: straight through while nothing waits
 * in the ring, the rest into the ring.  vsock_conn_recv() already checked
 * that buffered bytes stay within buf_alloc, so the ring cannot overflow.
 */
static bool forward_payload(struct vsock_muxer *mux, struct mux_conn *c, const struct iovec *iov,
			    int iovcnt, uint32_t len)
{
	size_t skip = 0;

	if (c->shut_wr)
		return false;
	if (c->tx_len == 0) {
		struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
		ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		if (n > 0) {
			skip = (size_t)n;
			vsock_conn_forwarded(&c->vc, (uint32_t)n);
		}
	}
	if (skip >= len)
		return true;
	if (!c->txbuf) {
		c->txbuf = malloc(VSOCK_BUF_ALLOC);
		if (!c->txbuf)
			return false;
	}
	for (int i = 0; i < iovcnt; i++) {
		const uint8_t *src = iov[i].iov_base;
		size_t n = iov[i].iov_len;

		if (skip >= n) {
			skip -= n;
			continue;
		}
		src += skip;
		n -= skip;
		skip = 0;
		while (n) {
			uint32_t tail = (c->tx_head + c->tx_len) % VSOCK_BUF_ALLOC;
			/* Contiguous room at `tail`: to the end of the ring, or up to head. */
			uint32_t room = c->tx_len == VSOCK_BUF_ALLOC ? 0
					: tail >= c->tx_head	     ? VSOCK_BUF_ALLOC - tail
								     : c->tx_head - tail;
			size_t chunk;

			if (room == 0)
				return false; /* cannot happen: the credit check bounds tx_len */
			chunk = n < room ? n : room;
			memcpy(c->txbuf + tail, src, chunk);
			c->tx_len += (uint32_t)chunk;
			src += chunk;
			n -= chunk;
		}
	}
	return true;
}

/* After the guest's SHUTDOWN or a drained ring: half-close, or the end. */
static void after_progress(struct vsock_muxer *mux, struct mux_conn *c)
{
	if ((c->vc.peer_shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND) && c->tx_len == 0 && !c->shut_wr) {
		shutdown(c->fd, SHUT_WR); /* the host reader sees EOF after the guest's last byte */
		c->shut_wr = true;
	}
	if (vsock_conn_finished(&c->vc)) {
		conn_kill(mux, c, true);
		return;
	}
	conn_set_events(mux, c);
	if (conn_has_rx(c))
		enqueue(mux, c);
}

static bool write_ok_line(struct mux_conn *c)
{
	char line[24];
	int n = snprintf(line, sizeof(line), "OK %" PRIu32 "\n", c->vc.local_port);

	/* A fresh socket's buffer always holds a dozen bytes; a short write is a dead peer. */
	return send(c->fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n;
}

/* ---- Guest packets ---- */

static void guest_connect(struct vsock_muxer *mux, const struct vsock_pkt *p)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct mux_conn *c;
	int fd;

	if (mux->nconns == VSOCK_MAX_CONNS)
		goto refuse;
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%" PRIu32, mux->path,
			     p->dst_port) >= sizeof(sa.sun_path))
		goto refuse;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto refuse;
	/*
	 * Nonblocking: a listener with a full backlog answers EAGAIN at once
	 * instead of parking the event loop (firecracker#6208).  That, and no
	 * listener (ENOENT, ECONNREFUSED), is a refusal: RST.
	 */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		goto refuse;
	}
	c = conn_new(mux, fd, CONN_STREAM);
	if (!c) {
		close(fd);
		goto refuse;
	}
	vsock_conn_init_peer(&c->vc, p);
	c->events = EPOLLIN;
	if (ev_add(mux->loop, fd, EPOLLIN, conn_event, mux) < 0) {
		conn_free(mux, c); /* closes fd */
		goto refuse;
	}
	mux->stats.conns_opened++;
	enqueue(mux, c);
	return;
refuse:
	mux->stats.host_refused++;
	queue_stray_rst(mux, p->dst_port, p->src_port);
}

bool vsock_muxer_guest_pkt(struct vsock_muxer *mux, const struct vsock_pkt *p,
			   const struct iovec *iov, int iovcnt)
{
	struct mux_conn *c;
	bool ret;

	pthread_mutex_lock(&mux->lock);
	c = find_ports(mux, p->dst_port, p->src_port);
	if (!c) {
		if (p->op == VIRTIO_VSOCK_OP_REQUEST) {
			guest_connect(mux, p);
		} else if (p->op != VIRTIO_VSOCK_OP_RST) {
			/* §5.10.6.4: a packet for no connection is answered with RST. */
			queue_stray_rst(mux, p->dst_port, p->src_port);
		}
		goto out;
	}
	switch (vsock_conn_recv(&c->vc, p)) {
	case VSOCK_V_NONE:
		break;
	case VSOCK_V_DATA:
		if (!forward_payload(mux, c, iov, iovcnt, p->len)) {
			conn_kill(mux, c, true);
			goto out;
		}
		break;
	case VSOCK_V_ESTABLISHED:
		if (!write_ok_line(c)) {
			conn_kill(mux, c, true);
			goto out;
		}
		c->deadline_ns = 0;
		mux->stats.conns_opened++;
		break;
	case VSOCK_V_PEER_SHUTDOWN:
		break;
	case VSOCK_V_CLOSE:
		conn_kill(mux, c, false);
		goto out;
	case VSOCK_V_RESET:
		conn_kill(mux, c, true);
		goto out;
	}
	after_progress(mux, c);
out:
	ret = mux->nstray || !TAILQ_EMPTY(&mux->rxq);
	pthread_mutex_unlock(&mux->lock);
	return ret;
}

void vsock_muxer_reset_ports(struct vsock_muxer *mux, uint32_t local_port, uint32_t peer_port)
{
	struct mux_conn *c;

	pthread_mutex_lock(&mux->lock);
	c = find_ports(mux, local_port, peer_port);
	if (c)
		conn_kill(mux, c, false);
	queue_stray_rst(mux, local_port, peer_port);
	pthread_mutex_unlock(&mux->lock);
}

/* ---- Packets for the guest ---- */

bool vsock_muxer_has_rx(struct vsock_muxer *mux)
{
	bool ret;

	pthread_mutex_lock(&mux->lock);
	ret = mux->nstray || !TAILQ_EMPTY(&mux->rxq);
	pthread_mutex_unlock(&mux->lock);
	return ret;
}

static void base_hdr(struct vsock_muxer *mux, struct vsock_pkt *p, uint16_t op)
{
	memset(p, 0, sizeof(*p));
	p->src_cid = VSOCK_HOST_CID;
	p->dst_cid = mux->guest_cid;
	p->type = VIRTIO_VSOCK_TYPE_STREAM;
	p->op = op;
}

/* Reads up to `want` bytes of host data into iov; -errno, 0 for EOF. */
static ssize_t read_host(struct mux_conn *c, const struct iovec *iov, int iovcnt, uint32_t want)
{
	struct iovec v[8];
	int n = 0;
	uint32_t left = want;
	ssize_t got;

	/* The bytes that came after the CONNECT line go first, alone. */
	if (c->prefix_off < c->prefix_len) {
		uint32_t k = (uint32_t)(c->prefix_len - c->prefix_off);
		size_t done = 0;
		if (k > want)
			k = want;
		for (int i = 0; i < iovcnt && done < k; i++) {
			size_t chunk = iov[i].iov_len < k - done ? iov[i].iov_len : k - done;
			memcpy(iov[i].iov_base, c->prefix + c->prefix_off + done, chunk);
			done += chunk;
		}
		c->prefix_off = (uint8_t)(c->prefix_off + done);
		return (ssize_t)done;
	}
	for (int i = 0; i < iovcnt && n < 8 && left; i++) {
		size_t chunk = iov[i].iov_len < left ? iov[i].iov_len : left;
		v[n++] = (struct iovec){iov[i].iov_base, chunk};
		left -= (uint32_t)chunk;
	}
	do {
		got = readv(c->fd, v, n);
	} while (got < 0 && errno == EINTR);
	return got < 0 ? -errno : got;
}

int vsock_muxer_next_rx(struct vsock_muxer *mux, struct vsock_pkt *p, const struct iovec *iov,
			int iovcnt, uint32_t cap)
{
	int ret = 0;

	pthread_mutex_lock(&mux->lock);
	if (mux->nstray) {
		struct stray_rst r = mux->stray[0];
		memmove(mux->stray, mux->stray + 1, --mux->nstray * sizeof(mux->stray[0]));
		base_hdr(mux, p, VIRTIO_VSOCK_OP_RST);
		p->src_port = r.local_port;
		p->dst_port = r.peer_port;
		mux->stats.conns_reset++;
		ret = 1;
		goto out;
	}
	while (!TAILQ_EMPTY(&mux->rxq)) {
		struct mux_conn *c = TAILQ_FIRST(&mux->rxq);
		uint32_t flags, credit;
		uint16_t op;
		ssize_t n;

		dequeue(mux, c);
		op = vsock_conn_next_control(&c->vc, &flags);
		if (op) {
			base_hdr(mux, p, op);
			p->flags = flags;
			vsock_conn_stamp(&c->vc, p);
			if (op == VIRTIO_VSOCK_OP_REQUEST)
				c->deadline_ns = now_ns() + VSOCK_HANDSHAKE_MS * 1000000ull;
			if (conn_has_rx(c))
				enqueue(mux, c); /* round robin: others go first */
			ret = 1;
			goto out;
		}
		credit = vsock_conn_peer_credit(&c->vc);
		if (!has_data(c) || credit == 0)
			continue; /* a credit update re-queues it */
		n = read_host(c, iov, iovcnt, credit < cap ? credit : cap);
		if (n > 0) {
			base_hdr(mux, p, VIRTIO_VSOCK_OP_RW);
			p->len = (uint32_t)n;
			vsock_conn_stamp(&c->vc, p);
			vsock_conn_sent(&c->vc, (uint32_t)n);
			if (conn_has_rx(c))
				enqueue(mux, c);
			ret = 1;
			goto out;
		}
		if (n == -EAGAIN) {
			c->readable = false;
			conn_set_events(mux, c);
			continue;
		}
		/* EOF, or a host socket error: the guest hears SHUTDOWN(SEND) next. */
		c->readable = false;
		c->host_eof = true;
		vsock_conn_local_eof(&c->vc);
		conn_set_events(mux, c);
		if (conn_has_rx(c))
			enqueue(mux, c);
	}
out:
	pthread_mutex_unlock(&mux->lock);
	return ret;
}

/* ---- Event-loop callbacks ---- */

static void handshake_read(struct vsock_muxer *mux, struct mux_conn *c)
{
	uint32_t port;
	size_t used = 0;
	ssize_t n;
	int r;

	n = read(c->fd, c->line + c->line_len, sizeof(c->line) - c->line_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_kill(mux, c, false);
		return;
	}
	c->line_len = (uint8_t)(c->line_len + n);
	r = vsock_parse_connect(c->line, c->line_len, &port, &used);
	if (r == 0)
		return; /* split across reads (cloud-hypervisor#6091): wait for the rest */
	if (r < 0) {
		log_guest_error(mux->log, &mux->rl, "vsock: %s: not a CONNECT line; closed",
				mux->path);
		conn_kill(mux, c, false);
		return;
	}
	/* Whatever followed the newline is the stream's first data. */
	c->prefix_len = (uint8_t)(c->line_len - used);
	memcpy(c->prefix, c->line + used, c->prefix_len);
	c->kind = CONN_STREAM;
	vsock_conn_init_local(&c->vc, alloc_local_port(mux, port), port);
	c->deadline_ns = now_ns() + VSOCK_HANDSHAKE_MS * 1000000ull;
	conn_set_events(mux, c); /* nothing read until the guest answers */
	enqueue(mux, c);
}

static void conn_event(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct vsock_muxer *mux = opaque;
	struct mux_conn *c;
	bool kick = false;

	(void)loop;
	pthread_mutex_lock(&mux->lock);
	c = find_fd(mux, fd);
	if (!c)
		goto out; /* closed since the event was picked up */
	if (c->kind == CONN_HANDSHAKE) {
		handshake_read(mux, c);
		kick = !TAILQ_EMPTY(&mux->rxq);
		goto out;
	}
	if (events & EPOLLOUT) {
		if (!flush_tx(mux, c)) {
			conn_kill(mux, c, true);
			kick = true;
			goto out;
		}
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->host_eof &&
	    c->vc.state == VSOCK_ESTABLISHED)
		c->readable = true; /* the read happens into a guest buffer (next_rx) */
	after_progress(mux, c);
	kick = mux->nstray || !TAILQ_EMPTY(&mux->rxq);
out:
	pthread_mutex_unlock(&mux->lock);
	if (kick)
		mux->rx_kick(mux->opaque);
}

static void listen_event(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct vsock_muxer *mux = opaque;

	(void)loop;
	(void)events;
	pthread_mutex_lock(&mux->lock);
	for (unsigned i = 0; i < ACCEPT_BUDGET; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct mux_conn *c;

		if (cfd < 0)
			break; /* EAGAIN, or the client gave up (ECONNABORTED) */
		c = conn_new(mux, cfd, CONN_HANDSHAKE);
		if (!c) {
			mux->stats.host_refused++;
			/* Rate-limited: whoever floods PATH must not flood the log too. */
			log_guest_error(mux->log, &mux->rl,
					"vsock: %s: connection limit (%u) reached; refused",
					mux->path, VSOCK_MAX_CONNS);
			close(cfd);
			continue;
		}
		c->deadline_ns = now_ns() + VSOCK_HANDSHAKE_MS * 1000000ull;
		c->events = EPOLLIN;
		if (ev_add(mux->loop, cfd, EPOLLIN, conn_event, mux) < 0) {
			c->fd = -1;
			conn_free(mux, c);
			close(cfd);
			continue;
		}
	}
	arm_sweep(mux);
	pthread_mutex_unlock(&mux->lock);
}

/* Closes handshakes and unanswered REQUESTs past their deadline. */
static void sweep_event(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct vsock_muxer *mux = opaque;
	uint64_t now = now_ns();
	bool kick = false;

	(void)events;
	pthread_mutex_lock(&mux->lock);
	if (mux->timer_fd != fd) {
		pthread_mutex_unlock(&mux->lock); /* cancelled; the number may be reused */
		return;
	}
	ev_del(loop, fd);
	mux->timer_fd = -1;
	for (unsigned i = 0; i < mux->nconns;) {
		struct mux_conn *c = mux->conns[i];
		if (c->deadline_ns && now >= c->deadline_ns) {
			/* An unanswered REQUEST is withdrawn with RST, as §5.10.6.5 allows. */
			kick |= c->kind == CONN_STREAM;
			conn_kill(mux, c, c->kind == CONN_STREAM);
			continue; /* conns[i] is now another connection */
		}
		i++;
	}
	arm_sweep(mux);
	pthread_mutex_unlock(&mux->lock);
	if (kick)
		mux->rx_kick(mux->opaque);
}

/* Lock held: a sweep timer while any connection has a deadline. */
static void arm_sweep(struct vsock_muxer *mux)
{
	bool need = false;
	int fd;

	for (unsigned i = 0; i < mux->nconns && !need; i++)
		need = mux->conns[i]->deadline_ns != 0;
	if (!need || mux->timer_fd >= 0)
		return;
	fd = ev_add_timer_ms(mux->loop, VSOCK_HANDSHAKE_MS / 4, sweep_event, mux);
	if (fd >= 0)
		mux->timer_fd = fd;
}

/* ---- Life cycle ---- */

int vsock_muxer_create(struct vsock_muxer **out, const char *path, uint64_t guest_cid,
		       struct ev_loop *loop, const struct logger *log, void (*rx_kick)(void *),
		       void *opaque, struct vmm_err *err)
{
	struct vsock_muxer *mux;
	int ret;

	mux = calloc(1, sizeof(*mux));
	if (!mux)
		return vmm_errf(err, -ENOMEM, "vsock: out of memory");
	pthread_mutex_init(&mux->lock, NULL);
	mux->log = log;
	mux->loop = loop;
	mux->rl = (struct ratelimit)RATELIMIT_INIT;
	snprintf(mux->path, sizeof(mux->path), "%s", path);
	mux->guest_cid = guest_cid;
	mux->timer_fd = -1;
	mux->rx_kick = rx_kick;
	mux->opaque = opaque;
	mux->next_local_port = LOCAL_PORT_BASE;
	TAILQ_INIT(&mux->rxq);

	mux->listen_fd = unix_listen("vsock", path, 128, err);
	if (mux->listen_fd < 0) {
		ret = mux->listen_fd;
		goto fail;
	}
	ret = ev_add(loop, mux->listen_fd, EPOLLIN, listen_event, mux);
	if (ret < 0) {
		vmm_errf(err, ret, "vsock: event loop: %s", strerror(-ret));
		unlink(path);
		goto fail;
	}
	*out = mux;
	return 0;
fail:
	if (mux->listen_fd >= 0)
		close(mux->listen_fd);
	pthread_mutex_destroy(&mux->lock);
	free(mux);
	return ret;
}

static void close_all(struct vsock_muxer *mux)
{
	while (mux->nconns)
		conn_free(mux, mux->conns[mux->nconns - 1]);
	mux->nstray = 0;
	if (mux->timer_fd >= 0) {
		ev_del(mux->loop, mux->timer_fd);
		mux->timer_fd = -1;
	}
}

void vsock_muxer_reset(struct vsock_muxer *mux)
{
	pthread_mutex_lock(&mux->lock);
	close_all(mux);
	pthread_mutex_unlock(&mux->lock);
}

void vsock_muxer_destroy(struct vsock_muxer *mux)
{
	if (!mux)
		return;
	close_all(mux);
	ev_del(mux->loop, mux->listen_fd);
	close(mux->listen_fd);
	unlink(mux->path);
	pthread_mutex_destroy(&mux->lock);
	free(mux);
}

void vsock_muxer_get_stats(struct vsock_muxer *mux, struct vsock_muxer_stats *out)
{
	pthread_mutex_lock(&mux->lock);
	*out = mux->stats;
	pthread_mutex_unlock(&mux->lock);
}

const char *vsock_muxer_path(const struct vsock_muxer *mux)
{
	return mux->path;
}

unsigned vsock_muxer_nconns(struct vsock_muxer *mux)
{
	unsigned n;

	pthread_mutex_lock(&mux->lock);
	n = mux->nconns;
	pthread_mutex_unlock(&mux->lock);
	return n;
}

/* ---- Client ---- */

int vsock_uds_connect(const char *path, uint32_t port, unsigned timeout_ms, char *err,
		      size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	uint64_t deadline = clock_ns() + (uint64_t)timeout_ms * 1000000ull;
	char line[VSOCK_LINE_MAX], req[24];
	size_t len = 0;
	int fd, ret, n;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "vsock: %s: path too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "vsock: socket: %s", strerror(errno));
		return ret;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		snprintf(err, errlen, "vsock: cannot connect to %s: %s", path, strerror(errno));
		goto fail;
	}
	n = snprintf(req, sizeof(req), "CONNECT %" PRIu32 "\n", port);
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		ret = -EPIPE;
		snprintf(err, errlen, "vsock: %s: cannot send CONNECT", path);
		goto fail;
	}
	/* Byte by byte: what follows the OK line is the caller's stream. */
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		uint64_t now = clock_ns();
		ssize_t got;

		if (now >= deadline ||
		    poll(&pfd, 1, (int)((deadline - now) / 1000000ull) + 1) == 0) {
			ret = -ETIMEDOUT;
			snprintf(err, errlen, "vsock: guest port %" PRIu32 ": no answer in %u ms",
				 port, timeout_ms);
			goto fail;
		}
		got = read(fd, line + len, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			ret = -ECONNREFUSED;
			snprintf(err, errlen, "vsock: guest port %" PRIu32 ": connection refused",
				 port);
			goto fail;
		}
		if (line[len++] == '\n')
			break;
		if (len == sizeof(line)) {
			ret = -EPROTO;
			snprintf(err, errlen, "vsock: %s: bad reply", path);
			goto fail;
		}
	}
	if (len < 5 || strncmp(line, "OK ", 3) != 0) {
		ret = -EPROTO;
		snprintf(err, errlen, "vsock: %s: bad reply", path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return ret;
}
