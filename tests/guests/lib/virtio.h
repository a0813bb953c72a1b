/* SPDX-License-Identifier: MIT */
/*
 * A tiny polled virtio-mmio driver for the test guests: the version 2
 * register layout (VIRTIO 1.2 §4.2.2), one split virtqueue (§2.7) of
 * VIRTQ_SIZE entries, no interrupts.  The rings live inside struct
 * virtio_dev, so a guest declares its devices static (.bss): guest-physical
 * and virtual addresses are the same (identity map, entry.S).
 *
 * Besides well-formed requests it lets a guest build raw, hostile rings:
 * write dev->desc[] / dev->avail directly, then virtio_publish(),
 * virtio_kick() and virtio_wait().
 */
#ifndef GUEST_VIRTIO_H
#define GUEST_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/guests/lib/boot.h"

/* Registers (§4.2.2, Table 4.1). */
#define VIRTIO_MMIO_MAGIC_VALUE	      0x000 /* "virt" */
#define VIRTIO_MMIO_VERSION	      0x004
#define VIRTIO_MMIO_DEVICE_ID	      0x008
#define VIRTIO_MMIO_VENDOR_ID	      0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES   0x010
#define VIRTIO_MMIO_DEVICE_FEAT_SEL   0x014
#define VIRTIO_MMIO_DRIVER_FEATURES   0x020
#define VIRTIO_MMIO_DRIVER_FEAT_SEL   0x024
#define VIRTIO_MMIO_QUEUE_SEL	      0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX     0x034
#define VIRTIO_MMIO_QUEUE_NUM	      0x038
#define VIRTIO_MMIO_QUEUE_READY	      0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY      0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS  0x060
#define VIRTIO_MMIO_INTERRUPT_ACK     0x064
#define VIRTIO_MMIO_STATUS	      0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW    0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH   0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW  0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW  0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VIRTIO_MMIO_CONFIG	      0x100

#define VIRTIO_MMIO_MAGIC 0x74726976u /* "virt", little-endian */

#define VIRTIO_MMIO_INT_VRING  (1u << 0)
#define VIRTIO_MMIO_INT_CONFIG (1u << 1)

/* Device status bits (§2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	 0x01
#define VIRTIO_STATUS_DRIVER		 0x02
#define VIRTIO_STATUS_DRIVER_OK		 0x04
#define VIRTIO_STATUS_FEATURES_OK	 0x08
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED		 0x80
#define VIRTIO_STATUS_RUNNING                                                                      \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |            \
	 VIRTIO_STATUS_DRIVER_OK)

/* Feature bits (§6, §5.2.3). */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX	    29
#define VIRTIO_F_VERSION_1	    32
#define VIRTIO_BLK_F_SIZE_MAX	    1
#define VIRTIO_BLK_F_SEG_MAX	    2
#define VIRTIO_BLK_F_RO		    5
#define VIRTIO_BLK_F_BLK_SIZE	    6
#define VIRTIO_BLK_F_FLUSH	    9
#define VIRTIO_BLK_F_DISCARD	    13
#define VIRTIO_BLK_F_WRITE_ZEROES   14
#define VIRTIO_BIT(n)		    (1ull << (n))

#define VIRTIO_ID_NET	1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_RNG	4

/* Split virtqueue (§2.7). */
#define VIRTQ_SIZE		   8 /* QueueNum we ask for: small, so "longer than the queue" is easy */
#define VIRTQ_INDIRECT_MAX	   16 /* entries in the indirect table virtio_request() uses */
#define VIRTQ_DESC_F_NEXT	   1
#define VIRTQ_DESC_F_WRITE	   2
#define VIRTQ_DESC_F_INDIRECT	   4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[VIRTQ_SIZE];
	uint16_t used_event;
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[VIRTQ_SIZE];
	uint16_t avail_event;
};

/* virtio-blk requests (§5.2.6). */
#define VIRTIO_BLK_T_IN		  0
#define VIRTIO_BLK_T_OUT	  1
#define VIRTIO_BLK_T_FLUSH	  4
#define VIRTIO_BLK_T_GET_ID	  8
#define VIRTIO_BLK_T_DISCARD	  11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK		  0
#define VIRTIO_BLK_S_IOERR	  1
#define VIRTIO_BLK_S_UNSUPP	  2
#define VIRTIO_BLK_ID_BYTES	  20
#define VIRTIO_BLK_SECTOR_SIZE	  512

/* virtio-blk config space offsets (§5.2.4). */
#define VIRTIO_BLK_CFG_CAPACITY		     0	/* le64, 512-byte sectors */
#define VIRTIO_BLK_CFG_SIZE_MAX		     8	/* le32 */
#define VIRTIO_BLK_CFG_SEG_MAX		     12 /* le32 */
#define VIRTIO_BLK_CFG_BLK_SIZE		     20 /* le32 */
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS   36 /* le32 */
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG	     40 /* le32 */
#define VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECT 48 /* le32 */
#define VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG  52 /* le32 */

struct virtio_blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* Payload of DISCARD and WRITE_ZEROES. */
struct virtio_blk_discard_write_zeroes {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

/*
 * One device.  The rings come first and are aligned beyond what §2.7 asks
 * (16/2/4 bytes): the descriptor table starts a page.
 */
struct virtio_dev {
	struct virtq_desc desc[VIRTQ_SIZE] __attribute__((aligned(4096)));
	struct virtq_desc indirect[VIRTQ_INDIRECT_MAX] __attribute__((aligned(16)));
	struct virtq_avail avail __attribute__((aligned(16)));
	struct virtq_used used __attribute__((aligned(16)));
	/* Buffers for virtio_blk_request(): one request at a time. */
	struct virtio_blk_req_hdr blk_hdr __attribute__((aligned(16)));
	uint8_t blk_status;

	uint64_t base;		  /* MMIO window */
	uint32_t device_id;	  /* 0 until virtio_dev_init() read it */
	uint64_t device_features; /* offered */
	uint64_t features;	  /* negotiated */
	uint16_t queue_num_max;
	uint16_t avail_idx;	/* next avail->idx we publish */
	uint16_t used_idx;	/* used->idx we have consumed up to */
	uint32_t isr_seen;	/* InterruptStatus bits seen (and acknowledged) while polling */
	uint32_t last_used_len; /* len of the last used element virtio_wait() took */
	uint16_t queue_index;	/* the queue these rings serve; virtio_kick() notifies it */
};

/* Where a virtio-mmio window is, as ACPI or the command line says. */
struct virtio_loc {
	uint64_t base;
	uint64_t size;
	uint32_t irq;
};

#define VIRTIO_LOC_MAX 32

/*
 * Discovery, each sorted by base address (= minivmm's slot order): the
 * DSDT's "LNRO0005" devices, or the command line's
 * `virtio_mmio.device=<size>[KMG]@<base>:<irq>[:<id>]` entries (Linux's
 * format, drivers/virtio/virtio_mmio.c).  Return how many were stored.
 */
unsigned int virtio_find_acpi(const struct boot_info *bi, struct virtio_loc *locs,
			      unsigned int max);
unsigned int virtio_find_cmdline(const char *cmdline, struct virtio_loc *locs, unsigned int max);

/* DeviceID of the window at `base`, or -1 if it has no virtio magic or is not version 2. */
int virtio_probe(uint64_t base);

/*
 * The `index`-th (from 0) window in `locs` whose DeviceID is `device_id`;
 * its base, or 0 if there is none.
 */
uint64_t virtio_pick(const struct virtio_loc *locs, unsigned int n, uint32_t device_id,
		     unsigned int index);

/*
 * The discovery every virtio test guest does: `discover=cmdline` on the
 * command line takes virtio_find_cmdline(), anything else (the default is
 * `acpi`) virtio_find_acpi(); then one line per window,
 *   virtio: base=0x.. size=0x.. irq=N device_id=N
 * with the DeviceID virtio_probe() reads.  *how (if not NULL) gets "acpi" or
 * "cmdline".  Returns how many windows were stored in locs.
 */
unsigned int virtio_discover(const struct boot_info *bi, struct virtio_loc *locs, unsigned int max,
			     const char **how);

/* What virtio_setup() looks for. */
struct virtio_want {
	const char *name;   /* "virtio-blk": for the check lines */
	uint32_t device_id; /* VIRTIO_ID_* */
	unsigned int index; /* the index-th such device, from 0, by ascending base */
	uint64_t features;  /* wanted, as for virtio_dev_init() */
	/* Optional: called for every window found, before the pick (layout checks). */
	void (*check_window)(const struct virtio_loc *loc);
};

/*
 * The start of every virtio test guest, each step a check or a line:
 * - virtio_discover(), then the check "discover=HOW finds virtio-mmio
 *   windows (N)" and want->check_window() on each window;
 * - the check "a NAME device (DeviceID N) at 0x..";
 * - virtio_dev_init_queues() on queues[0..nqueues-1] (nqueues 1 is
 *   virtio_dev_init()), the line "GUEST: vendor=0x.. device_features=0x..
 *   features=0x.. queue_num_max=N[/N..]" (GUEST is guest_name), and the check
 *   "initialised: ERR (status 0x..)".
 * Returns 0, VIRTIO_ERR_NO_DEVICE if there is no such device, or the
 * error of the initialisation; the caller usually ends the run on non-zero.
 */
int virtio_setup(const struct boot_info *bi, const struct virtio_want *want,
		 struct virtio_dev *const *queues, unsigned int nqueues);

/* Return codes (negative) of the functions below. */
#define VIRTIO_ERR_NO_DEVICE   -1 /* bad magic, version or DeviceID 0 */
#define VIRTIO_ERR_FEATURES    -2 /* VERSION_1 not offered, or FEATURES_OK not kept */
#define VIRTIO_ERR_QUEUE       -3 /* queue 0 missing, already live, or too small */
#define VIRTIO_ERR_STATUS      -4 /* status did not read back as written */
#define VIRTIO_ERR_TIMEOUT     -5 /* no answer within VIRTIO_TIMEOUT_TICKS */
#define VIRTIO_ERR_NEEDS_RESET -6 /* the device set DEVICE_NEEDS_RESET */
#define VIRTIO_ERR_BAD_USED    -7 /* the used element names another head */
#define VIRTIO_ERR_ARGS	       -8 /* too many buffers for one chain */

/* A device answers within this many RTC second ticks (2-3 s), or it timed out. */
#define VIRTIO_TIMEOUT_TICKS 3

/* A short name for a VIRTIO_ERR_* (or "ok" for >= 0). */
const char *virtio_strerror(int err);

/* Register access. */
uint32_t virtio_read32(const struct virtio_dev *dev, uint32_t reg);
void virtio_write32(const struct virtio_dev *dev, uint32_t reg, uint32_t value);
uint8_t virtio_status(const struct virtio_dev *dev);
/* Config space, one access of each width (no ConfigGeneration retry: nothing changes here). */
uint32_t virtio_config32(const struct virtio_dev *dev, uint32_t offset);
uint64_t virtio_config64(const struct virtio_dev *dev, uint32_t offset);

/* Writes 0 to Status and waits (bounded) until it reads back 0 (§2.4.1). */
int virtio_reset(struct virtio_dev *dev);

/*
 * The initialisation of §3.1.1 for the window at `base`: reset, ACKNOWLEDGE,
 * DRIVER, features (accepts device & (wanted | VERSION_1); VERSION_1 is
 * required), FEATURES_OK read back, queue 0 of VIRTQ_SIZE entries with
 * interrupts suppressed, DRIVER_OK.  Clears everything in *dev first.
 * Returns 0 or a VIRTIO_ERR_*; on failure the device is left with FAILED.
 */
int virtio_dev_init(struct virtio_dev *dev, uint64_t base, uint64_t wanted_features);

/*
 * The same for a device with several virtqueues (virtio-net: receiveq1 = 0,
 * transmitq1 = 1): one struct virtio_dev per queue, all on the window at
 * `base`.  queues[i] gets the rings of queue i (all set up before DRIVER_OK,
 * §3.1.1 step 7), its queue_index = i, and the same base, device_id and
 * features as queues[0], so virtio_request()/virtio_kick()/virtio_wait()
 * work on each.  1 <= nqueues <= VIRTIO_MAX_QUEUES.
 */
#define VIRTIO_MAX_QUEUES 4
int virtio_dev_init_queues(struct virtio_dev *const *queues, unsigned int nqueues, uint64_t base,
			   uint64_t wanted_features);

/* One buffer of a request. */
struct virtio_buf {
	uint64_t addr;
	uint32_t len;
	bool device_writes;
};

#define virtio_buf_of(ptr, length, writes)                                                         \
	((struct virtio_buf){                                                                      \
	    .addr = (uint64_t)(uintptr_t)(ptr), .len = (length), .device_writes = (writes)})

/*
 * Sends one chain of `n` buffers (device-readable ones first) and polls for
 * its completion: directly in descriptors 0..n-1 (n <= VIRTQ_SIZE), or with
 * `indirect` as one INDIRECT descriptor pointing at dev->indirect (n <=
 * VIRTQ_INDIRECT_MAX).  *used_len (if not NULL) and dev->last_used_len
 * get the used length.
 * Returns 0 or a VIRTIO_ERR_*.
 */
int virtio_request(struct virtio_dev *dev, const struct virtio_buf *bufs, unsigned int n,
		   bool indirect, uint32_t *used_len);

/*
 * virtio-blk: header {type, sector}, then `data` (if len > 0; written by
 * the device when `device_writes`), then the status byte.  Returns the
 * status byte the device wrote (VIRTIO_BLK_S_*, or 0xff if it wrote none),
 * or a VIRTIO_ERR_*.
 */
int virtio_blk_request(struct virtio_dev *dev, uint32_t type, uint64_t sector, void *data,
		       uint32_t len, bool device_writes, bool indirect);

/* Raw ring access for hostile tests. */
/* Puts `head` in the next avail ring slot, then (release) bumps avail->idx. */
void virtio_publish(struct virtio_dev *dev, uint16_t head);
/* Stores avail->idx = value (release) without touching the ring. */
void virtio_set_avail_idx(struct virtio_dev *dev, uint16_t value);
/* QueueNotify for dev->queue_index (queue 0 unless set up by virtio_dev_init_queues()). */
void virtio_kick(struct virtio_dev *dev);

/*
 * Polls until used->idx moves past dev->used_idx (returns 1, *elem filled,
 * dev->used_idx advanced), or Status has DEVICE_NEEDS_RESET (returns
 * VIRTIO_ERR_NEEDS_RESET), or VIRTIO_TIMEOUT_TICKS pass (VIRTIO_ERR_TIMEOUT).
 * Acknowledges the InterruptStatus bits it sees, and ORs them into
 * dev->isr_seen.
 */
int virtio_wait(struct virtio_dev *dev, struct virtq_used_elem *elem);
/*
 * virtio_wait with a longer patience, for answers that cross the host's
 * network stack (slirp, a TAP peer): on a busy single-vCPU test host the
 * spinning guest competes with the threads that produce the answer.
 */
int virtio_wait_ticks(struct virtio_dev *dev, struct virtq_used_elem *elem, unsigned int ticks);

/*
 * Polls (bounded, as virtio_wait) until Status has any bit of `mask`;
 * returns the last Status read.  Also collects InterruptStatus.
 */
uint8_t virtio_wait_status(struct virtio_dev *dev, uint8_t mask);

#endif
