/* SPDX-License-Identifier: MIT */
/*
 * Entry CPU state (boot/x86_entry.c): the identity page tables are walked as
 * the MMU would, the GDT is decoded from guest memory and compared with the
 * segment registers, and regs/sregs are checked per mode.
 */
#include <check.h>

#define I8042_RESET_CMD_FOR_TEST 0xfe
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/layout.h"
#include "boot/x86_entry.h"

#define RAM_SIZE (64ull << 20)

static struct guest_mem gm;
static uint8_t *ram;

static void setup(void)
{
	memset(&gm, 0, sizeof(gm));
	ram = malloc(RAM_SIZE);
	ck_assert_ptr_nonnull(ram);
	memset(ram, 0xcc, RAM_SIZE);
	ck_assert_int_eq(gm_add_region(&gm, 0, RAM_SIZE, ram), 0);
}

static void teardown(void)
{
	free(ram);
}

/* What KVM_GET_SREGS returns after vCPU reset (the parts that matter here). */
static struct kvm_sregs reset_sregs(void)
{
	struct kvm_sregs s;

	memset(&s, 0, sizeof(s));
	s.cr0 = 0x60000010; /* CD | NW | ET */
	s.apic_base = 0xfee00900;
	s.interrupt_bitmap[0] = 0x1234;
	s.idt.limit = 0xffff;
	s.ldt.type = 2;
	s.ldt.present = 1;
	return s;
}

static uint64_t rd64(uint64_t gpa)
{
	uint64_t v;
	ck_assert_int_eq(gm_read(&gm, gpa, &v, sizeof(v)), 0);
	return v;
}

/* Translates a linear address through the 4-level tables at CR3, as the MMU would. */
static uint64_t walk(uint64_t cr3, uint64_t va)
{
	uint64_t pml4e = rd64(cr3 + ((va >> 39) & 511) * 8);
	ck_assert(pml4e & X86_PTE_PRESENT);
	uint64_t pdpte = rd64((pml4e & ~0xfffull) + ((va >> 30) & 511) * 8);
	ck_assert(pdpte & X86_PTE_PRESENT);
	ck_assert(!(pdpte & X86_PTE_PS));
	uint64_t pde = rd64((pdpte & ~0xfffull) + ((va >> 21) & 511) * 8);
	ck_assert(pde & X86_PTE_PRESENT);
	ck_assert(pde & X86_PTE_RW);
	ck_assert(pde & X86_PTE_PS);
	return (pde & ~0x1fffffull) + (va & 0x1fffff);
}

static void check_segment(const struct kvm_segment *s, uint16_t sel, uint8_t type, uint8_t l,
			  uint8_t db)
{
	ck_assert_uint_eq(s->selector, sel);
	ck_assert_uint_eq(s->base, 0);
	ck_assert_uint_eq(s->limit, 0xffffffff);
	ck_assert_uint_eq(s->type, type);
	ck_assert_uint_eq(s->present, 1);
	ck_assert_uint_eq(s->dpl, 0);
	ck_assert_uint_eq(s->s, 1);
	ck_assert_uint_eq(s->g, 1);
	ck_assert_uint_eq(s->l, l);
	ck_assert_uint_eq(s->db, db);
	ck_assert_uint_eq(s->unusable, 0);
}

/* The segment registers must be exactly what the GDT in guest memory says. */
static void check_matches_gdt(const struct kvm_segment *s)
{
	struct kvm_segment from_gdt;
	uint64_t desc = rd64(GDT_ADDR + (s->selector & ~7u));

	x86_gdt_to_kvm_segment(desc, s->selector, &from_gdt);
	ck_assert_mem_eq(&from_gdt, s, sizeof(*s));
}

static void check_tss(const struct kvm_sregs *s)
{
	ck_assert_uint_eq(s->tr.selector, BOOT_SEL_TSS);
	ck_assert_uint_eq(s->tr.base, 0);
	ck_assert_uint_eq(s->tr.limit, 0x67);
	ck_assert_uint_eq(s->tr.type, 11); /* busy TSS */
	ck_assert_uint_eq(s->tr.s, 0);
	ck_assert_uint_eq(s->tr.present, 1);
	check_matches_gdt(&s->tr);
	/* The long-mode TSS descriptor is 16 bytes; its upper half must be zero. */
	ck_assert_uint_eq(rd64(GDT_ADDR + BOOT_SEL_TSS + 8), 0);
	ck_assert_uint_eq(s->gdt.base, GDT_ADDR);
	ck_assert_uint_eq(s->gdt.limit, BOOT_GDT_ENTRIES * 8 - 1);
	ck_assert_uint_eq(rd64(GDT_ADDR), 0); /* null descriptor */
}

START_TEST(linux64_state)
{
	struct boot_entry e = {
	    .mode = BOOT_ENTRY_LINUX64, .entry = 0x1000200, .boot_info = ZERO_PAGE_ADDR};
	struct kvm_regs regs;
	struct kvm_sregs s = reset_sregs();

	memset(&regs, 0xaa, sizeof(regs));
	ck_assert_int_eq(x86_setup_entry(&gm, &e, &regs, &s), 0);

	check_segment(&s.cs, 0x10, 0xb, 1, 0); /* __BOOT_CS: 64-bit code, execute/read */
	check_segment(&s.ds, 0x18, 0x3, 0, 1); /* __BOOT_DS: read/write data */
	check_segment(&s.es, 0x18, 0x3, 0, 1);
	check_segment(&s.ss, 0x18, 0x3, 0, 1);
	check_segment(&s.fs, 0x18, 0x3, 0, 1);
	check_segment(&s.gs, 0x18, 0x3, 0, 1);
	check_matches_gdt(&s.cs);
	check_matches_gdt(&s.ds);
	check_tss(&s);

	ck_assert_uint_eq(s.cr0, X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG);
	ck_assert_uint_eq(s.cr3, PML4_ADDR);
	ck_assert_uint_eq(s.cr4, X86_CR4_PAE);
	ck_assert_uint_eq(s.efer, X86_EFER_LME | X86_EFER_LMA);
	/* Untouched by us. */
	ck_assert_uint_eq(s.apic_base, 0xfee00900);
	ck_assert_uint_eq(s.interrupt_bitmap[0], 0x1234);
	ck_assert_uint_eq(s.idt.limit, 0xffff);
	ck_assert_uint_eq(s.ldt.type, 2);

	ck_assert_uint_eq(regs.rip, 0x1000200);
	ck_assert_uint_eq(regs.rsi, ZERO_PAGE_ADDR);
	ck_assert_uint_eq(regs.rflags, 0x2);
	ck_assert_uint_eq(regs.rbx, 0);
	ck_assert_uint_eq(regs.rax, 0);
	ck_assert_uint_eq(regs.rsp, BOOT_STACK_TOP);
}
END_TEST

START_TEST(linux64_identity_map_4g)
{
	struct boot_entry e = {
	    .mode = BOOT_ENTRY_LINUX64, .entry = 0x1000200, .boot_info = ZERO_PAGE_ADDR};
	struct kvm_regs regs;
	struct kvm_sregs s = reset_sregs();
	const uint64_t probes[] = {0,	       ZERO_PAGE_ADDR, CMDLINE_ADDR, 0x1000200,
				   0x3fffffff, 0x40000000,     0xbfffffff,   0xd0000000,
				   0xfee00000, 0xffffffff};

	ck_assert_int_eq(x86_setup_entry(&gm, &e, &regs, &s), 0);
	ck_assert_uint_eq(rd64(PML4_ADDR), PDPT_ADDR | 3);
	for (unsigned i = 1; i < 512; i++)
		ck_assert_uint_eq(rd64(PML4_ADDR + i * 8), 0);
	for (unsigned i = 0; i < 4; i++)
		ck_assert_uint_eq(rd64(PDPT_ADDR + i * 8), (PD_ADDR + i * 0x1000) | 3);
	for (unsigned i = 4; i < 512; i++)
		ck_assert_uint_eq(rd64(PDPT_ADDR + i * 8), 0); /* nothing above 4 GiB */
	for (uint64_t i = 0; i < 2048; i++)
		ck_assert_uint_eq(rd64(PD_ADDR + i * 8), (i << 21) | 0x83);
	for (unsigned i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		ck_assert_uint_eq(walk(s.cr3, probes[i]), probes[i]);
	/* The tables end where the PVH start info / zero page begin to be used. */
	ck_assert_uint_eq(ram[ZERO_PAGE_ADDR], 0xcc);
}
END_TEST

START_TEST(pvh32_state)
{
	struct boot_entry e = {
	    .mode = BOOT_ENTRY_PVH32, .entry = 0x1000040, .boot_info = PVH_START_ADDR};
	struct kvm_regs regs;
	struct kvm_sregs s = reset_sregs();

	s.efer = X86_EFER_LME | X86_EFER_LMA; /* e.g. left over from a previous boot */
	s.cr4 = X86_CR4_PAE;
	ck_assert_int_eq(x86_setup_entry(&gm, &e, &regs, &s), 0);

	check_segment(&s.cs, 0x08, 0xb, 0, 1); /* flat 32-bit code */
	check_segment(&s.ds, 0x18, 0x3, 0, 1);
	check_segment(&s.es, 0x18, 0x3, 0, 1);
	check_segment(&s.ss, 0x18, 0x3, 0, 1);
	check_matches_gdt(&s.cs);
	check_matches_gdt(&s.ss);
	check_tss(&s);

	ck_assert_uint_eq(s.cr0 & ~X86_CR0_ET, X86_CR0_PE); /* paging off, PE the only one */
	ck_assert_uint_eq(s.cr4, 0);
	ck_assert_uint_eq(s.efer & (X86_EFER_LME | X86_EFER_LMA), 0);
	ck_assert_uint_eq(regs.rip, 0x1000040);
	ck_assert_uint_eq(regs.rbx, PVH_START_ADDR);
	ck_assert_uint_eq(regs.rsi, 0);
	ck_assert_uint_eq(regs.rflags, 0x2);
	/* No page tables: the hvm_start_info page (shared with the last PD) is untouched. */
	ck_assert_uint_eq(ram[PVH_START_ADDR], 0xcc);
	ck_assert_uint_eq(ram[PML4_ADDR], 0xcc);
}
END_TEST

START_TEST(gdt_encoding_round_trip)
{
	struct kvm_segment seg;
	uint64_t d = x86_gdt_entry(0xc093, 0x12345678, 0xabcde);

	/* base[31:24] | G,D,limit[19:16] | access | base[23:0] | limit[15:0] */
	ck_assert_uint_eq(d, 0x12ca93345678bcdeull);
	x86_gdt_to_kvm_segment(d, 0x18, &seg);
	ck_assert_uint_eq(seg.base, 0x12345678);
	ck_assert_uint_eq(seg.limit, 0xabcdefff);
	ck_assert_uint_eq(seg.type, 3);
	ck_assert_uint_eq(seg.db, 1);
	ck_assert_uint_eq(seg.g, 1);
	/* Byte-granular: the limit is taken as is. */
	x86_gdt_to_kvm_segment(x86_gdt_entry(0x008b, 0, 0x67), 0x20, &seg);
	ck_assert_uint_eq(seg.limit, 0x67);
	ck_assert_uint_eq(seg.g, 0);
	/* Not present: unusable. */
	x86_gdt_to_kvm_segment(0, 0, &seg);
	ck_assert_uint_eq(seg.unusable, 1);
}
END_TEST

START_TEST(efault_without_low_memory)
{
	struct guest_mem high = {0}, tiny = {0};
	struct boot_entry e64 = {
	    .mode = BOOT_ENTRY_LINUX64, .entry = 0x1000200, .boot_info = ZERO_PAGE_ADDR};
	struct boot_entry pvh = {
	    .mode = BOOT_ENTRY_PVH32, .entry = 0x1000040, .boot_info = PVH_START_ADDR};
	struct kvm_regs regs;
	struct kvm_sregs s = reset_sregs();

	ck_assert_int_eq(
	    gm_add_region(&high, HIMEM_START, RAM_SIZE - HIMEM_START, ram + HIMEM_START), 0);
	ck_assert_int_eq(x86_setup_entry(&high, &e64, &regs, &s), -EFAULT);
	ck_assert_int_eq(x86_setup_entry(&high, &pvh, &regs, &s), -EFAULT);
	ck_assert_uint_eq(s.cr0, 0x60000010); /* nothing changed on failure */

	/* 8 KiB of RAM: room for the GDT (PVH works) but not for the page tables. */
	ck_assert_int_eq(gm_add_region(&tiny, 0, 0x2000, ram), 0);
	ck_assert_int_eq(x86_setup_entry(&tiny, &e64, &regs, &s), -EFAULT);
	ck_assert_int_eq(x86_setup_entry(&tiny, &pvh, &regs, &s), 0);
}
END_TEST

START_TEST(reset_stub_pulses_i8042_reset)
{
	struct guest_mem gm = {0};
	uint8_t *ram = calloc(1, 0x100000);
	const uint8_t *stub = ram + RESET_VECTOR_ADDR;

	ck_assert_int_eq(gm_add_region(&gm, 0, 0x100000, ram), 0);
	ck_assert_int_eq(x86_write_reset_stub(&gm), 0);
	/* mov al, 0xfe; out 0x64, al: the i8042 reset command. */
	ck_assert_uint_eq(stub[0], 0xb0);
	ck_assert_uint_eq(stub[1], I8042_RESET_CMD_FOR_TEST);
	ck_assert_uint_eq(stub[2], 0xe6);
	ck_assert_uint_eq(stub[3], I8042_CMD_PORT);
	ck_assert_uint_eq(stub[4], 0xf4);
	/* The jmp goes back to the hlt. */
	ck_assert_uint_eq(stub[5], 0xeb);
	ck_assert_int_eq(7 + (int8_t)stub[6], 4);
	free(ram);

	/* No RAM at the reset vector: an error, not a crash. */
	struct guest_mem small = {0};
	uint8_t *tiny = calloc(1, 0x10000);
	ck_assert_int_eq(gm_add_region(&small, 0, 0x10000, tiny), 0);
	ck_assert_int_eq(x86_write_reset_stub(&small), -EFAULT);
	free(tiny);
}
END_TEST

Suite *x86_entry_suite(void)
{
	Suite *s = suite_create("x86_entry");
	TCase *tc = tcase_create("entry");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, linux64_state);
	tcase_add_test(tc, linux64_identity_map_4g);
	tcase_add_test(tc, pvh32_state);
	tcase_add_test(tc, gdt_encoding_round_trip);
	tcase_add_test(tc, efault_without_low_memory);
	tcase_add_test(tc, reset_stub_pulses_i8042_reset);
	suite_add_tcase(s, tc);
	return s;
}
