/* SPDX-License-Identifier: MIT */
/*
 * The driver side of a virtio device, for unit tests: fake guest RAM, the
 * real virtio-mmio transport in front of the device under test, and a tiny
 * split-ring driver that sets the device up through the MMIO registers
 * (VIRTIO 1.2 §3.1.1, §4.2.3) and lays descriptor chains out in that RAM.
 *
 * Every function fails the running Check test (ck_assert) on anything a
 * well-behaved device would not do, so tests read as a list of requests and
 * expected results.  The struct must stay where vtd_init() put it: the
 * interrupt recorder points back into it.
 */
#ifndef MINIVMM_TEST_VIRTIO_DRIVER_H
#define MINIVMM_TEST_VIRTIO_DRIVER_H

#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio.h"
#include "devices/virtio_mmio.h"
#include "vmm/eventloop.h"
#include "vmm/irq.h"
#include "vmm/log.h"
#include "vmm/memory.h"

#define VTD_RAM_BYTES	(4u << 20)
#define VTD_QSIZE	16u /* default queue size; set d->qsize (<= 256) before vtd_driver_init() */
#define VTD_MAX_QUEUES	4u
#define VTD_BUF_GPA	0x10000u /* buffers are allocated upwards from here; rings sit below */
#define VTD_GUARD_BYTES 16u	 /* 0xcc bytes after every buffer, to catch overruns */

/* One guest buffer: a descriptor's worth. */
struct vtd_buf {
	uint64_t gpa;
	uint32_t len;
	bool writable; /* VRING_DESC_F_WRITE: the device writes it */
};

/* Where one queue's rings live, and the driver-side indices. */
struct vtd_queue {
	uint64_t desc, avail, used;
	uint16_t avail_idx, used_seen, next_desc;
};

struct virtio_test_driver {
	uint8_t *ram;  /* VTD_RAM_BYTES of guest RAM at guest-physical 0 */
	bool owns_ram; /* vtd_init() allocated it (vtd_init_ram(): the caller owns it) */
	struct guest_mem gm;
	struct virtio_transport *t; /* NULL until vtd_attach() */
	const struct logger *log;   /* quiet: fd -1 discards every line */
	struct irq_chip irq_chip;
	unsigned irq_pulses; /* rising edges on the device's line */
	unsigned nqueues;
	unsigned qsize; /* QueueNum written by vtd_driver_init() */
	struct vtd_queue queue[VTD_MAX_QUEUES];
	uint64_t next_buf;
	int notify_fd[VTD_MAX_QUEUES]; /* vtd_attach_ioeventfd(): the queues' eventfds */
};

/* Fresh zeroed RAM and ring state for `nqueues` queues; no transport yet. */
void vtd_init(struct virtio_test_driver *d, unsigned nqueues);
/*
 * The same on the caller's VTD_RAM_BYTES of RAM, used as it is (not
 * cleared): the fuzzers reuse one buffer rather than fault in fresh pages
 * for every input.
 */
void vtd_init_ram(struct virtio_test_driver *d, unsigned nqueues, uint8_t *ram);
/* Puts the virtio-mmio transport in front of `dev` (`loop` may be NULL). */
void vtd_attach(struct virtio_test_driver *d, const struct virtio_device_ops *ops, void *dev,
		struct ev_loop *loop);
/*
 * As vtd_attach(), with the transport's notification eventfds on `loop` as
 * with KVM ioeventfds: vtd_kick() is then a QueueNotify that reaches the
 * device from the loop, and devices can re-arm themselves.
 */
void vtd_attach_ioeventfd(struct virtio_test_driver *d, const struct virtio_device_ops *ops,
			  void *dev, struct ev_loop *loop);
/* Destroys the transport (if any); call before destroying the device. */
void vtd_detach(struct virtio_test_driver *d);
/* vtd_detach(), then frees the RAM; call after destroying the device. */
void vtd_fini(struct virtio_test_driver *d);

/* 32-bit register access at an offset into the transport's window. */
uint32_t vtd_read32(struct virtio_test_driver *d, uint64_t off);
void vtd_write32(struct virtio_test_driver *d, uint64_t off, uint32_t value);
uint64_t vtd_device_features(struct virtio_test_driver *d);
bool vtd_needs_reset(struct virtio_test_driver *d);

/*
 * §3.1.1 driver initialisation: accepts every offered feature except those
 * in `drop`, sets up all `nqueues` queues on zeroed rings and ends in
 * DRIVER_OK.  Also what a driver does after a reset (status 0).
 */
void vtd_driver_init(struct virtio_test_driver *d, uint64_t drop);

/* A zeroed, 16-byte aligned guest buffer followed by VTD_GUARD_BYTES of 0xcc. */
struct vtd_buf vtd_alloc(struct virtio_test_driver *d, uint32_t len, bool writable);
uint8_t *vtd_host(struct virtio_test_driver *d, struct vtd_buf b);
bool vtd_guard_intact(struct virtio_test_driver *d, struct vtd_buf b);

/* The rings of queue `q`, for tests that write them by hand. */
struct vring_desc *vtd_desc_table(struct virtio_test_driver *d, unsigned q);
struct vring_avail *vtd_avail_ring(struct virtio_test_driver *d, unsigned q);
struct vring_used *vtd_used_ring(struct virtio_test_driver *d, unsigned q);

/* Writes `n` descriptors as one chain and makes it available; returns its head. No notify. */
uint16_t vtd_add_chain(struct virtio_test_driver *d, unsigned q, const struct vtd_buf *bufs,
		       unsigned n);
void vtd_notify(struct virtio_test_driver *d, unsigned q);
/* After vtd_attach_ioeventfd(): what KVM does on QueueNotify (the loop serves it). */
void vtd_kick(struct virtio_test_driver *d, unsigned q);
/* After vtd_attach_ioeventfd(): is a notification of queue q waiting for the loop? */
bool vtd_kick_pending(struct virtio_test_driver *d, unsigned q);
/*
 * After vtd_attach_ioeventfd(), with the loop not running: serves the
 * notifications a device left for itself (re-arming after a spent budget),
 * one wake-up at a time as the loop would, until none is left; returns how
 * many wake-ups that took.  The guest does not kick meanwhile.
 */
unsigned vtd_serve_rearmed(struct virtio_test_driver *d, unsigned q);
uint16_t vtd_used_idx(struct virtio_test_driver *d, unsigned q);
/* Used elements the device published that the driver has not taken yet. */
unsigned vtd_used_pending(struct virtio_test_driver *d, unsigned q);
/*
 * The next used element: returns its length and stores its head in *id
 * (if id is not NULL); fails the test if the device completed nothing.
 */
uint32_t vtd_take_used(struct virtio_test_driver *d, unsigned q, uint32_t *id);

/* Runs `loop` for `ms` of real time: for devices that complete requests from the loop. */
void vtd_run_loop_ms(struct ev_loop *loop, uint64_t ms);

/*
 * One counter through virtio_device_ops.metrics (what mvm_vm_metrics()
 * reads); fails the test unless the device reports `name` exactly once.
 */
uint64_t vtd_metric(const struct virtio_device_ops *ops, void *dev, const char *prefix,
		    const char *name);

#endif
