/* SPDX-License-Identifier: MIT */
/*
 * struct vm: everything one virtual machine owns.  Built by vm_create() (the
 * composition root, vm.c), run by vm_run(), torn down by vm_destroy().
 * Internal to the library; embedders use vmm/minivmm.h.
 */
#ifndef MINIVMM_VM_H
#define MINIVMM_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "boot/boot.h"
#include "boot/layout.h"
#include "vmm/bus.h"
#include "vmm/console.h"
#include "vmm/control.h"
#include "vmm/eventloop.h"
#include "vmm/irq.h"
#include "vmm/log.h"
#include "vmm/memory.h"
#include "vmm/config.h"
#include "vmm/seccomp.h"

struct vcpu;
struct serial8250;
struct i8042;
struct cmos_rtc;
struct acpi_pm;
struct pvpanic;
struct debug_port;
struct virtio_vsock;

/*
 * One virtio-mmio slot: the one table that allocates device resources.  Slot
 * i has MMIO window VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_SIZE and GSI
 * VIRTIO_MMIO_GSI0 + i; the same table produces the ACPI DSDT entries and the
 * kernel command-line entries (virtio_mmio.device=4K@0x...:GSI).
 */
struct virtio_slot {
	const char *name; /* "virtio-blk" */
	uint64_t base;
	uint32_t gsi;
	int irqfd; /* KVM_IRQFD on gsi: an eventfd write is an edge */
	void *dev;
	const struct virtio_device_ops *ops; /* metrics, the disk index (vm_metrics) */
	void (*destroy_dev)(void *dev);
	struct virtio_transport *transport;
};

/* A file mapped read-only for the loaders (kernel, initrd). */
struct mapped_file {
	const uint8_t *data;
	size_t len;
};

struct vm {
	struct logger log;
	uint64_t start_ns; /* CLOCK_MONOTONIC at vm_create(): boot markers count from here */
	uint64_t ready_ns; /* ... at the end of vm_create() */

	/* Settings, copied from the caller's config. */
	uint32_t ncpus;
	uint64_t mem_bytes;
	uint32_t timeout_s;

	int kvm_fd;
	int vm_fd;
	size_t vcpu_mmap_size;
	bool pvm_host;			    /* /sys/module/kvm_pvm exists: guest CPL0 is emulated */
	bool emulation_failure_exits;	    /* KVM_CAP_EXIT_ON_EMULATION_FAILURE enabled */
	enum mvm_cpu_template cpu_template; /* resolved: never AUTO */

	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
	struct ev_loop *loop;
	struct irq_chip irqchip;
	struct machine_ctl ctl;
	struct console console;

	struct serial8250 *uart;
	struct i8042 *i8042;
	struct cmos_rtc *rtc;
	struct acpi_pm *acpi_pm;
	struct pvpanic *pvpanic;
	struct debug_port *debug_port;

	struct virtio_vsock *vsock; /* NULL without [vsock]; owned by its virtio slot */

	struct virtio_slot virtio[VIRTIO_MMIO_MAX];
	unsigned nvirtio;
	struct irq_chip irqfd_chip; /* set_level(1) writes the slot's irqfd */

	/*
	 * The power button (vm_power_button): the Generic Event Device's GSI,
	 * the next one after the virtio slots', and whether the kernel command
	 * line says acpi=off (then Ctrl-Alt-Del on the i8042 instead).
	 */
	uint32_t power_button_gsi;
	bool acpi_off;

	struct mapped_file kernel;
	struct mapped_file initrd;
	uint8_t *initrd_unpacked; /* malloc'd: the initrd decompressed on the host, or NULL */
	size_t initrd_unpacked_len;
	struct boot_entry entry;
	uint64_t rsdp_addr;

	struct sc_filters seccomp; /* generated in vm_create(), loaded by each thread */

	struct vcpu **vcpus;
	atomic_bool stopping; /* vCPU threads leave KVM_RUN and return */

	/* Life cycle and commands from other threads (vmm/control.h). */
	struct control control;
	/*
	 * Pause: the loop sets `requested` and kicks every vCPU; each parks on
	 * `cond` outside KVM_RUN until it is cleared or the run stops.
	 */
	struct vm_pause {
		pthread_mutex_t lock;
		pthread_cond_t cond; /* vCPUs: resume/stop; the loop: one more parked */
		atomic_bool requested;
		unsigned parked;	     /* vCPU threads waiting on cond */
		unsigned exited;	     /* vCPU threads that returned (count as parked) */
		struct kvm_clock_data clock; /* KVM_GET_CLOCK at the pause */
	} pause;
	/* Disks as configured (read_only, cache; path unused): replace_disk opens alike. */
	struct mvm_disk_config disk_cfg[MVM_MAX_DISKS];
	unsigned disk_slot[MVM_MAX_DISKS]; /* virtio[] index of disk i */
	unsigned ndisks;

	/* The first request to end the run wins; see vm_request_exit(). */
	atomic_int exit_claimed;
	struct mvm_exit exit;
	mvm_exit_fn exit_fn; /* called once with the claimed exit */
	void *exit_opaque;
	atomic_bool exit_fn_called;
};

int vm_create(const struct mvm_config *cfg, struct vm **out, struct vmm_err *err);
/* vm_start() then vm_loop() on the calling thread (mvm_vm_run). */
int vm_run(struct vm *vm, struct mvm_exit *exit);
/*
 * RUNNING: attaches the console, timers and control channel to the loop and
 * starts the vCPU threads; on failure everything it started is stopped and
 * joined, the state is ENDED.  -EALREADY when started before.
 */
int vm_start(struct vm *vm, struct vmm_err *err);
/*
 * The event-loop thread's body: loads the loop's seccomp filter, runs the
 * loop until the run ends, stops and joins the vCPUs, fills *exit.
 */
void vm_loop(struct vm *vm, struct mvm_exit *exit);
/* vm_loop()'s ending alone, for a started VM whose loop thread could not be created. */
void vm_loop_abandon(struct vm *vm, struct mvm_exit *exit);
void vm_destroy(struct vm *vm);

/*
 * Ends the run as MVM_EXIT_STOPPED.  Async-signal-safe: the exit callback
 * is left to the loop thread.
 */
void vm_request_stop(struct vm *vm);

/* Every counter of the VM (mvm_vm_metrics); any thread. */
int vm_metrics(struct vm *vm, mvm_metric_fn fn, void *opaque);

/*
 * Opens `path` for disk `index` exactly as the configured disk was opened
 * (read-only flag and cache mode kept), then has the loop swap it in
 * (mvm_vm_replace_disk).  Any thread but the loop's.
 */
int vm_replace_disk(struct vm *vm, unsigned index, const char *path, struct vmm_err *err);

/*
 * Ends the run with `reason` unless something else ended it first.  Safe from
 * any thread; async-signal-safe when msg is NULL.
 */
void vm_request_exit(struct vm *vm, enum mvm_exit_reason reason, int status, const char *msg);

/*
 * The guest's power button (mvm_vm_power_button): an ACPI power-button
 * event, or Ctrl-Alt-Del on the i8042 when the guest runs without ACPI.
 * Event-loop thread.  0 or -errno.
 */
int vm_power_button(struct vm *vm);

#endif
