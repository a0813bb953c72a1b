/* SPDX-License-Identifier: MIT */
/*
 * virtio_hostile: sends malformed split rings (VIRTIO 1.2 §2.7) to one
 * virtio-blk device (vda, the victim) through real KVM, and checks after each
 * that the device flagged DEVICE_NEEDS_RESET, that a reset brings it back,
 * and that a second disk (vdb) kept serving reads all along.  Only reads are
 * sent in good faith, and the only hostile write is one that must never
 * reach the disk, so both images must be unchanged afterwards.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/virtio.h"

const char guest_name[] = "virtio_hostile";

#define SECTOR	       VIRTIO_BLK_SECTOR_SIZE
#define HOST_PATTERN_0 0x5a5a5a5a5a5a5a5aull /* sector 0 of the README pattern */

#define HUGE_TABLE     257 /* indirect entries: one more than QueueNumMax (256) */
#define ADDR_NOT_RAM   0x7fff00000000ull
#define ADDR_WRAPS     0xfffffffffffff000ull
#define LEN_WRAPS      0x2000u
#define ODD_TABLE_LEN  40 /* 2.5 descriptors */
#define LOOP_SHORT_LEN 2

/* What a device may do instead of DEVICE_NEEDS_RESET without strict=1. */
enum hostile_alt {
	ALT_NONE,  /* only DEVICE_NEEDS_RESET */
	ALT_IOERR, /* or complete it with VIRTIO_BLK_S_IOERR (a failed DMA) */
	ALT_ANY,   /* or complete it at all (the spec forbids the driver, not the device) */
};

struct hostile_case {
	const char *name;
	void (*send)(struct virtio_dev *dev);
	enum hostile_alt alt;
};

static struct virtio_dev vda, vdb;
static uint8_t sector_buf[SECTOR] __attribute__((aligned(4096)));
static uint8_t junk[SECTOR] __attribute__((aligned(16)));
static struct virtq_desc huge_table[HUGE_TABLE] __attribute__((aligned(16)));

static uint64_t addr(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static void set_desc(struct virtq_desc *d, uint64_t a, uint32_t len, uint16_t flags, uint16_t next)
{
	*d = (struct virtq_desc){.addr = a, .len = len, .flags = flags, .next = next};
}

/* A read of sector 0: the header the device reads first. */
static void set_hdr(struct virtio_dev *dev, uint32_t type)
{
	dev->blk_hdr = (struct virtio_blk_req_hdr){.type = type, .sector = 0};
	dev->blk_status = 0xff;
}

static void hdr_desc(struct virtio_dev *dev, struct virtq_desc *d, uint16_t next)
{
	set_desc(d, addr(&dev->blk_hdr), sizeof(dev->blk_hdr), VIRTQ_DESC_F_NEXT, next);
}

static void status_desc(struct virtio_dev *dev, struct virtq_desc *d)
{
	set_desc(d, addr(&dev->blk_status), 1, VIRTQ_DESC_F_WRITE, 0);
}

/* header -> data -> status in descriptors 0..2; the device writes the data for a read. */
static void build_request(struct virtio_dev *dev, uint64_t data, uint32_t len, uint32_t type)
{
	uint16_t data_flags =
	    VIRTQ_DESC_F_NEXT | (type == VIRTIO_BLK_T_IN ? VIRTQ_DESC_F_WRITE : 0);

	set_hdr(dev, type);
	hdr_desc(dev, &dev->desc[0], 1);
	set_desc(&dev->desc[1], data, len, data_flags, 2);
	status_desc(dev, &dev->desc[2]);
}

/*
 * The loops are all device-readable, so the only thing wrong with them is
 * the loop (a writable descriptor before the jump back to the readable
 * header would also break the descriptor order).
 */
static void send_short_loop(struct virtio_dev *dev)
{
	set_hdr(dev, VIRTIO_BLK_T_OUT);
	hdr_desc(dev, &dev->desc[0], 1);
	set_desc(&dev->desc[1], addr(junk), SECTOR, VIRTQ_DESC_F_NEXT, 0);
	virtio_publish(dev, 0);
}

/* 0 -> 1 -> ... -> 7 -> 0: a chain longer than the queue, through every descriptor. */
static void send_ring_loop(struct virtio_dev *dev)
{
	set_hdr(dev, VIRTIO_BLK_T_OUT);
	hdr_desc(dev, &dev->desc[0], 1);
	for (uint16_t i = 1; i < VIRTQ_SIZE; i++)
		set_desc(&dev->desc[i], addr(junk), SECTOR, VIRTQ_DESC_F_NEXT,
			 (uint16_t)((i + 1) % VIRTQ_SIZE));
	virtio_publish(dev, 0);
}

static void send_head_out_of_range(struct virtio_dev *dev)
{
	build_request(dev, addr(sector_buf), SECTOR, VIRTIO_BLK_T_IN);
	virtio_publish(dev, VIRTQ_SIZE);
}

static void send_next_out_of_range(struct virtio_dev *dev)
{
	set_hdr(dev, VIRTIO_BLK_T_IN);
	hdr_desc(dev, &dev->desc[0], VIRTQ_SIZE);
	virtio_publish(dev, 0);
}

static void send_avail_idx_jump(struct virtio_dev *dev)
{
	build_request(dev, addr(sector_buf), SECTOR, VIRTIO_BLK_T_IN);
	/* Every ring entry names the valid chain at 0, but the index claims 9 of 8. */
	virtio_set_avail_idx(dev, (uint16_t)(dev->avail_idx + VIRTQ_SIZE + 1));
}

/* header, 255 writable sectors (all into one buffer), status: 257 entries. */
static void send_huge_indirect(struct virtio_dev *dev)
{
	set_hdr(dev, VIRTIO_BLK_T_IN);
	hdr_desc(dev, &huge_table[0], 1);
	for (uint16_t i = 1; i < HUGE_TABLE - 1; i++)
		set_desc(&huge_table[i], addr(sector_buf), SECTOR,
			 VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
	status_desc(dev, &huge_table[HUGE_TABLE - 1]);
	set_desc(&dev->desc[0], addr(huge_table), sizeof(huge_table), VIRTQ_DESC_F_INDIRECT, 0);
	virtio_publish(dev, 0);
}

static void send_not_ram(struct virtio_dev *dev)
{
	build_request(dev, ADDR_NOT_RAM, SECTOR, VIRTIO_BLK_T_IN);
	virtio_publish(dev, 0);
}

/* A write from a range that wraps around 2^64: must never reach the disk. */
static void send_wrapping(struct virtio_dev *dev)
{
	build_request(dev, ADDR_WRAPS, LEN_WRAPS, VIRTIO_BLK_T_OUT);
	virtio_publish(dev, 0);
}

static void send_indirect_not_ram(struct virtio_dev *dev)
{
	set_hdr(dev, VIRTIO_BLK_T_IN);
	set_desc(&dev->desc[0], ADDR_NOT_RAM, 3 * sizeof(struct virtq_desc), VIRTQ_DESC_F_INDIRECT,
		 0);
	virtio_publish(dev, 0);
}

static void send_nested_indirect(struct virtio_dev *dev)
{
	set_hdr(dev, VIRTIO_BLK_T_IN);
	/* The inner table is valid; nesting is what §2.7.5.3.1 forbids. */
	hdr_desc(dev, &huge_table[0], 1);
	set_desc(&huge_table[1], addr(sector_buf), SECTOR, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
		 2);
	status_desc(dev, &huge_table[2]);
	set_desc(&dev->indirect[0], addr(huge_table), 3 * sizeof(struct virtq_desc),
		 VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(&dev->desc[0], addr(dev->indirect), sizeof(struct virtq_desc),
		 VIRTQ_DESC_F_INDIRECT, 0);
	virtio_publish(dev, 0);
}

static void send_odd_indirect_len(struct virtio_dev *dev)
{
	set_hdr(dev, VIRTIO_BLK_T_IN);
	hdr_desc(dev, &dev->indirect[0], 1);
	set_desc(&dev->indirect[1], addr(sector_buf), SECTOR,
		 VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	status_desc(dev, &dev->indirect[2]);
	set_desc(&dev->desc[0], addr(dev->indirect), ODD_TABLE_LEN, VIRTQ_DESC_F_INDIRECT, 0);
	virtio_publish(dev, 0);
}

/* header (R), data (W), a stray readable buffer, status (W). */
static void send_readable_after_writable(struct virtio_dev *dev)
{
	set_hdr(dev, VIRTIO_BLK_T_IN);
	hdr_desc(dev, &dev->desc[0], 1);
	set_desc(&dev->desc[1], addr(sector_buf), SECTOR, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
		 2);
	set_desc(&dev->desc[2], addr(junk), 16, VIRTQ_DESC_F_NEXT, 3);
	status_desc(dev, &dev->desc[3]);
	virtio_publish(dev, 0);
}

static void send_no_status(struct virtio_dev *dev)
{
	set_hdr(dev, VIRTIO_BLK_T_IN);
	set_desc(&dev->desc[0], addr(&dev->blk_hdr), sizeof(dev->blk_hdr), 0, 0);
	virtio_publish(dev, 0);
}

static const struct hostile_case cases[] = {
    {"descriptor loop 0->1->0", send_short_loop, ALT_NONE},
    {"loop through the whole ring (chain longer than the queue)", send_ring_loop, ALT_NONE},
    {"avail ring head index 8 (queue size 8)", send_head_out_of_range, ALT_NONE},
    {"next index 8 (queue size 8)", send_next_out_of_range, ALT_NONE},
    {"avail.idx 9 ahead (queue size 8)", send_avail_idx_jump, ALT_NONE},
    {"indirect table of 257 entries (QueueNumMax 256)", send_huge_indirect, ALT_ANY},
    {"data buffer at 0x7fff00000000 (not RAM)", send_not_ram, ALT_IOERR},
    {"write from a range that wraps (0xfffffffffffff000 len 0x2000)", send_wrapping, ALT_IOERR},
    {"indirect table at 0x7fff00000000 (not RAM)", send_indirect_not_ram, ALT_NONE},
    {"nested indirect table", send_nested_indirect, ALT_NONE},
    {"indirect table length 40 (not a multiple of 16)", send_odd_indirect_len, ALT_NONE},
    {"device-readable descriptor after a writable one", send_readable_after_writable, ALT_NONE},
    {"no status byte (one 16-byte readable header)", send_no_status, ALT_ANY},
};

/* A good read of sector 0 with the README pattern. */
static bool read_ok(struct virtio_dev *dev)
{
	const uint64_t *w = (const uint64_t *)sector_buf;
	int st;

	memset(sector_buf, 0xcc, SECTOR);
	st = virtio_blk_request(dev, VIRTIO_BLK_T_IN, 0, sector_buf, SECTOR, true, false);
	if (st != VIRTIO_BLK_S_OK) {
		report_info("read of sector 0: %s (status byte %d)", virtio_strerror(st), st);
		return false;
	}
	if (w[0] != HOST_PATTERN_0 || w[SECTOR / 8 - 1] != HOST_PATTERN_0) {
		report_info("sector 0 holds 0x%lx..0x%lx, not the host pattern", w[0],
			    w[SECTOR / 8 - 1]);
		return false;
	}
	return true;
}

static const char *alt_name(enum hostile_alt alt)
{
	return alt == ALT_IOERR ? "or IOERR" : alt == ALT_ANY ? "or completion" : "only";
}

static void run_case(const struct hostile_case *c, uint64_t base, bool strict)
{
	struct virtq_used_elem elem;
	uint8_t status, st;
	const char *outcome;
	bool ok;
	int ret, err;

	err = virtio_dev_init(&vda, base, VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC));
	if (!report(!err && read_ok(&vda), "%s: vda reset, re-initialised, serves a read (%s)",
		    c->name, virtio_strerror(err)))
		return;
	c->send(&vda);
	virtio_kick(&vda);
	ret = virtio_wait(&vda, &elem);
	status = virtio_status(&vda);
	st = *(volatile uint8_t *)&vda.blk_status;
	if (status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) {
		outcome = "DEVICE_NEEDS_RESET";
		ok = true;
	} else if (ret == VIRTIO_ERR_TIMEOUT) {
		outcome = "no answer, no DEVICE_NEEDS_RESET";
		ok = false;
	} else if (st == VIRTIO_BLK_S_IOERR) {
		outcome = "completed with IOERR";
		ok = !strict && c->alt != ALT_NONE;
	} else {
		outcome = "completed";
		ok = !strict && c->alt == ALT_ANY;
	}
	report(ok, "%s: %s (expected DEVICE_NEEDS_RESET, %s; status 0x%x, used len %u)", c->name,
	       outcome, strict ? "only" : alt_name(c->alt), status, ret == 1 ? elem.len : 0);
	if (status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) {
		/* §2.1.2: a device that needs a reset sends a configuration change notification. */
		virtio_wait_status(&vda, VIRTIO_STATUS_DEVICE_NEEDS_RESET);
		if (strict)
			report(vda.isr_seen & VIRTIO_MMIO_INT_CONFIG,
			       "%s: InterruptStatus had the configuration change bit (0x%x)",
			       c->name, vda.isr_seen);
	}
	report(read_ok(&vdb), "%s: vdb still serves a read", c->name);
}

int guest_main(const struct boot_info *bi)
{
	struct virtio_loc locs[VIRTIO_LOC_MAX];
	uint64_t base_a, base_b, strict = 0, mask = ~0ull;
	const char *how;
	unsigned int n;
	int err;

	cmdline_get_u64(bi, "strict", &strict);
	cmdline_get_u64(bi, "cases", &mask);
	/* vda and vdb from one discovery: virtio_setup() takes a single device. */
	n = virtio_discover(bi, locs, VIRTIO_LOC_MAX, &how);
	base_a = virtio_pick(locs, n, VIRTIO_ID_BLOCK, 0);
	base_b = virtio_pick(locs, n, VIRTIO_ID_BLOCK, 1);
	if (!report(base_a && base_b, "discover=%s: two virtio-blk devices (0x%lx, 0x%lx)", how,
		    base_a, base_b))
		report_done();
	err = virtio_dev_init(&vdb, base_b, 0);
	if (!report(!err && read_ok(&vdb), "vdb initialised and serves a read (%s)",
		    virtio_strerror(err)))
		report_done();
	/* The indirect cases need the feature; without it they would test nothing. */
	err = virtio_dev_init(&vda, base_a, VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC));
	if (!report(!err && (vda.features & VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC)),
		    "vda initialised with VIRTIO_F_RING_INDIRECT_DESC (%s)", virtio_strerror(err)))
		report_done();
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (mask & (1ull << i))
			run_case(&cases[i], base_a, strict);
	}
	err = virtio_dev_init(&vda, base_a, 0);
	report(!err && read_ok(&vda), "vda works after a final reset (%s)", virtio_strerror(err));
	report(read_ok(&vdb) && virtio_status(&vdb) == VIRTIO_STATUS_RUNNING,
	       "vdb still serves a read, status DRIVER_OK");
	report_done();
}
