/* SPDX-License-Identifier: MIT */
/*
 * Per-thread seccomp filters (README "Confinement: seccomp").
 *
 * Each thread role has one allow-list table (vmm/seccomp.c) from which a BPF
 * filter is generated with libseccomp when the VM is built; each thread loads
 * its role's filter itself, once its setup is done: a vCPU thread before its
 * first KVM_RUN, the event-loop thread (the caller of mvm_vm_run) after it has
 * started the vCPUs and just before the loop runs.  A filter is inherited by
 * threads created later and stacks with theirs, so the loop loads last and no
 * filter is synchronised across threads (no TSYNC).
 *
 * Mode on: a call outside the list traps; a SIGSYS handler writes one line
 * ("minivmm: seccomp: thread vcpu0 made forbidden syscall 101 (ptrace)") and
 * the process dies by SIGSYS.  Mode log: the call runs and the kernel logs it
 * (audit type 1326, in dmesg or the audit log).  Mode off: no filter.
 */
#ifndef MINIVMM_SECCOMP_H
#define MINIVMM_SECCOMP_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/log.h"
#include "vmm/config.h"

enum sc_role {
	SC_ROLE_VCPU = 0, /* KVM_RUN loop, exit handling, emulation completion */
	SC_ROLE_LOOP,	  /* event loop, device backends, teardown after the run */
	SC_ROLE_COUNT,
};

/* What a VM uses beyond the base lists: only then do these rows join its filters. */
enum sc_need {
	SC_NEED_SLIRP = 1u << 0, /* a --net user NIC: libslirp's sockets on the loop */
	SC_NEED_VSOCK = 1u << 1, /* a vsock device: its Unix sockets on the loop */
};

/* How a rule looks at the arguments. */
enum sc_match {
	SC_ANY = 0,	/* any arguments */
	SC_ARG_EQ32,	/* (arg & 0xffffffff) == value: ioctl requests, flags, families */
	SC_ARG_CLEAR,	/* (arg & value) == 0: e.g. no PROT_EXEC */
	SC_ARG_EQ_SELF, /* arg == this process's pid (tgkill) */
	SC_ARG_ERRNO,	/* not allowed: fails with errno `value` (clone3 -> ENOSYS) */
};

struct sc_rule {
	int nr; /* syscall number */
	enum sc_match match;
	unsigned arg;	  /* which argument the match looks at */
	uint64_t value;	  /* see enum sc_match */
	unsigned needs;	  /* SC_NEED_*: 0 = always */
	unsigned unless;  /* SC_NEED_*: left out when the VM has one of these */
	const char *name; /* "ioctl KVM_RUN", for tests and messages */
};

/* The generated filters of one VM; plain data, shared read-only by its threads. */
struct sc_filters {
	enum mvm_seccomp mode;
	struct sock_fprog prog[SC_ROLE_COUNT]; /* .filter NULL: mode off */
};

/* Role names as the SIGSYS line and the tests spell them: "vcpu", "loop". */
const char *sc_role_name(enum sc_role role);

/* The role's table: base rows for every role's threads, then the role's own. */
const struct sc_rule *sc_table(enum sc_role role, size_t *n);
const struct sc_rule *sc_common_table(size_t *n);

/*
 * Generates the filters for `mode` and the needs (SC_NEED_*).  Host errors
 * (libseccomp failure, no memory) are -errno with err filled.
 */
int sc_filters_build(struct sc_filters *f, enum mvm_seccomp mode, unsigned needs,
		     struct vmm_err *err);
void sc_filters_free(struct sc_filters *f);

/*
 * Loads the role's filter on the calling thread (irreversible: the thread
 * and any thread it creates stay confined).  `label` names the thread in
 * the SIGSYS line ("vcpu0", "loop").  -EBUSY if this thread already loaded
 * one (the first filter would kill the second load), other -errno if the
 * kernel refused.  Mode off: nothing, 0.
 */
int sc_filters_apply(const struct sc_filters *f, enum sc_role role, const char *label,
		     struct vmm_err *err);

#endif
