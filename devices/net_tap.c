/* SPDX-License-Identifier: MIT */
/*
 * The TAP backend, and its generalisation to any fd that carries one frame
 * (with a 12-byte virtio-net header) per read()/write(): a TAP fd handed in
 * by a parent, or a SOCK_SEQPACKET socketpair in the unit tests.
 *
 * RX reads one frame at a time into a bounce buffer and hands it to the
 * device.  When the guest has no room the frame stays in the buffer and the
 * fd is removed from the event loop (not just EPOLLIN cleared: EPOLLHUP and
 * EPOLLERR are always reported and would spin the loop) until rx_resume().
 */
#include "devices/net_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Frames handled per readable callback, so one busy NIC cannot starve the loop. */
#define TAP_RX_BUDGET 64

_Static_assert(sizeof(struct virtio_net_hdr_mrg_rxbuf) == NET_VNET_HDR_LEN, "vnet header");

struct net_tap {
	struct net_backend be;
	pthread_mutex_t lock; /* everything below */
	int fd;
	bool is_tap;	       /* TUNSETOFFLOAD applies */
	bool registered;       /* fd is in the event loop */
	bool paused;	       /* the guest had no room: wait for rx_resume */
	bool dead;	       /* EOF or a fatal error on the fd: RX stopped for good */
	unsigned tun_offloads; /* TUN_F_* the kernel accepted when probed */
	struct ev_loop *loop;
	const struct logger *log;
	struct ratelimit rl;
	char ifname[IFNAMSIZ];
	size_t pending_len; /* a frame in buf the guest had no room for yet */
	uint8_t buf[NET_VNET_HDR_LEN + NET_MAX_FRAME];
};

static struct net_tap *to_tap(struct net_backend *be)
{
	return (struct net_tap *)be; /* be is the first member */
}

static void tap_ready(struct ev_loop *loop, int fd, uint32_t events, void *opaque);

static void tap_unregister(struct net_tap *tap)
{
	if (tap->registered)
		ev_del(tap->loop, tap->fd);
	tap->registered = false;
}

static void tap_register(struct net_tap *tap)
{
	int ret;

	if (tap->registered || tap->dead || !tap->loop)
		return;
	ret = ev_add(tap->loop, tap->fd, EPOLLIN, tap_ready, tap);
	if (ret < 0) {
		log_error(tap->log, "net %s: cannot add fd to the event loop: %s", tap->ifname,
			  strerror(-ret));
		return;
	}
	tap->registered = true;
}

/* Moves frames from the fd into the guest until it is empty, the guest is full or the budget is
 * spent. */
static void tap_process(struct net_tap *tap)
{
	bool delivered = false;

	for (unsigned budget = TAP_RX_BUDGET; budget; budget--) {
		int ret;

		if (!tap->pending_len) {
			ssize_t n = read(tap->fd, tap->buf, sizeof(tap->buf));

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				break;
			if (n <= 0) {
				log_warn(tap->log, "net %s: %s; receiving stopped", tap->ifname,
					 n == 0 ? "end of file" : strerror(errno));
				tap->dead = true;
				tap_unregister(tap);
				break;
			}
			if ((size_t)n <= NET_VNET_HDR_LEN) {
				log_guest_error(tap->log, &tap->rl,
						"net %s: %zd-byte frame from the host dropped",
						tap->ifname, n);
				continue;
			}
			tap->pending_len = (size_t)n;
		}
		ret = tap->be.port.receive(tap->be.port.opaque, tap->buf, tap->pending_len);
		if (ret == -ENOBUFS) {
			tap->paused = true;
			tap_unregister(tap);
			break;
		}
		tap->pending_len = 0;
		delivered = true;
	}
	if (delivered)
		tap->be.port.flush(tap->be.port.opaque);
}

static void tap_ready(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct net_tap *tap = opaque;

	(void)loop;
	(void)fd;
	(void)events; /* HUP/ERR show up as read() returning 0 or an error */
	pthread_mutex_lock(&tap->lock);
	if (tap->registered && !tap->paused)
		tap_process(tap);
	pthread_mutex_unlock(&tap->lock);
}

static int tap_start(struct net_backend *be)
{
	struct net_tap *tap = to_tap(be);

	pthread_mutex_lock(&tap->lock);
	tap_register(tap);
	pthread_mutex_unlock(&tap->lock);
	return 0;
}

static void tap_rx_resume(struct net_backend *be)
{
	struct net_tap *tap = to_tap(be);

	pthread_mutex_lock(&tap->lock);
	if (tap->paused && !tap->dead) {
		tap->paused = false;
		tap_process(tap); /* the held frame first: the fd may have nothing new */
		if (!tap->paused)
			tap_register(tap);
	}
	pthread_mutex_unlock(&tap->lock);
}

static int tap_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	struct net_tap *tap = to_tap(be);
	ssize_t n;

	/* The fd is non-blocking and never needs the lock: one writev is one frame. */
	do
		n = writev(tap->fd, iov, iovcnt);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

static unsigned tun_flags_for(uint64_t features)
{
	unsigned flags = 0;

	/* The kernel ignores TSO flags without TUN_F_CSUM; the guest cannot have them either. */
	if (!(features & (1ull << VIRTIO_NET_F_GUEST_CSUM)))
		return 0;
	flags |= TUN_F_CSUM;
	if (features & (1ull << VIRTIO_NET_F_GUEST_TSO4))
		flags |= TUN_F_TSO4;
	if (features & (1ull << VIRTIO_NET_F_GUEST_TSO6))
		flags |= TUN_F_TSO6;
	if (features & (1ull << VIRTIO_NET_F_GUEST_ECN))
		flags |= TUN_F_TSO_ECN;
	if (features & (1ull << VIRTIO_NET_F_GUEST_UFO))
		flags |= TUN_F_UFO;
	return flags;
}

static int tap_set_offloads(struct net_backend *be, uint64_t features)
{
	struct net_tap *tap = to_tap(be);
	unsigned flags = tun_flags_for(features) & tap->tun_offloads;

	if (!tap->is_tap)
		return 0;
	if (ioctl(tap->fd, TUNSETOFFLOAD, flags) < 0) {
		int ret = -errno;
		log_error(tap->log, "net %s: TUNSETOFFLOAD 0x%x: %s", tap->ifname, flags,
			  strerror(errno));
		return ret;
	}
	return 0;
}

static void tap_destroy(struct net_backend *be)
{
	struct net_tap *tap = to_tap(be);

	pthread_mutex_lock(&tap->lock);
	tap_unregister(tap);
	pthread_mutex_unlock(&tap->lock);
	close(tap->fd);
	pthread_mutex_destroy(&tap->lock);
	free(tap);
}

static const struct net_backend_ops tap_ops = {
    .start = tap_start,
    .send = tap_send,
    .set_offloads = tap_set_offloads,
    .rx_resume = tap_rx_resume,
    .destroy = tap_destroy,
};

static int tap_alloc(struct net_tap **out, int fd, struct ev_loop *loop, const struct logger *log,
		     struct vmm_err *err)
{
	struct net_tap *tap = calloc(1, sizeof(*tap));
	int ret;

	if (!tap)
		return vmm_errf(err, -ENOMEM, "net: out of memory");
	ret = pthread_mutex_init(&tap->lock, NULL);
	if (ret) {
		free(tap);
		return vmm_errf(err, -ret, "net: mutex: %s", strerror(ret));
	}
	tap->be.ops = &tap_ops;
	tap->fd = fd;
	tap->loop = loop;
	tap->log = log;
	tap->rl = (struct ratelimit)RATELIMIT_INIT;
	*out = tap;
	return 0;
}

int net_fd_backend_create(struct net_backend **out, int fd, uint64_t features, struct ev_loop *loop,
			  const struct logger *log, struct vmm_err *err)
{
	struct net_tap *tap;
	int flags = fcntl(fd, F_GETFL);
	int ret;

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return vmm_errf(err, -errno, "net: fd %d: %s", fd, strerror(errno));
	ret = tap_alloc(&tap, fd, loop, log, err);
	if (ret < 0)
		return ret;
	tap->be.kind = "fd";
	tap->be.features = features;
	snprintf(tap->ifname, sizeof(tap->ifname), "fd%d", fd);
	*out = &tap->be;
	return 0;
}

/* Which TUN_F_* sets the kernel accepts, richest first; the device then offers exactly those. */
static unsigned probe_offloads(int fd)
{
	static const unsigned candidates[] = {
	    TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_UFO,
	    TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN,
	    TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
	    TUN_F_CSUM,
	};

	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (ioctl(fd, TUNSETOFFLOAD, candidates[i]) == 0)
			return candidates[i];
	return 0;
}

static uint64_t features_for(unsigned tun)
{
	/*
	 * Guest -> host offloads need nothing from the TAP: with IFF_VNET_HDR
	 * it takes partially checksummed and GSO frames and finishes them in
	 * the host stack.  UFO from the guest is left out: kernels between
	 * 4.14 and 4.20 reject it.  Host -> guest offloads are what
	 * TUNSETOFFLOAD accepted.
	 */
	uint64_t f = (1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_HOST_TSO4) |
		     (1ull << VIRTIO_NET_F_HOST_TSO6) | (1ull << VIRTIO_NET_F_HOST_ECN);

	if (tun & TUN_F_CSUM)
		f |= 1ull << VIRTIO_NET_F_GUEST_CSUM;
	if (tun & TUN_F_TSO4)
		f |= 1ull << VIRTIO_NET_F_GUEST_TSO4;
	if (tun & TUN_F_TSO6)
		f |= 1ull << VIRTIO_NET_F_GUEST_TSO6;
	if (tun & TUN_F_TSO_ECN)
		f |= 1ull << VIRTIO_NET_F_GUEST_ECN;
	if (tun & TUN_F_UFO)
		f |= 1ull << VIRTIO_NET_F_GUEST_UFO;
	return f;
}

/*
 * Whether an interface of that name exists in our network namespace
 * (/sys/class/net may belong to another one).  <net/if.h>'s if_nametoindex
 * cannot be used together with <linux/if.h>.
 */
static bool tap_exists(const char *name)
{
	struct ifreq ifr;
	int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool found;

	if (sock < 0)
		return false;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strlen(name));
	found = ioctl(sock, SIOCGIFINDEX, &ifr) == 0;
	close(sock);
	return found;
}

int net_tap_open(struct net_backend **out, const char *name, struct ev_loop *loop,
		 const struct logger *log, struct vmm_err *err)
{
	struct ifreq ifr;
	struct net_tap *tap;
	int hdr_len = NET_VNET_HDR_LEN;
	bool existed;
	int fd, ret;

	if (!name || strlen(name) >= IFNAMSIZ)
		return vmm_errf(err, -EINVAL, "net: TAP name \"%s\" must be 1..%d characters",
				name ? name : "", IFNAMSIZ - 1);
	existed = name[0] && tap_exists(name);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		return vmm_errf(err, ret,
				"net: /dev/net/tun: %s (load the tun module: modprobe tun)",
				strerror(errno));
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		close(fd);
		if (ret == -EPERM && !existed)
			return vmm_errf(err, ret,
					"net: TAP %s does not exist and creating it needs "
					"CAP_NET_ADMIN; create it first: ip tuntap add dev %s mode "
					"tap user $USER",
					name, name);
		if (ret == -EPERM)
			return vmm_errf(err, ret,
					"net: TAP %s belongs to another user or group (ip tuntap "
					"add dev %s mode tap user $USER)",
					name, name);
		if (ret == -EBUSY)
			return vmm_errf(err, ret, "net: TAP %s is in use by another process", name);
		return vmm_errf(err, ret, "net: TAP %s: TUNSETIFF: %s (is it a TUN device?)", name,
				strerror(-ret));
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0) {
		ret = -errno;
		close(fd);
		return vmm_errf(err, ret, "net: TAP %s: TUNSETVNETHDRSZ: %s", name, strerror(-ret));
	}
	ret = tap_alloc(&tap, fd, loop, log, err);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	tap->be.kind = "tap";
	tap->is_tap = true;
	memcpy(tap->ifname, ifr.ifr_name, IFNAMSIZ);
	tap->ifname[IFNAMSIZ - 1] = '\0';
	tap->tun_offloads = probe_offloads(fd);
	tap->be.features = features_for(tap->tun_offloads);
	/* No RX offloads until a guest negotiates them. */
	if (ioctl(fd, TUNSETOFFLOAD, 0) < 0)
		log_warn(log, "net %s: TUNSETOFFLOAD 0: %s", tap->ifname, strerror(errno));
	log_info(log, "net: %s TAP %s (offloads 0x%x)", existed ? "attached to" : "created",
		 tap->ifname, tap->tun_offloads);
	*out = &tap->be;
	return 0;
}

void net_fd_backend_poll(struct net_backend *be)
{
	tap_ready(NULL, -1, EPOLLIN, to_tap(be));
}

bool net_fd_backend_reading(struct net_backend *be)
{
	struct net_tap *tap = to_tap(be);
	bool reading;

	pthread_mutex_lock(&tap->lock);
	reading = tap->registered;
	pthread_mutex_unlock(&tap->lock);
	return reading;
}

const char *net_tap_ifname(const struct net_backend *be)
{
	return ((const struct net_tap *)be)->ifname;
}
