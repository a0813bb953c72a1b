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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/disk_image.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_mmio.h"

#define RAM_BYTES  (4u << 20)
#define DESC_GPA   0x1000u
#define AVAIL_GPA  0x2000u
#define USED_GPA   0x3000u
#define BUF_GPA	   0x10000u
#define QSIZE	   16u
#define DISK_BYTES (1u << 20)

static const struct logger quiet = {LOG_ERROR, -1, "test"};

struct irq_recorder {
	unsigned pulses;
};

static void record_level(void *opaque, uint32_t gsi, int level)
{
	struct irq_recorder *r = opaque;
	(void)gsi;
	if (level)
		r->pulses++;
}

static struct guest_mem gm;
static uint8_t *ram;
static char path[64];
static struct virtio_blk *blk;
static struct virtio_transport *t;
static struct irq_recorder irqs;
static struct irq_chip chip = {record_level, &irqs};
static uint16_t avail_idx, used_seen, next_desc;
static uint64_t next_buf;

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

/* ---- Transport registers, as a driver uses them ---- */

static void mmio_w(uint64_t off, uint32_t v)
{
	virtio_mmio_write(t, off, &v, 4);
}

static uint32_t mmio_r(uint64_t off)
{
	uint32_t v;
	virtio_mmio_read(t, off, &v, 4);
	return v;
}

static uint32_t cfg_r32(size_t off)
{
	return mmio_r(VIRTIO_MMIO_CONFIG + off);
}

static uint64_t device_features(void)
{
	mmio_w(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint64_t lo = mmio_r(VIRTIO_MMIO_DEVICE_FEATURES);
	mmio_w(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return lo | (uint64_t)mmio_r(VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

/* §3.1.1 driver initialisation; accepts every offered feature except `drop`. */
static void driver_init(uint64_t drop)
{
	uint64_t f = device_features() & ~drop;

	mmio_w(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	mmio_w(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	mmio_w(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	mmio_w(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	mmio_w(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_w(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	mmio_w(VIRTIO_MMIO_STATUS,
	       VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	ck_assert(mmio_r(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	mmio_w(VIRTIO_MMIO_QUEUE_SEL, 0);
	ck_assert_uint_ge(mmio_r(VIRTIO_MMIO_QUEUE_NUM_MAX), QSIZE);
	mmio_w(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	mmio_w(VIRTIO_MMIO_QUEUE_DESC_LOW, DESC_GPA);
	mmio_w(VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	mmio_w(VIRTIO_MMIO_QUEUE_AVAIL_LOW, AVAIL_GPA);
	mmio_w(VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	mmio_w(VIRTIO_MMIO_QUEUE_USED_LOW, USED_GPA);
	mmio_w(VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	mmio_w(VIRTIO_MMIO_QUEUE_READY, 1);
	mmio_w(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	ck_assert(mmio_r(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK);
}

static void start_device(bool read_only, const char *serial, enum mvm_disk_cache cache,
			 uint64_t drop)
{
	struct mvm_disk_config disk = {path, read_only, (char *)serial, cache};
	struct virtio_mmio_env env = {
	    .mem = &gm, .log = &quiet, .irq = {&chip, 5}, .loop = NULL, .register_notify = NULL};
	struct vmm_err err = {{0}};

	ck_assert_int_eq(virtio_blk_create(&blk, &disk, NULL, &quiet, &err), 0);
	ck_assert_int_eq(
	    virtio_mmio_create(&t, virtio_blk_device_ops(blk), blk, 0xd0000000, &env, &err), 0);
	driver_init(drop);
}

static void setup(void)
{
	memset(&gm, 0, sizeof(gm));
	ram = calloc(1, RAM_BYTES);
	ck_assert_int_eq(gm_add_region(&gm, 0, RAM_BYTES, ram), 0);
	make_image();
	blk = NULL;
	t = NULL;
	irqs.pulses = 0;
	avail_idx = used_seen = next_desc = 0;
	next_buf = BUF_GPA;
}

static void teardown(void)
{
	virtio_mmio_destroy(t);
	virtio_blk_destroy(blk);
	unlink(path);
	free(ram);
}

/* ---- A tiny driver-side split ring ---- */

struct buf {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

/* Allocates a guest buffer (16-byte aligned, or +1 to misalign). */
static struct buf gbuf(uint32_t len, bool writable)
{
	struct buf b = {next_buf, len, writable};
	next_buf = (next_buf + len + 15) & ~15ull;
	return b;
}

static void *host(struct buf b)
{
	return ram + b.gpa;
}

/* Writes a chain of descriptors and makes it available; does not notify. */
static void add_chain(const struct buf *bufs, unsigned n)
{
	struct vring_desc *desc = (struct vring_desc *)(ram + DESC_GPA);
	struct vring_avail *avail = (struct vring_avail *)(ram + AVAIL_GPA);
	uint16_t head = next_desc;

	for (unsigned i = 0; i < n; i++) {
		uint16_t d = (uint16_t)((next_desc + i) % QSIZE);
		desc[d].addr = bufs[i].gpa;
		desc[d].len = bufs[i].len;
		desc[d].flags = (uint16_t)((bufs[i].writable ? VRING_DESC_F_WRITE : 0) |
					   (i + 1 < n ? VRING_DESC_F_NEXT : 0));
		desc[d].next = (uint16_t)((d + 1) % QSIZE);
	}
	next_desc = (uint16_t)((next_desc + n) % QSIZE);
	avail->ring[avail_idx % QSIZE] = head;
	avail_idx++;
	__atomic_store_n(&avail->idx, avail_idx, __ATOMIC_RELEASE);
}

static void notify(void)
{
	mmio_w(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

static uint16_t used_idx(void)
{
	return ((struct vring_used *)(ram + USED_GPA))->idx;
}

/* Next used element; fails if the device did not complete one. */
static uint32_t take_used(void)
{
	struct vring_used *used = (struct vring_used *)(ram + USED_GPA);

	ck_assert_uint_ne(used_idx(), used_seen);
	return used->ring[used_seen++ % QSIZE].len;
}

static struct buf header(uint32_t type, uint64_t sector)
{
	struct buf b = gbuf(sizeof(struct virtio_blk_outhdr), false);
	struct virtio_blk_outhdr h = {.type = type, .ioprio = 0, .sector = sector};
	memcpy(host(b), &h, sizeof(h));
	return b;
}

static struct buf status_buf(void)
{
	struct buf b = gbuf(1, true);
	*(uint8_t *)host(b) = 0xee; /* not a valid status: proves the device wrote it */
	return b;
}

/* header, one data buffer, status; returns the status byte and checks used len. */
static uint8_t simple_request(uint32_t type, uint64_t sector, struct buf data,
			      uint32_t want_used_len)
{
	struct buf bufs[3] = {header(type, sector), data, status_buf()};
	add_chain(bufs, 3);
	notify();
	ck_assert_uint_eq(take_used(), want_used_len);
	return *(uint8_t *)host(bufs[2]);
}

/* ---- Tests ---- */

START_TEST(config_space_and_features_rw)
{
	uint64_t f;

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	ck_assert_uint_eq(virtio_blk_capacity_bytes(blk), DISK_BYTES);
	ck_assert_uint_eq(mmio_r(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	f = device_features();
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
	mmio_w(VIRTIO_MMIO_CONFIG, 0);
	ck_assert_uint_eq(cfg_r32(0), DISK_BYTES / 512);
}
END_TEST

START_TEST(config_space_and_features_ro)
{
	uint64_t f;

	start_device(true, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	f = device_features();
	ck_assert(f & (1ull << VIRTIO_BLK_F_RO));
	ck_assert(!(f & (1ull << VIRTIO_BLK_F_DISCARD)));
	ck_assert(!(f & (1ull << VIRTIO_BLK_F_WRITE_ZEROES)));
	ck_assert_uint_eq(cfg_r32(0), DISK_BYTES / 512);
}
END_TEST

START_TEST(read_lands_in_guest_memory)
{
	uint8_t want[1024];
	struct buf data;

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	data = gbuf(1024, true);
	memset(host(data), 0xcc, 1024);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_IN, 8, data, 1025), VIRTIO_BLK_S_OK);
	file_read(8 * 512, want, sizeof(want));
	ck_assert_mem_eq(host(data), want, sizeof(want));
	ck_assert_uint_eq(irqs.pulses, 1);
	ck_assert_uint_eq(mmio_r(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING,
			  VIRTIO_MMIO_INT_VRING);

	/* The last sector of the disk is readable. */
	data = gbuf(512, true);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_IN, DISK_BYTES / 512 - 1, data, 513),
			  VIRTIO_BLK_S_OK);
	file_read(DISK_BYTES - 512, want, 512);
	ck_assert_mem_eq(host(data), want, 512);
}
END_TEST

START_TEST(write_split_data_lands_in_file)
{
	struct buf bufs[4];
	uint8_t got[1536];

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	bufs[0] = header(VIRTIO_BLK_T_OUT, 3);
	bufs[1] = gbuf(512, false);
	bufs[2] = gbuf(1024, false);
	bufs[3] = status_buf();
	memset(host(bufs[1]), 0x11, 512);
	memset(host(bufs[2]), 0x22, 1024);
	add_chain(bufs, 4);
	notify();
	ck_assert_uint_eq(take_used(), 1);
	ck_assert_uint_eq(*(uint8_t *)host(bufs[3]), VIRTIO_BLK_S_OK);
	file_read(3 * 512, got, sizeof(got));
	ck_assert_mem_eq(got, host(bufs[1]), 512);
	ck_assert_mem_eq(got + 512, host(bufs[2]), 1024);

	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_FLUSH, 0, status_buf(), 1), VIRTIO_BLK_S_OK);
}
END_TEST

/* FLUSH without data: header + status only. */
START_TEST(flush_and_unsafe_flush)
{
	struct buf bufs[2];

	start_device(false, NULL, MVM_DISK_CACHE_UNSAFE, 0);
	bufs[0] = header(VIRTIO_BLK_T_FLUSH, 0);
	bufs[1] = status_buf();
	add_chain(bufs, 2);
	notify();
	ck_assert_uint_eq(take_used(), 1);
	ck_assert_uint_eq(*(uint8_t *)host(bufs[1]), VIRTIO_BLK_S_OK);
}
END_TEST

static void check_get_id(const char *serial, const uint8_t want[VIRTIO_BLK_ID_BYTES])
{
	struct buf data;

	start_device(false, serial, MVM_DISK_CACHE_WRITEBACK, 0);
	data = gbuf(VIRTIO_BLK_ID_BYTES + 4, true);
	memset(host(data), 0xff, VIRTIO_BLK_ID_BYTES + 4);
	data.len = VIRTIO_BLK_ID_BYTES;
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_GET_ID, 0, data, 21), VIRTIO_BLK_S_OK);
	ck_assert_mem_eq(host(data), want, VIRTIO_BLK_ID_BYTES);
	ck_assert_uint_eq(((uint8_t *)host(data))[VIRTIO_BLK_ID_BYTES], 0xff);
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
	struct buf data;

	check_get_id(NULL, want);
	/* A buffer shorter than 20 bytes gets the first bytes only. */
	data = gbuf(8, true);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_GET_ID, 0, data, 9), VIRTIO_BLK_S_OK);
}
END_TEST

START_TEST(serial_longer_than_20_is_refused)
{
	struct mvm_disk_config disk = {path, false, "0123456789abcdefghijk",
				       MVM_DISK_CACHE_WRITEBACK};
	struct vmm_err err = {{0}};

	ck_assert_int_eq(virtio_blk_create(&blk, &disk, NULL, &quiet, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "longer than 20 bytes"));
	blk = NULL;
}
END_TEST

START_TEST(out_of_range_is_ioerr_and_file_unchanged)
{
	uint64_t before = file_checksum();
	struct buf data;

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	data = gbuf(1024, false);
	memset(host(data), 0x77, 1024);
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
	ck_assert_uint_eq(mmio_r(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_IN, 0, data, 1025), VIRTIO_BLK_S_OK);
}
END_TEST

START_TEST(malformed_requests_are_ioerr)
{
	uint64_t before = file_checksum();
	struct buf bufs[4];

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	/* Data not a multiple of 512. */
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_OUT, 0, gbuf(100, false), 1),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_IN, 0, gbuf(513, true), 1),
			  VIRTIO_BLK_S_IOERR);
	/* Wrong direction: IN with readable data, OUT with writable data. */
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_IN, 0, gbuf(512, false), 1),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_OUT, 0, gbuf(512, true), 1),
			  VIRTIO_BLK_S_IOERR);
	/* IN with readable bytes after the header as well as writable data. */
	bufs[0] = header(VIRTIO_BLK_T_IN, 0);
	bufs[1] = gbuf(512, false);
	bufs[2] = gbuf(512, true);
	bufs[3] = status_buf();
	add_chain(bufs, 4);
	notify();
	ck_assert_uint_eq(take_used(), 1);
	ck_assert_uint_eq(*(uint8_t *)host(bufs[3]), VIRTIO_BLK_S_IOERR);
	/* No data at all. */
	bufs[0] = header(VIRTIO_BLK_T_IN, 0);
	bufs[1] = status_buf();
	add_chain(bufs, 2);
	notify();
	ck_assert_uint_eq(take_used(), 1);
	ck_assert_uint_eq(*(uint8_t *)host(bufs[1]), VIRTIO_BLK_S_IOERR);
	/* A header of 8 bytes. */
	bufs[0] = gbuf(8, false);
	memset(host(bufs[0]), 0, 8);
	bufs[1] = status_buf();
	add_chain(bufs, 2);
	notify();
	ck_assert_uint_eq(take_used(), 1);
	ck_assert_uint_eq(*(uint8_t *)host(bufs[1]), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(file_checksum(), before);
	ck_assert_uint_eq(mmio_r(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
}
END_TEST

START_TEST(unknown_types_are_unsupp)
{
	uint32_t types[] = {
	    VIRTIO_BLK_T_SCSI_CMD,     3,	   10,
	    VIRTIO_BLK_T_SECURE_ERASE, 0x12345678, VIRTIO_BLK_T_BARRIER | VIRTIO_BLK_T_OUT};

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		ck_assert_uint_eq(simple_request(types[i], 0, gbuf(512, true), 1),
				  VIRTIO_BLK_S_UNSUPP);
}
END_TEST

START_TEST(read_only_disk_refuses_writes)
{
	uint64_t before = file_checksum();
	struct buf seg;
	struct virtio_blk_discard_write_zeroes d = {.sector = 0, .num_sectors = 8, .flags = 0};

	start_device(true, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_OUT, 0, gbuf(512, false), 1),
			  VIRTIO_BLK_S_IOERR);
	seg = gbuf(sizeof(d), false);
	memcpy(host(seg), &d, sizeof(d));
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_DISCARD, 0, seg, 1), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 1), VIRTIO_BLK_S_IOERR);
	/* Reads and flushes still work. */
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_IN, 0, gbuf(512, true), 513),
			  VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_FLUSH, 0, status_buf(), 1), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(file_checksum(), before);
}
END_TEST

/* Header in two descriptors (8 + 8), status byte sharing the data buffer. */
START_TEST(split_header_and_shared_status)
{
	struct virtio_blk_outhdr h = {.type = VIRTIO_BLK_T_IN, .sector = 2};
	struct buf bufs[3];
	uint8_t want[512];

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	bufs[0] = gbuf(8, false);
	bufs[1] = gbuf(8, false);
	memcpy(host(bufs[0]), &h, 8);
	memcpy(host(bufs[1]), (uint8_t *)&h + 8, 8);
	bufs[2] = gbuf(513, true);
	memset(host(bufs[2]), 0xee, 513);
	add_chain(bufs, 3);
	notify();
	ck_assert_uint_eq(take_used(), 513);
	file_read(2 * 512, want, 512);
	ck_assert_mem_eq(host(bufs[2]), want, 512);
	ck_assert_uint_eq(((uint8_t *)host(bufs[2]))[512], VIRTIO_BLK_S_OK);
}
END_TEST

START_TEST(missing_status_needs_reset)
{
	struct buf bufs[2];
	unsigned pulses;

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	/* Last buffer device-readable: nowhere to put the status. */
	bufs[0] = header(VIRTIO_BLK_T_OUT, 0);
	bufs[1] = gbuf(512, false);
	add_chain(bufs, 2);
	notify();
	ck_assert_uint_eq(used_idx(), 0);
	ck_assert_uint_eq(mmio_r(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET,
			  VIRTIO_CONFIG_S_NEEDS_RESET);
	ck_assert_uint_eq(mmio_r(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG,
			  VIRTIO_MMIO_INT_CONFIG);
	/* Further requests are not served until the driver resets. */
	pulses = irqs.pulses;
	{
		struct buf ok[3] = {header(VIRTIO_BLK_T_IN, 0), gbuf(512, true), status_buf()};
		add_chain(ok, 3);
		notify();
		ck_assert_uint_eq(used_idx(), 0);
		ck_assert_uint_eq(irqs.pulses, pulses);
	}
	/* Reset and re-initialise: the device works again. */
	mmio_w(VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(mmio_r(VIRTIO_MMIO_STATUS), 0);
	memset(ram + DESC_GPA, 0, 0x3000);
	avail_idx = used_seen = next_desc = 0;
	driver_init(0);
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_IN, 0, gbuf(512, true), 513),
			  VIRTIO_BLK_S_OK);
}
END_TEST

/* A chain that is only the header: no status byte either. */
START_TEST(header_only_chain_needs_reset)
{
	struct buf h;

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	h = header(VIRTIO_BLK_T_FLUSH, 0);
	add_chain(&h, 1);
	notify();
	ck_assert_uint_eq(used_idx(), 0);
	ck_assert_uint_eq(mmio_r(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET,
			  VIRTIO_CONFIG_S_NEEDS_RESET);
}
END_TEST

START_TEST(batch_gets_one_interrupt)
{
	struct buf st[3];

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 1ull << VIRTIO_RING_F_EVENT_IDX);
	for (int i = 0; i < 3; i++) {
		struct buf bufs[3] = {header(VIRTIO_BLK_T_IN, (uint64_t)i), gbuf(512, true),
				      status_buf()};
		st[i] = bufs[2];
		add_chain(bufs, 3);
	}
	notify();
	ck_assert_uint_eq(used_idx(), 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(take_used(), 513);
		ck_assert_uint_eq(*(uint8_t *)host(st[i]), VIRTIO_BLK_S_OK);
	}
	ck_assert_uint_eq(irqs.pulses, 1);

	/* The driver suppressed interrupts: completions without a pulse. */
	((struct vring_avail *)(ram + AVAIL_GPA))->flags = VRING_AVAIL_F_NO_INTERRUPT;
	ck_assert_uint_eq(simple_request(VIRTIO_BLK_T_IN, 0, gbuf(512, true), 513),
			  VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(irqs.pulses, 1);
}
END_TEST

static struct buf dwz_seg(uint64_t sector, uint32_t n, uint32_t flags)
{
	struct virtio_blk_discard_write_zeroes d = {
	    .sector = sector, .num_sectors = n, .flags = flags};
	struct buf b = gbuf(sizeof(d), false);
	memcpy(host(b), &d, sizeof(d));
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
	struct buf two;
	struct virtio_blk_discard_write_zeroes d[2] = {{0, 1, 0}, {4, 1, 0}};
	uint64_t before;

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	f = device_features();
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
	two = gbuf(sizeof(d), false);
	memcpy(host(two), d, sizeof(d));
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

START_TEST(busy_image_fails_create)
{
	struct mvm_disk_config disk = {path, false, NULL, MVM_DISK_CACHE_WRITEBACK};
	struct virtio_blk *second = NULL;
	struct vmm_err err = {{0}};

	start_device(false, NULL, MVM_DISK_CACHE_WRITEBACK, 0);
	ck_assert_int_eq(virtio_blk_create(&second, &disk, NULL, &quiet, &err), -EBUSY);
	ck_assert_ptr_nonnull(strstr(err.msg, "is in use by another process (locked)"));
	ck_assert_ptr_null(second);
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
	suite_add_tcase(s, tc);
	return s;
}
