/* SPDX-License-Identifier: MIT */
/*
 * Real-mode setup code of the test guests' bzImage.  minivmm enters at
 * startup_64 and never runs this; a BIOS loader (QEMU's -kernel with a
 * bzImage) does, at setup segment + 0x200 (the jump to here), with
 * DS = ES = SS = the setup segment.  It does the minimum Linux's setup code
 * does for a 32-bit kernel entry: build a zero page (the setup header plus
 * the BIOS e820 map), switch to protected mode and jump to code32_start
 * with %esi = boot_params.  Linked at 0: offsets are setup-segment offsets.
 */
#include "tests/guests/bzimage.h"

#define SMAP 0x534d4150 /* "SMAP", INT 15h AX=E820h */
#define STUB_CODE32_SEL 0x10 /* boot.rst __BOOT_CS */
#define STUB_DATA32_SEL 0x18 /* boot.rst __BOOT_DS */

	.code16
	.text
	.org SETUP_HEADER_END
	.globl stub_start
stub_start:
	cli
	cld
	movw %ds, %ax
	movw %ax, %es
	/* Zero the new zero page, then copy the setup header into it. */
	movw $STUB_BOOT_PARAMS, %di
	movw $BP_SIZE, %cx
	xorb %al, %al
	rep stosb
	movw $SETUP_HEADER_START, %si
	movw $STUB_BOOT_PARAMS + SETUP_HEADER_START, %di
	movw $SETUP_HEADER_END - SETUP_HEADER_START, %cx
	rep movsb

	/* BIOS memory map, entry by entry (ACPI 6.5 §15.1). */
	xorl %ebx, %ebx
	movw $STUB_BOOT_PARAMS + BP_E820_TABLE, %di
1:	movl $0xe820, %eax
	movl $BP_E820_ENTRY_SIZE, %ecx
	movl $SMAP, %edx
	int $0x15
	jc 2f
	cmpl $SMAP, %eax
	jne 2f
	incb STUB_BOOT_PARAMS + BP_E820_ENTRIES
	addw $BP_E820_ENTRY_SIZE, %di
	testl %ebx, %ebx
	jz 2f
	cmpb $BP_E820_MAX, STUB_BOOT_PARAMS + BP_E820_ENTRIES
	jb 1b
2:
	/* Linear addresses: segment base plus offset. */
	movw %ds, %ax
	movzwl %ax, %ebx
	shll $4, %ebx
	leal gdt(%ebx), %eax
	movl %eax, gdt_desc + 2
	leal pm32(%ebx), %eax
	movl %eax, pm32_target
	leal STUB_BOOT_PARAMS(%ebx), %esi
	lgdtl gdt_desc
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl *pm32_target

	.code32
pm32:
	movl $STUB_DATA32_SEL, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %fs
	movl %eax, %gs
	movl %eax, %ss
	jmp *BP_CODE32_START(%esi)

	.balign 8
gdt:
	.quad 0
	.quad 0
	.quad 0x00cf9a000000ffff /* STUB_CODE32_SEL: flat 32-bit code */
	.quad 0x00cf92000000ffff /* STUB_DATA32_SEL: flat data */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long 0 /* linear base, filled in above */
pm32_target:
	.long 0 /* linear address of pm32, filled in above */
	.word STUB_CODE32_SEL

	.section .note.GNU-stack, "", @progbits
