/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (devices/virtio_net.c) behind the real transport, driven by a
 * hostile driver (tests/fuzz/virtio_fuzz.h), with a fake backend: TX frames
 * are read in full and dropped (or refused with -EAGAIN/-EIO, as a busy or
 * dead TAP would), and RX frames made from the input (mostly a valid
 * virtio-net header, sizes up to the 64 KiB GSO maximum) are pushed into
 * the device as a backend would, honouring -ENOBUFS back-pressure.
 *
 * Queue 0 is RX (device-writable chains), queue 1 is TX.
 */
#include <errno.h>
#include <linux/virtio_net.h>
#include <stdlib.h>

#include "devices/net_backend.h"
#include "devices/virtio_net.h"
#include "tests/fuzz/virtio_fuzz.h"

static const struct logger quiet = {LOG_ERROR, -1, "fuzz"};

struct fake_be {
	struct net_backend be;
	int send_ret; /* what the next send returns */
	bool held;    /* a frame was refused with -ENOBUFS: deliver it again on rx_resume */
	size_t held_len;
	uint8_t frame[NET_VNET_HDR_LEN + NET_MAX_FRAME + 16];
};

static int be_start(struct net_backend *be)
{
	(void)be;
	return 0;
}

static int be_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	struct fake_be *f = (struct fake_be *)be;
	volatile uint8_t x = 0;
	size_t total = 0;

	if (iovcnt < 0 || iovcnt > VIRTQ_MAX_CHAIN)
		abort();
	for (int i = 0; i < iovcnt; i++) {
		const uint8_t *p = iov[i].iov_base;

		if (iov[i].iov_len == 0)
			abort();
		x ^= p[0] ^ p[iov[i].iov_len - 1]; /* both ends must be guest RAM */
		total += iov[i].iov_len;
	}
	if (total <= NET_VNET_HDR_LEN || total > NET_VNET_HDR_LEN + NET_MAX_FRAME)
		abort(); /* the device promised to drop these */
	(void)x;
	return f->send_ret;
}

static int be_set_offloads(struct net_backend *be, uint64_t features)
{
	(void)be;
	(void)features;
	return 0;
}

static void deliver(struct fake_be *f)
{
	int ret = f->be.port.receive(f->be.port.opaque, f->frame, f->held_len);

	if (ret != 0 && ret != -ENOBUFS)
		abort();
	f->held = ret == -ENOBUFS;
	f->be.port.flush(f->be.port.opaque);
}

static void be_rx_resume(struct net_backend *be)
{
	struct fake_be *f = (struct fake_be *)be;

	if (f->held)
		deliver(f);
}

static void be_destroy(struct net_backend *be)
{
	(void)be; /* static: reused by every input */
}

static const struct net_backend_ops fake_ops = {be_start, be_send, be_set_offloads, be_rx_resume,
						be_destroy};

/* A frame from the backend: mostly a header the guest may see, then the input's bytes. */
static void extra(void *ctx, struct fuzz_in *in)
{
	struct fake_be *f = ctx;
	uint8_t sel = fuzz_u8(in);
	size_t got;
	const uint8_t *p;

	if (sel & 0x80) { /* the send result for the next TX frames */
		static const int rets[] = {0, -EAGAIN, -EIO, 0};
		f->send_ret = rets[sel & 3];
		return;
	}
	if (f->held) {
		deliver(f); /* a backend retries the frame it holds first */
		return;
	}
	memset(f->frame, 0, NET_VNET_HDR_LEN);
	if (sel & 0x40)
		fuzz_bytes(in, f->frame, NET_VNET_HDR_LEN); /* any header: flags, GSO types */
	switch (sel & 3) {
	case 0:
		f->held_len = NET_VNET_HDR_LEN + fuzz_u8(in);
		break;
	case 1:
		f->held_len = NET_VNET_HDR_LEN + 1514;
		break;
	case 2:
		f->held_len = NET_VNET_HDR_LEN + fuzz_u16(in) % (NET_MAX_FRAME + 8);
		break;
	default:
		f->held_len = fuzz_u16(in) % 16; /* runts and empty frames */
		break;
	}
	p = fuzz_take(in, 64, &got);
	memcpy(f->frame + NET_VNET_HDR_LEN, p, got);
	deliver(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t mac[6] = {0x02, 0x4d, 0x56, 0, 0, 1};
	static struct fake_be *fb;
	static struct virtio_test_driver drv;
	struct fuzz_in in = fuzz_in(data, size);
	struct vfz_hooks hooks;
	struct virtio_net *net;
	struct vmm_err err = {{0}};
	uint8_t offloads = fuzz_u8(&in);

	if (!fb && !(fb = calloc(1, sizeof(*fb))))
		abort();
	fb->be.ops = &fake_ops;
	fb->be.kind = "fuzz";
	/* The backend's offloads decide which GUEST_* features the driver may take. */
	fb->be.features = offloads & 1 ? ~0ull : 0;
	fb->send_ret = 0;
	fb->held = false;
	if (virtio_net_create_with_backend(&net, &fb->be, mac, NULL, &quiet, &err) < 0)
		abort();
	hooks = (struct vfz_hooks){NULL, extra, fb};
	vfz_start(&drv, &in, 2, virtio_net_device_ops(net), net, NULL);
	vfz_run(&drv, &in, &hooks);
	vfz_stop(&drv);
	virtio_net_destroy(net);
	return 0;
}
