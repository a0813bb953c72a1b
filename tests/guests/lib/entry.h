/* SPDX-License-Identifier: MIT */
/*
 * Constants shared by entry.S and the C side of the test-guest runtime.
 * Pure #defines: included from assembly.
 */
#ifndef GUEST_ENTRY_H
#define GUEST_ENTRY_H

/* Which boot path reached guest_start() (its first argument). */
#define BOOT_ENTRY_LINUX64 1 /* bzImage 64-bit boot protocol: load address + 0x200 */
#define BOOT_ENTRY_LINUX32 2 /* bzImage 32-bit boot protocol: code32_start */
#define BOOT_ENTRY_PVH	   3 /* Xen PVH: XEN_ELFNOTE_PHYS32_ENTRY */

#define HVM_START_MAGIC 0x336ec578

/* Selectors of the guest's own GDT (entry.S). */
#define GUEST_CODE64_SEL 0x08
#define GUEST_DATA_SEL	 0x10

#define GUEST_STACK_SIZE	0x4000
#define GUEST_EXCEPTION_VECTORS 32

#endif
