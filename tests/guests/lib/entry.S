/* SPDX-License-Identifier: MIT */
/*
 * Entry points of every test guest.  The image is linked at KERNEL_LOAD_ADDR
 * and has three ways in, all ending in guest_start(kind, info) in 64-bit mode
 * on the guest's own GDT, page tables and stack:
 *
 *   image + 0x000  startup_32: bzImage 32-bit boot protocol (code32_start),
 *                  reached from the real-mode stub (rmstub.S) when a BIOS
 *                  loader such as QEMU's runs the setup code; %esi = boot_params.
 *   image + 0x200  startup_64: bzImage 64-bit boot protocol (boot.rst "64-bit
 *                  Boot Protocol"); %rsi = boot_params.
 *   pvh_start      Xen PVH (XEN_ELFNOTE_PHYS32_ENTRY): 32-bit protected mode,
 *                  paging off, %ebx = struct hvm_start_info.
 *
 * The 64-bit protocol only promises an identity map of the image, the zero
 * page and the command line, so every path builds its own 4 GiB identity map:
 * the guests read ACPI tables, the LAPIC and the MMIO hole.
 *
 * Register use until guest_start: %esi/%rsi = boot info pointer,
 * %ebp = BOOT_ENTRY_* (rep stos needs %edi).
 */
#include "boot/layout.h"
#include "tests/guests/lib/entry.h"

#define PTE_PRESENT_RW 0x003
#define PDE_LARGE_RW   0x083 /* present, writable, 2 MiB page */
#define CR0_PE         0x00000001
#define CR0_PG         0x80000000
#define CR4_PAE        0x00000020
#define MSR_EFER       0xc0000080
#define EFER_LME       0x00000100
#define PD_ENTRIES     2048 /* 4 GiB / 2 MiB */

	.section .head.text, "ax"
	.code32
	.globl startup_32
startup_32:
	cli
	movl $BOOT_ENTRY_LINUX32, %ebp
	jmp enter_long_mode

	/* boot.rst: the 64-bit entry is the load address plus 0x200. */
	.org 0x200
	.code64
	.globl startup_64
startup_64:
	cli
	cld
	movl $BOOT_ENTRY_LINUX64, %ebp
	/* Zero .bss (page tables, stack, IDT): a loader need not clear it. */
	leaq __bss_start(%rip), %rdi
	leaq __bss_end(%rip), %rcx
	subq %rdi, %rcx
	shrq $3, %rcx
	xorl %eax, %eax
	rep stosq
	leaq pml4(%rip), %rdi
	leaq pdpt(%rip), %rax
	orq $PTE_PRESENT_RW, %rax
	movq %rax, (%rdi)
	leaq pdpt(%rip), %rdi
	leaq pd(%rip), %rax
	orq $PTE_PRESENT_RW, %rax
	movl $4, %ecx
1:	movq %rax, (%rdi)
	addq $0x1000, %rax
	addq $8, %rdi
	decl %ecx
	jnz 1b
	leaq pd(%rip), %rdi
	movq $PDE_LARGE_RW, %rax
	movl $PD_ENTRIES, %ecx
2:	movq %rax, (%rdi)
	addq $0x200000, %rax
	addq $8, %rdi
	decl %ecx
	jnz 2b
	/* The loader's map covers this code, and so does ours: identity. */
	leaq pml4(%rip), %rax
	movq %rax, %cr3
	jmp common64

	.text
	.code32
	.globl pvh_start
pvh_start:
	cli
	movl %ebx, %esi
	movl $BOOT_ENTRY_PVH, %ebp

/* 32-bit protected mode, paging off, flat segments: go to long mode. */
enter_long_mode:
	cld
	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	shrl $2, %ecx
	xorl %eax, %eax
	rep stosl
	movl $pdpt + PTE_PRESENT_RW, pml4
	movl $pdpt, %edi
	movl $pd + PTE_PRESENT_RW, %eax
	movl $4, %ecx
1:	movl %eax, (%edi)
	addl $0x1000, %eax
	addl $8, %edi
	decl %ecx
	jnz 1b
	/* 2048 entries of 2 MiB; the high dwords are already zero. */
	movl $pd, %edi
	movl $PDE_LARGE_RW, %eax
	movl $PD_ENTRIES, %ecx
2:	movl %eax, (%edi)
	addl $0x200000, %eax
	addl $8, %edi
	decl %ecx
	jnz 2b

	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE), %eax
	movl %eax, %cr0
	lgdt gdt_desc
	ljmp $GUEST_CODE64_SEL, $long_mode

	.code64
long_mode:
	/* The upper halves of registers are undefined after the mode switch. */
	movl %esi, %esi
	movl %ebp, %ebp

common64:
	lgdt gdt_desc(%rip)
	movl $GUEST_DATA_SEL, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	leaq stack_top(%rip), %rsp
	pushq $GUEST_CODE64_SEL
	leaq 1f(%rip), %rax
	pushq %rax
	lretq
1:	movl %ebp, %edi
	/* %rsi: boot_params or hvm_start_info, already in place. */
	call guest_start
3:	cli
	hlt
	jmp 3b

/*
 * CPU exceptions: push a dummy error code where the CPU pushes none, then
 * the vector, then all GPRs, and hand the frame to exception_handler(),
 * which reports and ends the run unless the guest's exception hook takes
 * the exception (then the stub returns to the frame's RIP).  Without this an unexpected fault would
 * be a triple fault, indistinguishable from a reset.
 */
.macro EXCEPTION_STUB vec
	.balign 16
exception_stub_\vec:
	/* Vectors with a CPU error code: #DF #TS #NP #SS #GP #PF #AC #CP #VC #SX. */
	.if (\vec == 8) || (\vec == 10) || (\vec == 11) || (\vec == 12) || (\vec == 13)
	.elseif (\vec == 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	pushq $0
	.endif
	pushq $\vec
	jmp exception_common
.endm

	.irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	EXCEPTION_STUB \vec
	.endr

exception_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	call exception_handler
	/* The handler returned: the guest's hook resumed it (boot.h). */
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp /* vector and error code */
	iretq

	.section .rodata
	.balign 8
	.globl exception_stubs
exception_stubs:
	.irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad exception_stub_\vec
	.endr

	.balign 8
gdt:
	.quad 0
	.quad 0x00af9a000000ffff /* GUEST_CODE64_SEL: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff /* GUEST_DATA_SEL: flat 4 GiB data */
gdt_end:
	/* lgdt reads a 32-bit base in 32-bit mode and a 64-bit one in 64-bit mode. */
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt

	/* Xen PVH entry: a 32-bit physical address (the note QEMU and Linux use). */
	.section .note.Xen, "a", @note
	.balign 4
	.long 2f - 1f
	.long 4f - 3f
	.long 18 /* XEN_ELFNOTE_PHYS32_ENTRY */
1:	.asciz "Xen"
2:	.balign 4
3:	.long pvh_start
4:	.balign 4

	.section .bss.pagetables, "aw", @nobits
	.balign 4096
pml4:
	.skip 4096
pdpt:
	.skip 4096
pd:
	.skip 4 * 4096
	.balign 16
stack:
	.skip GUEST_STACK_SIZE
stack_top:

	.section .note.GNU-stack, "", @progbits
