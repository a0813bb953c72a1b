/* SPDX-License-Identifier: MIT */
/*
 * User-mode networking through libslirp 4.x (QEMU's "-netdev user"): a
 * private guest network 10.0.2.0/24 behind a NAT made of ordinary host
 * sockets, so no root and no host setup.
 *
 * Event-loop integration, without a poll loop of our own: libslirp tells us
 * the fds it wants (slirp_pollfds_fill) and is told which are ready
 * (slirp_pollfds_poll).  After EVERY call into slirp (guest frame in, fd
 * ready, timer) we call slirp_pollfds_fill again and reconcile its list with
 * what is registered on the epoll loop (ev_add / ev_mod / ev_del), so the
 * indices slirp_pollfds_poll asks about always belong to the latest fill.
 * An fd event sets revents for that fd only and calls slirp_pollfds_poll.
 * slirp's TCP timers run inside slirp_pollfds_poll; fill returns how soon
 * that must happen (2 ms, 500 ms, or at most 1 s when idle) and one timerfd
 * is armed for it.  So an idle user network costs one wakeup per second,
 * which is what libslirp itself asks for.  slirp's own timers
 * (timer_new_opaque: IPv6 router advertisements) are one timerfd each.
 *
 * RX back-pressure: slirp pushes frames at us (send_packet).  They go into
 * a bounded ring (SLIRP_RXQ_FRAMES); while the guest has no RX buffers the
 * ring fills and further frames are dropped and counted; TCP retransmits.
 * rx_resume() drains the ring when the guest posts buffers.
 *
 * No offloads are offered to the guest, so frames in both directions are
 * complete; a guest that sets NEEDS_CSUM anyway gets its checksum finished
 * here before slirp_input(), and GSO frames are dropped.
 *
 * Everything runs under ns->lock (slirp itself is not thread-safe).
 *
 * libslirp is not linked: it is dlopen()ed when a --net user NIC is opened
 * (net_slirp_load).  Linked, it and what it pulls in (glib, pcre2) cost every
 * start of minivmm, NIC or not, about as much time as a whole small VM's life;
 * Debian ships it shared only.  The header still gives us the types.  Each
 * NIC keeps its own table of entry points (no process-wide state of ours);
 * the library is loaded RTLD_NODELETE because glib cannot be unloaded, and a
 * second dlopen by the same soname finds it already mapped, which is how a
 * jailed minivmm (vmm/jail.c preloads it before pivot_root) gets it without
 * any file of it inside the jail.
 */
#include "devices/net_backend.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#ifndef MINIVMM_HAVE_SLIRP

int net_slirp_open(struct net_backend **out, const char *hostfwd, struct ev_loop *loop,
		   const struct logger *log, struct vmm_err *err)
{
	(void)out;
	(void)hostfwd;
	(void)loop;
	(void)log;
	return vmm_errf(err, -ENOTSUP,
			"net: minivmm was built without libslirp, so --net user is not "
			"available (install libslirp-dev and rebuild, or use --net tap=NAME)");
}

int net_slirp_preload(struct vmm_err *err)
{
	(void)err;
	return 0;
}

#else

#include <arpa/inet.h>
#include <dlfcn.h>
#include <endian.h>
#include <linux/virtio_net.h>
#include <pthread.h>
#include <slirp/libslirp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define SLIRP_MTU	 1500u
#define SLIRP_FRAME_MAX	 (SLIRP_MTU + 14u)
#define SLIRP_RXQ_FRAMES 64u
#define SLIRP_GUEST_ADDR "10.0.2.15"

/* The entry points of libslirp we call, resolved by net_slirp_load(). */
struct slirp_api {
	Slirp *(*new)(const SlirpConfig *cfg, const SlirpCb *callbacks, void *opaque);
	void (*cleanup)(Slirp *slirp);
	void (*input)(Slirp *slirp, const uint8_t *pkt, int pkt_len);
	void (*pollfds_fill)(Slirp *slirp, uint32_t *timeout, SlirpAddPollCb add_poll,
			     void *opaque);
	void (*pollfds_poll)(Slirp *slirp, int select_error, SlirpGetREventsCb get_revents,
			     void *opaque);
	void (*handle_timer)(Slirp *slirp, SlirpTimerId id, void *cb_opaque);
	int (*add_hostfwd)(Slirp *slirp, int is_udp, struct in_addr host_addr, int host_port,
			   struct in_addr guest_addr, int guest_port);
};

struct slirp_pollent {
	int fd;
	int events;  /* SLIRP_POLL_* wanted */
	int revents; /* SLIRP_POLL_* ready, for the slirp_pollfds_poll in progress */
};

struct slirp_reg {
	int fd;
	uint32_t events; /* EPOLL* registered */
};

struct slirp_timer {
	struct net_slirp *ns;
	int fd;
	SlirpTimerId id;
	void *cb_opaque;
};

struct rx_frame {
	size_t len; /* header included */
	uint8_t data[NET_VNET_HDR_LEN + SLIRP_FRAME_MAX];
};

struct net_slirp {
	struct net_backend be;
	pthread_mutex_t lock;
	struct slirp_api api;
	Slirp *slirp;
	struct ev_loop *loop;
	const struct logger *log;
	struct ratelimit rl;
	bool started;
	bool rx_blocked;
	bool rx_delivered; /* port.flush() owed */
	int poll_timer_fd;

	struct slirp_pollent *polls; /* from the latest slirp_pollfds_fill */
	size_t npolls, polls_cap;
	struct slirp_reg *regs; /* on the event loop now */
	size_t nregs, regs_cap;

	struct rx_frame rxq[SLIRP_RXQ_FRAMES];
	unsigned rxq_head, rxq_len;
	uint64_t rx_dropped;

	uint8_t txbuf[NET_VNET_HDR_LEN + NET_MAX_FRAME];
};

static struct net_slirp *to_ns(struct net_backend *be)
{
	return (struct net_slirp *)be;
}

static void ns_resync(struct net_slirp *ns);

/* ---- RX: slirp -> guest ---- */

static void ns_drain(struct net_slirp *ns)
{
	if (!ns->started)
		return;
	while (ns->rxq_len && !ns->rx_blocked) {
		struct rx_frame *f = &ns->rxq[ns->rxq_head];

		if (ns->be.port.receive(ns->be.port.opaque, f->data, f->len) == -ENOBUFS) {
			ns->rx_blocked = true;
			break;
		}
		ns->rxq_head = (ns->rxq_head + 1) % SLIRP_RXQ_FRAMES;
		ns->rxq_len--;
		ns->rx_delivered = true;
	}
}

static void ns_flush(struct net_slirp *ns)
{
	if (ns->rx_delivered)
		ns->be.port.flush(ns->be.port.opaque);
	ns->rx_delivered = false;
}

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct net_slirp *ns = opaque;
	struct rx_frame *f;

	if (len > SLIRP_FRAME_MAX || ns->rxq_len == SLIRP_RXQ_FRAMES) {
		ns->rx_dropped++;
		return (ssize_t)len;
	}
	f = &ns->rxq[(ns->rxq_head + ns->rxq_len) % SLIRP_RXQ_FRAMES];
	memset(f->data, 0, NET_VNET_HDR_LEN); /* complete frame: no flags, no GSO */
	memcpy(f->data + NET_VNET_HDR_LEN, buf, len);
	f->len = NET_VNET_HDR_LEN + len;
	ns->rxq_len++;
	ns_drain(ns);
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	struct net_slirp *ns = opaque;

	log_guest_error(ns->log, &ns->rl, "net user: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	(void)opaque;
	return (int64_t)clock_ns();
}

/* ---- loading libslirp ---- */

/* The soname of libslirp 4.x (Debian's libslirp0). */
#define SLIRP_SONAME	 "libslirp.so.0"

static int slirp_dlopen(void **handle, struct vmm_err *err)
{
	/*
	 * RTLD_NOW: a missing symbol fails here, not at the first packet; and
	 * nothing is left to resolve lazily inside a jail.  RTLD_NODELETE:
	 * glib registers destructors and thread-local state that must outlive
	 * any one NIC.
	 */
	*handle = dlopen(SLIRP_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!*handle) {
		const char *why = dlerror();
		return vmm_errf(err, -ENOENT,
				"net: --net user needs libslirp0 (" SLIRP_SONAME ": %s): "
				"apt-get install libslirp0",
				why ? why : "not found");
	}
	return 0;
}

/* Resolves every entry point into api, or fails naming the one missing. */
static int net_slirp_load(struct slirp_api *api, struct vmm_err *err)
{
	static const struct {
		const char *name;
		size_t offset;
	} syms[] = {
	    {"slirp_new", offsetof(struct slirp_api, new)},
	    {"slirp_cleanup", offsetof(struct slirp_api, cleanup)},
	    {"slirp_input", offsetof(struct slirp_api, input)},
	    {"slirp_pollfds_fill", offsetof(struct slirp_api, pollfds_fill)},
	    {"slirp_pollfds_poll", offsetof(struct slirp_api, pollfds_poll)},
	    {"slirp_handle_timer", offsetof(struct slirp_api, handle_timer)},
	    {"slirp_add_hostfwd", offsetof(struct slirp_api, add_hostfwd)},
	};
	void *handle;
	int ret = slirp_dlopen(&handle, err);

	if (ret < 0)
		return ret;
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *fn = dlsym(handle, syms[i].name);

		if (!fn)
			return vmm_errf(err, -ENOENT,
					"net: " SLIRP_SONAME " has no %s (need libslirp 4.x: "
					"apt-get install libslirp0)",
					syms[i].name);
		/* POSIX: a function pointer round-trips through void * from dlsym. */
		memcpy((char *)api + syms[i].offset, &fn, sizeof(fn));
	}
	/* Our reference is dropped; RTLD_NODELETE keeps the mapping. */
	dlclose(handle);
	return 0;
}

int net_slirp_preload(struct vmm_err *err)
{
	struct slirp_api api;

	return net_slirp_load(&api, err);
}

/* ---- slirp's timers ---- */

static void timer_ready(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct slirp_timer *tm = opaque;
	struct net_slirp *ns = tm->ns;
	uint64_t ticks;

	(void)loop;
	(void)events;
	if (read(fd, &ticks, sizeof(ticks)) < 0)
		return; /* spurious (re-armed meanwhile) */
	pthread_mutex_lock(&ns->lock);
	ns->api.handle_timer(ns->slirp, tm->id, tm->cb_opaque);
	ns_resync(ns);
	ns_flush(ns);
	pthread_mutex_unlock(&ns->lock);
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct net_slirp *ns = opaque;
	struct slirp_timer *tm = calloc(1, sizeof(*tm));

	if (!tm)
		return NULL;
	tm->ns = ns;
	tm->id = id;
	tm->cb_opaque = cb_opaque;
	tm->fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (tm->fd < 0 || ev_add(ns->loop, tm->fd, EPOLLIN, timer_ready, tm) < 0) {
		log_error(ns->log, "net user: cannot create a timer: %s", strerror(errno));
		if (tm->fd >= 0)
			close(tm->fd);
		free(tm);
		return NULL;
	}
	return tm;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct slirp_timer *tm = timer;

	(void)opaque;
	if (!tm)
		return;
	ev_del(tm->ns->loop, tm->fd);
	close(tm->fd);
	free(tm);
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct slirp_timer *tm = timer;
	/* expire_ms is on cb_clock_get_ns's clock: CLOCK_MONOTONIC.  0 would disarm. */
	int64_t ns = expire_ms > 0 ? expire_ms * 1000000 : 1;
	struct itimerspec its = {
	    .it_value = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000}};

	(void)opaque;
	if (tm)
		timerfd_settime(tm->fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* fill/poll below do the fd bookkeeping; slirp's per-socket hooks are not needed. */
static void cb_register_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

/* "Socket can receive more": we resync after every slirp call anyway. */
static void cb_notify(void *opaque)
{
	(void)opaque;
}

static const SlirpCb slirp_callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_notify,
    .timer_new_opaque = cb_timer_new_opaque,
};

/* ---- slirp's sockets on the epoll loop ---- */

static uint32_t to_epoll(int ev)
{
	return ((ev & SLIRP_POLL_IN) ? EPOLLIN : 0) | ((ev & SLIRP_POLL_OUT) ? EPOLLOUT : 0) |
	       ((ev & SLIRP_POLL_PRI) ? EPOLLPRI : 0);
}

static int from_epoll(uint32_t ev)
{
	return ((ev & EPOLLIN) ? SLIRP_POLL_IN : 0) | ((ev & EPOLLOUT) ? SLIRP_POLL_OUT : 0) |
	       ((ev & EPOLLPRI) ? SLIRP_POLL_PRI : 0) | ((ev & EPOLLERR) ? SLIRP_POLL_ERR : 0) |
	       ((ev & EPOLLHUP) ? SLIRP_POLL_HUP : 0);
}

static int cb_add_poll(int fd, int events, void *opaque)
{
	struct net_slirp *ns = opaque;

	if (ns->npolls == ns->polls_cap) {
		size_t cap = ns->polls_cap ? ns->polls_cap * 2 : 16;
		struct slirp_pollent *p = realloc(ns->polls, cap * sizeof(*p));

		if (!p)
			return -1; /* slirp treats -1 as "not polled" */
		ns->polls = p;
		ns->polls_cap = cap;
	}
	ns->polls[ns->npolls] = (struct slirp_pollent){fd, events, 0};
	return (int)ns->npolls++;
}

static int cb_get_revents(int idx, void *opaque)
{
	struct net_slirp *ns = opaque;

	if (idx < 0 || (size_t)idx >= ns->npolls)
		return 0;
	return ns->polls[idx].revents;
}

static void fd_ready(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct net_slirp *ns = opaque;

	(void)loop;
	pthread_mutex_lock(&ns->lock);
	for (size_t i = 0; i < ns->npolls; i++)
		if (ns->polls[i].fd == fd)
			ns->polls[i].revents =
			    from_epoll(events) &
			    (ns->polls[i].events | SLIRP_POLL_ERR | SLIRP_POLL_HUP);
	ns->api.pollfds_poll(ns->slirp, 0, cb_get_revents, ns);
	ns_resync(ns);
	ns_flush(ns);
	pthread_mutex_unlock(&ns->lock);
}

static void poll_timer_ready(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct net_slirp *ns = opaque;
	uint64_t ticks;

	(void)loop;
	(void)events;
	if (read(fd, &ticks, sizeof(ticks)) < 0)
		return;
	pthread_mutex_lock(&ns->lock);
	ns->api.pollfds_poll(ns->slirp, 0, cb_get_revents, ns); /* all revents 0: timers only */
	ns_resync(ns);
	ns_flush(ns);
	pthread_mutex_unlock(&ns->lock);
}

static uint32_t wanted_events(const struct net_slirp *ns, int fd)
{
	uint32_t ev = 0;

	for (size_t i = 0; i < ns->npolls; i++)
		if (ns->polls[i].fd == fd)
			ev |= to_epoll(ns->polls[i].events);
	return ev;
}

static void reg_add(struct net_slirp *ns, int fd, uint32_t ev)
{
	int ret;

	if (ns->nregs == ns->regs_cap) {
		size_t cap = ns->regs_cap ? ns->regs_cap * 2 : 16;
		struct slirp_reg *r = realloc(ns->regs, cap * sizeof(*r));

		if (!r)
			return;
		ns->regs = r;
		ns->regs_cap = cap;
	}
	ret = ev_add(ns->loop, fd, ev, fd_ready, ns);
	if (ret < 0) {
		log_guest_error(ns->log, &ns->rl, "net user: cannot poll fd %d: %s", fd,
				strerror(-ret));
		return;
	}
	ns->regs[ns->nregs++] = (struct slirp_reg){fd, ev};
}

/*
 * Reconciles the epoll registrations with a fresh slirp_pollfds_fill and
 * re-arms the poll timer.  An fd slirp closed is gone from epoll already (the
 * kernel drops closed files) and its number may have been reused for a new
 * socket: ev_mod then fails with ENOENT and it is re-added.
 */
static void ns_resync(struct net_slirp *ns)
{
	uint32_t timeout = UINT32_MAX;
	struct itimerspec its = {{0, 0}, {0, 0}};
	size_t i;

	ns->npolls = 0;
	ns->api.pollfds_fill(ns->slirp, &timeout, cb_add_poll, ns);

	for (i = 0; i < ns->nregs;) {
		struct slirp_reg *r = &ns->regs[i];
		uint32_t want = wanted_events(ns, r->fd);

		if (!want) {
			ev_del(ns->loop, r->fd);
			*r = ns->regs[--ns->nregs];
			continue;
		}
		if (want != r->events) {
			if (ev_mod(ns->loop, r->fd, want) == -ENOENT) {
				ev_del(ns->loop, r->fd);
				ev_add(ns->loop, r->fd, want, fd_ready, ns);
			}
			r->events = want;
		}
		i++;
	}
	for (i = 0; i < ns->npolls; i++) {
		int fd = ns->polls[i].fd;
		bool known = false;
		uint32_t want;

		for (size_t j = 0; j < ns->nregs && !known; j++)
			known = ns->regs[j].fd == fd;
		want = wanted_events(ns, fd);
		if (!known && want)
			reg_add(ns, fd, want);
	}
	if (timeout != UINT32_MAX) {
		uint64_t ms = timeout ? timeout : 1;

		its.it_value.tv_sec = (time_t)(ms / 1000);
		its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	}
	timerfd_settime(ns->poll_timer_fd, 0, &its, NULL);
}

/* ---- TX: guest -> slirp ---- */

/* Finishes a partial checksum (§5.1.6.2: the field already holds the pseudo-header sum). */
static void finish_csum(uint8_t *frame, size_t len, uint16_t start, uint16_t offset)
{
	uint32_t sum = 0;
	size_t i;
	uint16_t c;

	if ((size_t)start + offset + 2 > len)
		return;
	for (i = start; i + 1 < len; i += 2)
		sum += (uint32_t)frame[i] << 8 | frame[i + 1];
	if (i < len)
		sum += (uint32_t)frame[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	c = (uint16_t)~sum;
	frame[start + offset] = (uint8_t)(c >> 8);
	frame[start + offset + 1] = (uint8_t)c;
}

static int ns_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	struct net_slirp *ns = to_ns(be);
	struct virtio_net_hdr_mrg_rxbuf hdr;
	size_t len = 0;

	pthread_mutex_lock(&ns->lock);
	for (int i = 0; i < iovcnt; i++) {
		size_t n = iov[i].iov_len;

		if (n > sizeof(ns->txbuf) - len)
			n = sizeof(ns->txbuf) - len;
		memcpy(ns->txbuf + len, iov[i].iov_base, n);
		len += n;
	}
	memcpy(&hdr, ns->txbuf, sizeof(hdr));
	if (hdr.hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		log_guest_error(ns->log, &ns->rl, "net user: GSO frame dropped (not negotiated)");
	} else {
		uint8_t *frame = ns->txbuf + NET_VNET_HDR_LEN;
		size_t flen = len - NET_VNET_HDR_LEN;

		if (hdr.hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			finish_csum(frame, flen, le16toh(hdr.hdr.csum_start),
				    le16toh(hdr.hdr.csum_offset));
		ns->api.input(ns->slirp, frame, (int)flen);
		ns_resync(ns);
		ns_flush(ns);
	}
	pthread_mutex_unlock(&ns->lock);
	return 0;
}

/* ---- net_backend_ops ---- */

static int ns_start(struct net_backend *be)
{
	struct net_slirp *ns = to_ns(be);

	pthread_mutex_lock(&ns->lock);
	ns->started = true;
	ns_drain(ns);
	ns_flush(ns);
	pthread_mutex_unlock(&ns->lock);
	return 0;
}

static int ns_set_offloads(struct net_backend *be, uint64_t features)
{
	(void)be;
	(void)features;
	return 0;
}

static void ns_rx_resume(struct net_backend *be)
{
	struct net_slirp *ns = to_ns(be);

	pthread_mutex_lock(&ns->lock);
	ns->rx_blocked = false;
	ns_drain(ns);
	ns_flush(ns);
	pthread_mutex_unlock(&ns->lock);
}

static void ns_destroy(struct net_backend *be)
{
	struct net_slirp *ns = to_ns(be);

	pthread_mutex_lock(&ns->lock);
	for (size_t i = 0; i < ns->nregs; i++)
		ev_del(ns->loop, ns->regs[i].fd);
	ns->nregs = 0;
	if (ns->slirp)
		ns->api.cleanup(ns->slirp); /* frees its timers through cb_timer_free */
	if (ns->poll_timer_fd >= 0) {
		ev_del(ns->loop, ns->poll_timer_fd);
		close(ns->poll_timer_fd);
	}
	pthread_mutex_unlock(&ns->lock);
	free(ns->polls);
	free(ns->regs);
	pthread_mutex_destroy(&ns->lock);
	free(ns);
}

static const struct net_backend_ops slirp_ops = {
    .start = ns_start,
    .send = ns_send,
    .set_offloads = ns_set_offloads,
    .rx_resume = ns_rx_resume,
    .destroy = ns_destroy,
};

/* "tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT" */
static int add_hostfwd(struct net_slirp *ns, char *spec, const char *orig, struct vmm_err *err)
{
	char *proto = spec, *haddr, *hport, *gaddr, *gport, *dash, *end;
	struct in_addr host, guest;
	long hp, gp;
	int is_udp;

	haddr = strchr(proto, ':');
	if (!haddr)
		goto bad;
	*haddr++ = '\0';
	if (!strcmp(proto, "tcp"))
		is_udp = 0;
	else if (!strcmp(proto, "udp"))
		is_udp = 1;
	else
		goto bad;
	hport = strchr(haddr, ':');
	dash = hport ? strchr(hport, '-') : NULL;
	if (!hport || !dash)
		goto bad;
	*hport++ = '\0';
	*dash = '\0';
	gaddr = dash + 1;
	gport = strchr(gaddr, ':');
	if (!gport)
		goto bad;
	*gport++ = '\0';
	if (inet_pton(AF_INET, haddr[0] ? haddr : "127.0.0.1", &host) != 1 ||
	    inet_pton(AF_INET, gaddr[0] ? gaddr : SLIRP_GUEST_ADDR, &guest) != 1)
		goto bad;
	errno = 0;
	hp = strtol(hport, &end, 10);
	if (*end || end == hport || hp < 0 || hp > 65535)
		goto bad;
	gp = strtol(gport, &end, 10);
	if (*end || end == gport || gp < 1 || gp > 65535)
		goto bad;
	if (ns->api.add_hostfwd(ns->slirp, is_udp, host, (int)hp, guest, (int)gp) < 0) {
		int e = errno ? errno : EADDRINUSE;
		return vmm_errf(err, -e,
				"net user: hostfwd %s:%s:%ld: cannot listen on the host port "
				"(%s; in use or privileged?)",
				proto, haddr[0] ? haddr : "127.0.0.1", hp, strerror(e));
	}
	return 0;
bad:
	return vmm_errf(err, -EINVAL,
			"net user: bad hostfwd \"%s\": want tcp|udp:[HOSTADDR]:HOSTPORT-"
			"[GUESTADDR]:GUESTPORT, e.g. tcp:127.0.0.1:2222-:22",
			orig);
}

static int add_hostfwds(struct net_slirp *ns, const char *list, struct vmm_err *err)
{
	char *copy, *save = NULL, *item;
	int ret = 0;

	if (!list || !list[0])
		return 0;
	copy = strdup(list);
	if (!copy)
		return vmm_errf(err, -ENOMEM, "net user: out of memory");
	for (item = strtok_r(copy, ",", &save); item && ret == 0;
	     item = strtok_r(NULL, ",", &save)) {
		char orig[128];

		snprintf(orig, sizeof(orig), "%s", item);
		ret = add_hostfwd(ns, item, orig, err);
	}
	free(copy);
	return ret;
}

int net_slirp_open(struct net_backend **out, const char *hostfwd, struct ev_loop *loop,
		   const struct logger *log, struct vmm_err *err)
{
	SlirpConfig cfg;
	struct net_slirp *ns;
	int ret;

	if (!loop)
		return vmm_errf(err, -EINVAL, "net user: needs an event loop");
	ns = calloc(1, sizeof(*ns));
	if (!ns)
		return vmm_errf(err, -ENOMEM, "net user: out of memory");
	ret = net_slirp_load(&ns->api, err);
	if (ret < 0) {
		free(ns);
		return ret;
	}
	pthread_mutex_init(&ns->lock, NULL);
	ns->be.ops = &slirp_ops;
	ns->be.kind = "user";
	ns->be.features = 0;
	ns->loop = loop;
	ns->log = log;
	ns->rl = (struct ratelimit)RATELIMIT_INIT;
	ns->poll_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	ret = ns->poll_timer_fd < 0
		  ? -errno
		  : ev_add(loop, ns->poll_timer_fd, EPOLLIN, poll_timer_ready, ns);
	if (ret < 0) {
		ret = vmm_errf(err, ret, "net user: poll timer: %s", strerror(-ret));
		if (ns->poll_timer_fd >= 0)
			close(ns->poll_timer_fd);
		ns->poll_timer_fd = -1;
		ns_destroy(&ns->be);
		return ret;
	}

	memset(&cfg, 0, sizeof(cfg));
	cfg.version = 4;
	cfg.in_enabled = true;
	inet_pton(AF_INET, "10.0.2.0", &cfg.vnetwork);
	inet_pton(AF_INET, "255.255.255.0", &cfg.vnetmask);
	inet_pton(AF_INET, "10.0.2.2", &cfg.vhost);
	inet_pton(AF_INET, SLIRP_GUEST_ADDR, &cfg.vdhcp_start);
	inet_pton(AF_INET, "10.0.2.3", &cfg.vnameserver);
	cfg.in6_enabled = false;
	cfg.if_mtu = SLIRP_MTU;
	cfg.if_mru = SLIRP_MTU;
	cfg.vhostname = "minivmm";

	pthread_mutex_lock(&ns->lock);
	ns->slirp = ns->api.new(&cfg, &slirp_callbacks, ns);
	if (!ns->slirp) {
		pthread_mutex_unlock(&ns->lock);
		ns_destroy(&ns->be);
		return vmm_errf(err, -ENOMEM, "net user: slirp_new failed");
	}
	ret = add_hostfwds(ns, hostfwd, err);
	if (ret == 0)
		ns_resync(ns);
	pthread_mutex_unlock(&ns->lock);
	if (ret < 0) {
		ns_destroy(&ns->be);
		return ret;
	}
	*out = &ns->be;
	return 0;
}

#endif /* MINIVMM_HAVE_SLIRP */
