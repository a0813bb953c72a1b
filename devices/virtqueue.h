/* SPDX-License-Identifier: MIT */
/*
 * The split virtqueue (VIRTIO 1.2 §2.7), device side, and the only code that
 * reads or writes a ring.  The guest owns the rings and is not trusted:
 * virtq_pop() hands out a chain only after every descriptor index, length,
 * address range and flag has been checked, with the chain length bounded by
 * the queue size (loops) and indirect tables not nested (§2.7.5.3).
 *
 * Threading: a queue is used by one thread at a time (the event loop, or a
 * device worker).  The transport hands a queue to its device at activation
 * and touches it again only after the device's reset has returned
 * (DESIGN.md §2, one owner per live virtqueue).
 */
#ifndef MINIVMM_VIRTQUEUE_H
#define MINIVMM_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/memory.h"

#define VIRTQ_MAX_SIZE	256	       /* QueueNumMax we offer; a power of 2 */
#define VIRTQ_MAX_CHAIN VIRTQ_MAX_SIZE /* a chain can never be longer than the ring */

struct vring_desc;
struct vring_avail;
struct vring_used;

/*
 * The ring as virtq_validate() checked it: its size and the host address of
 * each area, each checked to hold `num` entries.  Everything after
 * validation indexes with `num` and these pointers only, never with the
 * fields above them in struct virtq, so nothing that changes those later
 * (a register write, a bug) can make an index reach beyond what was checked.
 */
struct virtq_ring {
	uint16_t num; /* 0: not validated */
	const struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
};

struct virtq {
	/* The layout the driver asked for: the input of virtq_validate(). */
	uint16_t size; /* QueueNum: a power of two, 1..VIRTQ_MAX_SIZE */
	bool ready;
	uint64_t desc_gpa;  /* 16-byte aligned, size * 16 bytes */
	uint64_t avail_gpa; /* 2-byte aligned, 6 + size * 2 bytes */
	uint64_t used_gpa;  /* 4-byte aligned, 6 + size * 8 bytes */
	bool event_idx;	    /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;	    /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	const struct guest_mem *mem;

	/* Set by virtq_validate(); what pop/push/... use.  Guest RAM never moves. */
	struct virtq_ring ring;

	/* Device-side state. */
	uint16_t last_avail_idx; /* next avail entry we will consume */
	uint16_t used_idx;	 /* our copy of used->idx */
	uint16_t signalled_used; /* used_idx when we last interrupted (EVENT_IDX) */
	bool signalled_used_valid;
	bool broken; /* a guest error was seen: no more processing until reset */
};

/* One guest buffer of a chain, already translated and bounds-checked. */
struct virtq_buf {
	void *host;
	uint32_t len;
	bool device_writable;
};

struct virtq_chain {
	uint16_t head; /* descriptor index to hand back in virtq_push() */
	uint16_t nbufs;
	uint32_t readable_len; /* total of the device-readable buffers (they come first) */
	uint32_t writable_len; /* total of the device-writable buffers */
	struct virtq_buf bufs[VIRTQ_MAX_CHAIN];
};

/* Resets device-side state (on device reset or when the queue is set up). */
void virtq_reset(struct virtq *vq);

/*
 * Checks size, desc_gpa, avail_gpa and used_gpa against guest memory
 * (power-of-2 size, alignment, ranges) and records the result in vq->ring,
 * which every later call uses; called by the transport when the driver sets
 * QueueReady and again when it hands the queue to the device.  -EINVAL (and
 * vq->ring cleared: pop and push fail) if the driver gave an impossible
 * layout.
 */
int virtq_validate(struct virtq *vq);

/*
 * Takes the next available chain.  Returns 1 with *chain filled, 0 if the
 * ring is empty, or a negative errno on a guest error (descriptor index out
 * of range, a loop or chain longer than the queue, avail.idx more than `size`
 * ahead, an address range outside RAM or wrapping, a nested indirect table
 * or one whose length is not a multiple of 16, a readable buffer after a
 * writable one); the queue is then marked broken and `why` (if not NULL)
 * says what was wrong, for the device's rate-limited warning.  Guest errors
 * return -EINVAL once; after that a broken queue returns -EIO until
 * virtq_reset().
 *
 * Zero-length buffers are allowed but left out of chain->bufs.  Indirect
 * tables may hold up to VIRTQ_MAX_CHAIN entries (Linux builds them longer
 * than the queue when it has more segments), so devices should advertise at
 * most VIRTQ_MAX_CHAIN buffers per request (e.g. blk seg_max).
 *
 * With EVENT_IDX, a pop that finds the ring empty publishes avail_event
 * (= virtq_update_avail_event()) and looks once more, so a device that pops
 * until 0 never misses a kick.
 */
int virtq_pop(struct virtq *vq, struct virtq_chain *chain, const char **why);

/*
 * Returns a chain to the driver: used ring entry {head, written}, then
 * used->idx.  -EINVAL if head >= size, -EIO if the queue is broken or not
 * ready.
 */
int virtq_push(struct virtq *vq, uint16_t head, uint32_t written);

/*
 * After one or more pushes: must the driver be interrupted?  Honours
 * VRING_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX (§2.7.10).
 */
bool virtq_needs_interrupt(struct virtq *vq);

/* With EVENT_IDX: publish avail_event = last_avail_idx so the driver kicks us. */
void virtq_update_avail_event(struct virtq *vq);

/*
 * Copy helpers across a chain's buffers (for headers split across buffers).
 * virtq_chain_read() reads the device-readable buffers, virtq_chain_write()
 * writes the device-writable ones; `offset` counts from the first buffer of
 * that direction.  Both return the number of bytes copied (short at the end
 * of the buffers).
 */
size_t virtq_chain_read(const struct virtq_chain *chain, size_t offset, void *dst, size_t len);
size_t virtq_chain_write(const struct virtq_chain *chain, size_t offset, const void *src,
			 size_t len);

#endif
