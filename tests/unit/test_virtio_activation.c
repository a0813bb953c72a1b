// SPDX-License-Identifier: MIT
/*
 * Regression tests for issue 10, defect 1: queue registers changing under a
 * live virtqueue.  DESIGN.md §2 "One owner per live virtqueue": from the
 * moment DRIVER_OK starts activation until a reset has completed, no
 * queue-register write may change a queue the device uses, and a ring keeps
 * the size it was validated for.
 *
 * Guest RAM here is an mmap'd region followed by a PROT_NONE page, so a
 * write past the end of RAM faults even without ASan; the rings under
 * attack sit in the last bytes of RAM, as in the report.  "The other vCPU"
 * is played either from inside a device callback (deterministic) or by a
 * second thread (stress).
 */
#include <check.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "devices/net_backend.h"
#include "devices/virtio_mmio.h"
#include "devices/virtio_net.h"
#include "devices/virtqueue.h"

#define RAM_BYTES 0x40000ull
#define MMIO_BASE 0xd0000000ull
/* A used ring for QueueNum 1 (6 + 8 bytes), 4-aligned, ending 2 bytes before the end of RAM. */
#define LAST_USED_GPA (RAM_BYTES - 16)
#define RX_BUF_GPA    0x8000ull
#define RX_BUF_LEN    2048u
#define FRAME_LEN     (NET_VNET_HDR_LEN + 60u)

#define S_ACK VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV VIRTIO_CONFIG_S_DRIVER
#define S_FOK VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK VIRTIO_CONFIG_S_DRIVER_OK
#define S_NR  VIRTIO_CONFIG_S_NEEDS_RESET

static const struct logger quiet = {LOG_ERROR, -1, "test"};

static uint8_t *ram;
static struct guest_mem gm;

static void ram_setup(void)
{
	long page = sysconf(_SC_PAGESIZE);

	ram = mmap(NULL, RAM_BYTES + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	ck_assert_ptr_ne(ram, MAP_FAILED);
	ck_assert_int_eq(mprotect(ram + RAM_BYTES, page, PROT_NONE), 0);
	memset(&gm, 0, sizeof(gm));
	ck_assert_int_eq(gm_add_region(&gm, 0, RAM_BYTES, ram), 0);
}

static void ram_teardown(void)
{
	munmap(ram, RAM_BYTES + sysconf(_SC_PAGESIZE));
}

static void *host(uint64_t gpa)
{
	return ram + gpa;
}

/* ---- The driver side: register writes as Linux's virtio_mmio.c makes them ---- */

static void wr(struct virtio_transport *t, uint64_t off, uint32_t v)
{
	virtio_mmio_write(t, off, &v, 4);
}

static uint32_t rd(struct virtio_transport *t, uint64_t off)
{
	uint32_t v = 0;

	virtio_mmio_read(t, off, &v, 4);
	return v;
}

/* Reset, ACKNOWLEDGE, DRIVER, VERSION_1 only, FEATURES_OK (§3.1.1 steps 1-6). */
static void drv_begin(struct virtio_transport *t)
{
	wr(t, VIRTIO_MMIO_STATUS, 0);
	wr(t, VIRTIO_MMIO_STATUS, S_ACK);
	wr(t, VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES, 1u << (VIRTIO_F_VERSION_1 - 32));
	wr(t, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
}

static void drv_queue(struct virtio_transport *t, unsigned q, uint32_t num, uint64_t desc,
		      uint64_t avail, uint64_t used)
{
	wr(t, VIRTIO_MMIO_QUEUE_SEL, q);
	wr(t, VIRTIO_MMIO_QUEUE_NUM, num);
	wr(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	wr(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
	wr(t, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	wr(t, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)used);
	wr(t, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
}

static void drv_driver_ok(struct virtio_transport *t)
{
	wr(t, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
}

/* What the hostile second vCPU loops in the report. */
static void other_vcpu_writes(struct virtio_transport *t)
{
	wr(t, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(t, VIRTIO_MMIO_QUEUE_READY, 0);
	wr(t, VIRTIO_MMIO_QUEUE_NUM, 256);
	wr(t, VIRTIO_MMIO_QUEUE_NUM, 1);
	wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* One device-writable buffer as the only chain of a size-1 ring at desc/avail. */
static void post_one_rx_buffer(uint64_t desc_gpa, uint64_t avail_gpa, uint16_t avail_idx)
{
	struct vring_desc *desc = host(desc_gpa);
	struct vring_avail *avail = host(avail_gpa);

	desc[0] = (struct vring_desc){RX_BUF_GPA, RX_BUF_LEN, VRING_DESC_F_WRITE, 0};
	avail->ring[0] = 0;
	__atomic_store_n(&avail->idx, avail_idx, __ATOMIC_RELEASE);
}

static struct irq_chip no_irq_chip;

static struct virtio_transport *make_transport(const struct virtio_device_ops *ops, void *dev)
{
	struct virtio_mmio_env env = {.mem = &gm, .log = &quiet, .irq = {&no_irq_chip, 5}};
	struct virtio_transport *t = NULL;
	struct vmm_err err = {{0}};

	ck_assert_int_eq(virtio_mmio_create(&t, ops, dev, MMIO_BASE, &env, &err), 0);
	return t;
}

static void ignore_level(void *opaque, uint32_t gsi, int level)
{
	(void)opaque;
	(void)gsi;
	(void)level;
}

static void setup(void)
{
	ram_setup();
	no_irq_chip = (struct irq_chip){ignore_level, NULL};
}

/* ---- The ring itself: validated for one size, used with that size ---- */

START_TEST(ring_keeps_the_size_it_was_validated_for)
{
	struct virtq vq = {0};
	struct virtq_chain chain;
	struct vring_used *used = host(LAST_USED_GPA);

	vq.size = 1;
	vq.desc_gpa = 0x1000;
	vq.avail_gpa = 0x2000;
	vq.used_gpa = LAST_USED_GPA;
	vq.mem = &gm;
	ck_assert_int_eq(virtq_validate(&vq), 0);
	virtq_reset(&vq);
	vq.ready = true;
	post_one_rx_buffer(0x1000, 0x2000, 1);

	/* A QueueNum write landing after validation: the ring must not follow it. */
	vq.size = 256;
	ck_assert_int_eq(virtq_pop(&vq, &chain, NULL), 1);
	ck_assert_uint_eq(chain.head, 0);
	ck_assert_int_eq(virtq_push(&vq, 0, 100), 0);
	ck_assert_uint_eq(used->idx, 1);
	ck_assert_uint_eq(used->ring[0].len, 100);

	/* Again: used_idx 1 is slot 1 & (1 - 1) = 0; with 256 it would be past the end of RAM. */
	post_one_rx_buffer(0x1000, 0x2000, 2);
	ck_assert_int_eq(virtq_pop(&vq, &chain, NULL), 1);
	ck_assert_int_eq(virtq_push(&vq, 0, 200), 0);
	ck_assert_uint_eq(used->idx, 2);
	ck_assert_uint_eq(used->ring[0].len, 200);
	/* Heads are checked against the validated size too. */
	ck_assert_int_eq(virtq_push(&vq, 1, 0), -EINVAL);
}
END_TEST

/* ---- The transport, with a fake device whose callbacks play the other vCPU ---- */

struct hook_dev {
	struct virtio_transport *t;
	void (*on_activate)(struct hook_dev *d);
	void (*on_reset)(struct hook_dev *d);
	int activate_ret;
	int activations, resets;
	struct virtq *queues;
	struct virtq seen[2]; /* the queues as the device got them */
};

static int hook_activate(void *dev, struct virtio_transport *t, uint64_t features,
			 struct virtq *queues)
{
	struct hook_dev *d = dev;

	(void)features;
	d->activations++;
	d->queues = queues;
	memcpy(d->seen, queues, sizeof(d->seen));
	if (d->on_activate)
		d->on_activate(d);
	return d->activate_ret;
}

static void hook_reset(void *dev)
{
	struct hook_dev *d = dev;

	d->resets++;
	if (d->on_reset)
		d->on_reset(d);
}

static const struct virtio_device_ops hook_ops = {
    .name = "hook",
    .device_id = VIRTIO_ID_RNG,
    .nqueues = 2,
    .activate = hook_activate,
    .reset = hook_reset,
};

static void assert_queue_unchanged(const struct virtq *now, const struct virtq *then)
{
	ck_assert_uint_eq(now->ready, then->ready);
	ck_assert_uint_eq(now->size, then->size);
	ck_assert_uint_eq(now->desc_gpa, then->desc_gpa);
	ck_assert_uint_eq(now->avail_gpa, then->avail_gpa);
	ck_assert_uint_eq(now->used_gpa, then->used_gpa);
	ck_assert_uint_eq(now->last_avail_idx, then->last_avail_idx);
	ck_assert_uint_eq(now->used_idx, then->used_idx);
}

static void writes_while_activating(struct hook_dev *d)
{
	other_vcpu_writes(d->t);
	assert_queue_unchanged(&d->queues[0], &d->seen[0]);
	/* Setting up queue 1, not ready at DRIVER_OK, is refused as well. */
	drv_queue(d->t, 1, 16, 0x4000, 0x5000, 0x6000);
	wr(d->t, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(d->t, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x7000);
	assert_queue_unchanged(&d->queues[0], &d->seen[0]);
	assert_queue_unchanged(&d->queues[1], &d->seen[1]);
}

START_TEST(queue_writes_during_activation_refused)
{
	struct hook_dev d = {0};

	d.t = make_transport(&hook_ops, &d);
	d.on_activate = writes_while_activating;
	drv_begin(d.t);
	drv_queue(d.t, 0, 1, 0x1000, 0x2000, LAST_USED_GPA);
	drv_driver_ok(d.t);

	ck_assert_int_eq(d.activations, 1);
	ck_assert(d.seen[0].ready);
	ck_assert(!d.seen[1].ready);
	assert_queue_unchanged(&d.queues[0], &d.seen[0]);
	assert_queue_unchanged(&d.queues[1], &d.seen[1]);
	wr(d.t, VIRTIO_MMIO_QUEUE_SEL, 0);
	ck_assert_uint_eq(rd(d.t, VIRTIO_MMIO_QUEUE_READY), 1);
	wr(d.t, VIRTIO_MMIO_QUEUE_SEL, 1);
	ck_assert_uint_eq(rd(d.t, VIRTIO_MMIO_QUEUE_READY), 0);
	/* The driver believes writes stuck that did not: it must reset, and is told (§2.1.2). */
	ck_assert_uint_eq(rd(d.t, VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK | S_NR);
	ck_assert_uint_eq(rd(d.t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	virtio_mmio_destroy(d.t);
}
END_TEST

static void writes_while_resetting(struct hook_dev *d)
{
	other_vcpu_writes(d->t);
	ck_assert(d->queues[0].ready);
	ck_assert_uint_eq(d->queues[0].size, 1);
}

START_TEST(queue_writes_refused_until_reset_completes)
{
	struct hook_dev d = {0};

	d.t = make_transport(&hook_ops, &d);
	d.activate_ret = -EINVAL; /* the device refuses: NEEDS_RESET, no DRIVER_OK */
	drv_begin(d.t);
	drv_queue(d.t, 0, 1, 0x1000, 0x2000, LAST_USED_GPA);
	drv_driver_ok(d.t);
	ck_assert_uint_eq(rd(d.t, VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_NR);

	/* Still the device's queues (it may have started on them) until a reset. */
	wr(d.t, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(d.t, VIRTIO_MMIO_QUEUE_READY, 0);
	ck_assert_uint_eq(rd(d.t, VIRTIO_MMIO_QUEUE_READY), 1);
	wr(d.t, VIRTIO_MMIO_QUEUE_NUM, 256);
	assert_queue_unchanged(&d.queues[0], &d.seen[0]);
	other_vcpu_writes(d.t);
	assert_queue_unchanged(&d.queues[0], &d.seen[0]);

	/* Writes racing the reset itself do not reach the queues the device is letting go. */
	d.on_reset = writes_while_resetting;
	d.resets = 0;
	wr(d.t, VIRTIO_MMIO_STATUS, 0);
	ck_assert_int_eq(d.resets, 1);
	ck_assert_uint_eq(rd(d.t, VIRTIO_MMIO_STATUS), 0);

	/* After the reset the driver sets queues up again, as usual. */
	d.on_reset = NULL;
	d.activate_ret = 0;
	drv_begin(d.t);
	drv_queue(d.t, 0, 16, 0x1000, 0x2000, 0x3000);
	ck_assert_uint_eq(rd(d.t, VIRTIO_MMIO_QUEUE_READY), 1);
	drv_driver_ok(d.t);
	ck_assert_uint_eq(rd(d.t, VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK);
	ck_assert_uint_eq(d.seen[0].size, 16);
	virtio_mmio_destroy(d.t);
}
END_TEST

/* ---- virtio-net, the device of the report ---- */

/*
 * A backend that feeds RX frames on demand.  set_offloads is called from
 * virtio-net's activate after RX is already live, which is where the
 * deterministic test acts as the other vCPU and the event loop.
 */
struct hook_backend {
	struct net_backend be;
	void (*on_set_offloads)(struct hook_backend *hb);
	struct virtio_transport *t;
	int rx_ret[2];
	atomic_int spin_us; /* stress: how long activation takes */
};

static int hb_start(struct net_backend *be)
{
	(void)be;
	return 0;
}

static int hb_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	(void)be;
	(void)iov;
	(void)iovcnt;
	return 0;
}

static void spin_for_us(int us)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	do
		clock_gettime(CLOCK_MONOTONIC, &now);
	while ((now.tv_sec - start.tv_sec) * 1000000 + (now.tv_nsec - start.tv_nsec) / 1000 < us);
}

static int hb_set_offloads(struct net_backend *be, uint64_t features)
{
	struct hook_backend *hb = (struct hook_backend *)be;

	if (!features && !hb->on_set_offloads)
		return 0;
	if (hb->on_set_offloads)
		hb->on_set_offloads(hb);
	spin_for_us(atomic_load(&hb->spin_us));
	return 0;
}

static void hb_rx_resume(struct net_backend *be)
{
	(void)be;
}

static void hb_destroy(struct net_backend *be)
{
	free(be);
}

static const struct net_backend_ops hb_ops = {hb_start, hb_send, hb_set_offloads, hb_rx_resume,
					      hb_destroy};

static int hb_deliver(struct hook_backend *hb)
{
	uint8_t frame[FRAME_LEN] = {0};
	int ret;

	memset(frame + NET_VNET_HDR_LEN, 0x5a, FRAME_LEN - NET_VNET_HDR_LEN);
	ret = hb->be.port.receive(hb->be.port.opaque, frame, sizeof(frame));
	hb->be.port.flush(hb->be.port.opaque);
	return ret;
}

static struct virtio_net *make_net(struct hook_backend **out)
{
	static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	struct hook_backend *hb = calloc(1, sizeof(*hb));
	struct virtio_net *net = NULL;
	struct vmm_err err = {{0}};

	ck_assert_ptr_nonnull(hb);
	hb->be = (struct net_backend){&hb_ops, "hook", 0, {0}};
	ck_assert_int_eq(virtio_net_create_with_backend(&net, &hb->be, mac, NULL, &quiet, &err), 0);
	*out = hb;
	return net;
}

/* During activation: a frame, the other vCPU's writes, another frame. */
static void frame_writes_frame(struct hook_backend *hb)
{
	hb->on_set_offloads = NULL;
	hb->rx_ret[0] = hb_deliver(hb);
	other_vcpu_writes(hb->t);
	hb->rx_ret[1] = hb_deliver(hb);
}

/*
 * The report's scenario, made deterministic: RX used ring in the last bytes
 * of RAM with QueueNum 1, DRIVER_OK, and while virtio-net activates (its RX
 * already live) QueueReady=0, QueueNum=256, QueueNum=1, QueueReady=1
 * between two frames.  Before the fix the writes were taken: the re-ready
 * queue restarted at index 0 and the second frame went into the buffer the
 * driver already owned.
 */
START_TEST(net_rx_during_activation_with_queue_writes)
{
	struct hook_backend *hb;
	struct virtio_net *net = make_net(&hb);
	struct virtio_transport *t = make_transport(virtio_net_device_ops(net), net);
	struct vring_used *used = host(LAST_USED_GPA);
	struct virtio_net_stats st;

	hb->t = t;
	drv_begin(t);
	drv_queue(t, 0, 1, 0x1000, 0x2000, LAST_USED_GPA);
	post_one_rx_buffer(0x1000, 0x2000, 1);
	hb->on_set_offloads = frame_writes_frame;
	drv_driver_ok(t);

	ck_assert_int_eq(hb->rx_ret[0], 0);
	ck_assert_int_eq(hb->rx_ret[1], -ENOBUFS); /* the one buffer is used: wait */
	virtio_net_get_stats(net, &st);
	ck_assert_uint_eq(st.rx_frames, 1);
	ck_assert_uint_eq(used->idx, 1);
	ck_assert_uint_eq(used->ring[0].id, 0);
	ck_assert_uint_eq(used->ring[0].len, FRAME_LEN);
	wr(t, VIRTIO_MMIO_QUEUE_SEL, 0);
	ck_assert_uint_eq(rd(t, VIRTIO_MMIO_QUEUE_READY), 1);
	ck_assert(rd(t, VIRTIO_MMIO_STATUS) & S_NR);

	virtio_mmio_destroy(t);
	virtio_net_destroy(net);
}
END_TEST

/* ---- The same with real threads: two vCPUs and the event loop ---- */

struct race {
	struct virtio_transport *t;
	struct hook_backend *hb;
	atomic_bool stop;
	atomic_ulong writes, frames;
};

static void *other_vcpu_thread(void *opaque)
{
	struct race *r = opaque;

	while (!atomic_load(&r->stop)) {
		other_vcpu_writes(r->t);
		atomic_fetch_add(&r->writes, 1);
	}
	return NULL;
}

static void *event_loop_thread(void *opaque)
{
	struct race *r = opaque;
	struct vring_used *used = host(LAST_USED_GPA);
	struct vring_avail *avail = host(0x2000);

	while (!atomic_load(&r->stop)) {
		hb_deliver(r->hb);
		atomic_fetch_add(&r->frames, 1);
		/*
		 * The guest's RX refill, done here for brevity: re-post the one
		 * buffer as soon as it is used, so used_idx keeps climbing (a
		 * size-256 index of it lands past the end of RAM).
		 */
		__atomic_store_n(&avail->idx,
				 (uint16_t)(__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE) + 1),
				 __ATOMIC_RELEASE);
	}
	return NULL;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * vCPU 0 resets and re-activates virtio-net over and over (QueueNum 1, used
 * ring at the end of RAM, one RX buffer re-posted each time); vCPU 1 loops
 * the report's writes; the "event loop" delivers frames all along.  Nothing
 * may be written past the end of RAM (the guard page faults).  Before the
 * fix, ThreadSanitizer flagged the race here at once (QueueReady written on
 * vCPU 1 while net_rx_receive read it); the out-of-RAM write itself needs a
 * nanosecond window between the ring check and the index and did not show
 * in 20 s of this test on two shared cores.
 */
START_TEST(net_activation_race_stress)
{
	struct race r = {0};
	struct virtio_net *net = make_net(&r.hb);
	pthread_t vcpu1, loop;
	uint64_t end = now_ms() + (getenv("MVM_RACE_MS") ? atoi(getenv("MVM_RACE_MS")) : 300);
	unsigned rounds = 0;

	r.t = make_transport(virtio_net_device_ops(net), net);
	r.hb->t = r.t;
	atomic_store(&r.hb->spin_us, 20); /* a slow TUNSETOFFLOAD widens the window */
	ck_assert_int_eq(pthread_create(&vcpu1, NULL, other_vcpu_thread, &r), 0);
	ck_assert_int_eq(pthread_create(&loop, NULL, event_loop_thread, &r), 0);
	while (now_ms() < end) {
		drv_begin(r.t);
		memset(host(LAST_USED_GPA), 0, 16);
		drv_queue(r.t, 0, 1, 0x1000, 0x2000, LAST_USED_GPA);
		post_one_rx_buffer(0x1000, 0x2000, 1);
		drv_driver_ok(r.t);
		rounds++;
	}
	atomic_store(&r.stop, true);
	pthread_join(vcpu1, NULL);
	pthread_join(loop, NULL);
	if (getenv("MVM_TEST_VERBOSE"))
		fprintf(stderr, "activation race: %u rounds, %lu write loops, %lu frames\n", rounds,
			atomic_load(&r.writes), atomic_load(&r.frames));
	ck_assert_uint_gt(rounds, 10);
	ck_assert_uint_gt(atomic_load(&r.writes), 10);
	ck_assert_uint_gt(atomic_load(&r.frames), 10);

	virtio_mmio_destroy(r.t);
	virtio_net_destroy(net);
}
END_TEST

Suite *virtio_activation_suite(void)
{
	Suite *s = suite_create("virtio_activation");
	TCase *tc = tcase_create("live queues");

	tcase_add_checked_fixture(tc, setup, ram_teardown);
	tcase_add_test(tc, ring_keeps_the_size_it_was_validated_for);
	tcase_add_test(tc, queue_writes_during_activation_refused);
	tcase_add_test(tc, queue_writes_refused_until_reset_completes);
	tcase_add_test(tc, net_rx_during_activation_with_queue_writes);
	tcase_add_test(tc, net_activation_race_stress);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	return s;
}
