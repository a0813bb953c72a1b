/* SPDX-License-Identifier: MIT */
/*
 * A guest page-table walk for data accesses, as the CPU does it (SDM vol. 3
 * chapter 4), for the instructions minivmm completes in userspace
 * (vmm/emulate.c: ldmxcsr/stmxcsr).  KVM_TRANSLATE cannot be used for that:
 * on x86 it walks as a supervisor read and reports every page writable, so
 * a completion through it would ignore read-only mappings, U/S and CPL.
 *
 * Pure: the paging state comes in as a struct, the page tables are read
 * through gm_ptr() only (a paging structure outside guest RAM is a clean
 * failure, never a host access out of bounds), and no ioctl is made, so the
 * unit tests run it over malloc'd guest memory.
 *
 * Covered: no paging, 32-bit paging (4 MiB pages with CR4.PSE), PAE, 4-level
 * and 5-level (CR4.LA57) paging with 2 MiB and 1 GiB pages; reserved bits
 * (MAXPHYADDR, XD without EFER.NXE, PS where it is reserved, the low bits of
 * large-page frames); U/S against CPL, R/W for stores, CR0.WP for supervisor
 * stores, CR4.SMAP with RFLAGS.AC for supervisor accesses to user pages;
 * accessed and dirty bits set as the CPU sets them.  SMEP and EFER.NXE only
 * concern instruction fetches and do not apply.  Protection keys (CR4.PKE on
 * user pages, CR4.PKS on supervisor pages) would need PKRU/IA32_PKRS: such
 * walks answer PW_UNSUPPORTED instead of guessing.
 */
#ifndef MINIVMM_PAGEWALK_H
#define MINIVMM_PAGEWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/memory.h"

/* #PF error code bits (SDM vol. 3 4.7). */
#define PW_PF_P	   (1u << 0) /* 0: not present; 1: protection or reserved bit */
#define PW_PF_W	   (1u << 1) /* the access was a write */
#define PW_PF_U	   (1u << 2) /* the access was a user-mode access (CPL 3) */
#define PW_PF_RSVD (1u << 3) /* a reserved bit was set in a paging-structure entry */

/* The paging state of the vCPU making the access (KVM_GET_SREGS, KVM_GET_REGS). */
struct pw_cpu {
	uint64_t cr0, cr3, cr4, efer;
	uint64_t rflags; /* AC matters, for SMAP */
	unsigned cpl;	 /* CS.selector & 3 */
	bool long_mode;	 /* CS.L with EFER.LMA: 64-bit linear addresses, else they wrap at 4 GiB */
	unsigned maxphyaddr; /* CPUID 0x80000008 EAX[7:0]; 0 or out of 32..52 means 52 */
};

enum pw_status {
	PW_OK,
	PW_PAGE_FAULT,	 /* *fault says what the CPU raises: #PF(error_code), CR2 = addr */
	PW_NONCANONICAL, /* #GP(0) (or #SS(0) through SS), no walk made */
	PW_NOT_RAM,	 /* a paging structure or the data is not guest RAM (MMIO, the hole) */
	PW_UNSUPPORTED,	 /* protection keys, or page tables changed under the walk repeatedly */
};

struct pw_fault {
	uint64_t addr; /* for CR2: the first byte on the page that faulted */
	uint32_t error_code;
};

/*
 * Translates the linear address la for a data read (write false) or store.
 * PW_OK: *gpa is the guest-physical address; accessed bits are set on every
 * entry used and the dirty bit on the final one for a store.
 */
enum pw_status pw_translate(const struct guest_mem *gm, const struct pw_cpu *cpu, uint64_t la,
			    bool write, uint64_t *gpa, struct pw_fault *fault);

/*
 * Moves len bytes (1..4096, so at most two pages) between la and buf, as
 * one access: every page is translated and checked before a byte moves, so
 * a fault on the second page of a store leaves the first untouched (its
 * accessed/dirty flags may already be set, as a CPU may set them).  The
 * caller turns a PW_PAGE_FAULT/PW_NONCANONICAL into the exception; other
 * failures mean the access cannot be completed here.
 */
enum pw_status pw_copy(const struct guest_mem *gm, const struct pw_cpu *cpu, uint64_t la, void *buf,
		       size_t len, bool write, struct pw_fault *fault);

const char *pw_status_name(enum pw_status st);

#endif
