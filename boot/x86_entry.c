/* SPDX-License-Identifier: MIT */
/*
 * Entry CPU state for the two boot modes:
 *  - LINUX64 (Documentation/x86/boot.rst, "64-bit Boot Protocol"): long mode,
 *    paging on with an identity map covering the kernel, zero page and
 *    command line (we map all of the first 4 GiB with 2 MiB pages), a GDT
 *    with flat __BOOT_CS (0x10) and __BOOT_DS (0x18), CS = __BOOT_CS, data
 *    segments = __BOOT_DS, interrupts off, RSI = zero page.
 *  - PVH32 (Xen docs/misc/pvh.pandoc): 32-bit protected mode, paging off,
 *    CR0.PE the only writeable CR0 bit set, CR4 = 0, flat 32-bit CS and
 *    DS/ES/SS, TR a busy 32-bit TSS with base 0 and limit 0x67, EFLAGS.IF/TF/VM
 *    clear, EBX = hvm_start_info.
 */
#include "boot/x86_entry.h"

#include <errno.h>
#include <string.h>

#include "boot/layout.h"

#define PAGE_SIZE_4K   0x1000ull
#define PTES_PER_PAGE  512
#define PD_PAGES       4 /* 4 x 512 x 2 MiB = 4 GiB */
#define HUGE_PAGE_SIZE (2ull << 20)

/* Access byte | (G, D/B, L, AVL) << 12, the layout of descriptor bits 40..55. */
#define GDT_FLAGS_CODE64 0xa09b	 /* G, L, present, code, execute/read, accessed */
#define GDT_FLAGS_CODE32 0xc09b	 /* G, D, present, code, execute/read, accessed */
#define GDT_FLAGS_DATA	 0xc093	 /* G, B, present, data, read/write, accessed */
#define GDT_FLAGS_TSS	 0x008b	 /* present, system, busy 32-bit (long mode: 64-bit) TSS */
#define GDT_LIMIT_4G	 0xfffff /* in 4 KiB units with G set */

_Static_assert(GDT_ADDR + BOOT_GDT_ENTRIES * 8 <= PML4_ADDR, "boot GDT overlaps the PML4");
_Static_assert(PD_ADDR + PD_PAGES * PAGE_SIZE_4K <= ZERO_PAGE_ADDR,
	       "page directories overlap the zero page");

uint64_t x86_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(flags & 0xf0ff) << 40) |
	       ((uint64_t)(limit & 0x000f0000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
	       (uint64_t)(limit & 0x0000ffffu);
}

void x86_gdt_to_kvm_segment(uint64_t desc, uint16_t selector, struct kvm_segment *seg)
{
	uint32_t limit = (uint32_t)(desc & 0xffff) | (uint32_t)((desc >> 32) & 0x000f0000u);

	memset(seg, 0, sizeof(*seg));
	seg->selector = selector;
	seg->base = ((desc >> 16) & 0x00ffffffu) | ((desc >> 32) & 0xff000000u);
	seg->type = (desc >> 40) & 0xf;
	seg->s = (desc >> 44) & 1;
	seg->dpl = (desc >> 45) & 3;
	seg->present = (desc >> 47) & 1;
	seg->avl = (desc >> 52) & 1;
	seg->l = (desc >> 53) & 1;
	seg->db = (desc >> 54) & 1;
	seg->g = (desc >> 55) & 1;
	/* KVM wants the limit in bytes: with G set the descriptor counts 4 KiB units. */
	seg->limit = seg->g ? (limit << 12) | 0xfff : limit;
	seg->unusable = !seg->present;
}

static void put_u64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v)); /* x86 host and guest are both little-endian */
}

static void write_page_tables(uint8_t *pml4, uint8_t *pdpt, uint8_t *pd)
{
	memset(pml4, 0, PAGE_SIZE_4K);
	memset(pdpt, 0, PAGE_SIZE_4K);
	put_u64(pml4, PDPT_ADDR | X86_PTE_PRESENT | X86_PTE_RW);
	for (unsigned i = 0; i < PD_PAGES; i++)
		put_u64(pdpt + i * 8, (PD_ADDR + i * PAGE_SIZE_4K) | X86_PTE_PRESENT | X86_PTE_RW);
	for (uint64_t i = 0; i < PD_PAGES * PTES_PER_PAGE; i++)
		put_u64(pd + i * 8,
			(i * HUGE_PAGE_SIZE) | X86_PTE_PRESENT | X86_PTE_RW | X86_PTE_PS);
}

int x86_setup_entry(struct guest_mem *gm, const struct boot_entry *entry, struct kvm_regs *regs,
		    struct kvm_sregs *sregs)
{
	const bool long_mode = entry->mode == BOOT_ENTRY_LINUX64;
	uint64_t gdt[BOOT_GDT_ENTRIES] = {
	    [BOOT_GDT_NULL] = 0,
	    [BOOT_GDT_CODE32] = x86_gdt_entry(GDT_FLAGS_CODE32, 0, GDT_LIMIT_4G),
	    [BOOT_GDT_CODE64] = x86_gdt_entry(GDT_FLAGS_CODE64, 0, GDT_LIMIT_4G),
	    [BOOT_GDT_DATA] = x86_gdt_entry(GDT_FLAGS_DATA, 0, GDT_LIMIT_4G),
	    /* Base 0 < 4 GiB: the upper half of the 16-byte long-mode form (entry 5) is zero. */
	    [BOOT_GDT_TSS] = x86_gdt_entry(GDT_FLAGS_TSS, 0, BOOT_TSS_LIMIT),
	};
	uint8_t *gdt_host = gm_ptr(gm, GDT_ADDR, sizeof(gdt));
	uint8_t *pml4 = gm_ptr(gm, PML4_ADDR, PAGE_SIZE_4K);
	uint8_t *pdpt = gm_ptr(gm, PDPT_ADDR, PAGE_SIZE_4K);
	uint8_t *pd = gm_ptr(gm, PD_ADDR, PD_PAGES * PAGE_SIZE_4K);
	struct kvm_segment code, data;

	if (!gdt_host || (long_mode && (!pml4 || !pdpt || !pd)))
		return -EFAULT;
	memcpy(gdt_host, gdt, sizeof(gdt));
	if (long_mode)
		write_page_tables(pml4, pdpt, pd);

	if (long_mode)
		x86_gdt_to_kvm_segment(gdt[BOOT_GDT_CODE64], BOOT_SEL_CODE64, &code);
	else
		x86_gdt_to_kvm_segment(gdt[BOOT_GDT_CODE32], BOOT_SEL_CODE32, &code);
	x86_gdt_to_kvm_segment(gdt[BOOT_GDT_DATA], BOOT_SEL_DATA, &data);
	sregs->cs = code;
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
	x86_gdt_to_kvm_segment(gdt[BOOT_GDT_TSS], BOOT_SEL_TSS, &sregs->tr);
	sregs->gdt.base = GDT_ADDR;
	sregs->gdt.limit = sizeof(gdt) - 1;

	sregs->efer &= ~(X86_EFER_LME | X86_EFER_LMA);
	if (long_mode) {
		/*
		 * PG|PE with PAE and EFER.LME|LMA is long mode.  ET is hardwired,
		 * NE is what Linux runs with; the reset value's CD/NW are dropped so
		 * the early kernel does not run with caches disabled.
		 */
		sregs->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
		sregs->cr3 = PML4_ADDR;
		sregs->cr4 = X86_CR4_PAE;
		sregs->efer |= X86_EFER_LME | X86_EFER_LMA;
	} else {
		/* PVH: PE is the only writeable bit set (ET is read-only, always 1). */
		sregs->cr0 = X86_CR0_PE | X86_CR0_ET;
		sregs->cr3 = 0;
		sregs->cr4 = 0;
	}

	memset(regs, 0, sizeof(*regs));
	regs->rflags = X86_RFLAGS_RESERVED; /* IF, TF, VM clear */
	regs->rip = entry->entry;
	/* Neither protocol promises a stack; a valid one makes early faults debuggable. */
	regs->rsp = BOOT_STACK_TOP;
	regs->rbp = BOOT_STACK_TOP;
	if (long_mode)
		regs->rsi = entry->boot_info;
	else
		regs->rbx = entry->boot_info;
	return 0;
}

int x86_write_reset_stub(struct guest_mem *gm)
{
	/*
	 * Real mode, 16-bit code: mov al, 0xfe; out 0x64, al (i8042 "pulse
	 * reset line": the VMM ends the run as a reboot); then hlt forever in
	 * case the write is ignored.
	 */
	static const uint8_t stub[] = {
	    0xb0, 0xfe, /* mov al, 0xfe */
	    0xe6, 0x64, /* out 0x64, al */
	    0xf4,	/* hlt */
	    0xeb, 0xfd, /* jmp to the hlt */
	};
	_Static_assert(RESET_VECTOR_ADDR + sizeof(stub) <= 0x100000, "stub crosses 1 MiB");

	return gm_write(gm, RESET_VECTOR_ADDR, stub, sizeof(stub));
}
