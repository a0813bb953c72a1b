/* SPDX-License-Identifier: MIT */
/*
 * What a virtio device implements, independent of the transport.  Devices
 * never see transport registers: the transport (devices/virtio_mmio.c) calls
 * these ops and gives the device its queues and a way to interrupt.
 */
#ifndef MINIVMM_VIRTIO_H
#define MINIVMM_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/minivmm.h"

#include "devices/virtqueue.h"
#include "vmm/eventloop.h"
#include "vmm/log.h"

#define VIRTIO_MAX_QUEUES 8

struct virtio_transport; /* opaque to devices */

/*
 * Threading and lock order.  The transport never runs two of a device's ops
 * at once: config_read, config_write, activate and reset (vCPU threads) and
 * queue_notify (event-loop thread, or a vCPU thread without ioeventfds) are
 * all called under one per-transport ops mutex, and never with the
 * transport's register-state mutex held.  So ops may call
 * virtio_notify_used() and friends, which take only the state mutex, and a
 * device never sees queue_notify concurrently with reset.  Lock order:
 * transport ops mutex -> device's own locks -> transport state mutex.
 * Device worker threads of its own (if any) must be stopped by reset.
 */

struct virtio_device_ops {
	const char *name;   /* "virtio-blk" */
	uint32_t device_id; /* VIRTIO_ID_BLOCK, ... */
	unsigned nqueues;   /* <= VIRTIO_MAX_QUEUES */
	uint64_t
	    features; /* device feature bits offered (VERSION_1 etc. are added by the transport) */
	uint32_t config_size; /* bytes of device config space */
	/* Config space access; offset + len <= config_size is checked by the transport. */
	void (*config_read)(void *dev, uint32_t offset, void *data, uint32_t len);
	void (*config_write)(void *dev, uint32_t offset, const void *data, uint32_t len);
	/*
	 * DRIVER_OK was written: negotiated features are known; `queues`
	 * (nqueues of them) is a snapshot of the driver's setup, each ready
	 * one validated for its size.  They are the device's from this call
	 * (its threads may use them at once) until its reset op returns: the
	 * transport refuses every queue-register write meanwhile, even if
	 * this returns <0 to refuse (the transport sets DEVICE_NEEDS_RESET).
	 */
	int (*activate)(void *dev, struct virtio_transport *t, uint64_t driver_features,
			struct virtq *queues);
	/*
	 * The driver reset the device (status 0).  On return no thread of the
	 * device may touch the queues again (wait for any in a pop or push):
	 * the transport clears them right after.
	 */
	void (*reset)(void *dev);
	/* The driver notified queue q (event-loop thread, via ioeventfd). */
	void (*queue_notify)(void *dev, unsigned q);
	/*
	 * Optional, any thread: report each counter as fn(opaque, name, value)
	 * with names "PREFIX.counter" ("blk0.read_bytes").  Counters only go up;
	 * read them with relaxed atomics (the device's threads keep counting).
	 */
	void (*metrics)(void *dev, const char *prefix, mvm_metric_fn fn, void *opaque);
};

/* Called by devices (any thread): the used ring of queue q changed. */
void virtio_notify_used(struct virtio_transport *t, unsigned q);
/*
 * Called by devices on a guest error: DEVICE_NEEDS_RESET, plus a config
 * interrupt if DRIVER_OK is set (§2.1.2); queue notifications stop until reset.
 */
void virtio_set_needs_reset(struct virtio_transport *t);
/* Called by devices when their config space changed (config interrupt). */
void virtio_config_changed(struct virtio_transport *t);
/*
 * Called by devices that stopped serving queue q with work left on it (a
 * budget spent, DESIGN "Budgets, not drains"): queue_notify(q) runs again
 * from the event loop, after the callbacks already waiting there, as if
 * the driver had kicked; a reset in between drops it as it drops a kick.
 * -ENOENT without a notification eventfd (no event loop: unit tests
 * without one), then the device must finish the work itself.
 */
int virtio_queue_reschedule(struct virtio_transport *t, unsigned q);

#endif
