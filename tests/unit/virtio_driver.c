/* SPDX-License-Identifier: MIT */
#include "tests/unit/virtio_driver.h"

#include <check.h>
#include <poll.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/layout.h"

static const struct logger vtd_quiet = {LOG_ERROR, -1, "test"};

/* Rings of queue q: one page each for desc, avail and used, below VTD_BUF_GPA. */
#define VTD_RING_GPA(q, page) (0x1000u + ((q)*3u + (page)) * 0x1000u)

static void record_level(void *opaque, uint32_t gsi, int level)
{
	struct virtio_test_driver *d = opaque;

	(void)gsi;
	if (level)
		d->irq_pulses++;
}

void vtd_init(struct virtio_test_driver *d, unsigned nqueues)
{
	uint8_t *ram = calloc(1, VTD_RAM_BYTES);

	ck_assert_ptr_nonnull(ram);
	vtd_init_ram(d, nqueues, ram);
	d->owns_ram = true;
}

void vtd_init_ram(struct virtio_test_driver *d, unsigned nqueues, uint8_t *ram)
{
	_Static_assert(VTD_RING_GPA(VTD_MAX_QUEUES, 0) <= VTD_BUF_GPA, "rings overlap buffers");

	ck_assert_uint_le(nqueues, VTD_MAX_QUEUES);
	memset(d, 0, sizeof(*d));
	d->ram = ram;
	ck_assert_int_eq(gm_add_region(&d->gm, 0, VTD_RAM_BYTES, d->ram), 0);
	d->log = &vtd_quiet;
	d->irq_chip = (struct irq_chip){record_level, d};
	d->nqueues = nqueues;
	d->qsize = VTD_QSIZE;
	for (unsigned q = 0; q < VTD_MAX_QUEUES; q++)
		d->notify_fd[q] = -1;
	for (unsigned q = 0; q < nqueues; q++)
		d->queue[q] = (struct vtd_queue){
		    VTD_RING_GPA(q, 0), VTD_RING_GPA(q, 1), VTD_RING_GPA(q, 2), 0, 0, 0};
	d->next_buf = VTD_BUF_GPA;
}

/* Stands in for KVM_IOEVENTFD: remembers which eventfd serves which queue. */
static int record_notify_fd(void *opaque, uint64_t addr, uint32_t queue, int fd, bool assign)
{
	struct virtio_test_driver *d = opaque;

	(void)addr;
	if (queue < VTD_MAX_QUEUES)
		d->notify_fd[queue] = assign ? fd : -1;
	return 0;
}

static void attach(struct virtio_test_driver *d, const struct virtio_device_ops *ops, void *dev,
		   struct ev_loop *loop, bool ioeventfd)
{
	struct virtio_mmio_env env = {.mem = &d->gm,
				      .log = d->log,
				      .irq = {&d->irq_chip, VIRTIO_MMIO_GSI0},
				      .loop = loop,
				      .register_notify = ioeventfd ? record_notify_fd : NULL,
				      .opaque = d};
	struct vmm_err err = {{0}};

	ck_assert_ptr_null(d->t);
	ck_assert_int_eq(virtio_mmio_create(&d->t, ops, dev, VIRTIO_MMIO_BASE, &env, &err), 0);
}

void vtd_attach(struct virtio_test_driver *d, const struct virtio_device_ops *ops, void *dev,
		struct ev_loop *loop)
{
	attach(d, ops, dev, loop, false);
}

void vtd_attach_ioeventfd(struct virtio_test_driver *d, const struct virtio_device_ops *ops,
			  void *dev, struct ev_loop *loop)
{
	ck_assert_ptr_nonnull(loop);
	attach(d, ops, dev, loop, true);
}

void vtd_detach(struct virtio_test_driver *d)
{
	virtio_mmio_destroy(d->t);
	d->t = NULL;
}

void vtd_fini(struct virtio_test_driver *d)
{
	vtd_detach(d);
	if (d->owns_ram)
		free(d->ram);
	d->ram = NULL;
}

uint32_t vtd_read32(struct virtio_test_driver *d, uint64_t off)
{
	uint32_t v = 0xdeadbeef; /* a refused read must still overwrite this */

	virtio_mmio_read(d->t, off, &v, 4);
	return v;
}

void vtd_write32(struct virtio_test_driver *d, uint64_t off, uint32_t value)
{
	virtio_mmio_write(d->t, off, &value, 4);
}

uint64_t vtd_device_features(struct virtio_test_driver *d)
{
	uint64_t lo;

	vtd_write32(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	lo = vtd_read32(d, VIRTIO_MMIO_DEVICE_FEATURES);
	vtd_write32(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return lo | (uint64_t)vtd_read32(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

bool vtd_needs_reset(struct virtio_test_driver *d)
{
	return vtd_read32(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* §4.2.3.2 virtqueue configuration, on rings the driver has just zeroed. */
static void setup_queue(struct virtio_test_driver *d, unsigned q)
{
	struct vtd_queue *r = &d->queue[q];

	memset(d->ram + r->desc, 0, 0x1000);
	memset(d->ram + r->avail, 0, 0x1000);
	memset(d->ram + r->used, 0, 0x1000);
	r->avail_idx = r->used_seen = r->next_desc = 0;
	vtd_write32(d, VIRTIO_MMIO_QUEUE_SEL, q);
	ck_assert_uint_ge(vtd_read32(d, VIRTIO_MMIO_QUEUE_NUM_MAX), d->qsize);
	vtd_write32(d, VIRTIO_MMIO_QUEUE_NUM, d->qsize);
	vtd_write32(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)r->desc);
	vtd_write32(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(r->desc >> 32));
	vtd_write32(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)r->avail);
	vtd_write32(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(r->avail >> 32));
	vtd_write32(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)r->used);
	vtd_write32(d, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(r->used >> 32));
	vtd_write32(d, VIRTIO_MMIO_QUEUE_READY, 1);
}

void vtd_driver_init(struct virtio_test_driver *d, uint64_t drop)
{
	const uint32_t ack_drv = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	uint64_t f = vtd_device_features(d) & ~drop;

	vtd_write32(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vtd_write32(d, VIRTIO_MMIO_STATUS, ack_drv);
	vtd_write32(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vtd_write32(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	vtd_write32(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vtd_write32(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	vtd_write32(d, VIRTIO_MMIO_STATUS, ack_drv | VIRTIO_CONFIG_S_FEATURES_OK);
	ck_assert(vtd_read32(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned q = 0; q < d->nqueues; q++)
		setup_queue(d, q);
	vtd_write32(d, VIRTIO_MMIO_STATUS,
		    ack_drv | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	ck_assert(vtd_read32(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK);
}

struct vtd_buf vtd_alloc(struct virtio_test_driver *d, uint32_t len, bool writable)
{
	struct vtd_buf b = {d->next_buf, len, writable};

	ck_assert_uint_le(b.gpa + len + VTD_GUARD_BYTES, VTD_RAM_BYTES);
	memset(d->ram + b.gpa, 0, len);
	memset(d->ram + b.gpa + len, 0xcc, VTD_GUARD_BYTES);
	d->next_buf = (b.gpa + len + VTD_GUARD_BYTES + 15) & ~15ull;
	return b;
}

uint8_t *vtd_host(struct virtio_test_driver *d, struct vtd_buf b)
{
	return d->ram + b.gpa;
}

bool vtd_guard_intact(struct virtio_test_driver *d, struct vtd_buf b)
{
	for (unsigned i = 0; i < VTD_GUARD_BYTES; i++)
		if (d->ram[b.gpa + b.len + i] != 0xcc)
			return false;
	return true;
}

struct vring_desc *vtd_desc_table(struct virtio_test_driver *d, unsigned q)
{
	return (struct vring_desc *)(d->ram + d->queue[q].desc);
}

struct vring_avail *vtd_avail_ring(struct virtio_test_driver *d, unsigned q)
{
	return (struct vring_avail *)(d->ram + d->queue[q].avail);
}

struct vring_used *vtd_used_ring(struct virtio_test_driver *d, unsigned q)
{
	return (struct vring_used *)(d->ram + d->queue[q].used);
}

uint16_t vtd_add_chain(struct virtio_test_driver *d, unsigned q, const struct vtd_buf *bufs,
		       unsigned n)
{
	struct vtd_queue *r = &d->queue[q];
	struct vring_desc *desc = vtd_desc_table(d, q);
	struct vring_avail *avail = vtd_avail_ring(d, q);
	uint16_t head = r->next_desc;

	ck_assert_uint_lt(q, d->nqueues);
	for (unsigned i = 0; i < n; i++) {
		uint16_t slot = (uint16_t)((r->next_desc + i) % d->qsize);

		desc[slot].addr = bufs[i].gpa;
		desc[slot].len = bufs[i].len;
		desc[slot].flags = (uint16_t)((bufs[i].writable ? VRING_DESC_F_WRITE : 0) |
					      (i + 1 < n ? VRING_DESC_F_NEXT : 0));
		desc[slot].next = (uint16_t)((slot + 1) % d->qsize);
	}
	r->next_desc = (uint16_t)((r->next_desc + n) % d->qsize);
	avail->ring[r->avail_idx % d->qsize] = head;
	r->avail_idx++;
	/* §2.7.13.3: the ring entry is visible before the index that publishes it. */
	__atomic_store_n(&avail->idx, r->avail_idx, __ATOMIC_RELEASE);
	return head;
}

void vtd_notify(struct virtio_test_driver *d, unsigned q)
{
	vtd_write32(d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

void vtd_kick(struct virtio_test_driver *d, unsigned q)
{
	uint64_t one = 1;

	ck_assert_int_ge(d->notify_fd[q], 0);
	ck_assert_int_eq(write(d->notify_fd[q], &one, sizeof(one)), sizeof(one));
}

bool vtd_kick_pending(struct virtio_test_driver *d, unsigned q)
{
	struct pollfd p = {.fd = d->notify_fd[q], .events = POLLIN};

	ck_assert_int_ge(d->notify_fd[q], 0);
	return poll(&p, 1, 0) == 1;
}

unsigned vtd_serve_rearmed(struct virtio_test_driver *d, unsigned q)
{
	unsigned turns = 0;
	uint64_t count;

	while (vtd_kick_pending(d, q)) {
		/* What the loop's callback does: reset the counter, dispatch once. */
		ck_assert_int_eq(read(d->notify_fd[q], &count, sizeof(count)), sizeof(count));
		vtd_notify(d, q);
		ck_assert_uint_lt(++turns, 100000);
	}
	return turns;
}

uint16_t vtd_used_idx(struct virtio_test_driver *d, unsigned q)
{
	return __atomic_load_n(&vtd_used_ring(d, q)->idx, __ATOMIC_ACQUIRE);
}

unsigned vtd_used_pending(struct virtio_test_driver *d, unsigned q)
{
	return (uint16_t)(vtd_used_idx(d, q) - d->queue[q].used_seen);
}

uint32_t vtd_take_used(struct virtio_test_driver *d, unsigned q, uint32_t *id)
{
	struct vtd_queue *r = &d->queue[q];
	struct vring_used_elem e;

	ck_assert_uint_ne(vtd_used_idx(d, q), r->used_seen);
	e = vtd_used_ring(d, q)->ring[r->used_seen++ % d->qsize];
	/*
	 * As a driver re-enabling callbacks does: publish used_event (the slot
	 * after the avail ring, §2.7.10) so that with EVENT_IDX the device
	 * interrupts for the next completion.  Ignored without EVENT_IDX.
	 */
	vtd_avail_ring(d, q)->ring[d->qsize] = r->used_seen;
	if (id)
		*id = e.id;
	return e.len;
}

static void stop_loop(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	(void)fd;
	(void)events;
	(void)opaque;
	ev_stop(loop);
}

void vtd_run_loop_ms(struct ev_loop *loop, uint64_t ms)
{
	ck_assert_int_ge(ev_add_timer_ms(loop, ms, stop_loop, NULL), 0);
	ck_assert_int_eq(ev_run(loop), 0);
}

struct metric_probe {
	const char *name;
	uint64_t value;
	int found;
};

static void probe_metric(void *opaque, const char *name, uint64_t value)
{
	struct metric_probe *p = opaque;

	if (strcmp(name, p->name) == 0) {
		p->value = value;
		p->found++;
	}
}

uint64_t vtd_metric(const struct virtio_device_ops *ops, void *dev, const char *prefix,
		    const char *name)
{
	struct metric_probe p = {name, 0, 0};

	ck_assert_ptr_nonnull(ops->metrics);
	ops->metrics(dev, prefix, probe_metric, &p);
	ck_assert_msg(p.found == 1, "metric %s reported %d times", name, p.found);
	return p.value;
}
