/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio transport, version 2 ("modern") only (VIRTIO 1.2 §4.2.2),
 * shared by every virtio device.  It owns the register file, feature
 * negotiation, the device-status state machine, queue setup and interrupts;
 * devices see only struct virtio_device_ops (devices/virtio.h).
 */
#ifndef MINIVMM_VIRTIO_MMIO_H
#define MINIVMM_VIRTIO_MMIO_H

#include <stdint.h>

#include "devices/virtio.h"
#include "vmm/irq.h"
#include "vmm/log.h"
#include "vmm/memory.h"

/* VendorID: "MVMM" as little-endian bytes (as QEMU's 0x554d4551 reads "QEMU"). */
#define VIRTIO_MMIO_VENDOR_ID_MINIVMM 0x4d4d564du

struct virtio_mmio_env {
	const struct guest_mem *mem;
	const struct logger *log;
	struct irq_line irq;  /* pulsed (irq_line_pulse) for used-ring and config interrupts */
	struct ev_loop *loop; /* where queue notifications are handled */
	/*
	 * Optional: route the driver's QueueNotify writes of value `queue` at
	 * guest-physical `addr` to eventfd `fd` (KVM_IOEVENTFD with datamatch),
	 * so notifications reach the event loop without a vCPU exit to us.
	 * NULL (unit tests): QueueNotify writes call queue_notify directly.
	 */
	int (*register_notify)(void *opaque, uint64_t addr, uint32_t queue, int fd, bool assign);
	void *opaque;
};

/*
 * base: the device's MMIO window (VIRTIO_MMIO_SIZE bytes).  Offers the
 * device's ops->features plus VIRTIO_F_VERSION_1, VIRTIO_RING_F_EVENT_IDX and
 * VIRTIO_RING_F_INDIRECT_DESC; VERSION_1 is required of the driver.  With
 * env->register_notify, one eventfd per queue is registered and added to
 * env->loop.  Destroy after the event loop has stopped (or from its thread).
 */
int virtio_mmio_create(struct virtio_transport **out, const struct virtio_device_ops *ops,
		       void *dev, uint64_t base, const struct virtio_mmio_env *env,
		       struct vmm_err *err);
void virtio_mmio_destroy(struct virtio_transport *t);

/* bus_read_fn / bus_write_fn for the device's window; opaque = the transport. */
void virtio_mmio_read(void *opaque, uint64_t offset, void *data, uint32_t len);
void virtio_mmio_write(void *opaque, uint64_t offset, const void *data, uint32_t len);

/* For tests and logs: the current device status byte. */
uint32_t virtio_mmio_status(const struct virtio_transport *t);

#endif
