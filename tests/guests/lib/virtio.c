/* SPDX-License-Identifier: MIT */
#include "tests/guests/lib/virtio.h"

#include <stddef.h>

#include "tests/guests/lib/acpi.h"
#include "tests/guests/lib/io.h"
#include "tests/guests/lib/report.h"
#include "tests/guests/lib/serial.h"
#include "tests/guests/lib/str.h"

#define VIRTIO_MMIO_HID "LNRO0005"
#define CMDLINE_KEY	"virtio_mmio.device="

#define RTC_SECONDS 0x00
/*
 * A backstop for a stuck RTC.  Each poll is several exits to the VMM (Status,
 * InterruptStatus, two CMOS ports): that is the delay between looks at the
 * used ring, and it lets the VMM's event loop run on a 2-core host.
 */
#define VIRTIO_POLL_LIMIT 1000000u

/* ---- Discovery ------------------------------------------------------------ */

static void sort_locs(struct virtio_loc *locs, unsigned int n)
{
	for (unsigned int i = 1; i < n; i++) {
		struct virtio_loc l = locs[i];
		unsigned int j = i;

		for (; j && locs[j - 1].base > l.base; j--)
			locs[j] = locs[j - 1];
		locs[j] = l;
	}
}

unsigned int virtio_find_acpi(const struct boot_info *bi, struct virtio_loc *locs, unsigned int max)
{
	struct acpi_mmio_dev devs[VIRTIO_LOC_MAX];
	struct acpi_info ai;
	unsigned int found, n;

	if (!bi->rsdp_addr || !acpi_scan(&ai, bi->rsdp_addr, false))
		return 0;
	found = acpi_find_mmio_devices(&ai, VIRTIO_MMIO_HID, devs, VIRTIO_LOC_MAX);
	n = found < VIRTIO_LOC_MAX ? found : VIRTIO_LOC_MAX;
	if (n > max)
		n = max;
	for (unsigned int i = 0; i < n; i++)
		locs[i] = (struct virtio_loc){devs[i].base, devs[i].size, devs[i].gsi};
	sort_locs(locs, n);
	return n;
}

/*
 * Linux's memparse(): decimal or 0x-hex, then an optional K/M/G suffix.
 * Advances *pp past what it read; false if there was no digit or it overflowed.
 */
static bool parse_size(const char **pp, uint64_t *value)
{
	const char *p = *pp;
	unsigned int radix = 10, shift = 0;
	uint64_t v = 0;
	bool any = false;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		radix = 16;
		p += 2;
	}
	for (; digit_value(*p) < (int)radix; p++) {
		if (__builtin_mul_overflow(v, radix, &v) ||
		    __builtin_add_overflow(v, (uint64_t)digit_value(*p), &v))
			return false;
		any = true;
	}
	switch (*p) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	}
	if (shift) {
		if (v >> (64 - shift))
			return false;
		v <<= shift;
		p++;
	}
	*pp = p;
	*value = v;
	return any;
}

/* One `<size>@<base>:<irq>[:<id>]` value, exactly `len` characters. */
static bool parse_device_arg(const char *p, const char *end, struct virtio_loc *loc)
{
	uint64_t irq;

	if (!parse_size(&p, &loc->size) || *p++ != '@' || !parse_size(&p, &loc->base) ||
	    *p++ != ':' || !parse_size(&p, &irq) || irq > 0xffffffffu)
		return false;
	loc->irq = (uint32_t)irq;
	if (p < end && *p == ':') {
		uint64_t id;

		p++;
		if (!parse_size(&p, &id))
			return false;
	}
	return p == end && loc->size;
}

unsigned int virtio_find_cmdline(const char *cmdline, struct virtio_loc *locs, unsigned int max)
{
	size_t key_len = strlen(CMDLINE_KEY);
	unsigned int n = 0;
	const char *p = cmdline;

	while (*p) {
		const char *word, *end;
		struct virtio_loc loc;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		word = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		end = p;
		if ((size_t)(end - word) <= key_len || strncmp(word, CMDLINE_KEY, key_len))
			continue;
		if (!parse_device_arg(word + key_len, end, &loc)) {
			printf("# virtio: ignoring a malformed " CMDLINE_KEY " entry\n");
			continue;
		}
		if (n < max)
			locs[n++] = loc;
	}
	sort_locs(locs, n);
	return n;
}

int virtio_probe(uint64_t base)
{
	if (mmio_read32(base + VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC ||
	    mmio_read32(base + VIRTIO_MMIO_VERSION) != 2)
		return -1;
	return (int)mmio_read32(base + VIRTIO_MMIO_DEVICE_ID);
}

uint64_t virtio_pick(const struct virtio_loc *locs, unsigned int n, uint32_t device_id,
		     unsigned int index)
{
	for (unsigned int i = 0; i < n; i++) {
		if (virtio_probe(locs[i].base) == (int)device_id && !index--)
			return locs[i].base;
	}
	return 0;
}

unsigned int virtio_discover(const struct boot_info *bi, struct virtio_loc *locs, unsigned int max,
			     const char **how)
{
	char arg[16] = "acpi";
	bool by_cmdline;
	unsigned int n;

	cmdline_get(bi, "discover", arg, sizeof(arg));
	by_cmdline = !strcmp(arg, "cmdline");
	if (by_cmdline)
		n = virtio_find_cmdline(bi->cmdline, locs, max);
	else
		n = virtio_find_acpi(bi, locs, max);
	for (unsigned int i = 0; i < n; i++)
		printf("virtio: base=0x%lx size=0x%lx irq=%u device_id=%d\n", locs[i].base,
		       locs[i].size, locs[i].irq, virtio_probe(locs[i].base));
	if (how)
		*how = by_cmdline ? "cmdline" : "acpi";
	return n;
}

int virtio_setup(const struct boot_info *bi, const struct virtio_want *want,
		 struct virtio_dev *const *queues, unsigned int nqueues)
{
	struct virtio_loc locs[VIRTIO_LOC_MAX];
	struct virtio_dev *dev = queues[0];
	const char *how;
	unsigned int n = virtio_discover(bi, locs, VIRTIO_LOC_MAX, &how);
	uint64_t base;
	int err;

	report(n > 0, "discover=%s finds virtio-mmio windows (%u)", how, n);
	for (unsigned int i = 0; want->check_window && i < n; i++)
		want->check_window(&locs[i]);
	base = virtio_pick(locs, n, want->device_id, want->index);
	if (!report(base != 0, "a %s device (DeviceID %u) at 0x%lx", want->name, want->device_id,
		    base))
		return VIRTIO_ERR_NO_DEVICE;
	err = virtio_dev_init_queues(queues, nqueues, base, want->features);
	printf("%s: vendor=0x%x device_features=0x%lx features=0x%lx queue_num_max=%u", guest_name,
	       virtio_read32(dev, VIRTIO_MMIO_VENDOR_ID), dev->device_features, dev->features,
	       dev->queue_num_max);
	for (unsigned int i = 1; i < nqueues; i++)
		printf("/%u", queues[i]->queue_num_max);
	printf("\n");
	if (!report(err == 0, "initialised: %s (status 0x%x)", virtio_strerror(err),
		    virtio_status(dev)))
		return err;
	return 0;
}

/* ---- Registers ------------------------------------------------------------ */

const char *virtio_strerror(int err)
{
	switch (err) {
	case VIRTIO_ERR_NO_DEVICE:
		return "no virtio device";
	case VIRTIO_ERR_FEATURES:
		return "feature negotiation failed";
	case VIRTIO_ERR_QUEUE:
		return "queue 0 unusable";
	case VIRTIO_ERR_STATUS:
		return "status did not read back";
	case VIRTIO_ERR_TIMEOUT:
		return "timed out";
	case VIRTIO_ERR_NEEDS_RESET:
		return "DEVICE_NEEDS_RESET";
	case VIRTIO_ERR_BAD_USED:
		return "used element for another head";
	case VIRTIO_ERR_ARGS:
		return "too many buffers";
	default:
		return err < 0 ? "error" : "ok";
	}
}

uint32_t virtio_read32(const struct virtio_dev *dev, uint32_t reg)
{
	return mmio_read32(dev->base + reg);
}

void virtio_write32(const struct virtio_dev *dev, uint32_t reg, uint32_t value)
{
	mmio_write32(dev->base + reg, value);
}

uint8_t virtio_status(const struct virtio_dev *dev)
{
	return (uint8_t)virtio_read32(dev, VIRTIO_MMIO_STATUS);
}

uint32_t virtio_config32(const struct virtio_dev *dev, uint32_t offset)
{
	return virtio_read32(dev, VIRTIO_MMIO_CONFIG + offset);
}

/* §4.2.2.2: 64-bit fields are two 32-bit reads, retried if ConfigGeneration moved. */
uint64_t virtio_config64(const struct virtio_dev *dev, uint32_t offset)
{
	uint64_t value = 0;

	for (int tries = 0; tries < 4; tries++) {
		uint32_t gen = virtio_read32(dev, VIRTIO_MMIO_CONFIG_GENERATION);

		value = virtio_config32(dev, offset) | (uint64_t)virtio_config32(dev, offset + 4)
							   << 32;
		if (virtio_read32(dev, VIRTIO_MMIO_CONFIG_GENERATION) == gen)
			break;
	}
	return value;
}

/* ---- Polling -------------------------------------------------------------- */

struct poll_clock {
	uint8_t last_second;
	unsigned int ticks;
	unsigned int limit_ticks;
	unsigned int polls;
};

static void poll_start(struct poll_clock *c)
{
	c->last_second = cmos_read(RTC_SECONDS);
	c->limit_ticks = VIRTIO_TIMEOUT_TICKS;
	c->ticks = 0;
	c->polls = 0;
}

static bool poll_expired(struct poll_clock *c)
{
	uint8_t now = cmos_read(RTC_SECONDS);

	if (now != c->last_second) {
		c->ticks++;
		c->last_second = now;
	}
	return c->ticks >= c->limit_ticks ||
	       ++c->polls >= VIRTIO_POLL_LIMIT / VIRTIO_TIMEOUT_TICKS * c->limit_ticks;
}

/* Status, then InterruptStatus (acknowledged): a device flags NEEDS_RESET before it interrupts. */
static uint8_t poll_status(struct virtio_dev *dev)
{
	uint8_t status = virtio_status(dev);
	uint32_t isr = virtio_read32(dev, VIRTIO_MMIO_INTERRUPT_STATUS);

	if (isr) {
		virtio_write32(dev, VIRTIO_MMIO_INTERRUPT_ACK, isr);
		dev->isr_seen |= isr;
	}
	return status;
}

uint8_t virtio_wait_status(struct virtio_dev *dev, uint8_t mask)
{
	struct poll_clock c;
	uint8_t status;

	poll_start(&c);
	while (!((status = poll_status(dev)) & mask) && !poll_expired(&c))
		cpu_relax();
	return status;
}

int virtio_wait(struct virtio_dev *dev, struct virtq_used_elem *elem)
{
	return virtio_wait_ticks(dev, elem, VIRTIO_TIMEOUT_TICKS);
}

int virtio_wait_ticks(struct virtio_dev *dev, struct virtq_used_elem *elem, unsigned int ticks)
{
	struct poll_clock c;

	poll_start(&c);
	c.limit_ticks = ticks;
	for (;;) {
		if (__atomic_load_n(&dev->used.idx, __ATOMIC_ACQUIRE) != dev->used_idx) {
			/*
			 * The acquire load pairs with the device's release store of
			 * used->idx after it wrote the element (§2.7.14).
			 */
			const struct virtq_used_elem *e =
			    &dev->used.ring[dev->used_idx % VIRTQ_SIZE];

			elem->id = e->id;
			elem->len = e->len;
			dev->last_used_len = e->len;
			dev->used_idx++;
			poll_status(dev);
			return 1;
		}
		if (poll_status(dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
			return VIRTIO_ERR_NEEDS_RESET;
		if (poll_expired(&c))
			return VIRTIO_ERR_TIMEOUT;
		cpu_relax();
	}
}

/* ---- Initialisation ------------------------------------------------------- */

int virtio_reset(struct virtio_dev *dev)
{
	struct poll_clock c;

	virtio_write32(dev, VIRTIO_MMIO_STATUS, 0);
	poll_start(&c);
	while (virtio_status(dev)) {
		if (poll_expired(&c))
			return VIRTIO_ERR_STATUS;
		cpu_relax();
	}
	return 0;
}

static int init_failed(struct virtio_dev *dev, int err)
{
	virtio_write32(dev, VIRTIO_MMIO_STATUS, virtio_status(dev) | VIRTIO_STATUS_FAILED);
	return err;
}

static void write_addr(const struct virtio_dev *dev, uint32_t low_reg, const void *p)
{
	uint64_t addr = (uint64_t)(uintptr_t)p;

	virtio_write32(dev, low_reg, (uint32_t)addr);
	virtio_write32(dev, low_reg + 4, (uint32_t)(addr >> 32));
}

/* Queue `index` of VIRTQ_SIZE entries on q's rings, interrupts suppressed; false if unusable. */
static bool setup_queue(struct virtio_dev *dev, struct virtio_dev *q, uint16_t index)
{
	virtio_write32(dev, VIRTIO_MMIO_QUEUE_SEL, index);
	if (virtio_read32(dev, VIRTIO_MMIO_QUEUE_READY))
		return false;
	q->queue_num_max = (uint16_t)virtio_read32(dev, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (q->queue_num_max < VIRTQ_SIZE)
		return false;
	virtio_write32(dev, VIRTIO_MMIO_QUEUE_NUM, VIRTQ_SIZE);
	/* Polled: no used-buffer interrupts wanted (§2.7.7; EVENT_IDX is not negotiated). */
	q->avail.flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	write_addr(dev, VIRTIO_MMIO_QUEUE_DESC_LOW, q->desc);
	write_addr(dev, VIRTIO_MMIO_QUEUE_DRIVER_LOW, &q->avail);
	write_addr(dev, VIRTIO_MMIO_QUEUE_DEVICE_LOW, &q->used);
	virtio_write32(dev, VIRTIO_MMIO_QUEUE_READY, 1);
	q->queue_index = index;
	return true;
}

static int dev_init(struct virtio_dev *const *queues, unsigned int nqueues, uint64_t base,
		    uint64_t wanted_features)
{
	struct virtio_dev *dev = queues[0];
	uint32_t status;
	int id, err;

	/* The rings are cleared only after the reset (below). */
	for (unsigned int i = 0; i < nqueues; i++)
		memset(&queues[i]->base, 0, sizeof(*dev) - offsetof(struct virtio_dev, base));
	dev->base = base;
	id = virtio_probe(base);
	if (id <= 0)
		return VIRTIO_ERR_NO_DEVICE;
	dev->device_id = (uint32_t)id;
	err = virtio_reset(dev);
	if (err)
		return err;
	/* Only now is the device done with the old rings; they start from zero. */
	for (unsigned int i = 0; i < nqueues; i++)
		memset(queues[i], 0, offsetof(struct virtio_dev, base));
	virtio_write32(dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	virtio_write32(dev, VIRTIO_MMIO_STATUS, status);

	virtio_write32(dev, VIRTIO_MMIO_DEVICE_FEAT_SEL, 0);
	dev->device_features = virtio_read32(dev, VIRTIO_MMIO_DEVICE_FEATURES);
	virtio_write32(dev, VIRTIO_MMIO_DEVICE_FEAT_SEL, 1);
	dev->device_features |= (uint64_t)virtio_read32(dev, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	if (!(dev->device_features & VIRTIO_BIT(VIRTIO_F_VERSION_1)))
		return init_failed(dev, VIRTIO_ERR_FEATURES);
	dev->features = dev->device_features & (wanted_features | VIRTIO_BIT(VIRTIO_F_VERSION_1));
	virtio_write32(dev, VIRTIO_MMIO_DRIVER_FEAT_SEL, 0);
	virtio_write32(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)dev->features);
	virtio_write32(dev, VIRTIO_MMIO_DRIVER_FEAT_SEL, 1);
	virtio_write32(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(dev->features >> 32));
	status |= VIRTIO_STATUS_FEATURES_OK;
	virtio_write32(dev, VIRTIO_MMIO_STATUS, status);
	/* §3.1.1 step 6: the device may refuse the subset by clearing FEATURES_OK. */
	if (!(virtio_status(dev) & VIRTIO_STATUS_FEATURES_OK))
		return init_failed(dev, VIRTIO_ERR_FEATURES);

	for (unsigned int i = 0; i < nqueues; i++) {
		struct virtio_dev *q = queues[i];

		if (q != dev) {
			q->base = dev->base;
			q->device_id = dev->device_id;
			q->device_features = dev->device_features;
			q->features = dev->features;
		}
		if (!setup_queue(dev, q, (uint16_t)i))
			return init_failed(dev, VIRTIO_ERR_QUEUE);
	}

	status |= VIRTIO_STATUS_DRIVER_OK;
	virtio_write32(dev, VIRTIO_MMIO_STATUS, status);
	if (virtio_status(dev) != status)
		return init_failed(dev, VIRTIO_ERR_STATUS);
	return 0;
}

int virtio_dev_init(struct virtio_dev *dev, uint64_t base, uint64_t wanted_features)
{
	return dev_init(&dev, 1, base, wanted_features);
}

int virtio_dev_init_queues(struct virtio_dev *const *queues, unsigned int nqueues, uint64_t base,
			   uint64_t wanted_features)
{
	if (!nqueues || nqueues > VIRTIO_MAX_QUEUES)
		return VIRTIO_ERR_ARGS;
	return dev_init(queues, nqueues, base, wanted_features);
}

/* ---- Requests ------------------------------------------------------------- */

void virtio_set_avail_idx(struct virtio_dev *dev, uint16_t value)
{
	/*
	 * Descriptors and the ring entry first, then the index (§2.7.13.3.1):
	 * pairs with the device's acquire load of avail->idx.  On x86 this is
	 * a compiler barrier plus a plain store.
	 */
	__atomic_store_n(&dev->avail.idx, value, __ATOMIC_RELEASE);
}

void virtio_publish(struct virtio_dev *dev, uint16_t head)
{
	dev->avail.ring[dev->avail_idx % VIRTQ_SIZE] = head;
	dev->avail_idx++;
	virtio_set_avail_idx(dev, dev->avail_idx);
}

void virtio_kick(struct virtio_dev *dev)
{
	/*
	 * The avail->idx store must be visible before the device looks: x86
	 * does not reorder stores, and the MMIO write below is uncached; the
	 * barrier keeps the compiler from sinking the index store past it.
	 */
	asm volatile("" ::: "memory");
	virtio_write32(dev, VIRTIO_MMIO_QUEUE_NOTIFY, dev->queue_index);
}

int virtio_request(struct virtio_dev *dev, const struct virtio_buf *bufs, unsigned int n,
		   bool indirect, uint32_t *used_len)
{
	struct virtq_desc *table = indirect ? dev->indirect : dev->desc;
	unsigned int max = indirect ? VIRTQ_INDIRECT_MAX : VIRTQ_SIZE;
	struct virtq_used_elem elem;
	int ret;

	if (!n || n > max)
		return VIRTIO_ERR_ARGS;
	for (unsigned int i = 0; i < n; i++) {
		bool last = i + 1 == n;

		table[i] = (struct virtq_desc){
		    .addr = bufs[i].addr,
		    .len = bufs[i].len,
		    .flags = (uint16_t)((bufs[i].device_writes ? VIRTQ_DESC_F_WRITE : 0) |
					(last ? 0 : VIRTQ_DESC_F_NEXT)),
		    .next = (uint16_t)(last ? 0 : i + 1),
		};
	}
	if (indirect)
		dev->desc[0] = (struct virtq_desc){
		    .addr = (uint64_t)(uintptr_t)dev->indirect,
		    .len = n * (uint32_t)sizeof(struct virtq_desc),
		    .flags = VIRTQ_DESC_F_INDIRECT,
		};
	virtio_publish(dev, 0);
	virtio_kick(dev);
	ret = virtio_wait(dev, &elem);
	if (ret < 0)
		return ret;
	if (elem.id != 0)
		return VIRTIO_ERR_BAD_USED;
	if (used_len)
		*used_len = elem.len;
	return 0;
}

int virtio_blk_request(struct virtio_dev *dev, uint32_t type, uint64_t sector, void *data,
		       uint32_t len, bool device_writes, bool indirect)
{
	struct virtio_buf bufs[3];
	unsigned int n = 0;
	int ret;

	dev->blk_hdr = (struct virtio_blk_req_hdr){.type = type, .sector = sector};
	dev->blk_status = 0xff;
	bufs[n++] = virtio_buf_of(&dev->blk_hdr, sizeof(dev->blk_hdr), false);
	if (len)
		bufs[n++] = virtio_buf_of(data, len, device_writes);
	bufs[n++] = virtio_buf_of(&dev->blk_status, 1, true);
	ret = virtio_request(dev, bufs, n, indirect, NULL);
	if (ret < 0)
		return ret;
	return *(volatile uint8_t *)&dev->blk_status;
}
