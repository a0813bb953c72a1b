/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio register file (devices/virtio_mmio.c) from a driver that
 * starts from a fresh device and does anything in any order: register reads
 * and writes of any width and offset (mostly the real registers at 32 bits,
 * with values drawn from what a driver would write: status steps, feature
 * pages, queue sizes, the ring addresses of tests/unit/virtio_driver.c),
 * interleaved with the ring-level actions of tests/fuzz/virtio_fuzz.h so
 * that a queue set up through the registers also carries traffic.  The
 * device behind it is a real virtio-rng with a fuzzer-controlled source.
 */
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "tests/fuzz/rng_fuzz.h"
#include "tests/fuzz/virtio_fuzz.h"

static const struct logger quiet = {LOG_ERROR, -1, "fuzz"};

static const uint16_t regs[] = {
    VIRTIO_MMIO_MAGIC_VALUE,	   VIRTIO_MMIO_VERSION,
    VIRTIO_MMIO_DEVICE_ID,	   VIRTIO_MMIO_VENDOR_ID,
    VIRTIO_MMIO_DEVICE_FEATURES,   VIRTIO_MMIO_DEVICE_FEATURES_SEL,
    VIRTIO_MMIO_DRIVER_FEATURES,   VIRTIO_MMIO_DRIVER_FEATURES_SEL,
    VIRTIO_MMIO_QUEUE_SEL,	   VIRTIO_MMIO_QUEUE_NUM_MAX,
    VIRTIO_MMIO_QUEUE_NUM,	   VIRTIO_MMIO_QUEUE_READY,
    VIRTIO_MMIO_QUEUE_NOTIFY,	   VIRTIO_MMIO_INTERRUPT_STATUS,
    VIRTIO_MMIO_INTERRUPT_ACK,	   VIRTIO_MMIO_STATUS,
    VIRTIO_MMIO_QUEUE_DESC_LOW,	   VIRTIO_MMIO_QUEUE_DESC_HIGH,
    VIRTIO_MMIO_QUEUE_AVAIL_LOW,   VIRTIO_MMIO_QUEUE_AVAIL_HIGH,
    VIRTIO_MMIO_QUEUE_USED_LOW,	   VIRTIO_MMIO_QUEUE_USED_HIGH,
    VIRTIO_MMIO_SHM_SEL,	   VIRTIO_MMIO_SHM_LEN_LOW,
    VIRTIO_MMIO_CONFIG_GENERATION, VIRTIO_MMIO_CONFIG,
};

static uint32_t pick_value(struct virtio_test_driver *d, struct fuzz_in *in, uint16_t reg)
{
	uint8_t sel = fuzz_u8(in);
	const struct vtd_queue *q = &d->queue[0];

	if (sel >= 192)
		return fuzz_u32(in);
	switch (reg) {
	case VIRTIO_MMIO_STATUS: {
		static const uint8_t steps[] = {0, 1, 3, 11, 15, 0x80, 0x40, 7};
		return steps[sel % 8];
	}
	case VIRTIO_MMIO_QUEUE_NUM:
		return 1u << (sel % 10);
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		return (uint32_t)q->desc + (sel & 0x40 ? 8 : 0);
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
		return (uint32_t)q->avail + (sel & 0x40 ? 1 : 0);
	case VIRTIO_MMIO_QUEUE_USED_LOW:
		/* sometimes the last bytes of RAM: a used ring that fits only for small sizes */
		return sel & 0x40 ? VTD_RAM_BYTES - 6 - 8 * (sel & 0x3f) : (uint32_t)q->used;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		return (uint32_t)(vtd_device_features(d) >> (sel & 1 ? 32 : 0));
	default:
		return sel % 4;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtio_test_driver drv;
	static struct ev_loop *loop;
	static uint8_t *ram;
	struct fuzz_in in = fuzz_in(data, size);
	struct rng_fuzz f;
	struct virtio_rng *rng;
	struct vfz_hooks hooks = {NULL, rngf_extra, &f};

	if (!loop && ev_loop_create(&loop) < 0)
		abort();
	if (!ram && !(ram = malloc(VTD_RAM_BYTES)))
		abort();
	memset(ram, 0, VTD_RAM_BYTES);
	rng = rngf_create(&f, &in, loop, &quiet);
	vtd_init_ram(&drv, 1, ram);
	vtd_attach(&drv, &virtio_rng_ops, rng, loop);
	vfz_untracked(); /* queue addresses come from the input's register writes */
	while (!fuzz_empty(&in)) {
		uint8_t op = fuzz_u8(&in);

		if (op < 64) {
			vfz_step(&drv, &in, &hooks);
		} else if (op < 224) {
			uint16_t reg = regs[fuzz_u8(&in) % (sizeof(regs) / sizeof(regs[0]))];

			if (op & 1)
				(void)vtd_read32(&drv, reg);
			else
				vtd_write32(&drv, reg, pick_value(&drv, &in, reg));
		} else { /* any offset in the window, any width */
			static const uint32_t widths[] = {1, 2, 4, 8};
			uint64_t off = fuzz_u16(&in) % 0x1000;
			uint32_t len = widths[fuzz_u8(&in) & 3];
			uint8_t buf[8];

			if (op & 1) {
				virtio_mmio_read(drv.t, off, buf, len);
			} else {
				fuzz_bytes(&in, buf, len);
				virtio_mmio_write(drv.t, off, buf, len);
			}
		}
	}
	vtd_write32(&drv, VIRTIO_MMIO_STATUS, 0);
	vtd_fini(&drv);
	virtio_rng_destroy(rng);
	return 0;
}
