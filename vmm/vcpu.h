/* SPDX-License-Identifier: MIT */
/* One vCPU: its KVM fd, its kvm_run page and the thread running KVM_RUN. */
#ifndef MINIVMM_VCPU_H
#define MINIVMM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "vmm/emulate.h"
#include "vmm/log.h"

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned id; /* also its APIC ID */
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	struct emul_stats emul_stats; /* emulation failures completed in userspace */
	unsigned maxphyaddr;	      /* CPUID 0x80000008 EAX[7:0], for page walks; 0 = unknown */
	/*
	 * Where this vCPU's time went: written by its thread only (relaxed
	 * load + store, no locked add on the exit path), read live by
	 * mvm_vm_metrics() from any thread with relaxed loads.
	 */
	struct vcpu_stats {
		_Atomic uint64_t run_ns; /* inside KVM_RUN */
		_Atomic uint64_t exits_io, exits_mmio, exits_other;
	} stats;
};

/* Creates the vCPU and programs CPUID, MSRs, FPU and LAPIC LINT pins. */
int vcpu_create(struct vm *vm, unsigned id, const struct kvm_cpuid2 *supported, struct vcpu **out,
		struct vmm_err *err);
/* Sets the boot CPU's registers for the loaded kernel's entry point. */
int vcpu_set_boot_state(struct vcpu *vcpu, struct vmm_err *err);
int vcpu_start(struct vcpu *vcpu);
/* Forces the thread out of KVM_RUN (immediate_exit + MVM_KICK_SIGNAL). */
void vcpu_kick(struct vcpu *vcpu);
void vcpu_join(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);
#define MSR_LSTAR 0xc0000082 /* SDM vol. 4: the 64-bit SYSCALL entry point */
/* One MSR through KVM_GET_MSRS (not while the vCPU runs).  0 or -errno. */
int vcpu_get_msr(struct vcpu *vcpu, uint32_t index, uint64_t *value);

/* KVM_GET_SUPPORTED_CPUID, grown until it fits.  Caller frees. */
int cpuid_get_supported(int kvm_fd, struct kvm_cpuid2 **out, struct vmm_err *err);
/* Per-vCPU adjustments: APIC IDs, topology, hypervisor bit (pure; unit-tested). */
void cpuid_apply_vcpu(struct kvm_cpuid2 *cpuid, unsigned vcpu_id, unsigned ncpus);

#endif
