/* SPDX-License-Identifier: MIT */
/*
 * CPU templates: the guest's CPUID is KVM_GET_SUPPORTED_CPUID filtered by a
 * named template, as Firecracker's CPU templates do.
 *
 *  - host:     everything KVM offers, unchanged.
 *  - baseline: hides what a guest kernel cannot run when KVM executes its CPL0
 *              code through the instruction emulator (the PVM hosts described
 *              in docs HOST-KVM.md), and is a sane conservative set elsewhere.
 *  - auto:     baseline on a PVM host, host elsewhere.
 *
 * Every hidden bit is one row of cpu_template_baseline_hidden[] with the
 * reason it is hidden, so the table is the documentation.  Pure functions on
 * a struct kvm_cpuid2: no ioctls, unit-tested.
 */
#ifndef MINIVMM_CPU_TEMPLATE_H
#define MINIVMM_CPU_TEMPLATE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/minivmm.h"

enum cpuid_reg {
	CPUID_EAX,
	CPUID_EBX,
	CPUID_ECX,
	CPUID_EDX,
};

/* One CPUID feature bit: leaf, subleaf (ignored for leaves KVM does not index), register, bit. */
struct cpuid_feature {
	uint32_t leaf;
	uint32_t subleaf;
	enum cpuid_reg reg;
	uint8_t bit;
};

struct cpu_template_hidden_bit {
	struct cpuid_feature feature;
	const char *name;   /* as Linux spells it in /proc/cpuinfo */
	const char *reason; /* why baseline hides it */
};

extern const struct cpu_template_hidden_bit cpu_template_baseline_hidden[];
extern const size_t cpu_template_baseline_hidden_count;

/*
 * A PVM host applies only part of KVM_SET_CPUID2: the guest's CPUID
 * instruction still reports the host's XSAVE/AVX, POPCNT, RDRAND... (seen
 * here: of the baseline bits only CX16 follows the filter).  A Linux guest
 * honours the template anyway when told on its command line.  Writes
 * "noxsave clearcpuid=NAME,..." (the baseline names Linux would otherwise
 * use at CPL0) into buf for BASELINE, "" for anything else.  Returns the
 * length, or -ENOSPC if buf is too small (buf then holds "").
 */
int cpu_template_linux_params(enum mvm_cpu_template t, char *buf, size_t len);
extern const char *const cpu_template_linux_clear[];
extern const size_t cpu_template_linux_clear_count;

/* Resolves AUTO: BASELINE on a PVM host (guest CPL0 is emulated), HOST elsewhere. */
enum mvm_cpu_template cpu_template_resolve(enum mvm_cpu_template t, bool pvm_host);
/* "auto", "host", "baseline"; "unknown" for anything else. */
const char *cpu_template_name(enum mvm_cpu_template t);
/* Parses "auto", "host", "baseline" (exact, lower case). -EINVAL otherwise, *out untouched. */
int cpu_template_parse(const char *s, enum mvm_cpu_template *out);

/*
 * Filters cpuid in place.  HOST (and AUTO, which the caller must resolve
 * first) leaves it unchanged.  BASELINE clears every bit of the table, then
 * cpuid_enforce_dependencies() so that no feature survives whose
 * prerequisite is gone (XSAVE -> AVX -> AVX-512 ..., leaf 0xd zeroed).
 * The number of entries never changes.
 */
void cpu_template_apply(enum mvm_cpu_template t, struct kvm_cpuid2 *cpuid);

/*
 * Clears features whose prerequisite feature is clear (absent leaves count
 * as clear) and zeroes leaf 0xd when XSAVE is clear.  Idempotent.
 */
void cpuid_enforce_dependencies(struct kvm_cpuid2 *cpuid);

/* True if the feature bit is set in cpuid (false if its leaf is absent). */
bool cpuid_feature_present(const struct kvm_cpuid2 *cpuid, struct cpuid_feature f);

/*
 * For the log line: writes the names of the table's bits that are set in
 * `supported` (i.e. what BASELINE will actually hide), space separated, into
 * buf (always NUL-terminated, truncated with "..." if too small).  Returns
 * how many such bits there are.
 */
size_t cpu_template_describe_hidden(const struct kvm_cpuid2 *supported, char *buf, size_t len);

#endif
