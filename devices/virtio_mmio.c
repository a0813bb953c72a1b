// SPDX-License-Identifier: MIT
/*
 * The virtio-mmio transport, version 2 only (VIRTIO 1.2 §4.2.2).
 *
 * Two mutexes (see devices/virtio.h for what devices may rely on):
 *  - `lock` guards the register state below; held only for short register
 *    updates, never while calling a device op or the irq chip;
 *  - `ops_lock` serializes every call into the device (config access,
 *    activate, reset, queue_notify), so reset never races a queue handler.
 * Order: ops_lock -> device locks -> lock.  Devices call virtio_notify_used()
 * and friends from their ops or their own threads; those take only `lock`.
 *
 * Queues (DESIGN.md §2, one owner per live virtqueue): the queue registers
 * (`regs`) are the driver's and only configure; the device gets `live`, a
 * validated snapshot taken under `lock` when a DRIVER_OK write starts
 * activation.  From that moment `queues_live` refuses every queue-register
 * write, and only the device's reset op returning (followed by
 * reset_registers()) ends it.  The transport never reads or writes a live
 * queue in between: activation drops `lock` while the device's activate op
 * runs (its RX may already be live), so a check of DRIVER_OK alone, set only
 * afterwards, let another vCPU resize a ring under the device (issue 10,
 * defect 1).
 *
 * Interrupt lines are pulsed after `lock` is dropped (pulse_pending), since
 * the irq chip may be slow (irqfd write) or a test recorder.
 */
#include "devices/virtio_mmio.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "boot/layout.h"

#define MMIO_MAGIC   0x74726976u /* "virt" little-endian (§4.2.2) */
#define MMIO_VERSION 2u		 /* modern only; version 1 is legacy */

#define TRANSPORT_FEATURES                                                                         \
	((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX) |                        \
	 (1ull << VIRTIO_RING_F_INDIRECT_DESC))

#define S_ACK	      VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRIVER      VIRTIO_CONFIG_S_DRIVER
#define S_FEATURES_OK VIRTIO_CONFIG_S_FEATURES_OK
#define S_DRIVER_OK   VIRTIO_CONFIG_S_DRIVER_OK
#define S_NEEDS_RESET VIRTIO_CONFIG_S_NEEDS_RESET
#define S_FAILED      VIRTIO_CONFIG_S_FAILED
#define S_DRIVER_BITS (S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK | S_FAILED)

/* What a Status write asks the transport to do once it has been checked. */
enum status_action {
	STATUS_DONE,	 /* state already updated (or the write refused) */
	STATUS_RESET,	 /* 0 written: reset the device */
	STATUS_ACTIVATE, /* DRIVER_OK added: activate the device */
};

/* The driver's queue registers (§4.2.2): configuration only, never used as a ring. */
struct queue_regs {
	uint16_t num;
	bool ready;
	uint64_t desc, avail, used;
};

struct notify_ctx {
	struct virtio_transport *t;
	unsigned q;
};

struct virtio_transport {
	const struct virtio_device_ops *ops;
	void *dev;
	uint64_t base;
	struct virtio_mmio_env env;
	pthread_mutex_t ops_lock;
	pthread_mutex_t lock;

	/* Below: guarded by `lock`. */
	struct ratelimit rl;
	uint32_t status;
	uint32_t isr; /* InterruptStatus: VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG */
	uint32_t config_generation;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
	uint64_t offered_features;
	uint64_t driver_features;
	bool driver_features_beyond_64; /* non-zero bits written to pages >= 2 */
	bool pulse_pending;
	bool queues_live; /* activation started, reset not yet complete: see the top */
	struct queue_regs regs[VIRTIO_MAX_QUEUES];

	/* The device's from activation until its reset op returns; see the top. */
	struct virtq live[VIRTIO_MAX_QUEUES];

	/* Immutable after create. */
	int notify_fd[VIRTIO_MAX_QUEUES];
	struct notify_ctx notify_ctx[VIRTIO_MAX_QUEUES];
};

/*
 * The driver's steps of §3.1.1, one bit at a time, as Linux's
 * virtio_add_status() does them.  FAILED (any time) and 0 (reset) are
 * handled separately.
 */
static const struct {
	uint32_t from, to;
} status_transitions[] = {
    {0, S_ACK},
    {S_ACK, S_ACK | S_DRIVER},
    {S_ACK | S_DRIVER, S_ACK | S_DRIVER | S_FEATURES_OK},
    {S_ACK | S_DRIVER | S_FEATURES_OK, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK},
};

static void state_lock(struct virtio_transport *t)
{
	pthread_mutex_lock(&t->lock);
}

/* Drops `lock`, then raises the interrupt edge that was decided under it. */
static void state_unlock(struct virtio_transport *t)
{
	bool pulse = t->pulse_pending;

	t->pulse_pending = false;
	pthread_mutex_unlock(&t->lock);
	if (pulse)
		irq_line_pulse(&t->env.irq);
}

/* `lock` held.  Queues the interrupt; state_unlock() delivers it. */
static void raise_isr(struct virtio_transport *t, uint32_t bit)
{
	t->isr |= bit;
	t->pulse_pending = true;
}

/* `lock` held.  §2.1.2: tell a running driver with a config interrupt. */
static void mark_needs_reset(struct virtio_transport *t)
{
	t->status |= S_NEEDS_RESET;
	if (t->status & S_DRIVER_OK)
		raise_isr(t, VIRTIO_MMIO_INT_CONFIG);
}

/*
 * A ring as the registers describe it, checked by virtq_validate() (which
 * records the mapping in vq->ring).  `lock` held.
 */
static int queue_from_regs(struct virtio_transport *t, unsigned q, struct virtq *vq)
{
	const struct queue_regs *r = &t->regs[q];

	memset(vq, 0, sizeof(*vq));
	vq->size = r->num;
	vq->desc_gpa = r->desc;
	vq->avail_gpa = r->avail;
	vq->used_gpa = r->used;
	vq->mem = t->env.mem;
	virtq_reset(vq);
	return virtq_validate(vq);
}

/*
 * `lock` held.  Everything the driver set up goes; ioeventfds stay.  Only
 * after the device's reset op has returned (or before any activation): the
 * live queues may be in use until then.
 */
static void reset_registers(struct virtio_transport *t)
{
	t->status = 0;
	t->isr = 0;
	t->device_features_sel = 0;
	t->driver_features_sel = 0;
	t->queue_sel = 0;
	t->driver_features = 0;
	t->driver_features_beyond_64 = false;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		/* QueueNum reads back nothing; the maximum until the driver writes it. */
		t->regs[q] = (struct queue_regs){.num = VIRTQ_MAX_SIZE};
		memset(&t->live[q], 0, sizeof(t->live[q]));
	}
	t->queues_live = false;
}

/* ---- Device status (§2.1, §3.1.1) ---- */

/* `lock` held.  §2.2, §6.1: VERSION_1 required, nothing we did not offer. */
static bool features_acceptable(struct virtio_transport *t)
{
	const char *name = t->ops->name;

	if (!(t->driver_features & (1ull << VIRTIO_F_VERSION_1))) {
		log_guest_error(t->env.log, &t->rl,
				"%s: driver did not accept VIRTIO_F_VERSION_1 (legacy drivers are "
				"not supported); FEATURES_OK refused",
				name);
		return false;
	}
	if ((t->driver_features & ~t->offered_features) || t->driver_features_beyond_64) {
		log_guest_error(t->env.log, &t->rl,
				"%s: driver accepted features 0x%llx that were not offered; "
				"FEATURES_OK refused",
				name,
				(unsigned long long)(t->driver_features & ~t->offered_features));
		return false;
	}
	return true;
}

static bool transition_allowed(uint32_t from, uint32_t to)
{
	for (size_t i = 0; i < sizeof(status_transitions) / sizeof(status_transitions[0]); i++)
		if (status_transitions[i].from == from && status_transitions[i].to == to)
			return true;
	return false;
}

static void invalid_status_write(struct virtio_transport *t, uint32_t value)
{
	log_guest_error(t->env.log, &t->rl,
			"%s: invalid device status transition 0x%x -> 0x%x; device needs reset",
			t->ops->name, t->status, value);
	mark_needs_reset(t);
}

/*
 * `lock` held.  Bits are never cleared except by writing 0 (§2.1.1); the
 * driver may echo DEVICE_NEEDS_RESET back, which is ours and ignored.
 */
static enum status_action decide_status_write(struct virtio_transport *t, uint32_t value)
{
	uint32_t cur = t->status & S_DRIVER_BITS;
	uint32_t want = value & ~S_NEEDS_RESET;

	if (value == 0)
		return STATUS_RESET;
	if (want == cur)
		return STATUS_DONE;
	if (want == (cur | S_FAILED)) {
		t->status |= S_FAILED;
		return STATUS_DONE;
	}
	if ((want & ~S_DRIVER_BITS) || !transition_allowed(cur, want)) {
		invalid_status_write(t, value);
		return STATUS_DONE;
	}
	if (t->status & S_NEEDS_RESET) {
		log_guest_error(t->env.log, &t->rl,
				"%s: status 0x%x written while the device needs reset; ignored",
				t->ops->name, value);
		return STATUS_DONE;
	}
	if (want & ~cur & S_FEATURES_OK) {
		/* §3.1.1 step 6: the driver re-reads Status to see if it stuck. */
		if (features_acceptable(t))
			t->status |= S_FEATURES_OK;
		return STATUS_DONE;
	}
	if (want & ~cur & S_DRIVER_OK)
		return STATUS_ACTIVATE;
	t->status = want | (t->status & S_NEEDS_RESET);
	return STATUS_DONE;
}

/*
 * ops_lock held, `lock` held on entry and exit.  `lock` is dropped while the
 * device lets go of its queues (its threads may be inside a pop or push
 * until its reset op returns); queues_live stays set meanwhile, so register
 * writes from other vCPUs are still refused, and the live queues are
 * cleared only afterwards.
 */
static void do_reset(struct virtio_transport *t)
{
	state_unlock(t);
	if (t->ops->reset)
		t->ops->reset(t->dev);
	state_lock(t);
	reset_registers(t);
}

/*
 * ops_lock held, `lock` held on entry and exit.  The snapshot and
 * queues_live are set before `lock` is dropped: from here on the queue
 * registers cannot change what the device uses, whether activation succeeds
 * or not, until a reset completes.
 */
static void do_activate(struct virtio_transport *t)
{
	uint64_t features = t->driver_features;
	int ret = 0;

	for (unsigned q = 0; q < t->ops->nqueues; q++) {
		struct virtq *vq = &t->live[q];

		/* Ready queues passed the same check at QueueReady; their registers are frozen. */
		vq->ready = t->regs[q].ready && queue_from_regs(t, q, vq) == 0;
		vq->event_idx = features & (1ull << VIRTIO_RING_F_EVENT_IDX);
		vq->indirect = features & (1ull << VIRTIO_RING_F_INDIRECT_DESC);
	}
	t->queues_live = true;
	state_unlock(t);
	if (t->ops->activate)
		ret = t->ops->activate(t->dev, t, features, t->live);
	state_lock(t);
	if (ret < 0) {
		log_guest_error(t->env.log, &t->rl, "%s: device refused to activate (%s)",
				t->ops->name, strerror(-ret));
		mark_needs_reset(t);
		return;
	}
	t->status |= S_DRIVER_OK;
	/* §2.1.2: a write refused during activation set NEEDS_RESET before DRIVER_OK was there. */
	if (t->status & S_NEEDS_RESET)
		raise_isr(t, VIRTIO_MMIO_INT_CONFIG);
}

static void write_status(struct virtio_transport *t, uint32_t value)
{
	pthread_mutex_lock(&t->ops_lock);
	state_lock(t);
	switch (decide_status_write(t, value)) {
	case STATUS_RESET:
		do_reset(t);
		break;
	case STATUS_ACTIVATE:
		do_activate(t);
		break;
	case STATUS_DONE:
		break;
	}
	state_unlock(t);
	pthread_mutex_unlock(&t->ops_lock);
}

/* ---- Features (§2.2, §4.2.2: 32-bit pages selected by *FeaturesSel) ---- */

static uint32_t device_features_page(const struct virtio_transport *t)
{
	return t->device_features_sel < 2
		   ? (uint32_t)(t->offered_features >> (32 * t->device_features_sel))
		   : 0;
}

/* `lock` held.  §3.1.1: features are fixed once FEATURES_OK is set. */
static void write_driver_features(struct virtio_transport *t, uint32_t value)
{
	unsigned shift = 32 * t->driver_features_sel;

	if (t->status & S_FEATURES_OK) {
		log_guest_error(t->env.log, &t->rl,
				"%s: DriverFeatures written after FEATURES_OK; ignored",
				t->ops->name);
		return;
	}
	if (t->driver_features_sel >= 2) {
		t->driver_features_beyond_64 |= value != 0;
		return;
	}
	t->driver_features &= ~(0xffffffffull << shift);
	t->driver_features |= (uint64_t)value << shift;
}

/* ---- Queues (§4.2.2, §4.2.3.2) ---- */

/*
 * `lock` held.  The selected queue's registers if they may be written: the
 * queue exists, is not ready, and the device does not own the queues
 * (activation started and no reset since; §4.2.2.3: the driver MUST NOT
 * change a ready queue).  A refused write leaves the driver believing
 * something the device does not, so the device needs reset.
 */
static struct queue_regs *queue_for_config(struct virtio_transport *t, const char *reg)
{
	const char *why = NULL;

	if (t->queue_sel >= t->ops->nqueues)
		why = "queue does not exist";
	else if (t->queues_live)
		why = "the device owns its queues (DRIVER_OK or activating) until reset";
	else if (t->regs[t->queue_sel].ready)
		why = "queue is ready";
	if (!why)
		return &t->regs[t->queue_sel];
	log_guest_error(t->env.log, &t->rl, "%s: %s write to queue %u refused: %s", t->ops->name,
			reg, t->queue_sel, why);
	mark_needs_reset(t);
	return NULL;
}

static void write_queue_num(struct virtio_transport *t, uint32_t value)
{
	struct queue_regs *r = queue_for_config(t, "QueueNum");

	if (!r)
		return;
	if (value == 0 || value > VIRTQ_MAX_SIZE || (value & (value - 1))) {
		log_guest_error(t->env.log, &t->rl,
				"%s: QueueNum %u for queue %u is not a power of 2 <= %u; device "
				"needs reset",
				t->ops->name, value, t->queue_sel, VIRTQ_MAX_SIZE);
		mark_needs_reset(t);
		return;
	}
	r->num = (uint16_t)value;
}

static void set_half(uint64_t *field, bool high, uint32_t value)
{
	if (high)
		*field = (*field & 0xffffffffull) | (uint64_t)value << 32;
	else
		*field = (*field & ~0xffffffffull) | value;
}

static void write_queue_addr(struct virtio_transport *t, uint64_t offset, uint32_t value)
{
	struct queue_regs *r = queue_for_config(t, "queue address");
	bool high = offset & 4;

	if (!r)
		return;
	switch (offset & ~4ull) {
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		set_half(&r->desc, high, value);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
		set_half(&r->avail, high, value);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
		set_half(&r->used, high, value);
		break;
	}
}

/*
 * Linux writes 0 to tear queues down (vm_del_vq); fine while the device
 * does not own them.  QueueReady=1 checks the layout now, so the driver
 * learns of a bad one at once; activation checks it again into the ring
 * the device gets.
 */
static void write_queue_ready(struct virtio_transport *t, uint32_t value)
{
	struct queue_regs *r;
	struct virtq check;

	if (value == 0 && t->queue_sel < t->ops->nqueues && !t->queues_live) {
		t->regs[t->queue_sel].ready = false;
		return;
	}
	r = queue_for_config(t, "QueueReady");
	if (!r)
		return;
	if (value != 1 || queue_from_regs(t, t->queue_sel, &check) < 0) {
		log_guest_error(t->env.log, &t->rl,
				"%s: QueueReady=%u for queue %u refused (size %u, desc 0x%llx, "
				"avail 0x%llx, used 0x%llx: misaligned or outside RAM); device "
				"needs reset",
				t->ops->name, value, t->queue_sel, r->num,
				(unsigned long long)r->desc, (unsigned long long)r->avail,
				(unsigned long long)r->used);
		mark_needs_reset(t);
		return;
	}
	r->ready = true;
}

/*
 * The driver kicked queue q (from an ioeventfd or a QueueNotify write).
 * Dropped unless the device is live and healthy: §3.1.1 (nothing before
 * DRIVER_OK), §2.1.2 (needs reset; devices set it on a broken queue).  Of
 * the live queue only `ready` is read, which nobody writes while it is
 * live; the device's ring state (indices, broken) is the device's alone.
 */
static void dispatch_notify(struct virtio_transport *t, unsigned q)
{
	bool deliver;

	pthread_mutex_lock(&t->ops_lock);
	state_lock(t);
	deliver = q < t->ops->nqueues && (t->status & S_DRIVER_OK) &&
		  !(t->status & S_NEEDS_RESET) && t->live[q].ready;
	state_unlock(t);
	if (deliver && t->ops->queue_notify)
		t->ops->queue_notify(t->dev, q);
	pthread_mutex_unlock(&t->ops_lock);
}

static void write_queue_notify(struct virtio_transport *t, uint32_t q)
{
	if (q >= t->ops->nqueues) {
		state_lock(t);
		log_guest_error(t->env.log, &t->rl,
				"%s: QueueNotify for queue %u, which does "
				"not exist",
				t->ops->name, q);
		state_unlock(t);
		return;
	}
	dispatch_notify(t, q);
}

static void on_notify_fd(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct notify_ctx *ctx = opaque;
	uint64_t count;

	(void)loop;
	(void)events;
	/* One read resets the eventfd counter; EAGAIN means a spurious wakeup. */
	if (read(fd, &count, sizeof(count)) != sizeof(count))
		return;
	dispatch_notify(ctx->t, ctx->q);
}

/* ---- Config space (§4.2.2.2: 8/16/32-bit, aligned accesses) ---- */

/* `lock` held. */
static bool config_access_ok(struct virtio_transport *t, uint64_t offset, uint32_t len,
			     const char *what)
{
	bool width_ok = (len == 1 || len == 2 || len == 4) && offset % len == 0;

	if (width_ok && offset < t->ops->config_size && len <= t->ops->config_size - offset)
		return true;
	log_guest_error(t->env.log, &t->rl,
			"%s: config %s of %u bytes at 0x%llx refused (config space is %u bytes; "
			"1/2/4-byte aligned accesses only)",
			t->ops->name, what, len, (unsigned long long)offset, t->ops->config_size);
	return false;
}

static void config_read(struct virtio_transport *t, uint64_t offset, void *data, uint32_t len)
{
	bool ok;

	state_lock(t);
	ok = config_access_ok(t, offset, len, "read");
	state_unlock(t);
	if (!ok || !t->ops->config_read)
		return;
	pthread_mutex_lock(&t->ops_lock);
	t->ops->config_read(t->dev, offset, data, len);
	pthread_mutex_unlock(&t->ops_lock);
}

static void config_write(struct virtio_transport *t, uint64_t offset, const void *data,
			 uint32_t len)
{
	bool ok;

	state_lock(t);
	ok = config_access_ok(t, offset, len, "write");
	state_unlock(t);
	if (!ok || !t->ops->config_write)
		return;
	pthread_mutex_lock(&t->ops_lock);
	t->ops->config_write(t->dev, offset, data, len);
	pthread_mutex_unlock(&t->ops_lock);
}

/* ---- Register file ---- */

/* `lock` held. */
static uint32_t read_register(struct virtio_transport *t, uint64_t offset)
{
	bool queue_exists = t->queue_sel < t->ops->nqueues;

	switch (offset) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return t->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR_ID_MINIVMM;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return device_features_page(t);
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return queue_exists ? VIRTQ_MAX_SIZE : 0; /* 0: "not available" */
	case VIRTIO_MMIO_QUEUE_READY:
		return queue_exists && t->regs[t->queue_sel].ready;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return t->isr;
	case VIRTIO_MMIO_STATUS:
		return t->status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffffu; /* §4.2.2: all ones = no such shared memory region */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return t->config_generation;
	}
	log_guest_error(t->env.log, &t->rl, "%s: read of write-only or unknown register 0x%llx",
			t->ops->name, (unsigned long long)offset);
	return 0;
}

/* `lock` held.  Status and QueueNotify are handled by the caller. */
static void write_register(struct virtio_transport *t, uint64_t offset, uint32_t value)
{
	switch (offset) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->device_features_sel = value;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->driver_features_sel = value;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		write_driver_features(t, value);
		return;
	case VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = value; /* any value: QueueNumMax reads 0 for missing queues */
		return;
	case VIRTIO_MMIO_QUEUE_NUM:
		write_queue_num(t, value);
		return;
	case VIRTIO_MMIO_QUEUE_READY:
		write_queue_ready(t, value);
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		t->isr &= ~value;
		return;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		write_queue_addr(t, offset, value);
		return;
	case VIRTIO_MMIO_SHM_SEL:
		return; /* no shared memory regions; the lengths read as all ones */
	}
	log_guest_error(t->env.log, &t->rl,
			"%s: write of 0x%x to read-only or unknown register "
			"0x%llx ignored",
			t->ops->name, value, (unsigned long long)offset);
}

/* §4.2.2.2: registers are 32 bits wide and read/written as such. */
static bool register_access_ok(struct virtio_transport *t, uint64_t offset, uint32_t len)
{
	if (len == 4 && offset % 4 == 0)
		return true;
	state_lock(t);
	log_guest_error(t->env.log, &t->rl,
			"%s: %u-byte access to register 0x%llx ignored "
			"(registers are aligned 32-bit)",
			t->ops->name, len, (unsigned long long)offset);
	state_unlock(t);
	return false;
}

void virtio_mmio_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct virtio_transport *t = opaque;
	uint32_t value;

	memset(data, 0, len);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		config_read(t, offset - VIRTIO_MMIO_CONFIG, data, len);
		return;
	}
	if (!register_access_ok(t, offset, len))
		return;
	state_lock(t);
	value = read_register(t, offset);
	state_unlock(t);
	memcpy(data, &value, sizeof(value));
}

void virtio_mmio_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct virtio_transport *t = opaque;
	uint32_t value;

	if (offset >= VIRTIO_MMIO_CONFIG) {
		config_write(t, offset - VIRTIO_MMIO_CONFIG, data, len);
		return;
	}
	if (!register_access_ok(t, offset, len))
		return;
	memcpy(&value, data, sizeof(value));
	if (offset == VIRTIO_MMIO_STATUS) {
		write_status(t, value);
		return;
	}
	if (offset == VIRTIO_MMIO_QUEUE_NOTIFY) {
		write_queue_notify(t, value);
		return;
	}
	state_lock(t);
	write_register(t, offset, value);
	state_unlock(t);
}

uint32_t virtio_mmio_status(const struct virtio_transport *t)
{
	struct virtio_transport *mut = (struct virtio_transport *)t;
	uint32_t status;

	state_lock(mut);
	status = mut->status;
	state_unlock(mut);
	return status;
}

/* ---- Called by devices ---- */

void virtio_notify_used(struct virtio_transport *t, unsigned q)
{
	state_lock(t);
	/* §3.1.1: no used buffer notifications before DRIVER_OK. */
	if (q < t->ops->nqueues && (t->status & S_DRIVER_OK))
		raise_isr(t, VIRTIO_MMIO_INT_VRING);
	state_unlock(t);
}

void virtio_set_needs_reset(struct virtio_transport *t)
{
	state_lock(t);
	mark_needs_reset(t);
	state_unlock(t);
}

/* §2.5.1 (config generation), §4.2.2: InterruptStatus bit 1. */
void virtio_config_changed(struct virtio_transport *t)
{
	state_lock(t);
	t->config_generation++;
	if (t->status & S_DRIVER_OK)
		raise_isr(t, VIRTIO_MMIO_INT_CONFIG);
	state_unlock(t);
}

/*
 * notify_fd[] is immutable after create, so no lock: an eventfd write is
 * exactly what KVM does for the driver's QueueNotify, and the loop then
 * goes through dispatch_notify() with all its checks (ops_lock, DRIVER_OK,
 * NEEDS_RESET).  Several writes before the loop reads coalesce into one call.
 */
int virtio_queue_reschedule(struct virtio_transport *t, unsigned q)
{
	uint64_t one = 1;

	if (q >= VIRTIO_MAX_QUEUES || t->notify_fd[q] < 0)
		return -ENOENT;
	/* EAGAIN only if the counter is near 2^64: a call is pending anyway. */
	if (write(t->notify_fd[q], &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

/* ---- Create / destroy ---- */

static void remove_notify_fds(struct virtio_transport *t)
{
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		int fd = t->notify_fd[q];

		if (fd < 0)
			continue;
		ev_del(t->env.loop, fd);
		t->env.register_notify(t->env.opaque, t->base + VIRTIO_MMIO_QUEUE_NOTIFY, q, fd,
				       false);
		close(fd);
		t->notify_fd[q] = -1;
	}
}

static int add_notify_fd(struct virtio_transport *t, unsigned q, struct vmm_err *err)
{
	uint64_t addr = t->base + VIRTIO_MMIO_QUEUE_NOTIFY;
	int fd, ret;

	fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0)
		return vmm_errf(err, -errno, "%s: eventfd for queue %u: %s (raise RLIMIT_NOFILE?)",
				t->ops->name, q, strerror(errno));
	ret = t->env.register_notify(t->env.opaque, addr, q, fd, true);
	if (ret < 0) {
		close(fd);
		return vmm_errf(err, ret,
				"%s: registering the ioeventfd for queue %u at 0x%llx: %s",
				t->ops->name, q, (unsigned long long)addr, strerror(-ret));
	}
	t->notify_ctx[q] = (struct notify_ctx){t, q};
	ret = ev_add(t->env.loop, fd, EPOLLIN, on_notify_fd, &t->notify_ctx[q]);
	if (ret < 0) {
		t->env.register_notify(t->env.opaque, addr, q, fd, false);
		close(fd);
		return vmm_errf(err, ret, "%s: adding the queue %u eventfd to the event loop: %s",
				t->ops->name, q, strerror(-ret));
	}
	t->notify_fd[q] = fd;
	return 0;
}

static int check_ops(const struct virtio_device_ops *ops, const struct virtio_mmio_env *env,
		     struct vmm_err *err)
{
	if (ops->nqueues > VIRTIO_MAX_QUEUES)
		return vmm_errf(err, -EINVAL, "%s: %u queues, at most %d supported", ops->name,
				ops->nqueues, VIRTIO_MAX_QUEUES);
	if (ops->config_size > VIRTIO_MMIO_SIZE - VIRTIO_MMIO_CONFIG)
		return vmm_errf(err, -EINVAL,
				"%s: config space of %u bytes does not fit the MMIO "
				"window",
				ops->name, ops->config_size);
	if (env->register_notify && !env->loop)
		return vmm_errf(err, -EINVAL, "%s: ioeventfds need an event loop", ops->name);
	return 0;
}

int virtio_mmio_create(struct virtio_transport **out, const struct virtio_device_ops *ops,
		       void *dev, uint64_t base, const struct virtio_mmio_env *env,
		       struct vmm_err *err)
{
	struct virtio_transport *t;
	int ret;

	ret = check_ops(ops, env, err);
	if (ret < 0)
		return ret;
	t = calloc(1, sizeof(*t));
	if (!t)
		return vmm_errf(err, -ENOMEM, "%s: out of memory for the transport", ops->name);
	t->ops = ops;
	t->dev = dev;
	t->base = base;
	t->env = *env;
	t->rl = (struct ratelimit)RATELIMIT_INIT;
	t->offered_features = ops->features | TRANSPORT_FEATURES;
	pthread_mutex_init(&t->ops_lock, NULL);
	pthread_mutex_init(&t->lock, NULL);
	reset_registers(t);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		t->notify_fd[q] = -1;
	for (unsigned q = 0; env->register_notify && q < ops->nqueues; q++) {
		ret = add_notify_fd(t, q, err);
		if (ret < 0) {
			virtio_mmio_destroy(t);
			return ret;
		}
	}
	*out = t;
	return 0;
}

void virtio_mmio_destroy(struct virtio_transport *t)
{
	if (!t)
		return;
	remove_notify_fds(t);
	pthread_mutex_destroy(&t->lock);
	pthread_mutex_destroy(&t->ops_lock);
	free(t);
}
