/* SPDX-License-Identifier: MIT */
/*
 * virtio_blk: drives a virtio-blk device (VIRTIO 1.2 §5.2) with the polled
 * driver in lib/virtio.c: discovery through the DSDT or the command line,
 * feature negotiation, config space, GET_ID, reads of a pattern the host
 * wrote, writes, FLUSH, DISCARD, WRITE_ZEROES, and the error statuses
 * (IOERR, UNSUPP) that must not break the device.  The image pattern and the
 * command line are in README.md.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/virtio.h"

const char guest_name[] = "virtio_blk";

#define SECTOR		 VIRTIO_BLK_SECTOR_SIZE
#define WORDS_PER_SECTOR (SECTOR / 8)
#define MIN_SECTORS	 64 /* the sectors below are all under 48 */
#define BUF_SECTORS	 16

/* Sectors this guest touches (README.md). */
#define READ_FIRST	   0  /* 0..7: host pattern, one 4 KiB buffer */
#define READ_SEGS_FIRST	   8  /* 8..9: host pattern, two 512-byte buffers */
#define WRITE_FIRST	   16 /* 16..31: guest pattern */
#define DISCARD_FIRST	   32 /* 32..39: discarded (zeros or the old data) */
#define WRITE_ZEROES_FIRST 40 /* 40..47: zeros */
#define RANGE_SECTORS	   8

#define BAD_TYPE 99

/* The patterns of README.md: sector i is 64 copies of this little-endian word. */
#define PATTERN_STEP  0x0101010101010101ull
#define HOST_PATTERN  0x5a5a5a5a5a5a5a5aull
#define GUEST_PATTERN 0xa5a5a5a5a5a5a5a5ull

static struct virtio_dev vda;
static uint8_t buf[BUF_SECTORS * SECTOR] __attribute__((aligned(4096)));
static uint8_t id_buf[VIRTIO_BLK_ID_BYTES + 1] __attribute__((aligned(16)));
static struct virtio_blk_discard_write_zeroes range __attribute__((aligned(16)));

static void fill(uint64_t first, unsigned int nsect, uint64_t xor)
{
	uint64_t *w = (uint64_t *)buf;

	for (unsigned int s = 0; s < nsect; s++) {
		uint64_t v = (first + s) * PATTERN_STEP ^ xor;

		for (unsigned int i = 0; i < WORDS_PER_SECTOR; i++)
			*w++ = v;
	}
}

/* True if buf holds sectors first.. in the pattern (xor) or zeros (zero). */
static bool matches(uint64_t first, unsigned int nsect, uint64_t xor, bool zero)
{
	const uint64_t *w = (const uint64_t *)buf;

	for (unsigned int s = 0; s < nsect; s++) {
		uint64_t v = zero ? 0 : (first + s) * PATTERN_STEP ^ xor;

		for (unsigned int i = 0; i < WORDS_PER_SECTOR; i++, w++) {
			if (*w != v) {
				report_info("sector %lu word %u: 0x%lx, expected 0x%lx", first + s,
					    i, *w, v);
				return false;
			}
		}
	}
	return true;
}

/* Sector-sized buffers one descriptor each: header, nseg * 512 bytes of buf, status. */
static int blk_segments(uint32_t type, uint64_t sector, unsigned int nseg, bool device_writes,
			bool indirect)
{
	struct virtio_buf bufs[VIRTQ_INDIRECT_MAX];
	unsigned int n = 0;
	int ret;

	if (nseg + 2 > VIRTQ_INDIRECT_MAX || nseg > BUF_SECTORS)
		return VIRTIO_ERR_ARGS;
	vda.blk_hdr = (struct virtio_blk_req_hdr){.type = type, .sector = sector};
	vda.blk_status = 0xff;
	bufs[n++] = virtio_buf_of(&vda.blk_hdr, sizeof(vda.blk_hdr), false);
	for (unsigned int i = 0; i < nseg; i++)
		bufs[n++] = virtio_buf_of(buf + i * SECTOR, SECTOR, device_writes);
	bufs[n++] = virtio_buf_of(&vda.blk_status, 1, true);
	ret = virtio_request(&vda, bufs, n, indirect, NULL);
	return ret < 0 ? ret : *(volatile uint8_t *)&vda.blk_status;
}

static int blk_read(uint64_t sector, unsigned int nsect, bool indirect)
{
	memset(buf, 0xcc, nsect * SECTOR);
	return virtio_blk_request(&vda, VIRTIO_BLK_T_IN, sector, buf, nsect * SECTOR, true,
				  indirect);
}

static int blk_range(uint32_t type, uint64_t sector, uint32_t nsect)
{
	range = (struct virtio_blk_discard_write_zeroes){.sector = sector, .num_sectors = nsect};
	return virtio_blk_request(&vda, type, 0, &range, sizeof(range), false, false);
}

/* A status byte, or a driver error, for a check line. */
static const char *st_name(int st)
{
	switch (st) {
	case VIRTIO_BLK_S_OK:
		return "OK";
	case VIRTIO_BLK_S_IOERR:
		return "IOERR";
	case VIRTIO_BLK_S_UNSUPP:
		return "UNSUPP";
	case 0xff:
		return "no status written";
	default:
		return st < 0 ? virtio_strerror(st) : "unknown status";
	}
}

static void check_window(const struct virtio_loc *l)
{
	uint64_t slot;

	/* Only minivmm's own windows have a known size and GSI (boot/layout.h). */
	if (l->base < VIRTIO_MMIO_BASE ||
	    l->base >= VIRTIO_MMIO_BASE + VIRTIO_MMIO_MAX * VIRTIO_MMIO_SIZE)
		return;
	slot = (l->base - VIRTIO_MMIO_BASE) / VIRTIO_MMIO_SIZE;
	report(l->size == VIRTIO_MMIO_SIZE && l->irq == VIRTIO_MMIO_GSI0 + slot &&
		   l->base == VIRTIO_MMIO_BASE + slot * VIRTIO_MMIO_SIZE,
	       "window 0x%lx: size 0x%lx and GSI %u as boot/layout.h says", l->base, l->size,
	       l->irq);
}

static void check_config(uint64_t capacity, uint64_t expect_sectors, bool have_expect)
{
	uint64_t f = vda.features;

	if (have_expect)
		report(capacity == expect_sectors, "capacity %lu sectors (expected %lu)", capacity,
		       expect_sectors);
	if (f & VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE)) {
		uint32_t bs = virtio_config32(&vda, VIRTIO_BLK_CFG_BLK_SIZE);

		report(bs >= SECTOR && !(bs & (bs - 1)), "blk_size %u is a power of two >= 512",
		       bs);
	}
	if (f & VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX)) {
		uint32_t seg_max = virtio_config32(&vda, VIRTIO_BLK_CFG_SEG_MAX);

		report(seg_max >= RANGE_SECTORS, "seg_max %u >= 8", seg_max);
	}
	if (f & VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX)) {
		uint32_t size_max = virtio_config32(&vda, VIRTIO_BLK_CFG_SIZE_MAX);

		report(size_max >= RANGE_SECTORS * SECTOR, "size_max %u >= 4096", size_max);
	}
	if (f & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD))
		report_info("max_discard_sectors=%u max_discard_seg=%u",
			    virtio_config32(&vda, VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS),
			    virtio_config32(&vda, VIRTIO_BLK_CFG_MAX_DISCARD_SEG));
	if (f & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES))
		report_info("max_write_zeroes_sectors=%u max_write_zeroes_seg=%u",
			    virtio_config32(&vda, VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECT),
			    virtio_config32(&vda, VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG));
}

static void check_get_id(const struct boot_info *bi)
{
	char serial[VIRTIO_BLK_ID_BYTES + 8];
	size_t len;
	int st;

	memset(id_buf, 0, sizeof(id_buf));
	st = virtio_blk_request(&vda, VIRTIO_BLK_T_GET_ID, 0, id_buf, VIRTIO_BLK_ID_BYTES, true,
				false);
	for (unsigned int i = 0; i < VIRTIO_BLK_ID_BYTES; i++) {
		if (id_buf[i] && (id_buf[i] < 0x20 || id_buf[i] > 0x7e))
			id_buf[i] = '?';
	}
	if (!report(st == VIRTIO_BLK_S_OK, "GET_ID: %s, id \"%s\"", st_name(st), (char *)id_buf))
		return;
	if (!cmdline_get(bi, "serial", serial, sizeof(serial)))
		return;
	/* Up to 20 bytes, NUL-padded when shorter (§5.2.6). */
	len = strlen(serial);
	report(len <= VIRTIO_BLK_ID_BYTES && !memcmp(id_buf, serial, len) &&
		   (len == VIRTIO_BLK_ID_BYTES || !id_buf[len]),
	       "GET_ID is serial=%s", serial);
}

static void check_reads(uint64_t capacity, bool indirect)
{
	int st;

	st = blk_read(READ_FIRST, RANGE_SECTORS, false);
	report(st == VIRTIO_BLK_S_OK && matches(READ_FIRST, RANGE_SECTORS, HOST_PATTERN, false),
	       "read sectors 0..7 (one 4 KiB buffer): %s, host pattern", st_name(st));
	report(vda.last_used_len == RANGE_SECTORS * SECTOR + 1,
	       "used length of that read is %u (4096 data + 1 status)", vda.last_used_len);
	memset(buf, 0xcc, 2 * SECTOR);
	st = blk_segments(VIRTIO_BLK_T_IN, READ_SEGS_FIRST, 2, true, false);
	report(st == VIRTIO_BLK_S_OK && matches(READ_SEGS_FIRST, 2, HOST_PATTERN, false),
	       "read sectors 8..9 (two 512-byte buffers): %s, host pattern", st_name(st));
	st = blk_read(capacity - 1, 1, indirect);
	report(st == VIRTIO_BLK_S_OK && matches(capacity - 1, 1, HOST_PATTERN, false),
	       "read the last sector %lu%s: %s, host pattern", capacity - 1,
	       indirect ? " (indirect)" : "", st_name(st));
}

static void check_writes(bool indirect)
{
	int st;

	fill(WRITE_FIRST, RANGE_SECTORS, GUEST_PATTERN);
	st = virtio_blk_request(&vda, VIRTIO_BLK_T_OUT, WRITE_FIRST, buf, RANGE_SECTORS * SECTOR,
				false, false);
	report(st == VIRTIO_BLK_S_OK, "write sectors 16..23 (one 4 KiB buffer): %s", st_name(st));
	fill(WRITE_FIRST + RANGE_SECTORS, RANGE_SECTORS, GUEST_PATTERN);
	st = blk_segments(VIRTIO_BLK_T_OUT, WRITE_FIRST + RANGE_SECTORS, RANGE_SECTORS, false,
			  indirect);
	report(st == VIRTIO_BLK_S_OK, "write sectors 24..31 (eight 512-byte buffers%s): %s",
	       indirect ? ", indirect" : "", st_name(st));
	if (vda.features & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH)) {
		st = virtio_blk_request(&vda, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false, false);
		report(st == VIRTIO_BLK_S_OK, "FLUSH: %s", st_name(st));
	} else {
		report_info("VIRTIO_BLK_F_FLUSH not offered: no FLUSH");
	}
	st = blk_read(WRITE_FIRST, 2 * RANGE_SECTORS, false);
	report(st == VIRTIO_BLK_S_OK &&
		   matches(WRITE_FIRST, 2 * RANGE_SECTORS, GUEST_PATTERN, false),
	       "read back sectors 16..31: %s, guest pattern", st_name(st));
	st = blk_read(WRITE_FIRST - 1, 1, false);
	report(st == VIRTIO_BLK_S_OK && matches(WRITE_FIRST - 1, 1, HOST_PATTERN, false),
	       "sector 15 still has the host pattern");
	st = blk_read(DISCARD_FIRST, 1, false);
	report(st == VIRTIO_BLK_S_OK && matches(DISCARD_FIRST, 1, HOST_PATTERN, false),
	       "sector 32 still has the host pattern");
}

static void check_discard_write_zeroes(uint64_t capacity)
{
	int st;

	if (vda.features & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD)) {
		st = blk_range(VIRTIO_BLK_T_DISCARD, DISCARD_FIRST, RANGE_SECTORS);
		report(st == VIRTIO_BLK_S_OK, "DISCARD sectors 32..39: %s", st_name(st));
		/* Discarded data is unspecified (§5.2.6.2): zeros or what was there. */
		st = blk_read(DISCARD_FIRST, RANGE_SECTORS, false);
		report(st == VIRTIO_BLK_S_OK &&
			   (matches(DISCARD_FIRST, RANGE_SECTORS, 0, true) ||
			    matches(DISCARD_FIRST, RANGE_SECTORS, HOST_PATTERN, false)),
		       "sectors 32..39 read back as zeros or the host pattern");
	} else {
		report_info("VIRTIO_BLK_F_DISCARD not offered");
	}
	if (vda.features & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES)) {
		st = blk_range(VIRTIO_BLK_T_WRITE_ZEROES, WRITE_ZEROES_FIRST, RANGE_SECTORS);
		report(st == VIRTIO_BLK_S_OK, "WRITE_ZEROES sectors 40..47: %s", st_name(st));
		st = blk_read(WRITE_ZEROES_FIRST, RANGE_SECTORS, false);
		report(st == VIRTIO_BLK_S_OK && matches(WRITE_ZEROES_FIRST, RANGE_SECTORS, 0, true),
		       "sectors 40..47 read back as zeros");
		st = blk_range(VIRTIO_BLK_T_WRITE_ZEROES, capacity - 4, RANGE_SECTORS);
		report(st == VIRTIO_BLK_S_IOERR, "WRITE_ZEROES past the end: %s (IOERR expected)",
		       st_name(st));
	} else {
		report_info("VIRTIO_BLK_F_WRITE_ZEROES not offered");
	}
}

static void check_read_only(void)
{
	int st;

	fill(WRITE_FIRST, 1, GUEST_PATTERN);
	st = virtio_blk_request(&vda, VIRTIO_BLK_T_OUT, WRITE_FIRST, buf, SECTOR, false, false);
	report(st == VIRTIO_BLK_S_IOERR, "write to a read-only disk: %s (IOERR expected)",
	       st_name(st));
	if (vda.features & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES)) {
		st = blk_range(VIRTIO_BLK_T_WRITE_ZEROES, WRITE_FIRST, 1);
		report(st == VIRTIO_BLK_S_IOERR,
		       "WRITE_ZEROES on a read-only disk: %s (IOERR expected)", st_name(st));
	}
	if (vda.features & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD)) {
		st = blk_range(VIRTIO_BLK_T_DISCARD, WRITE_FIRST, 1);
		report(st == VIRTIO_BLK_S_IOERR, "DISCARD on a read-only disk: %s (IOERR expected)",
		       st_name(st));
	}
	st = blk_read(WRITE_FIRST, 1, false);
	report(st == VIRTIO_BLK_S_OK && matches(WRITE_FIRST, 1, HOST_PATTERN, false),
	       "sector 16 still has the host pattern");
}

static void check_errors(uint64_t capacity, bool ro)
{
	int st;

	st = blk_read(capacity, 1, false);
	report(st == VIRTIO_BLK_S_IOERR, "read at sector %lu (= capacity): %s (IOERR expected)",
	       capacity, st_name(st));
	st = blk_read(capacity - 1, 2, false);
	report(st == VIRTIO_BLK_S_IOERR, "read across the end: %s (IOERR expected)", st_name(st));
	st = blk_read(~0ull, 1, false);
	report(st == VIRTIO_BLK_S_IOERR, "read at sector 2^64-1: %s (IOERR expected)", st_name(st));
	if (!ro) {
		fill(0, 1, GUEST_PATTERN);
		st =
		    virtio_blk_request(&vda, VIRTIO_BLK_T_OUT, capacity, buf, SECTOR, false, false);
		report(st == VIRTIO_BLK_S_IOERR,
		       "write at sector %lu (= capacity): %s (IOERR expected)", capacity,
		       st_name(st));
	}
	st = virtio_blk_request(&vda, BAD_TYPE, 0, NULL, 0, false, false);
	report(st == VIRTIO_BLK_S_UNSUPP, "request type %u: %s (UNSUPP expected)", BAD_TYPE,
	       st_name(st));
}

int guest_main(const struct boot_info *bi)
{
	struct virtio_want want = {
	    .name = "virtio-blk",
	    .device_id = VIRTIO_ID_BLOCK,
	    .features = VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) |
			VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
			VIRTIO_BIT(VIRTIO_BLK_F_RO) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
			VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
			VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES),
	    .check_window = check_window,
	};
	struct virtio_dev *const queues[1] = {&vda};
	uint64_t capacity, expect_sectors = 0, expect_ro = 0, disk = 0;
	bool have_expect, ro, indirect;
	uint8_t status;

	have_expect = cmdline_get_u64(bi, "expect_sectors", &expect_sectors);
	cmdline_get_u64(bi, "ro", &expect_ro);
	cmdline_get_u64(bi, "disk", &disk);
	want.index = (unsigned int)disk;
	if (virtio_setup(bi, &want, queues, 1))
		report_done();
	ro = vda.features & VIRTIO_BIT(VIRTIO_BLK_F_RO);
	indirect = vda.features & VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC);
	report(ro == (expect_ro != 0), "VIRTIO_BLK_F_RO is %s (ro=%lu)", ro ? "set" : "clear",
	       expect_ro);
	capacity = virtio_config64(&vda, VIRTIO_BLK_CFG_CAPACITY);
	printf("virtio_blk: capacity=%lu\n", capacity);
	if (!report(capacity >= MIN_SECTORS, "capacity %lu >= %u sectors", capacity, MIN_SECTORS))
		report_done();
	check_config(capacity, expect_sectors, have_expect);
	check_get_id(bi);
	check_reads(capacity, indirect);
	/* ro=1 from the host: no writes even if the device forgot VIRTIO_BLK_F_RO. */
	if (ro || expect_ro) {
		check_read_only();
	} else {
		check_writes(indirect);
		check_discard_write_zeroes(capacity);
	}
	check_errors(capacity, ro || expect_ro);
	status = virtio_status(&vda);
	report(status == VIRTIO_STATUS_RUNNING,
	       "status 0x%x after the error statuses (DRIVER_OK, no DEVICE_NEEDS_RESET)", status);
	report_done();
}
