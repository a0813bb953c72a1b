/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (devices/virtio_blk.c) behind the real transport, driven by a
 * hostile driver (tests/fuzz/virtio_fuzz.h), on a 64 KiB memfd disk.
 *
 * The first readable buffer of a chain mostly gets a request header with a
 * known type and a sector near the end of the disk (or any 64-bit sector),
 * the second mostly a discard/write-zeroes segment, so requests reach the
 * range checks and the I/O instead of stopping at "unsupported".
 *
 * The device is created once (opening and locking the image per input
 * would dominate the run); every input starts it from reset.  Its data
 * changes between inputs, which no check here depends on.
 */
#include <linux/virtio_blk.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/virtio_blk.h"
#include "tests/fuzz/virtio_fuzz.h"

#define DISK_BYTES (64u << 10)

static const struct logger quiet = {LOG_ERROR, -1, "fuzz"};
static struct virtio_blk *blk[2]; /* read-write, read-only */

static void fill(void *ctx, struct fuzz_in *in, uint8_t *host, uint32_t len, unsigned index)
{
	static const uint32_t types[] = {VIRTIO_BLK_T_IN,      VIRTIO_BLK_T_OUT,
					 VIRTIO_BLK_T_FLUSH,   VIRTIO_BLK_T_GET_ID,
					 VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES,
					 VIRTIO_BLK_T_IN,      VIRTIO_BLK_T_OUT};
	uint8_t sel = fuzz_u8(in);

	(void)ctx;
	if (index == 0 && len >= sizeof(struct virtio_blk_outhdr) && sel < 224) {
		struct virtio_blk_outhdr h = {0};

		h.type = types[sel % 8];
		h.sector = sel & 0x40 ? fuzz_u64(in) : DISK_BYTES / 512 - fuzz_u8(in) % 16;
		memcpy(host, &h, sizeof(h));
	} else if (index == 1 && len >= sizeof(struct virtio_blk_discard_write_zeroes) &&
		   sel < 224) {
		struct virtio_blk_discard_write_zeroes s = {0};

		s.sector = fuzz_u8(in) % 160;
		s.num_sectors = sel & 0x40 ? fuzz_u32(in) : fuzz_u8(in);
		s.flags = sel & 0x20 ? fuzz_u32(in) : VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
		memcpy(host, &s, sizeof(s));
	} else {
		size_t got;
		const uint8_t *p = fuzz_take(in, len < 32 ? len : 32, &got);

		memcpy(host, p, got);
	}
}

static struct virtio_blk *open_disk(bool read_only)
{
	struct mvm_disk_config disk = {0};
	struct vmm_err err = {{0}};
	struct virtio_blk *b;
	char path[64];
	int fd = memfd_create("fuzz-disk", 0);

	if (fd < 0 || ftruncate(fd, DISK_BYTES) < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	disk.path = path;
	disk.read_only = read_only;
	disk.serial = "zz-serial-0123456789"; /* exactly 20 bytes: no NUL in the ID */
	disk.cache = MVM_DISK_CACHE_UNSAFE;   /* no fdatasync per write: faster, same logic */
	if (virtio_blk_create(&b, &disk, NULL, &quiet, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		abort();
	}
	return b; /* the fd stays open (the device has its own); the process ends with it */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);
	static struct virtio_test_driver drv;
	struct vfz_hooks hooks = {fill, NULL, NULL};
	struct virtio_blk *b;

	if (!blk[0]) {
		blk[0] = open_disk(false);
		blk[1] = open_disk(true);
	}
	b = blk[fuzz_u8(&in) & 1];
	vfz_start(&drv, &in, 1, virtio_blk_device_ops(b), b, NULL);
	vfz_run(&drv, &in, &hooks);
	vfz_stop(&drv);
	return 0;
}
