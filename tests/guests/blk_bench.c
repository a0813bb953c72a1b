/* SPDX-License-Identifier: MIT */
/*
 * blk_bench: the direct-KVM half of bench/disk.py.  Drives one virtio-blk
 * disk with the polled driver in lib/virtio.c, one request in flight
 * (queue depth 1, like dd and the 4 KiB random reads of the Linux half):
 *   seqwrite  seq_mib requests of 1 MiB (SIZE_MAX of minivmm's device) from
 *             sector 0, then one FLUSH (dd oflag=direct conv=fsync);
 *   seqread   the same range read back in 1 MiB requests;
 *   randread  4 KiB reads at 4 KiB-aligned offsets (xorshift) over the whole
 *             disk until the RTC second has ticked rand_ticks times.
 * The guest keeps no time: each phase is bracketed by "blk_bench: begin X"
 * and "blk_bench: end X ..." lines and the host times the lines as they
 * arrive (seconds-long phases, so a line's few ms do not matter).  Buffers
 * are never touched by the CPU: under PVM every guest kernel instruction is
 * emulated and a memcpy would measure that instead of the disk path.
 *
 * Command line (all optional): seq_mib=N (default 32), rand_ticks=N (2),
 * rand_max_ops=N (200000: the backstop for a machine whose RTC does not tick),
 * disk=N (the Nth virtio-blk device, default 0), discover=acpi|cmdline.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/virtio.h"

const char guest_name[] = "blk_bench";

#define SECTOR	       VIRTIO_BLK_SECTOR_SIZE
#define SEQ_BYTES      (1u << 20)
#define RAND_BYTES     4096u
#define RAND_SECTORS   (RAND_BYTES / SECTOR)
#define RTC_SECONDS    0x00
#define RTC_CHECK_MASK 15u /* look at the RTC every 16 requests: a CMOS read is 2 exits */

static struct virtio_dev vda;
static uint8_t buf[SEQ_BYTES] __attribute__((aligned(4096)));

/* Sequential 1 MiB requests over [0, mib MiB); returns how many failed. */
static unsigned int sequential(uint32_t type, uint64_t mib)
{
	unsigned int errors = 0;

	for (uint64_t i = 0; i < mib; i++) {
		int st = virtio_blk_request(&vda, type, i * (SEQ_BYTES / SECTOR), buf, SEQ_BYTES,
					    type == VIRTIO_BLK_T_IN, false);

		errors += st != VIRTIO_BLK_S_OK;
	}
	return errors;
}

static uint64_t xorshift64(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

int guest_main(const struct boot_info *bi)
{
	/* No SIZE_MAX/SEG_MAX limits to honour below 1 MiB in one segment. */
	struct virtio_want want = {
	    .name = "virtio-blk",
	    .device_id = VIRTIO_ID_BLOCK,
	    .features = VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) |
			VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE),
	};
	struct virtio_dev *const queues[1] = {&vda};
	uint64_t capacity, seq_mib = 32, rand_ticks = 2, rand_max_ops = 200000, blocks, disk = 0;
	uint64_t ops = 0, seed = 0x9e3779b9;
	unsigned int errors, ticks = 0;
	uint8_t last_second;

	cmdline_get_u64(bi, "seq_mib", &seq_mib);
	cmdline_get_u64(bi, "rand_ticks", &rand_ticks);
	cmdline_get_u64(bi, "rand_max_ops", &rand_max_ops);
	cmdline_get_u64(bi, "disk", &disk);
	want.index = (unsigned int)disk;
	if (virtio_setup(bi, &want, queues, 1))
		report_done();
	if (vda.features & VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) &&
	    virtio_config32(&vda, VIRTIO_BLK_CFG_SIZE_MAX) < SEQ_BYTES) {
		report(false, "size_max %u < 1 MiB",
		       virtio_config32(&vda, VIRTIO_BLK_CFG_SIZE_MAX));
		report_done();
	}
	capacity = virtio_config64(&vda, VIRTIO_BLK_CFG_CAPACITY);
	blocks = capacity / RAND_SECTORS;
	if (!report(capacity >= seq_mib * (SEQ_BYTES / SECTOR) && blocks > 0,
		    "capacity %lu sectors holds seq_mib=%lu", capacity, seq_mib))
		report_done();

	printf("blk_bench: begin seqwrite\n");
	errors = sequential(VIRTIO_BLK_T_OUT, seq_mib);
	if (vda.features & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH))
		errors += virtio_blk_request(&vda, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false, false) !=
			  VIRTIO_BLK_S_OK;
	printf("blk_bench: end seqwrite bytes=%lu errors=%u\n", seq_mib * SEQ_BYTES, errors);
	report(errors == 0, "seqwrite: %lu MiB and a FLUSH without errors", seq_mib);

	printf("blk_bench: begin seqread\n");
	errors = sequential(VIRTIO_BLK_T_IN, seq_mib);
	printf("blk_bench: end seqread bytes=%lu errors=%u\n", seq_mib * SEQ_BYTES, errors);
	report(errors == 0, "seqread: %lu MiB without errors", seq_mib);

	errors = 0;
	last_second = cmos_read(RTC_SECONDS);
	printf("blk_bench: begin randread\n");
	while (ticks < rand_ticks && ops < rand_max_ops) {
		uint64_t sector = xorshift64(&seed) % blocks * RAND_SECTORS;

		errors += virtio_blk_request(&vda, VIRTIO_BLK_T_IN, sector, buf, RAND_BYTES, true,
					     false) != VIRTIO_BLK_S_OK;
		if (!(++ops & RTC_CHECK_MASK)) {
			uint8_t now = cmos_read(RTC_SECONDS);

			ticks += now != last_second;
			last_second = now;
		}
	}
	printf("blk_bench: end randread ops=%lu bytes=%lu errors=%u\n", ops, ops * RAND_BYTES,
	       errors);
	report(errors == 0, "randread: %lu reads of 4 KiB without errors", ops);
	if (ops >= rand_max_ops)
		report_info("randread stopped at rand_max_ops=%lu: the RTC ticked %u of %lu times",
			    rand_max_ops, ticks, rand_ticks);
	report_done();
}
