/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk driven like a guest driver would: through the real virtio-mmio
 * transport's registers, with split rings built in fake guest memory and a
 * temp image file as the disk.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "devices/disk_image.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_mmio.h"
#include "tests/unit/virtio_driver.h"

#define DISK_BYTES (1u << 20)
#define REQUEST_Q  0u

static struct virtio_test_driver drv;
static char path[64];
static struct virtio_blk *blk;
static struct ev_loop *loop; /* the "budget" cases: notifications arrive through the loop */

/* ---- Image ---- */

static void make_image(void)
{
	uint8_t *buf = malloc(DISK_BYTES);
	int fd;

	strcpy(path, "/tmp/mvm-vblk-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	for (uint32_t i = 0; i < DISK_BYTES; i++)
		buf[i] = (uint8_t)(i * 7 + (i >> 9));
	ck_assert_int_eq(pwrite(fd, buf, DISK_BYTES, 0), DISK_BYTES);
	close(fd);
	free(buf);
}

static void file_read(uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void file_write(uint64_t off, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static uint64_t file_checksum(void)
{
	uint8_t *buf = malloc(DISK_BYTES);
	uint64_t h = 1469598103934665603ull;

	file_read(0, buf, DISK_BYTES);
	for (uint32_t i = 0; i < DISK_BYTES; i++)
		h = (h ^ buf[i]) * 1099511628211ull;
	free(buf);
	return h;
}

/* ---- The device, behind the transport ---- */

static uint32_t cfg_r32(size_t off)
{
	return vtd_read32(&drv, VIRTIO_MMIO_CONFIG + off);
}

static void start_device(bool read_only, const char *serial, enum mvm_disk_cache cache,
			 uint64_t drop)
{
	struct mvm_disk_config disk = {path, read_only, (char *)serial, cache};
	struct vmm_err err = {{0}};

	ck_assert_int_eq(virtio_blk_create(&blk, &disk, NULL, drv.log, &err), 0);
	vtd_attach(&drv, virtio_blk_device_ops(blk), blk, NULL);
	vtd_driver_init(&drv, drop);
}

static void setup(void)
{
	vtd_init(&drv, 1);
	make_image();
	blk = NULL;
}

static void teardown(void)
{
	vtd_detach(&drv);
	virtio_blk_destroy(blk);
	unlink(path);
	vtd_fini(&drv);
}

static void setup_loop(void)
{
	setup();
	ck_assert_int_eq(ev_loop_create(&loop), 0);
}

static void teardown_loop(void)
{
	teardown();
	ev_loop_destroy(loop);
	loop = NULL;
}

/*
 * A device whose queue notifications come through the event loop (as with
 * KVM ioeventfds), on an image of `image_bytes` (sparse past the pattern)
 * and queues of `qsize`.
 */
static void start_device_loop(enum mvm_disk_cache cache, uint64_t image_bytes, unsigned qsize)
{
	struct mvm_disk_config disk = {path, false, NULL, cache};
	struct vmm_err err = {{0}};

	ck_assert_int_eq(truncate(path, (off_t)image_bytes), 0);
	ck_assert_int_eq(virtio_blk_create(&blk, &disk, loop, drv.log, &err), 0);
	vtd_attach_ioeventfd(&drv, virtio_blk_device_ops(blk), blk, loop);
	drv.qsize = qsize;
	vtd_driver_init(&drv, 0);
}

/* ---- Requests ---- */

static struct vtd_buf header(uint32_t type, uint64_t sector)
{
	struct vtd_buf b = vtd_alloc(&drv, sizeof(struct virtio_blk_outhdr), false);
	struct virtio_blk_outhdr h = {.type = type, .ioprio = 0, .sector = sector};
	memcpy(vtd_host(&drv, b), &h, sizeof(h));
	return b;
}

static struct vtd_buf status_buf(void)
{
	struct vtd_buf b = vtd_alloc(&drv, 1, true);
	*vtd_host(&drv, b) = 0xee; /* not a valid status: proves the device wrote it */
	return b;
}

/* header, one data buffer, status; returns the status byte and checks used len. */
static uint8_t simple_request(uint32_t type, uint64_t sector, struct vtd_buf data,
			      uint32_t want_used_len)
{
	struct vtd_buf bufs[3] = {header(type, sector), data, status_buf()};
	vtd_add_chain(&drv, REQUEST_Q, bufs, 3);
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), want_used_len);
	return *vtd_host(&drv, bufs[2]);
}

/* ---- Tests ---- */

START_TEST(config_space_and_features_rw)
{
	uint64_t f;

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	ck_assert_uint_eq(virtio_blk_capacity_bytes(blk), DISK_BYTES);
	ck_assert_uint_eq(vtd_read32(&drv, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	f = vtd_device_features(&drv);
	ck_assert(f & (1ull << VIRTIO_BLK_F_FLUSH));
	ck_assert(f & (1ull << VIRTIO_BLK_F_BLK_SIZE));
	ck_assert(f & (1ull << VIRTIO_BLK_F_SEG_MAX));
	ck_assert(f & (1ull << VIRTIO_BLK_F_SIZE_MAX));
	ck_assert(f & (1ull << VIRTIO_BLK_F_WRITE_ZEROES));
	ck_assert(!(f & (1ull << VIRTIO_BLK_F_RO)));
	ck_assert(!(f & (1ull << VIRTIO_BLK_F_MQ)));
	ck_assert(f & (1ull << VIRTIO_F_VERSION_1));

	ck_assert_uint_eq(cfg_r32(offsetof(struct virtio_blk_config, capacity)), DISK_BYTES / 512);
	ck_assert_uint_eq(cfg_r32(offsetof(struct virtio_blk_config, capacity) + 4), 0);
	ck_assert_uint_eq(cfg_r32(offsetof(struct virtio_blk_config, blk_size)), 512);
	ck_assert_uint_eq(cfg_r32(offsetof(struct virtio_blk_config, seg_max)), VIRTQ_MAX_SIZE - 2);
	ck_assert_uint_eq(cfg_r32(offsetof(struct virtio_blk_config, size_max)), 1u << 20);
	ck_assert_uint_eq(cfg_r32(offsetof(struct virtio_blk_config, max_write_zeroes_seg)), 1);
	ck_assert_uint_eq(cfg_r32(offsetof(struct virtio_blk_config, max_write_zeroes_sectors)),
			  1u << 16);
	if (f & (1ull << VIRTIO_BLK_F_DISCARD)) {
		ck_assert_uint_eq(cfg_r32(offsetof(struct virtio_blk_config, max_discard_seg)), 1);
		ck_assert_uint_eq(cfg_r32(offsetof(struct virtio_blk_config, max_discard_sectors)),
				  1u << 22);
		ck_assert_uint_ge(
		    cfg_r32(offsetof(struct virtio_blk_config, discard_sector_alignment)), 1);
	}
	/* Writes to config are ignored. */
	vtd_write32(&drv, VIRTIO_MMIO_CONFIG, 0);
	ck_assert_uint_eq(cfg_r32(0), DISK_BYTES / 512);
}
END_TEST

START_TEST(config_space_and_features_ro)
{
	uint64_t f;

	start_device(true, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	f = vtd_device_features(&drv);
	ck_assert(f & (1ull << VIRTIO_BLK_F_RO));
	ck_assert(!(f & (1ull << VIRTIO_BLK_F_DISCARD)));
	ck_assert(!(f & (1ull << VIRTIO_BLK_F_WRITE_ZEROES)));
	ck_assert_uint_eq(cfg_r32(0), DISK_BYTES / 512);
}
END_TEST

START_TEST(read_lands_in_guest_memory)
{
	uint8_t want[1024];
	struct vtd_buf data;

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	data = vtd_alloc(&drv, 1024, true);
	memset(vtd_host(&drv, data), 0xcc, 1024);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_IN, 8, data, 1025), VIRTIO_BLK_S_OK);
	file_read(8 * 512, want, sizeof(want));
	ck_assert_mem_eq(vtd_host(&drv, data), want, sizeof(want));
	ck_assert_uint_eq(drv.irq_pulses, 1);
	ck_assert_uint_eq(vtd_read32(&drv, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING,
			  VIRTIO_MMIO_INT_VRING);

	/* The last sector of the disk is readable. */
	data = vtd_alloc(&drv, 512, true);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_IN, DISK_BYTES / 512 - 1, data, 513),
			  VIRTIO_BLK_S_OK);
	file_read(DISK_BYTES - 512, want, 512);
	ck_assert_mem_eq(vtd_host(&drv, data), want, 512);
}
END_TEST

START_TEST(write_split_data_lands_in_file)
{
	struct vtd_buf bufs[4];
	uint8_t got[1536];

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	bufs[0] = header(VIRTIO_BLK_T_OUT, 3);
	bufs[1] = vtd_alloc(&drv, 512, false);
	bufs[2] = vtd_alloc(&drv, 1024, false);
	bufs[3] = status_buf();
	memset(vtd_host(&drv, bufs[1]), 0x11, 512);
	memset(vtd_host(&drv, bufs[2]), 0x22, 1024);
	vtd_add_chain(&drv, REQUEST_Q, bufs, 4);
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 1);
	ck_assert_uint_eq(*vtd_host(&drv, bufs[3]), VIRTIO_BLK_S_OK);
	file_read(3 * 512, got, sizeof(got));
	ck_assert_mem_eq(got, vtd_host(&drv, bufs[1]), 512);
	ck_assert_mem_eq(got + 512, vtd_host(&drv, bufs[2]), 1024);

	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_FLUSH, 0, status_buf(), 1), VIRTIO_BLK_S_OK);
}
END_TEST

/* FLUSH without data: header + status only. */
START_TEST(flush_and_unsafe_flush)
{
	struct vtd_buf bufs[2];

	start_device(false, NULL, MVM_DISK_CACHE_UNSAFE, 0);
	bufs[0] = header(VIRTIO_BLK_T_FLUSH, 0);
	bufs[1] = status_buf();
	vtd_add_chain(&drv, REQUEST_Q, bufs, 2);
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 1);
	ck_assert_uint_eq(*vtd_host(&drv, bufs[1]), VIRTIO_BLK_S_OK);
}
END_TEST

static void check_get_id(const char *serial, const uint8_t want[VIRTIO_BLK_ID_BYTES])
{
	struct vtd_buf data;

	start_device(false, serial, MVM_DISK_CACHE_WRITEBACK, 0);
	data = vtd_alloc(&drv, VIRTIO_BLK_ID_BYTES + 4, true);
	memset(vtd_host(&drv, data), 0xff, VIRTIO_BLK_ID_BYTES + 4);
	data.len = VIRTIO_BLK_ID_BYTES;
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_GET_ID, 0, data, 21), VIRTIO_BLK_S_OK);
	ck_assert_mem_eq(vtd_host(&drv, data), want, VIRTIO_BLK_ID_BYTES);
	ck_assert_uint_eq(vtd_host(&drv, data)[VIRTIO_BLK_ID_BYTES], 0xff);
}

START_TEST(get_id_short_serial)
{
	uint8_t want[VIRTIO_BLK_ID_BYTES] = "abc";
	check_get_id("abc", want);
}
END_TEST

START_TEST(get_id_exactly_20)
{
	const char *s = "0123456789abcdefghij";
	check_get_id(s, (const uint8_t *)s);
}
END_TEST

START_TEST(get_id_none_and_short_buffer)
{
	uint8_t want[VIRTIO_BLK_ID_BYTES] = {0};
	struct vtd_buf data;

	check_get_id(NULL, want);
	/* A buffer shorter than 20 bytes gets the first bytes only. */
	data = vtd_alloc(&drv, 8, true);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_GET_ID, 0, data, 9), VIRTIO_BLK_S_OK);
}
END_TEST

START_TEST(serial_longer_than_20_is_refused)
{
	struct mvm_disk_config disk = {path, false, "0123456789abcdefghijk",
				       MVM_DISK_CACHE_WRITEBACK};
	struct vmm_err err = {{0}};

	ck_assert_int_eq(virtio_blk_create(&blk, &disk, NULL, drv.log, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "longer than 20 bytes"));
	blk = NULL;
}
END_TEST

START_TEST(out_of_range_is_ioerr_and_file_unchanged)
{
	uint64_t before = file_checksum();
	struct vtd_buf data;

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	data = vtd_alloc(&drv, 1024, false);
	memset(vtd_host(&drv, data), 0x77, 1024);
	/* Starts on the last sector, ends one sector past the end. */
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_OUT, DISK_BYTES / 512 - 1, data, 1),
			  VIRTIO_BLK_S_IOERR);
	/* sector * 512 overflows 64 bits. */
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_OUT, UINT64_MAX / 512 + 1, data, 1),
			  VIRTIO_BLK_S_IOERR);
	/* sector * 512 + len wraps. */
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_OUT, UINT64_MAX / 512, data, 1),
			  VIRTIO_BLK_S_IOERR);
	data.writable = true;
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_IN, DISK_BYTES / 512, data, 1),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(file_checksum(), before);
	/* The device keeps working. */
	ck_assert_uint_eq(vtd_read32(&drv, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_IN, 0, data, 1025), VIRTIO_BLK_S_OK);
}
END_TEST

START_TEST(malformed_requests_are_ioerr)
{
	uint64_t before = file_checksum();
	struct vtd_buf bufs[4];

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	/* Data not a multiple of 512. */
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_OUT, 0, vtd_alloc(&drv, 100, false), 1),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_IN, 0, vtd_alloc(&drv, 513, true), 1),
			  VIRTIO_BLK_S_IOERR);
	/* Wrong direction: IN with readable data, OUT with writable data. */
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_IN, 0, vtd_alloc(&drv, 512, false), 1),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_OUT, 0, vtd_alloc(&drv, 512, true), 1),
			  VIRTIO_BLK_S_IOERR);
	/* IN with readable bytes after the header as well as writable data. */
	bufs[0] = header(VIRTIO_BLK_T_IN, 0);
	bufs[1] = vtd_alloc(&drv, 512, false);
	bufs[2] = vtd_alloc(&drv, 512, true);
	bufs[3] = status_buf();
	vtd_add_chain(&drv, REQUEST_Q, bufs, 4);
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 1);
	ck_assert_uint_eq(*vtd_host(&drv, bufs[3]), VIRTIO_BLK_S_IOERR);
	/* No data at all. */
	bufs[0] = header(VIRTIO_BLK_T_IN, 0);
	bufs[1] = status_buf();
	vtd_add_chain(&drv, REQUEST_Q, bufs, 2);
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 1);
	ck_assert_uint_eq(*vtd_host(&drv, bufs[1]), VIRTIO_BLK_S_IOERR);
	/* A header of 8 bytes. */
	bufs[0] = vtd_alloc(&drv, 8, false);
	memset(vtd_host(&drv, bufs[0]), 0, 8);
	bufs[1] = status_buf();
	vtd_add_chain(&drv, REQUEST_Q, bufs, 2);
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 1);
	ck_assert_uint_eq(*vtd_host(&drv, bufs[1]), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(file_checksum(), before);
	ck_assert_uint_eq(vtd_read32(&drv, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
}
END_TEST

START_TEST(unknown_types_are_unsupp)
{
	uint32_t types[] = {
	    VIRTIO_BLK_T_SCSI_CMD,     3,	   10,
	    VIRTIO_BLK_T_SECURE_ERASE, 0x12345678, VIRTIO_BLK_T_BARRIER | VIRTIO_BLK_T_OUT};

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		ck_assert_uint_eq(simple_request(types[i], 0, vtd_alloc(&drv, 512, true), 1),
				  VIRTIO_BLK_S_UNSUPP);
}
END_TEST

START_TEST(read_only_disk_refuses_writes)
{
	uint64_t before = file_checksum();
	struct vtd_buf seg;
	struct virtio_blk_discard_write_zeroes d = {.sector = 0, .num_sectors = 8, .flags = 0};

	start_device(true, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_OUT, 0, vtd_alloc(&drv, 512, false), 1),
			  VIRTIO_BLK_S_IOERR);
	seg = vtd_alloc(&drv, sizeof(d), false);
	memcpy(vtd_host(&drv, seg), &d, sizeof(d));
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_DISCARD, 0, seg, 1), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 1), VIRTIO_BLK_S_IOERR);
	/* Reads and flushes still work. */
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_IN, 0, vtd_alloc(&drv, 512, true), 513),
			  VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_FLUSH, 0, status_buf(), 1), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(file_checksum(), before);
}
END_TEST

/* Header in two descriptors (8 + 8), status byte sharing the data buffer. */
START_TEST(split_header_and_shared_status)
{
	struct virtio_blk_outhdr h = {.type = VIRTIO_BLK_T_IN, .sector = 2};
	struct vtd_buf bufs[3];
	uint8_t want[512];

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	bufs[0] = vtd_alloc(&drv, 8, false);
	bufs[1] = vtd_alloc(&drv, 8, false);
	memcpy(vtd_host(&drv, bufs[0]), &h, 8);
	memcpy(vtd_host(&drv, bufs[1]), (uint8_t *)&h + 8, 8);
	bufs[2] = vtd_alloc(&drv, 513, true);
	memset(vtd_host(&drv, bufs[2]), 0xee, 513);
	vtd_add_chain(&drv, REQUEST_Q, bufs, 3);
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 513);
	file_read(2 * 512, want, 512);
	ck_assert_mem_eq(vtd_host(&drv, bufs[2]), want, 512);
	ck_assert_uint_eq(vtd_host(&drv, bufs[2])[512], VIRTIO_BLK_S_OK);
}
END_TEST

START_TEST(missing_status_needs_reset)
{
	struct vtd_buf bufs[2];
	unsigned pulses;

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	/* Last buffer device-readable: nowhere to put the status. */
	bufs[0] = header(VIRTIO_BLK_T_OUT, 0);
	bufs[1] = vtd_alloc(&drv, 512, false);
	vtd_add_chain(&drv, REQUEST_Q, bufs, 2);
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_used_idx(&drv, REQUEST_Q), 0);
	ck_assert_uint_eq(vtd_read32(&drv, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET,
			  VIRTIO_CONFIG_S_NEEDS_RESET);
	ck_assert_uint_eq(vtd_read32(&drv, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG,
			  VIRTIO_MMIO_INT_CONFIG);
	/* Further requests are not served until the driver resets. */
	pulses = drv.irq_pulses;
	{
		struct vtd_buf ok[3] = {header(VIRTIO_BLK_T_IN, 0), vtd_alloc(&drv, 512, true),
					status_buf()};
		vtd_add_chain(&drv, REQUEST_Q, ok, 3);
		vtd_notify(&drv, REQUEST_Q);
		ck_assert_uint_eq(vtd_used_idx(&drv, REQUEST_Q), 0);
		ck_assert_uint_eq(drv.irq_pulses, pulses);
	}
	/* Reset and re-initialise: the device works again. */
	vtd_write32(&drv, VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(vtd_read32(&drv, VIRTIO_MMIO_STATUS), 0);
	vtd_driver_init(&drv, 0);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_IN, 0, vtd_alloc(&drv, 512, true), 513),
			  VIRTIO_BLK_S_OK);
}
END_TEST

/* A chain that is only the header: no status byte either. */
START_TEST(header_only_chain_needs_reset)
{
	struct vtd_buf h;

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	h = header(VIRTIO_BLK_T_FLUSH, 0);
	vtd_add_chain(&drv, REQUEST_Q, &h, 1);
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_used_idx(&drv, REQUEST_Q), 0);
	ck_assert_uint_eq(vtd_read32(&drv, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET,
			  VIRTIO_CONFIG_S_NEEDS_RESET);
}
END_TEST

START_TEST(batch_gets_one_interrupt)
{
	struct vtd_buf st[3];

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 1ull << VIRTIO_RING_F_EVENT_IDX);
	for (int i = 0; i < 3; i++) {
		struct vtd_buf bufs[3] = {header(VIRTIO_BLK_T_IN, (uint64_t)i),
					  vtd_alloc(&drv, 512, true), status_buf()};
		st[i] = bufs[2];
		vtd_add_chain(&drv, REQUEST_Q, bufs, 3);
	}
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_used_idx(&drv, REQUEST_Q), 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 513);
		ck_assert_uint_eq(*vtd_host(&drv, st[i]), VIRTIO_BLK_S_OK);
	}
	ck_assert_uint_eq(drv.irq_pulses, 1);

	/* The driver suppressed interrupts: completions without a pulse. */
	vtd_avail_ring(&drv, REQUEST_Q)->flags = VRING_AVAIL_F_NO_INTERRUPT;
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_IN, 0, vtd_alloc(&drv, 512, true), 513),
			  VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(drv.irq_pulses, 1);
}
END_TEST

static struct vtd_buf dwz_seg(uint64_t sector, uint32_t n, uint32_t flags)
{
	struct virtio_blk_discard_write_zeroes d = {
	    .sector = sector, .num_sectors = n, .flags = flags};
	struct vtd_buf b = vtd_alloc(&drv, sizeof(d), false);
	memcpy(vtd_host(&drv, b), &d, sizeof(d));
	return b;
}

static bool all_zero(uint64_t off, size_t len)
{
	uint8_t buf[8192];
	ck_assert_uint_le(len, sizeof(buf));
	file_read(off, buf, len);
	for (size_t i = 0; i < len; i++)
		if (buf[i])
			return false;
	return true;
}

START_TEST(write_zeroes_and_discard)
{
	uint64_t f;
	struct vtd_buf two;
	struct virtio_blk_discard_write_zeroes d[2] = {{0, 1, 0}, {4, 1, 0}};
	uint64_t before;

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	f = vtd_device_features(&drv);
	ck_assert(!all_zero(16 * 512, 8 * 512));
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_WRITE_ZEROES, 0, dwz_seg(16, 8, 0), 1),
			  VIRTIO_BLK_S_OK);
	ck_assert(all_zero(16 * 512, 8 * 512));
	ck_assert(!all_zero(24 * 512, 512));
	ck_assert(!all_zero(15 * 512, 512));
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_WRITE_ZEROES, 0,
					 dwz_seg(32, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP), 1),
			  VIRTIO_BLK_S_OK);
	ck_assert(all_zero(32 * 512, 8 * 512));

	before = file_checksum();
	/* Reserved flag bits; UNMAP on discard. */
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_WRITE_ZEROES, 0, dwz_seg(48, 8, 2), 1),
			  VIRTIO_BLK_S_UNSUPP);
	if (f & (1ull << VIRTIO_BLK_F_DISCARD))
		ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_DISCARD, 0,
						 dwz_seg(48, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP),
						 1),
				  VIRTIO_BLK_S_UNSUPP);
	/* Out of range, too many sectors, too many segments, a torn segment. */
	ck_assert_uint_eq(
	    simple_request(VIRTIO_BLK_T_WRITE_ZEROES, 0, dwz_seg(DISK_BYTES / 512 - 1, 2, 0), 1),
	    VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(
	    simple_request(VIRTIO_BLK_T_WRITE_ZEROES, 0, dwz_seg(UINT64_MAX / 512, 1, 0), 1),
	    VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(
	    simple_request(VIRTIO_BLK_T_WRITE_ZEROES, 0, dwz_seg(0, (1u << 16) + 1, 0), 1),
	    VIRTIO_BLK_S_IOERR);
	two = vtd_alloc(&drv, sizeof(d), false);
	memcpy(vtd_host(&drv, two), d, sizeof(d));
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_WRITE_ZEROES, 0, two, 1), VIRTIO_BLK_S_IOERR);
	two.len = 8;
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_WRITE_ZEROES, 0, two, 1), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(file_checksum(), before);

	if (f & (1ull << VIRTIO_BLK_F_DISCARD)) {
		ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_DISCARD, 0, dwz_seg(64, 16, 0), 1),
				  VIRTIO_BLK_S_OK);
		ck_assert(all_zero(64 * 512, 16 * 512)); /* hole punching zeroes */
		ck_assert(!all_zero(80 * 512, 512));
	}
}
END_TEST

START_TEST(discard_unsupp_when_not_negotiated)
{
	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK,
		     (1ull << VIRTIO_BLK_F_DISCARD) | (1ull << VIRTIO_BLK_F_WRITE_ZEROES));
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_DISCARD, 0, dwz_seg(0, 1, 0), 1),
			  VIRTIO_BLK_S_UNSUPP);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_WRITE_ZEROES, 0, dwz_seg(0, 1, 0), 1),
			  VIRTIO_BLK_S_UNSUPP);
}
END_TEST

/*
 * A host I/O error is logged, but a guest repeating the request (a sparse
 * image on a full file system: ENOSPC on every write) must not get one host
 * log line per request.  RLIMIT_FSIZE makes every write fail here (EFBIG);
 * Check runs each test in its own process, so the limit stays in this one.
 */
START_TEST(host_errors_are_rate_limited)
{
	const struct logger *saved = drv.log;
	struct logger lg;
	struct rlimit lim = {64 << 10, 64 << 10};
	struct vtd_buf bufs[3];
	char text[65536];
	int fds[2], lines = 0;
	ssize_t n;

	ck_assert_int_eq(pipe2(fds, O_NONBLOCK), 0);
	lg = (struct logger){LOG_WARN, fds[1], "test"};
	drv.log = &lg;
	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	bufs[0] = header(VIRTIO_BLK_T_OUT, 1024); /* 512 KiB: past the limit */
	bufs[1] = vtd_alloc(&drv, 512, false);
	bufs[2] = status_buf();
	for (int i = 0; i < 200; i++) {
		vtd_add_chain(&drv, REQUEST_Q, bufs, 3);
		vtd_notify(&drv, REQUEST_Q);
		ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 1);
		ck_assert_uint_eq(*vtd_host(&drv, bufs[2]), VIRTIO_BLK_S_IOERR);
	}
	while ((n = read(fds[0], text, sizeof(text))) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += text[i] == '\n';
	ck_assert_int_ge(lines, 1);
	ck_assert_int_le(lines, 11); /* RATELIMIT_INIT's burst, plus one "suppressed" line */
	drv.log = saved;
	close(fds[0]);
	close(fds[1]);
}
END_TEST

START_TEST(busy_image_fails_create)
{
	struct mvm_disk_config disk = {path, false, NULL, MVM_DISK_CACHE_WRITEBACK};
	struct virtio_blk *second = NULL;
	struct vmm_err err = {{0}};

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	ck_assert_int_eq(virtio_blk_create(&second, &disk, NULL, drv.log, &err), -EBUSY);
	ck_assert_ptr_nonnull(strstr(err.msg, "is in use by another process (locked)"));
	ck_assert_ptr_null(second);
}
END_TEST

/* ---- Budgets and advertised limits (issue 10, defect 2) ---- */

static uint64_t now_ms(void)
{
	return clock_ns() / 1000000; /* CLOCK_MONOTONIC */
}

/* A read of `nseg` segments, all over the same guest buffer `data`, at `sector`. */
static void add_read(struct vtd_buf hdr, struct vtd_buf data, unsigned nseg, struct vtd_buf status)
{
	struct vtd_buf bufs[VIRTQ_MAX_SIZE];

	ck_assert_uint_le(nseg + 2, VIRTQ_MAX_SIZE);
	bufs[0] = hdr;
	for (unsigned i = 0; i < nseg; i++)
		bufs[1 + i] = data;
	bufs[1 + nseg] = status;
	vtd_add_chain(&drv, REQUEST_Q, bufs, nseg + 2);
}

START_TEST(budget_caps_requests_per_wakeup)
{
	struct vtd_buf bufs[2];
	const unsigned n = 100;

	/* cache=unsafe: a flush is free, so only the request count limits a wake-up. */
	start_device_loop(MVM_DISK_CACHE_UNSAFE, DISK_BYTES, VIRTQ_MAX_SIZE);
	bufs[0] = header(VIRTIO_BLK_T_FLUSH, 0);
	bufs[1] = status_buf();
	for (unsigned i = 0; i < n; i++)
		vtd_add_chain(&drv, REQUEST_Q, bufs, 2);
	/* One QueueNotify is one wake-up: one budget, then the device re-armed itself. */
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_used_pending(&drv, REQUEST_Q), VIRTIO_BLK_BUDGET_REQUESTS);
	ck_assert(vtd_kick_pending(&drv, REQUEST_Q));
	ck_assert_uint_eq(drv.irq_pulses, 1); /* what it completed is not held back */
	/* The rest is served from the loop although the guest never kicks again. */
	vtd_run_loop_ms(loop, 100);
	ck_assert_uint_eq(vtd_used_pending(&drv, REQUEST_Q), n);
	ck_assert_uint_eq(*vtd_host(&drv, bufs[1]), VIRTIO_BLK_S_OK);
	ck_assert(!vtd_kick_pending(&drv, REQUEST_Q));
}
END_TEST

START_TEST(budget_counts_syncs)
{
	struct vtd_buf bufs[2];

	/* cache=writeback: each FLUSH is an fdatasync, charged as 1 MiB of the 4 MiB budget. */
	start_device_loop(MVM_DISK_CACHE_WRITEBACK, DISK_BYTES, 32);
	bufs[0] = header(VIRTIO_BLK_T_FLUSH, 0);
	bufs[1] = status_buf();
	for (unsigned i = 0; i < 10; i++)
		vtd_add_chain(&drv, REQUEST_Q, bufs, 2);
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_used_pending(&drv, REQUEST_Q), 4);
	ck_assert_uint_eq(vtd_serve_rearmed(&drv, REQUEST_Q), 2);
	ck_assert_uint_eq(vtd_used_pending(&drv, REQUEST_Q), 10);
	ck_assert_uint_eq(*vtd_host(&drv, bufs[1]), VIRTIO_BLK_S_OK);
}
END_TEST

START_TEST(budget_caps_bytes_and_splits_big_requests)
{
	struct vtd_buf hdr, data, st;
	uint8_t marker[512], want[512];

	start_device_loop(MVM_DISK_CACHE_WRITEBACK, 16u << 20, 32);
	for (unsigned i = 0; i < sizeof(marker); i++)
		marker[i] = (uint8_t)(0xa5 ^ i);
	file_write(9 << 20, marker, sizeof(marker));
	hdr = header(VIRTIO_BLK_T_IN, 0);
	data = vtd_alloc(&drv, 1u << 20, true);
	st = status_buf();

	/* Six 1 MiB reads: the 4 MiB budget takes four per wake-up. */
	for (unsigned i = 0; i < 6; i++)
		add_read(hdr, data, 1, st);
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_used_pending(&drv, REQUEST_Q), VIRTIO_BLK_BUDGET_BYTES >> 20);
	ck_assert_uint_eq(vtd_serve_rearmed(&drv, REQUEST_Q), 1);
	ck_assert_uint_eq(vtd_used_pending(&drv, REQUEST_Q), 6);
	for (unsigned i = 0; i < 6; i++)
		ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), (1u << 20) + 1);

	/*
	 * One 10 MiB read (ten 1 MiB segments over one buffer): no wake-up
	 * moves more than the budget, so it completes on the third.
	 */
	add_read(hdr, data, 10, st);
	vtd_notify(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_used_pending(&drv, REQUEST_Q), 0);
	ck_assert_uint_eq(vtd_serve_rearmed(&drv, REQUEST_Q), 2);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), (10u << 20) + 1);
	ck_assert_uint_eq(*vtd_host(&drv, st), VIRTIO_BLK_S_OK);
	/* The last segment holds the image's tenth MiB. */
	memcpy(want, marker, sizeof(want));
	ck_assert_mem_eq(vtd_host(&drv, data), want, sizeof(want));
	ck_assert(vtd_guard_intact(&drv, data));
}
END_TEST

START_TEST(reset_drops_a_request_in_progress)
{
	struct vtd_buf hdr, data, st, small;

	start_device_loop(MVM_DISK_CACHE_WRITEBACK, 16u << 20, 32);
	hdr = header(VIRTIO_BLK_T_IN, 0);
	data = vtd_alloc(&drv, 1u << 20, true);
	st = status_buf();
	add_read(hdr, data, 10, st);
	vtd_notify(&drv, REQUEST_Q); /* 4 of 10 MiB moved */
	ck_assert_uint_eq(vtd_used_pending(&drv, REQUEST_Q), 0);
	/* The driver resets and starts over: the old request must not come back. */
	vtd_write32(&drv, VIRTIO_MMIO_STATUS, 0);
	vtd_driver_init(&drv, 0);
	small = vtd_alloc(&drv, 512, true);
	add_read(hdr, small, 1, st);
	vtd_notify(&drv, REQUEST_Q);
	vtd_serve_rearmed(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_used_pending(&drv, REQUEST_Q), 1);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 513);
	ck_assert(!vtd_needs_reset(&drv));
}
END_TEST

START_TEST(segment_above_size_max_is_ioerr_without_io)
{
	uint64_t before;
	struct vtd_buf big, ok;

	start_device_loop(MVM_DISK_CACHE_WRITEBACK, 4u << 20, VTD_QSIZE);
	before = file_checksum();
	/* A write whose one segment is 512 bytes over size_max: nothing reaches the image. */
	big = vtd_alloc(&drv, (1u << 20) + 512, false);
	memset(vtd_host(&drv, big), 0x77, big.len);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_OUT, 0, big, 1), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(file_checksum(), before);
	/* A read segment one page over: the guest buffer is not written either. */
	big = vtd_alloc(&drv, (1u << 20) + 4096, true);
	memset(vtd_host(&drv, big), 0xcc, big.len);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_IN, 0, big, 1), VIRTIO_BLK_S_IOERR);
	for (uint32_t i = 0; i < big.len; i += 4096)
		ck_assert_uint_eq(vtd_host(&drv, big)[i], 0xcc);
	/* Exactly size_max is fine. */
	ok = vtd_alloc(&drv, 1u << 20, true);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_IN, 0, ok, (1u << 20) + 1), VIRTIO_BLK_S_OK);
	ck_assert(!vtd_needs_reset(&drv));
}
END_TEST

/*
 * A write of `nseg` 512-byte data segments; with `merged`, the first shares
 * its descriptor with the header (message framing, §2.6.4), so the chain
 * carries nseg data segments in nseg + 1 descriptors.
 */
static uint8_t segmented_write(unsigned nseg, bool merged)
{
	static struct vtd_buf bufs[VIRTQ_MAX_SIZE + 1];
	struct virtio_blk_outhdr h = {.type = VIRTIO_BLK_T_OUT, .sector = 0};
	struct vtd_buf data = vtd_alloc(&drv, 512, false), first, st = status_buf();
	unsigned n = 0;

	memset(vtd_host(&drv, data), 0x42, 512);
	if (merged) {
		first = vtd_alloc(&drv, sizeof(h) + 512, false);
		memset(vtd_host(&drv, first), 0x42, first.len);
		memcpy(vtd_host(&drv, first), &h, sizeof(h));
		bufs[n++] = first;
		nseg--;
	} else {
		bufs[n++] = header(VIRTIO_BLK_T_OUT, 0);
	}
	for (unsigned i = 0; i < nseg; i++)
		bufs[n++] = data;
	bufs[n++] = st;
	ck_assert_uint_le(n, VIRTQ_MAX_SIZE);
	vtd_add_chain(&drv, REQUEST_Q, bufs, n);
	vtd_notify(&drv, REQUEST_Q);
	vtd_take_used(&drv, REQUEST_Q, NULL);
	return *vtd_host(&drv, st);
}

START_TEST(more_segments_than_seg_max_is_ioerr_without_io)
{
	uint64_t before;

	start_device_loop(MVM_DISK_CACHE_WRITEBACK, DISK_BYTES, VIRTQ_MAX_SIZE);
	ck_assert_uint_eq(cfg_r32(offsetof(struct virtio_blk_config, seg_max)), VIRTQ_MAX_SIZE - 2);
	before = file_checksum();
	/* seg_max + 1 data segments (header merged into the first): refused, image untouched. */
	ck_assert_uint_eq(segmented_write(VIRTQ_MAX_SIZE - 1, true), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(file_checksum(), before);
	ck_assert(!vtd_needs_reset(&drv));
	/* Exactly seg_max, as Linux sends at most: served. */
	ck_assert_uint_eq(segmented_write(VIRTQ_MAX_SIZE - 2, false), VIRTIO_BLK_S_OK);
	ck_assert_uint_ne(file_checksum(), before);
}
END_TEST

/*
 * A hostile driver on its own thread: keeps the ring full of 16 MiB reads
 * (16 segments of 1 MiB over one buffer), putting each completed one back
 * at once and kicking, for up to REFILL_MS.  Before budgets one wake-up
 * drained the ring for as long as this went on, and neither ev_stop() nor
 * a timer got a look in.  The ring holds ~200 MiB of work, so the refiller
 * may be descheduled for tens of ms on a busy machine without the ring
 * running dry (which would have let the old code see the stop too).
 */
#define REFILL_MS   3000u
#define REFILL_SEGS 16u

struct refiller {
	pthread_t thread;
	atomic_bool stop;
	struct vtd_buf bufs[REFILL_SEGS + 2];
	unsigned inflight;
};

static void *refill_main(void *arg)
{
	struct refiller *r = arg;
	uint64_t end = now_ms() + REFILL_MS;

	for (unsigned i = 0; i < r->inflight; i++)
		vtd_add_chain(&drv, REQUEST_Q, r->bufs, REFILL_SEGS + 2);
	vtd_kick(&drv, REQUEST_Q);
	while (!atomic_load(&r->stop) && now_ms() < end) {
		if (!vtd_used_pending(&drv, REQUEST_Q)) {
			sched_yield();
			continue;
		}
		vtd_take_used(&drv, REQUEST_Q, NULL);
		vtd_add_chain(&drv, REQUEST_Q, r->bufs, REFILL_SEGS + 2);
		vtd_kick(&drv, REQUEST_Q);
	}
	return NULL;
}

static void refiller_start(struct refiller *r)
{
	struct vtd_buf data;

	start_device_loop(MVM_DISK_CACHE_WRITEBACK, 16u << 20, VIRTQ_MAX_SIZE);
	data = vtd_alloc(&drv, 1u << 20, true);
	r->bufs[0] = header(VIRTIO_BLK_T_IN, 0);
	for (unsigned i = 0; i < REFILL_SEGS; i++)
		r->bufs[1 + i] = data;
	r->bufs[REFILL_SEGS + 1] = status_buf();
	/* A re-added chain only reuses the descriptors of the one just completed. */
	r->inflight = VIRTQ_MAX_SIZE / (REFILL_SEGS + 2);
	atomic_store(&r->stop, false);
	ck_assert_int_eq(pthread_create(&r->thread, NULL, refill_main, r), 0);
}

static void refiller_stop(struct refiller *r)
{
	atomic_store(&r->stop, true);
	pthread_join(r->thread, NULL);
}

struct stopper {
	pthread_t thread;
	uint64_t at_ms; /* when ev_stop() was called */
};

static void *stop_main(void *arg)
{
	struct stopper *s = arg;

	usleep(100 * 1000);
	s->at_ms = now_ms();
	ev_stop(loop);
	return NULL;
}

START_TEST(stop_wins_against_a_refilling_guest)
{
	struct refiller r;
	struct stopper s;
	uint64_t took;

	refiller_start(&r);
	/* SIGTERM / mvm_vm_request_stop(): ev_stop() from another thread. */
	ck_assert_int_eq(pthread_create(&s.thread, NULL, stop_main, &s), 0);
	ck_assert_int_eq(ev_run(loop), 0);
	took = now_ms();
	pthread_join(s.thread, NULL);
	took -= s.at_ms;
	refiller_stop(&r);
	fprintf(stderr, "virtio_blk: ev_run returned %llu ms after ev_stop\n",
		(unsigned long long)took);
	ck_assert_uint_lt(took, 100);
}
END_TEST

START_TEST(timer_wins_against_a_refilling_guest)
{
	struct refiller r;
	uint64_t start, took;

	refiller_start(&r);
	/* --timeout: a timerfd on the same loop; its callback stops the loop. */
	start = now_ms();
	vtd_run_loop_ms(loop, 100);
	took = now_ms() - start;
	refiller_stop(&r);
	fprintf(stderr, "virtio_blk: a 100 ms timer ended the loop after %llu ms\n",
		(unsigned long long)took);
	ck_assert_uint_lt(took, 200);
}
END_TEST

/* ---- Metrics and disk replacement (mvm_vm_metrics, mvm_vm_replace_disk) ---- */

static uint64_t blk_metric(const char *name)
{
	return vtd_metric(virtio_blk_device_ops(blk), blk, "blk0", name);
}

START_TEST(metrics_count_requests_bytes_and_errors)
{
	struct vtd_buf data;

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	ck_assert_uint_eq(blk_metric("blk0.read_requests"), 0);
	data = vtd_alloc(&drv, 1024, true);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_IN, 0, data, 1025), VIRTIO_BLK_S_OK);
	data = vtd_alloc(&drv, 512, false);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_OUT, 4, data, 1), VIRTIO_BLK_S_OK);
	{
		struct vtd_buf bufs[2] = {header(VIRTIO_BLK_T_FLUSH, 0), status_buf()};
		vtd_add_chain(&drv, REQUEST_Q, bufs, 2);
		vtd_notify(&drv, REQUEST_Q);
		ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), 1);
	}
	/* Past the end: IOERR, counted as a request and an error, no bytes. */
	data = vtd_alloc(&drv, 512, true);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_IN, DISK_BYTES / 512, data, 1),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(blk_metric("blk0.read_requests"), 2);
	ck_assert_uint_eq(blk_metric("blk0.read_bytes"), 1024);
	ck_assert_uint_eq(blk_metric("blk0.write_requests"), 1);
	ck_assert_uint_eq(blk_metric("blk0.write_bytes"), 512);
	ck_assert_uint_eq(blk_metric("blk0.flush_requests"), 1);
	ck_assert_uint_eq(blk_metric("blk0.errors"), 1);
}
END_TEST

/* A second image of `bytes` filled with `fill`; its path in out (64 bytes). */
static void make_other_image(char *out, uint32_t bytes, uint8_t fill)
{
	uint8_t *buf = malloc(bytes);
	int fd;

	strcpy(out, "/tmp/mvm-vblk2-XXXXXX");
	fd = mkstemp(out);
	ck_assert_int_ge(fd, 0);
	memset(buf, fill, bytes);
	ck_assert_int_eq(pwrite(fd, buf, bytes, 0), (ssize_t)bytes);
	close(fd);
	free(buf);
}

static void open_image(struct disk_image *img, const char *p)
{
	struct vmm_err err = {{0}};

	ck_assert_msg(disk_image_open(img, p, false, false, drv.log, &err) == 0, "%s", err.msg);
}

START_TEST(replace_image_changes_capacity_and_data)
{
	char other[64];
	struct disk_image img, probe;
	struct vtd_buf data;
	uint8_t want[512];
	uint32_t gen;

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	make_other_image(other, 2u << 20, 0x5a);
	open_image(&img, other);
	gen = vtd_read32(&drv, VIRTIO_MMIO_CONFIG_GENERATION);

	ck_assert_int_eq(virtio_blk_replace_image(blk, &img), 0);
	ck_assert_int_eq(img.fd, -1); /* moved into the device */
	virtio_config_changed(drv.t); /* what vm.c does when the swap was immediate */
	ck_assert_uint_eq(cfg_r32(0), (2u << 20) / 512);
	ck_assert_uint_eq(virtio_blk_capacity_bytes(blk), 2u << 20);
	ck_assert_uint_ne(vtd_read32(&drv, VIRTIO_MMIO_CONFIG_GENERATION), gen);
	ck_assert(vtd_read32(&drv, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);

	/* Reads come from the new image, past the old one's end too. */
	data = vtd_alloc(&drv, 512, true);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_IN, (1u << 20) / 512 + 3, data, 513),
			  VIRTIO_BLK_S_OK);
	memset(want, 0x5a, sizeof(want));
	ck_assert_mem_eq(vtd_host(&drv, data), want, sizeof(want));
	/* The old image's lock went with it: another writer may take it now. */
	open_image(&probe, path);
	disk_image_close(&probe);
	unlink(other);
}
END_TEST

START_TEST(replace_image_waits_for_the_request_in_flight)
{
	struct vtd_buf hdr, data, st;
	uint8_t marker[512];
	struct disk_image img;
	char other[64];

	start_device_loop(MVM_DISK_CACHE_WRITEBACK, 16u << 20, 32);
	memset(marker, 0xa7, sizeof(marker));
	file_write(9 << 20, marker, sizeof(marker));
	hdr = header(VIRTIO_BLK_T_IN, 0);
	data = vtd_alloc(&drv, 1u << 20, true);
	st = status_buf();
	add_read(hdr, data, 10, st);
	vtd_notify(&drv, REQUEST_Q); /* 4 of 10 MiB moved: in flight */
	ck_assert_uint_eq(vtd_used_pending(&drv, REQUEST_Q), 0);

	make_other_image(other, 2u << 20, 0x11);
	open_image(&img, other);
	ck_assert_int_eq(virtio_blk_replace_image(blk, &img), 1);
	ck_assert_uint_eq(cfg_r32(0), (16u << 20) / 512); /* not yet */
	ck_assert(!(vtd_read32(&drv, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG));

	/* The read finishes on the old image, then the new one takes over. */
	vtd_serve_rearmed(&drv, REQUEST_Q);
	ck_assert_uint_eq(vtd_take_used(&drv, REQUEST_Q, NULL), (10u << 20) + 1);
	ck_assert_uint_eq(*vtd_host(&drv, st), VIRTIO_BLK_S_OK);
	ck_assert_mem_eq(vtd_host(&drv, data), marker, sizeof(marker));
	ck_assert_uint_eq(cfg_r32(0), (2u << 20) / 512);
	ck_assert(vtd_read32(&drv, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	unlink(other);
}
END_TEST

Suite *virtio_blk_suite(void)
{
	Suite *s = suite_create("virtio_blk");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, config_space_and_features_rw);
	tcase_add_test(tc, config_space_and_features_ro);
	tcase_add_test(tc, read_lands_in_guest_memory);
	tcase_add_test(tc, write_split_data_lands_in_file);
	tcase_add_test(tc, flush_and_unsafe_flush);
	tcase_add_test(tc, get_id_short_serial);
	tcase_add_test(tc, get_id_exactly_20);
	tcase_add_test(tc, get_id_none_and_short_buffer);
	tcase_add_test(tc, serial_longer_than_20_is_refused);
	tcase_add_test(tc, out_of_range_is_ioerr_and_file_unchanged);
	tcase_add_test(tc, malformed_requests_are_ioerr);
	tcase_add_test(tc, unknown_types_are_unsupp);
	tcase_add_test(tc, read_only_disk_refuses_writes);
	tcase_add_test(tc, split_header_and_shared_status);
	tcase_add_test(tc, missing_status_needs_reset);
	tcase_add_test(tc, header_only_chain_needs_reset);
	tcase_add_test(tc, batch_gets_one_interrupt);
	tcase_add_test(tc, write_zeroes_and_discard);
	tcase_add_test(tc, discard_unsupp_when_not_negotiated);
	tcase_add_test(tc, busy_image_fails_create);
	tcase_add_test(tc, host_errors_are_rate_limited);
	tcase_add_test(tc, metrics_count_requests_bytes_and_errors);
	tcase_add_test(tc, replace_image_changes_capacity_and_data);
	suite_add_tcase(s, tc);

	tc = tcase_create("budget");
	tcase_add_checked_fixture(tc, setup_loop, teardown_loop);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, budget_caps_requests_per_wakeup);
	tcase_add_test(tc, budget_counts_syncs);
	tcase_add_test(tc, budget_caps_bytes_and_splits_big_requests);
	tcase_add_test(tc, reset_drops_a_request_in_progress);
	tcase_add_test(tc, segment_above_size_max_is_ioerr_without_io);
	tcase_add_test(tc, more_segments_than_seg_max_is_ioerr_without_io);
	tcase_add_test(tc, stop_wins_against_a_refilling_guest);
	tcase_add_test(tc, timer_wins_against_a_refilling_guest);
	tcase_add_test(tc, replace_image_waits_for_the_request_in_flight);
	suite_add_tcase(s, tc);
	return s;
}
