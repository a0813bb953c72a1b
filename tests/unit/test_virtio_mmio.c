// SPDX-License-Identifier: MIT
/*
 * The virtio-mmio transport's register file, driven the way Linux's
 * drivers/virtio/virtio_mmio.c drives it, against a fake device and a fake
 * irq chip that records pulses.
 */
#include <check.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/virtio_mmio.h"

#define RAM_SIZE	0x100000ull
#define MMIO_BASE	0xd0000000ull
#define GSI		5
#define DEV_FEATURE_BIT 3 /* a device-specific feature the fake device offers */
#define CONFIG_SIZE	8

#define S_ACK  VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV  VIRTIO_CONFIG_S_DRIVER
#define S_FOK  VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK  VIRTIO_CONFIG_S_DRIVER_OK
#define S_NR   VIRTIO_CONFIG_S_NEEDS_RESET
#define S_FAIL VIRTIO_CONFIG_S_FAILED

struct fake_dev {
	uint8_t config[CONFIG_SIZE];
	int config_reads, config_writes;
	int activations, resets, notifies;
	unsigned last_notified;
	int activate_ret;
	uint64_t activated_features;
	struct virtq *queues;
	struct ev_loop *stop_loop; /* ev_stop() it from queue_notify */
};

struct fake_irq {
	int raises, lowers;
	uint32_t last_gsi;
};

static struct guest_mem gm;
static uint8_t *ram;
static struct fake_dev fdev;
static struct fake_irq firq;
static struct virtio_transport *tr;
static const struct logger quiet = {LOG_ERROR, -1, "test"};

static void fake_config_read(void *dev, uint32_t offset, void *data, uint32_t len)
{
	struct fake_dev *d = dev;

	d->config_reads++;
	memcpy(data, d->config + offset, len);
}

static void fake_config_write(void *dev, uint32_t offset, const void *data, uint32_t len)
{
	struct fake_dev *d = dev;

	d->config_writes++;
	memcpy(d->config + offset, data, len);
}

static int fake_activate(void *dev, struct virtio_transport *t, uint64_t features,
			 struct virtq *queues)
{
	struct fake_dev *d = dev;

	d->activations++;
	d->activated_features = features;
	d->queues = queues;
	return d->activate_ret;
}

static void fake_reset(void *dev)
{
	((struct fake_dev *)dev)->resets++;
}

static void fake_queue_notify(void *dev, unsigned q)
{
	struct fake_dev *d = dev;

	d->notifies++;
	d->last_notified = q;
	if (d->stop_loop)
		ev_stop(d->stop_loop);
}

static const struct virtio_device_ops fake_ops = {
    .name = "fake",
    .device_id = VIRTIO_ID_RNG,
    .nqueues = 2,
    .features = 1ull << DEV_FEATURE_BIT,
    .config_size = CONFIG_SIZE,
    .config_read = fake_config_read,
    .config_write = fake_config_write,
    .activate = fake_activate,
    .reset = fake_reset,
    .queue_notify = fake_queue_notify,
};

static void fake_set_level(void *opaque, uint32_t gsi, int level)
{
	struct fake_irq *i = opaque;

	if (level)
		i->raises++;
	else
		i->lowers++;
	i->last_gsi = gsi;
}

static const struct irq_chip fake_chip = {fake_set_level, &firq};

static struct virtio_mmio_env make_env(void)
{
	return (struct virtio_mmio_env){
	    .mem = &gm,
	    .log = &quiet,
	    .irq = {&fake_chip, GSI},
	};
}

static void setup(void)
{
	struct virtio_mmio_env env = make_env();
	struct vmm_err err = {{0}};

	memset(&gm, 0, sizeof(gm));
	memset(&fdev, 0, sizeof(fdev));
	memset(&firq, 0, sizeof(firq));
	memcpy(fdev.config, "\x01\x02\x03\x04\x05\x06\x07\x08", CONFIG_SIZE);
	ram = calloc(1, RAM_SIZE);
	ck_assert_int_eq(gm_add_region(&gm, 0, RAM_SIZE, ram), 0);
	ck_assert_int_eq(virtio_mmio_create(&tr, &fake_ops, &fdev, MMIO_BASE, &env, &err), 0);
}

static void teardown(void)
{
	virtio_mmio_destroy(tr);
	free(ram);
}

static uint32_t rd(uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	virtio_mmio_read(tr, off, &v, 4);
	return v;
}

static void wr(uint64_t off, uint32_t v)
{
	virtio_mmio_write(tr, off, &v, 4);
}

static void write_driver_features(uint64_t f)
{
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
}

/* Queue q at a sane layout: desc, avail, used 4 KiB apart. */
static void setup_queue(unsigned q, uint32_t num)
{
	uint64_t base = 0x10000 + q * 0x4000;

	wr(VIRTIO_MMIO_QUEUE_SEL, q);
	wr(VIRTIO_MMIO_QUEUE_NUM, num);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)base);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(base + 0x1000));
	wr(VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(base + 0x2000));
	wr(VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
}

static const uint64_t good_features =
    (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX) | (1ull << DEV_FEATURE_BIT);

/* §3.1.1, as Linux's virtio_dev_probe() + vm_find_vqs() + virtio_device_ready(). */
static void driver_init_to(uint32_t last_step)
{
	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	write_driver_features(good_features);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK);
	setup_queue(0, 16);
	if (last_step == S_DOK)
		wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
}

/* ---- identification and features ---- */

START_TEST(identification_registers)
{
	ck_assert_uint_eq(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976); /* "virt" */
	ck_assert_uint_eq(rd(VIRTIO_MMIO_VERSION), 2);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR_ID_MINIVMM);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_DESC_LOW), 0); /* write-only reads 0 */
}
END_TEST

START_TEST(device_feature_pages)
{
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), (1u << DEV_FEATURE_BIT) |
							       (1u << VIRTIO_RING_F_INDIRECT_DESC) |
							       (1u << VIRTIO_RING_F_EVENT_IDX));
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 1u << (VIRTIO_F_VERSION_1 - 32));
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
}
END_TEST

START_TEST(features_ok_requires_version_1)
{
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	write_driver_features(1ull << DEV_FEATURE_BIT); /* a legacy driver */
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV); /* did not stick */

	write_driver_features((1ull << DEV_FEATURE_BIT) | (1ull << VIRTIO_F_VERSION_1));
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK);
}
END_TEST

START_TEST(features_ok_refuses_unoffered_bits)
{
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	write_driver_features((1ull << VIRTIO_F_VERSION_1) | (1ull << 7));
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV);

	/* Bits in a page beyond 64 were never offered either. */
	write_driver_features(1ull << VIRTIO_F_VERSION_1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
}
END_TEST

START_TEST(driver_features_frozen_after_features_ok)
{
	driver_init_to(S_FOK);
	write_driver_features(1ull << VIRTIO_F_VERSION_1); /* too late: ignored */
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	ck_assert_int_eq(fdev.activations, 1);
	ck_assert_uint_eq(fdev.activated_features, good_features);
}
END_TEST

/* ---- device status ---- */

START_TEST(status_valid_sequence_activates)
{
	driver_init_to(S_DOK);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK);
	ck_assert_int_eq(fdev.activations, 1);
	ck_assert_ptr_nonnull(fdev.queues);
	ck_assert(fdev.queues[0].ready);
	ck_assert_uint_eq(fdev.queues[0].size, 16);
	ck_assert_uint_eq(fdev.queues[0].desc_gpa, 0x10000);
	ck_assert_uint_eq(fdev.queues[0].avail_gpa, 0x11000);
	ck_assert_uint_eq(fdev.queues[0].used_gpa, 0x12000);
	ck_assert(fdev.queues[0].event_idx);
	ck_assert(!fdev.queues[0].indirect);
	ck_assert(!fdev.queues[1].ready);
	ck_assert_uint_eq(virtio_mmio_status(tr), S_ACK | S_DRV | S_FOK | S_DOK);
	/* Rewriting the same status is harmless. */
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	ck_assert_int_eq(fdev.activations, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK);
}
END_TEST

START_TEST(status_skipping_a_step_needs_reset)
{
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV); /* ACK not set first */
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_NR);
	ck_assert_int_eq(firq.raises, 0); /* no config interrupt before DRIVER_OK */
	/* Further progress is refused until reset. */
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_NR);
	wr(VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK);
}
END_TEST

START_TEST(status_driver_ok_before_features_ok_refused)
{
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_DOK);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_NR);
	ck_assert_int_eq(fdev.activations, 0);
}
END_TEST

START_TEST(status_clearing_a_bit_refused)
{
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_NR);
}
END_TEST

START_TEST(status_unknown_bits_refused)
{
	wr(VIRTIO_MMIO_STATUS, S_ACK | 0x10);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_NR);
}
END_TEST

START_TEST(status_failed_any_time)
{
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_FAIL);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_FAIL);
	/* After FAILED the driver must reset; carrying on is a guest error. */
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FAIL);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_FAIL | S_NR);

	wr(VIRTIO_MMIO_STATUS, 0);
	driver_init_to(S_DOK);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK | S_FAIL);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK | S_FAIL);
}
END_TEST

START_TEST(status_echoing_needs_reset_is_harmless)
{
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	virtio_set_needs_reset(tr);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_NR | S_FAIL); /* read-modify-write by the driver */
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_NR | S_FAIL);
}
END_TEST

START_TEST(reset_clears_everything)
{
	driver_init_to(S_DOK);
	virtio_notify_used(tr, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	virtio_set_needs_reset(tr);

	wr(VIRTIO_MMIO_STATUS, 0);
	ck_assert_int_eq(fdev.resets, 2); /* driver_init_to() reset once too */
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	ck_assert(!fdev.queues[0].ready);
	ck_assert_uint_eq(fdev.queues[0].desc_gpa, 0);

	/* Features were forgotten: FEATURES_OK without writing them again fails. */
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
}
END_TEST

START_TEST(activate_failure_needs_reset)
{
	fdev.activate_ret = -EINVAL;
	driver_init_to(S_DOK);
	ck_assert_int_eq(fdev.activations, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_NR);
	/* Not live: kicks are dropped. */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	ck_assert_int_eq(fdev.notifies, 0);
}
END_TEST

/* ---- queues ---- */

START_TEST(queue_num_max_per_queue)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTQ_MAX_SIZE);
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTQ_MAX_SIZE);
	wr(VIRTIO_MMIO_QUEUE_SEL, 2); /* Linux probes like this: 0 = no such queue */
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
}
END_TEST

START_TEST(queue_num_must_be_power_of_2)
{
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, 24);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_NR);
}
END_TEST

START_TEST(queue_num_above_max_refused)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	wr(VIRTIO_MMIO_QUEUE_NUM, VIRTQ_MAX_SIZE * 2);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_NR);
}
END_TEST

START_TEST(queue_ready_with_bad_addresses_needs_reset)
{
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	wr(VIRTIO_MMIO_QUEUE_NUM, 16);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x10000);
	wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x11000);
	wr(VIRTIO_MMIO_QUEUE_USED_LOW, 0x12000);
	wr(VIRTIO_MMIO_QUEUE_USED_HIGH, 1); /* 4 GiB + 0x12000: not RAM */
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_NR);
}
END_TEST

START_TEST(queue_ready_with_misaligned_ring_needs_reset)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, 16);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x10008);
	wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x11000);
	wr(VIRTIO_MMIO_QUEUE_USED_LOW, 0x12000);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_NR);
}
END_TEST

START_TEST(queue_config_frozen_while_ready)
{
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	setup_queue(0, 16);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x20000);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_NR);
	/* QueueReady = 0 un-readies it (Linux's vm_del_vq), and reads back 0. */
	wr(VIRTIO_MMIO_QUEUE_READY, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
}
END_TEST

START_TEST(queue_config_frozen_after_driver_ok)
{
	driver_init_to(S_DOK);
	setup_queue(1, 16);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	ck_assert(!fdev.queues[1].ready);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK | S_NR);
}
END_TEST

START_TEST(queue_write_to_missing_queue_refused)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, 5);
	wr(VIRTIO_MMIO_QUEUE_NUM, 16);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_NR);
}
END_TEST

START_TEST(queue_notify_direct_path)
{
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0); /* before DRIVER_OK: dropped */
	ck_assert_int_eq(fdev.notifies, 0);
	driver_init_to(S_DOK);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	ck_assert_int_eq(fdev.notifies, 1);
	ck_assert_uint_eq(fdev.last_notified, 0);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1); /* not ready */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 7); /* no such queue */
	ck_assert_int_eq(fdev.notifies, 1);
	virtio_set_needs_reset(tr);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	ck_assert_int_eq(fdev.notifies, 1);
}
END_TEST

/* ---- interrupts ---- */

START_TEST(used_interrupt_and_ack)
{
	driver_init_to(S_DOK);
	virtio_notify_used(tr, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	ck_assert_int_eq(firq.raises, 1);
	ck_assert_int_eq(firq.lowers, 1);
	ck_assert_uint_eq(firq.last_gsi, GSI);
	virtio_config_changed(tr);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS),
			  VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	ck_assert_int_eq(firq.raises, 2);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}
END_TEST

START_TEST(no_interrupts_before_driver_ok)
{
	virtio_notify_used(tr, 0);
	virtio_config_changed(tr);
	ck_assert_int_eq(firq.raises, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 1);
	driver_init_to(S_DOK);
	virtio_notify_used(tr, 9); /* no such queue */
	ck_assert_int_eq(firq.raises, 0);
}
END_TEST

START_TEST(needs_reset_sends_config_interrupt)
{
	driver_init_to(S_DOK);
	virtio_set_needs_reset(tr);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK | S_NR);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	ck_assert_int_eq(firq.raises, 1);
}
END_TEST

/* ---- config space and access widths ---- */

START_TEST(config_space_access)
{
	uint32_t v32 = 0;
	uint16_t v16 = 0;
	uint8_t v8 = 0;

	virtio_mmio_read(tr, VIRTIO_MMIO_CONFIG + 4, &v32, 4);
	ck_assert_uint_eq(v32, 0x08070605);
	virtio_mmio_read(tr, VIRTIO_MMIO_CONFIG + 2, &v16, 2);
	ck_assert_uint_eq(v16, 0x0403);
	virtio_mmio_read(tr, VIRTIO_MMIO_CONFIG + 7, &v8, 1);
	ck_assert_uint_eq(v8, 0x08);
	v8 = 0xaa;
	virtio_mmio_write(tr, VIRTIO_MMIO_CONFIG + 1, &v8, 1);
	ck_assert_uint_eq(fdev.config[1], 0xaa);
	ck_assert_int_eq(fdev.config_reads, 3);
	ck_assert_int_eq(fdev.config_writes, 1);
}
END_TEST

START_TEST(config_space_bounds_and_widths)
{
	uint64_t v64 = 0x1111111111111111ull;
	uint32_t v32 = 0x11111111;
	uint16_t v16 = 0x1111;

	virtio_mmio_read(tr, VIRTIO_MMIO_CONFIG + 8, &v32, 4); /* past the end */
	ck_assert_uint_eq(v32, 0);
	v32 = 1;
	virtio_mmio_read(tr, VIRTIO_MMIO_CONFIG + 0xefc, &v32, 4); /* far past */
	ck_assert_uint_eq(v32, 0);
	virtio_mmio_read(tr, VIRTIO_MMIO_CONFIG, &v64, 8); /* 8 bytes: not on mmio */
	ck_assert_uint_eq(v64, 0);
	virtio_mmio_read(tr, VIRTIO_MMIO_CONFIG + 1, &v16, 2); /* misaligned */
	ck_assert_uint_eq(v16, 0);
	v32 = 0xffffffff;
	virtio_mmio_write(tr, VIRTIO_MMIO_CONFIG + 6, &v32, 4); /* straddles the end */
	ck_assert_int_eq(fdev.config_reads, 0);
	ck_assert_int_eq(fdev.config_writes, 0);
	ck_assert_mem_eq(fdev.config, "\x01\x02\x03\x04\x05\x06\x07\x08", CONFIG_SIZE);
}
END_TEST

START_TEST(config_generation_counts_changes)
{
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 0);
	virtio_config_changed(tr);
	virtio_config_changed(tr);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 2);
}
END_TEST

START_TEST(odd_register_widths_ignored)
{
	uint16_t v16 = 0xffff;
	uint8_t v8 = 0xff;
	uint64_t v64 = ~0ull;
	uint32_t v32 = 0xffffffff;

	virtio_mmio_read(tr, VIRTIO_MMIO_MAGIC_VALUE, &v16, 2);
	ck_assert_uint_eq(v16, 0);
	virtio_mmio_read(tr, VIRTIO_MMIO_MAGIC_VALUE, &v64, 8);
	ck_assert_uint_eq(v64, 0);
	virtio_mmio_read(tr, VIRTIO_MMIO_MAGIC_VALUE + 2, &v32, 4); /* misaligned */
	ck_assert_uint_eq(v32, 0);
	v8 = S_ACK;
	virtio_mmio_write(tr, VIRTIO_MMIO_STATUS, &v8, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
	wr(0x0f0, 1);			/* unknown register */
	wr(VIRTIO_MMIO_MAGIC_VALUE, 0); /* read-only */
	ck_assert_uint_eq(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
}
END_TEST

/* ---- ioeventfd path ---- */

struct notify_reg {
	int calls_assign, calls_deassign;
	uint64_t addr;
	uint32_t queues_seen;
	int fds[VIRTIO_MAX_QUEUES];
};

static int fake_register_notify(void *opaque, uint64_t addr, uint32_t queue, int fd, bool assign)
{
	struct notify_reg *r = opaque;

	r->addr = addr;
	if (assign) {
		r->calls_assign++;
		r->queues_seen |= 1u << queue;
		r->fds[queue] = fd;
	} else {
		r->calls_deassign++;
	}
	return 0;
}

static void stop_loop(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	ev_stop(loop);
}

START_TEST(ioeventfd_notifications)
{
	struct notify_reg reg = {0};
	struct virtio_mmio_env env = make_env();
	struct vmm_err err = {{0}};
	struct ev_loop *loop;
	uint64_t one = 1;

	virtio_mmio_destroy(tr);
	tr = NULL;
	ck_assert_int_eq(ev_loop_create(&loop), 0);
	env.loop = loop;
	env.register_notify = fake_register_notify;
	env.opaque = &reg;
	ck_assert_int_eq(virtio_mmio_create(&tr, &fake_ops, &fdev, MMIO_BASE, &env, &err), 0);
	ck_assert_int_eq(reg.calls_assign, 2);
	ck_assert_uint_eq(reg.queues_seen, 3);
	ck_assert_uint_eq(reg.addr, MMIO_BASE + VIRTIO_MMIO_QUEUE_NOTIFY);

	driver_init_to(S_DOK);
	fdev.stop_loop = loop;
	ck_assert_int_eq(ev_add_timer_ms(loop, 3000, stop_loop, NULL) >= 0, 1);
	ck_assert_int_eq(write(reg.fds[0], &one, sizeof(one)), sizeof(one));
	ck_assert_int_eq(ev_run(loop), 0);
	ck_assert_int_eq(fdev.notifies, 1);
	ck_assert_uint_eq(fdev.last_notified, 0);

	/* Reset keeps the ioeventfds; destroy removes them. */
	wr(VIRTIO_MMIO_STATUS, 0);
	ck_assert_int_eq(reg.calls_deassign, 0);
	virtio_mmio_destroy(tr);
	tr = NULL;
	ck_assert_int_eq(reg.calls_deassign, 2);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(create_rejects_bad_ops)
{
	struct virtio_device_ops too_many = fake_ops;
	struct virtio_device_ops big_config = fake_ops;
	struct virtio_mmio_env env = make_env();
	struct virtio_transport *t2 = NULL;
	struct vmm_err err = {{0}};

	too_many.nqueues = VIRTIO_MAX_QUEUES + 1;
	ck_assert_int_eq(virtio_mmio_create(&t2, &too_many, &fdev, MMIO_BASE, &env, &err), -EINVAL);
	ck_assert(strstr(err.msg, "queues"));
	big_config.config_size = 0x1000;
	err.msg[0] = 0;
	ck_assert_int_eq(virtio_mmio_create(&t2, &big_config, &fdev, MMIO_BASE, &env, &err),
			 -EINVAL);
	env.register_notify = fake_register_notify; /* without a loop */
	ck_assert_int_eq(virtio_mmio_create(&t2, &fake_ops, &fdev, MMIO_BASE, &env, &err), -EINVAL);
	ck_assert_ptr_null(t2);
}
END_TEST

Suite *virtio_mmio_suite(void)
{
	Suite *s = suite_create("virtio_mmio");
	TCase *regs = tcase_create("registers");
	TCase *status = tcase_create("status");
	TCase *queues = tcase_create("queues");
	TCase *irq = tcase_create("interrupts+config");

	tcase_add_checked_fixture(regs, setup, teardown);
	tcase_add_test(regs, identification_registers);
	tcase_add_test(regs, device_feature_pages);
	tcase_add_test(regs, features_ok_requires_version_1);
	tcase_add_test(regs, features_ok_refuses_unoffered_bits);
	tcase_add_test(regs, driver_features_frozen_after_features_ok);
	tcase_add_test(regs, odd_register_widths_ignored);
	tcase_add_test(regs, ioeventfd_notifications);
	tcase_add_test(regs, create_rejects_bad_ops);
	suite_add_tcase(s, regs);

	tcase_add_checked_fixture(status, setup, teardown);
	tcase_add_test(status, status_valid_sequence_activates);
	tcase_add_test(status, status_skipping_a_step_needs_reset);
	tcase_add_test(status, status_driver_ok_before_features_ok_refused);
	tcase_add_test(status, status_clearing_a_bit_refused);
	tcase_add_test(status, status_unknown_bits_refused);
	tcase_add_test(status, status_failed_any_time);
	tcase_add_test(status, status_echoing_needs_reset_is_harmless);
	tcase_add_test(status, reset_clears_everything);
	tcase_add_test(status, activate_failure_needs_reset);
	suite_add_tcase(s, status);

	tcase_add_checked_fixture(queues, setup, teardown);
	tcase_add_test(queues, queue_num_max_per_queue);
	tcase_add_test(queues, queue_num_must_be_power_of_2);
	tcase_add_test(queues, queue_num_above_max_refused);
	tcase_add_test(queues, queue_ready_with_bad_addresses_needs_reset);
	tcase_add_test(queues, queue_ready_with_misaligned_ring_needs_reset);
	tcase_add_test(queues, queue_config_frozen_while_ready);
	tcase_add_test(queues, queue_config_frozen_after_driver_ok);
	tcase_add_test(queues, queue_write_to_missing_queue_refused);
	tcase_add_test(queues, queue_notify_direct_path);
	suite_add_tcase(s, queues);

	tcase_add_checked_fixture(irq, setup, teardown);
	tcase_add_test(irq, used_interrupt_and_ack);
	tcase_add_test(irq, no_interrupts_before_driver_ok);
	tcase_add_test(irq, needs_reset_sends_config_interrupt);
	tcase_add_test(irq, config_space_access);
	tcase_add_test(irq, config_space_bounds_and_widths);
	tcase_add_test(irq, config_generation_counts_changes);
	suite_add_tcase(s, irq);
	return s;
}
