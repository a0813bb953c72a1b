/* SPDX-License-Identifier: MIT */
/*
 * The CPU state a kernel is entered with: boot GDT, identity page tables
 * (64-bit entry) and the register values, written into guest memory and into
 * kvm_regs/kvm_sregs without any ioctl, so that it is unit-testable.
 */
#ifndef MINIVMM_X86_ENTRY_H
#define MINIVMM_X86_ENTRY_H

#include <stdint.h>

#include <linux/kvm.h>

#include "boot/boot.h"
#include "vmm/memory.h"

/*
 * Boot GDT at GDT_ADDR.  Selectors 0x10/0x18 are what boot.rst's 64-bit
 * protocol names (__BOOT_CS, __BOOT_DS); the PVH entry runs on the 32-bit
 * code segment; the TSS exists because VM entry needs a usable TR.
 */
#define BOOT_GDT_NULL	 0
#define BOOT_GDT_CODE32	 1
#define BOOT_GDT_CODE64	 2
#define BOOT_GDT_DATA	 3
#define BOOT_GDT_TSS	 4 /* a 16-byte system descriptor in long mode: entries 4 and 5 */
#define BOOT_GDT_ENTRIES 6

#define BOOT_SEL_CODE32 (BOOT_GDT_CODE32 * 8)
#define BOOT_SEL_CODE64 (BOOT_GDT_CODE64 * 8) /* 0x10 = __BOOT_CS */
#define BOOT_SEL_DATA	(BOOT_GDT_DATA * 8)   /* 0x18 = __BOOT_DS */
#define BOOT_SEL_TSS	(BOOT_GDT_TSS * 8)
#define BOOT_TSS_LIMIT	0x67 /* PVH ABI: TR base 0, limit 0x67 */

/* x86 control-register and EFER bits (SDM vol. 3, 2.5 and 2.2.1). */
#define X86_CR0_PE	    (1ull << 0)
#define X86_CR0_ET	    (1ull << 4)
#define X86_CR0_NE	    (1ull << 5)
#define X86_CR0_PG	    (1ull << 31)
#define X86_CR4_PAE	    (1ull << 5)
#define X86_EFER_LME	    (1ull << 8)
#define X86_EFER_LMA	    (1ull << 10)
#define X86_RFLAGS_RESERVED (1ull << 1) /* bit 1 always reads as 1 */

/* Page-table entry bits. */
#define X86_PTE_PRESENT (1ull << 0)
#define X86_PTE_RW	(1ull << 1)
#define X86_PTE_PS	(1ull << 7)

/* Encodes a GDT descriptor (base, limit in descriptor units, access byte | flags << 12). */
uint64_t x86_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit);
/* Decodes a (code, data or 32-bit system) descriptor into KVM's segment form. */
void x86_gdt_to_kvm_segment(uint64_t desc, uint16_t selector, struct kvm_segment *seg);

/*
 * Writes the boot GDT (GDT_ADDR) and, for LINUX64, identity page tables for
 * the first 4 GiB with 2 MiB pages (PML4_ADDR, PDPT_ADDR, PD_ADDR..+4 pages)
 * into guest memory, and sets regs/sregs for the entry mode.  sregs must come
 * from KVM_GET_SREGS (fields not involved are kept).  Returns 0 or -EFAULT if
 * gm lacks the low pages.
 */
int x86_setup_entry(struct guest_mem *gm, const struct boot_entry *entry, struct kvm_regs *regs,
		    struct kvm_sregs *sregs);

/* Writes the reset-vector stub at RESET_VECTOR_ADDR (boot/layout.h); -EFAULT if not RAM. */
int x86_write_reset_stub(struct guest_mem *gm);

#endif
