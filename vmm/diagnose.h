/* SPDX-License-Identifier: MIT */
/*
 * Explaining, after a run, a guest failure whose cause is the host KVM
 * rather than the guest or minivmm: pure functions over what the run left
 * behind (the guest's last console output, its registers), so they can be
 * unit-tested.
 */
#ifndef MINIVMM_DIAGNOSE_H
#define MINIVMM_DIAGNOSE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * True if the guest's console output shows Linux's report of a user-mode
 * fault at its own system-call entry point: "segfault at LSTAR ip LSTAR"
 * (show_signal_msg(): "%s[%d]: segfault at %lx ip %px").  On a PVM host that
 * is the guest's first `syscall` arriving at the kernel still in user mode:
 * the host delivers system calls only to PVM-aware guest kernels, and no VM
 * exit happens that a VMM could complete.
 */
bool diagnose_syscall_entry_fault(const char *console_tail, uint64_t lstar);

#endif
