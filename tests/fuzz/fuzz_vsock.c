/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock (devices/virtio_vsock.c, vsock_muxer.c, vsock_conn.c)
 * behind the real transport, driven by a hostile driver
 * (tests/fuzz/virtio_fuzz.h), with real Unix sockets on the host side.
 *
 * Input: the vfz driver program.  The first device-readable buffer of a
 * chain gets a vsock header that is mostly plausible (the guest's and the
 * host's CIDs, a stream, an op 0..8, ports from a small set so that
 * packets meet the connections earlier ones opened, a small len) and now
 * and then raw bytes.  Port 1 has a host listener (PATH_1): guest
 * REQUESTs to it connect for real.  The `extra` action plays the host
 * programs: accept what waits on PATH_1 and write to, half-close or close
 * those sockets, connect to PATH and write a (possibly broken) CONNECT
 * line, or run the device's event loop once (the only way host bytes reach
 * the guest; once per input, as ev_run's stop is final).  Queues: 0 rx,
 * 1 tx, 2 event.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_vsock.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/virtio_vsock.h"
#include "tests/fuzz/virtio_fuzz.h"

static const struct logger quiet = {LOG_ERROR, -1, "fuzz"};

#define NHOST 4

struct vsock_fuzz {
	struct ev_loop *loop;
	struct virtio_vsock *vs;
	bool loop_ran;
	int host[NHOST]; /* host ends: accepted from PATH_1 or connected to PATH */
};

static char path[64], path1[80];
static int listen1 = -1;

static void setup_paths(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (listen1 >= 0)
		return;
	snprintf(path, sizeof(path), "/tmp/minivmm-fuzz-vsock-%d", (int)getpid());
	snprintf(path1, sizeof(path1), "%s_1", path);
	unlink(path);
	unlink(path1);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path1);
	listen1 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listen1 < 0 || bind(listen1, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(listen1, 64) < 0)
		abort();
}

static void fill(void *ctx, struct fuzz_in *in, uint8_t *host, uint32_t len, unsigned index)
{
	static const uint32_t ports[] = {1, 2, 52, 1u << 30, 1000, 0xffffffff};
	struct virtio_vsock_hdr h;
	uint8_t sel = fuzz_u8(in);

	(void)ctx;
	if (index != 0 || (sel & 0xe0) == 0xe0) {
		fuzz_bytes(in, host, len); /* payload, or a raw header */
		return;
	}
	h = (struct virtio_vsock_hdr){
	    .src_cid = htole64(sel & 0x10 ? fuzz_u64(in) : 3),
	    .dst_cid = htole64(sel & 0x08 ? fuzz_u8(in) : 2),
	    .src_port = htole32(ports[fuzz_u8(in) % 6]),
	    .dst_port = htole32(ports[fuzz_u8(in) % 6]),
	    .len = htole32(sel & 0x04 ? fuzz_u32(in) : fuzz_u8(in)),
	    .type = htole16(sel & 0x02 ? fuzz_u16(in) : VIRTIO_VSOCK_TYPE_STREAM),
	    .op = htole16(fuzz_u8(in) % 9),
	    .flags = htole32(fuzz_u8(in)),
	    .buf_alloc = htole32(sel & 0x01 ? fuzz_u32(in) : 65536),
	    .fwd_cnt = htole32(fuzz_u32(in)),
	};
	memcpy(host, &h, len < sizeof(h) ? len : sizeof(h));
	if (len > sizeof(h))
		fuzz_bytes(in, host + sizeof(h), len - sizeof(h));
}

static void stop_loop(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	(void)fd;
	(void)events;
	(void)opaque;
	ev_stop(loop);
}

static void put_host(struct vsock_fuzz *f, unsigned slot, int fd)
{
	if (f->host[slot] >= 0)
		close(f->host[slot]);
	f->host[slot] = fd;
}

static void extra(void *ctx, struct fuzz_in *in)
{
	struct vsock_fuzz *f = ctx;
	uint8_t sel = fuzz_u8(in);
	unsigned slot = (sel >> 4) % NHOST;
	uint8_t buf[512];
	size_t n;

	switch (sel & 7) {
	case 0: /* accept a guest connection waiting on PATH_1 */
		put_host(f, slot, accept4(listen1, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC));
		break;
	case 1: /* host bytes into a stream */
		n = fuzz_u8(in) * 2u;
		fuzz_bytes(in, buf, n);
		if (f->host[slot] >= 0)
			(void)!send(f->host[slot], buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		break;
	case 2:
		if (f->host[slot] >= 0)
			shutdown(f->host[slot], SHUT_WR);
		break;
	case 3:
		put_host(f, slot, -1);
		break;
	case 4: { /* a host program connects to PATH and says something */
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			if (fuzz_u8(in) & 1) {
				(void)!send(fd, "CONNECT 52\n", 11, MSG_NOSIGNAL);
			} else {
				n = fuzz_u8(in) % 40;
				fuzz_bytes(in, buf, n);
				(void)!send(fd, buf, n, MSG_NOSIGNAL);
			}
		}
		put_host(f, slot, fd);
		break;
	}
	case 5: /* the event loop, once: host events reach the device */
		if (!f->loop_ran) {
			f->loop_ran = true;
			if (ev_add_timer_ms(f->loop, 2, stop_loop, NULL) >= 0)
				ev_run(f->loop);
		}
		break;
	case 6: /* what a snapshot restore sends */
		virtio_vsock_transport_reset(f->vs);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtio_test_driver drv;
	struct fuzz_in in = fuzz_in(data, size);
	struct vsock_fuzz f;
	struct vfz_hooks hooks = {fill, extra, &f};
	struct vmm_err err = {{0}};
	int fd;

	setup_paths();
	f.loop_ran = false;
	for (unsigned i = 0; i < NHOST; i++)
		f.host[i] = -1;
	if (ev_loop_create(&f.loop) < 0)
		abort();
	if (virtio_vsock_create(&f.vs, 3, path, f.loop, &quiet, &err) < 0)
		abort();
	vfz_start(&drv, &in, 3, &virtio_vsock_ops, f.vs, f.loop);
	vfz_run(&drv, &in, &hooks);
	vfz_stop(&drv);
	/* The reset closed every stream: nothing of this input survives into the next. */
	if (virtio_vsock_nconns(f.vs) != 0)
		abort();
	virtio_vsock_destroy(f.vs);
	ev_loop_destroy(f.loop);
	for (unsigned i = 0; i < NHOST; i++)
		put_host(&f, i, -1);
	while ((fd = accept4(listen1, NULL, NULL, SOCK_NONBLOCK)) >= 0)
		close(fd);
	return 0;
}
