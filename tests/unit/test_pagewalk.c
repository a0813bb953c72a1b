/* SPDX-License-Identifier: MIT */
/*
 * The guest page-table walk (vmm/pagewalk.c) over malloc'd guest memory:
 * hand-built 32-bit, PAE, 4- and 5-level tables, the access rights of SDM
 * vol. 3 4.6, the #PF error codes of 4.7, A/D flags, accesses crossing a
 * page, and tables that point outside guest RAM.
 */
#include <asm/processor-flags.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/memory.h"
#include "vmm/pagewalk.h"
#include "tests/unit/fake_ram.h"

#define RAM_BYTES (4ull << 20)

#define P  0x1ull
#define RW 0x2ull
#define US 0x4ull
#define A  0x20ull
#define D  0x40ull
#define PS 0x80ull

#define EFER_LME_LMA ((1ull << 8) | (1ull << 10))
#define EFER_NXE     (1ull << 11)

/* Table pages of the 4-level layout; data pages from 0x10000. */
enum {
	PML5 = 0x6000,
	PML4 = 0x1000,
	PDPT = 0x2000,
	PD = 0x3000,
	PT = 0x4000,
	DATA = 0x10000,
};

/* la 0x400000: PML4[0] PDPT[0] PD[2] PT[0..] */
#define LA_4K 0x400000ull

static uint8_t *ram;
static struct guest_mem gm;
static struct pw_cpu cpu;

static void put64(uint64_t gpa, uint64_t v)
{
	memcpy(ram + gpa, &v, 8);
}

static uint64_t get64(uint64_t gpa)
{
	uint64_t v;
	memcpy(&v, ram + gpa, 8);
	return v;
}

static void put32(uint64_t gpa, uint32_t v)
{
	memcpy(ram + gpa, &v, 4);
}

static uint32_t get32(uint64_t gpa)
{
	uint32_t v;
	memcpy(&v, ram + gpa, 4);
	return v;
}

/* Kernel-mode 64-bit CPU, WP on, 4-level paging, every permission at the upper levels. */
static void setup(void)
{
	ram = fake_ram_new(&gm, RAM_BYTES);
	cpu = (struct pw_cpu){
	    .cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_WP,
	    .cr3 = PML4,
	    .cr4 = X86_CR4_PAE,
	    .efer = EFER_LME_LMA | EFER_NXE,
	    .rflags = 2,
	    .cpl = 0,
	    .long_mode = true,
	    .maxphyaddr = 46,
	};
	put64(PML4 + 0 * 8, PDPT | P | RW | US);
	put64(PDPT + 0 * 8, PD | P | RW | US);
	put64(PD + 2 * 8, PT | P | RW | US);
	put64(PT + 0 * 8, DATA | P | RW);		  /* 0x400000: supervisor, writable */
	put64(PT + 1 * 8, (DATA + 0x1000) | P);		  /* 0x401000: supervisor, read-only */
	put64(PT + 2 * 8, (DATA + 0x2000) | P | RW | US); /* 0x402000: user, writable */
	put64(PT + 3 * 8, (DATA + 0x3000) | P | US);	  /* 0x403000: user, read-only */
	/* 0x404000, 0x405000: not present */
	put64(PT + 6 * 8, (DATA + 0x6000) | P | RW); /* 0x406000, 0x407000: supervisor, writable */
	put64(PT + 7 * 8, (DATA + 0x7000) | P | RW);
}

static void teardown(void)
{
	free(ram);
}

static enum pw_status xlate(uint64_t la, bool write, uint64_t *gpa, struct pw_fault *f)
{
	memset(f, 0xa5, sizeof(*f));
	return pw_translate(&gm, &cpu, la, write, gpa, f);
}

static void expect_pf(uint64_t la, bool write, uint32_t error_code)
{
	struct pw_fault f;
	uint64_t gpa;

	ck_assert_int_eq(xlate(la, write, &gpa, &f), PW_PAGE_FAULT);
	ck_assert_uint_eq(f.error_code, error_code);
	ck_assert_uint_eq(f.addr, la);
}

static uint64_t expect_ok(uint64_t la, bool write)
{
	struct pw_fault f;
	uint64_t gpa = ~0ull;

	ck_assert_int_eq(xlate(la, write, &gpa, &f), PW_OK);
	return gpa;
}

START_TEST(maps_4k)
{
	ck_assert_uint_eq(expect_ok(LA_4K + 0x123, false), DATA + 0x123);
	ck_assert_uint_eq(expect_ok(LA_4K + 0x2ffc, true), DATA + 0x2ffc);
}
END_TEST

START_TEST(not_present_each_level)
{
	expect_pf(LA_4K + 0x4000, false, 0); /* PTE */
	expect_pf(LA_4K + 0x4000, true, PW_PF_W);
	cpu.cpl = 3;
	expect_pf(LA_4K + 0x4000, true, PW_PF_W | PW_PF_U);
	cpu.cpl = 0;
	expect_pf(3ull << 21, false, 0);	    /* PDE 3 empty */
	expect_pf(1ull << 30, false, 0);	    /* PDPTE 1 empty */
	expect_pf(1ull << 39, true, PW_PF_W);	    /* PML4E 1 empty */
	expect_pf(0xffff800000000000ull, false, 0); /* PML4E 256: kernel half, empty */
	/* Not present wins over the missing rights of the levels above. */
	put64(PD + 2 * 8, PT | P);
	cpu.cpl = 3;
	expect_pf(LA_4K + 0x4000, true, PW_PF_W | PW_PF_U);
}
END_TEST

START_TEST(read_only_store_cpl0_wp)
{
	expect_ok(LA_4K + 0x1000, false);
	expect_pf(LA_4K + 0x1000, true, PW_PF_P | PW_PF_W);
	/* Read-only at an upper level is as read-only. */
	put64(PDPT, PD | P | US);
	expect_pf(LA_4K, true, PW_PF_P | PW_PF_W);
}
END_TEST

START_TEST(read_only_store_cpl0_no_wp)
{
	cpu.cr0 &= ~(uint64_t)X86_CR0_WP;
	ck_assert_uint_eq(expect_ok(LA_4K + 0x1000, true), DATA + 0x1000);
	/* ...but a user-mode store still faults (WP only concerns supervisor stores). */
	cpu.cpl = 3;
	expect_pf(LA_4K + 0x3000, true, PW_PF_P | PW_PF_W | PW_PF_U);
}
END_TEST

START_TEST(user_page_cpl3)
{
	cpu.cpl = 3;
	ck_assert_uint_eq(expect_ok(LA_4K + 0x2010, true), DATA + 0x2010);
	ck_assert_uint_eq(expect_ok(LA_4K + 0x3010, false), DATA + 0x3010);
	expect_pf(LA_4K + 0x3010, true, PW_PF_P | PW_PF_W | PW_PF_U);
	/* User at the leaf but supervisor above: not a user page. */
	put64(PDPT, PD | P | RW);
	expect_pf(LA_4K + 0x2010, false, PW_PF_P | PW_PF_U);
}
END_TEST

START_TEST(supervisor_page_cpl3)
{
	cpu.cpl = 3;
	expect_pf(LA_4K, false, PW_PF_P | PW_PF_U);
	expect_pf(LA_4K, true, PW_PF_P | PW_PF_W | PW_PF_U);
	expect_pf(LA_4K + 0x1000, true, PW_PF_P | PW_PF_W | PW_PF_U);
}
END_TEST

START_TEST(smap)
{
	/* Without SMAP the kernel reaches user pages. */
	expect_ok(LA_4K + 0x2000, true);
	cpu.cr4 |= X86_CR4_SMAP;
	expect_pf(LA_4K + 0x2000, false, PW_PF_P);
	expect_pf(LA_4K + 0x2000, true, PW_PF_P | PW_PF_W);
	cpu.rflags |= X86_EFLAGS_AC; /* stac */
	expect_ok(LA_4K + 0x2000, true);
	expect_pf(LA_4K + 0x3000, true, PW_PF_P | PW_PF_W); /* WP still applies */
	/* CPL3 is not affected by SMAP. */
	cpu.rflags &= ~(uint64_t)X86_EFLAGS_AC;
	cpu.cpl = 3;
	expect_ok(LA_4K + 0x2000, true);
}
END_TEST

START_TEST(large_pages)
{
	/* PD[4]: a 2 MiB page at 2 MiB; PDPT[2]: a 1 GiB page at 0 (RAM is 4 MiB). */
	put64(PD + 4 * 8, (2ull << 20) | P | RW | PS);
	ck_assert_uint_eq(expect_ok((4ull << 21) + 0x12345, true), (2ull << 20) + 0x12345);
	put64(PDPT + 2 * 8, 0 | P | RW | US | PS);
	ck_assert_uint_eq(expect_ok((2ull << 30) + 0x3abcd, false), 0x3abcd);
	/* Frame bits below the page size are reserved (bit 12 is PAT, allowed). */
	put64(PD + 4 * 8, (2ull << 20) | (1ull << 13) | P | RW | PS);
	expect_pf(4ull << 21, false, PW_PF_P | PW_PF_RSVD);
	put64(PD + 4 * 8, (2ull << 20) | (1ull << 12) | P | RW | PS);
	expect_ok(4ull << 21, false);
	put64(PDPT + 2 * 8, (1ull << 21) | P | RW | PS);
	expect_pf(2ull << 30, true, PW_PF_P | PW_PF_W | PW_PF_RSVD);
	/* PS in a PML4E is reserved. */
	put64(PML4 + 8, P | RW | PS);
	expect_pf(1ull << 39, false, PW_PF_P | PW_PF_RSVD);
	/* A read-only 2 MiB page with WP. */
	put64(PD + 4 * 8, (2ull << 20) | P | PS);
	expect_pf((4ull << 21) + 8, true, PW_PF_P | PW_PF_W);
}
END_TEST

START_TEST(reserved_bits)
{
	put64(PT + 0, DATA | (1ull << 46) | P | RW); /* above MAXPHYADDR 46 */
	expect_pf(LA_4K, false, PW_PF_P | PW_PF_RSVD);
	cpu.maxphyaddr = 52;
	expect_ok(LA_4K, false); /* 2^46 + DATA is outside RAM but only the data is: translates */
	put64(PT + 0, DATA | (1ull << 63) | P | RW);
	expect_ok(LA_4K, false); /* XD with NXE: fine for data */
	cpu.efer &= ~EFER_NXE;
	expect_pf(LA_4K, true, PW_PF_P | PW_PF_W | PW_PF_RSVD);
}
END_TEST

START_TEST(accessed_dirty)
{
	expect_ok(LA_4K + 8, false);
	ck_assert_uint_eq(get64(PML4) & (A | D), A);
	ck_assert_uint_eq(get64(PDPT) & (A | D), A);
	ck_assert_uint_eq(get64(PD + 16) & (A | D), A);
	ck_assert_uint_eq(get64(PT) & (A | D), A);
	expect_ok(LA_4K + 8, true);
	ck_assert_uint_eq(get64(PT) & (A | D), A | D);
	ck_assert_uint_eq(get64(PD + 16) & D, 0); /* dirty only where the page is mapped */
	/* A faulting access sets nothing. */
	expect_pf(LA_4K + 0x1000, true, PW_PF_P | PW_PF_W);
	ck_assert_uint_eq(get64(PT + 8) & (A | D), 0);
}
END_TEST

static enum pw_status copy(uint64_t la, void *buf, size_t len, bool write, struct pw_fault *f)
{
	return pw_copy(&gm, &cpu, la, buf, len, write, f);
}

START_TEST(cross_page)
{
	uint32_t v = 0x11223344, r = 0;
	struct pw_fault f;

	/* 0x400ffe..0x401001: two bytes on each page (DATA and DATA + 0x1000). */
	ram[DATA + 0xffe] = 0xaa;
	ram[DATA + 0xfff] = 0xbb;
	ram[DATA + 0x1000] = 0xcc;
	ram[DATA + 0x1001] = 0xdd;
	ck_assert_int_eq(copy(LA_4K + 0xffe, &r, 4, false, &f), PW_OK);
	ck_assert_uint_eq(r, 0xddccbbaa);
	/* Store: the second page is read-only, so nothing lands on the first either. */
	ck_assert_int_eq(copy(LA_4K + 0xffe, &v, 4, true, &f), PW_PAGE_FAULT);
	ck_assert_uint_eq(f.addr, LA_4K + 0x1000); /* CR2: the page that faulted */
	ck_assert_uint_eq(f.error_code, PW_PF_P | PW_PF_W);
	ck_assert_uint_eq(ram[DATA + 0xffe], 0xaa);
	ck_assert_uint_eq(ram[DATA + 0xfff], 0xbb);
	/* Across writable pages both halves land. */
	ck_assert_int_eq(copy(LA_4K + 0x6ffe, &v, 4, true, &f), PW_OK);
	ck_assert_uint_eq(ram[DATA + 0x6ffe], 0x44);
	ck_assert_uint_eq(ram[DATA + 0x6fff], 0x33);
	ck_assert_uint_eq(ram[DATA + 0x7000], 0x22);
	ck_assert_uint_eq(ram[DATA + 0x7001], 0x11);
	ck_assert_uint_eq(get64(PT + 6 * 8) & D, D);
	ck_assert_uint_eq(get64(PT + 7 * 8) & D, D);
	/* 0x401000 is read-only, but CPL0 with CR0.WP=0 may store to it. */
	cpu.cr0 &= ~(uint64_t)X86_CR0_WP;
	ck_assert_int_eq(copy(LA_4K + 0xffe, &v, 4, true, &f), PW_OK);
	ck_assert_uint_eq(ram[DATA + 0x1001], 0x11);
	/* Into a page that is not present. */
	ck_assert_int_eq(copy(LA_4K + 0x3ffd, &r, 4, false, &f), PW_PAGE_FAULT);
	ck_assert_uint_eq(f.addr, LA_4K + 0x4000);
	ck_assert_uint_eq(f.error_code, 0);
	/* A first page that faults is reported at the access's own address. */
	ck_assert_int_eq(copy(LA_4K + 0x4ffe, &r, 4, false, &f), PW_PAGE_FAULT);
	ck_assert_uint_eq(f.addr, LA_4K + 0x4ffe);
	/* Off the top of the address space. */
	ck_assert_int_eq(copy(0xfffffffffffffffeull, &r, 4, false, &f), PW_NONCANONICAL);
}
END_TEST

START_TEST(tables_outside_ram)
{
	struct pw_fault f;
	uint64_t gpa;
	uint32_t r;

	cpu.cr3 = 0xd0000000; /* the MMIO hole */
	ck_assert_int_eq(xlate(LA_4K, false, &gpa, &f), PW_NOT_RAM);
	cpu.cr3 = (1ull << 46) - 0x1000; /* the last page MAXPHYADDR allows */
	ck_assert_int_eq(xlate(LA_4K, false, &gpa, &f), PW_NOT_RAM);
	cpu.cr3 = PML4;
	put64(PD + 2 * 8, RAM_BYTES | P | RW); /* a page table just past RAM's end */
	ck_assert_int_eq(xlate(LA_4K, false, &gpa, &f), PW_NOT_RAM);
	put64(PD + 2 * 8, ((1ull << 46) - 0x1000) | P | RW);
	ck_assert_int_eq(xlate(LA_4K, false, &gpa, &f), PW_NOT_RAM);
	/* Data outside RAM translates, but cannot be copied here. */
	put64(PD + 2 * 8, PT | P | RW | US);
	put64(PT, 0xfee00000ull | P | RW);
	ck_assert_uint_eq(expect_ok(LA_4K, true), 0xfee00000ull);
	ck_assert_int_eq(copy(LA_4K, &r, 4, false, &f), PW_NOT_RAM);
	/* The last page of RAM is fine. */
	put64(PT, (RAM_BYTES - 0x1000) | P | RW);
	ck_assert_int_eq(copy(LA_4K + 0xffc, &r, 4, false, &f), PW_OK);
}
END_TEST

START_TEST(canonical_and_la57)
{
	struct pw_fault f;
	uint64_t gpa;

	ck_assert_int_eq(xlate(0x0000800000000000ull, false, &gpa, &f), PW_NONCANONICAL);
	ck_assert_int_eq(xlate(0xfff0000000000000ull, false, &gpa, &f), PW_NONCANONICAL);
	/* 5-level: PML5[1] -> the same PML4; 0x0100000000400000 is PML5 index 2: empty. */
	cpu.cr4 |= X86_CR4_LA57;
	cpu.cr3 = PML5;
	put64(PML5 + 1 * 8, PML4 | P | RW | US);
	ck_assert_uint_eq(expect_ok((1ull << 48) + LA_4K + 4, true), DATA + 4);
	expect_pf((2ull << 48) + LA_4K, false, 0);
	ck_assert_int_eq(xlate(0x0100000000000000ull, false, &gpa, &f), PW_NONCANONICAL);
	expect_pf(0xff00000000000000ull, false, 0); /* canonical with 57 bits, PML5[256] empty */
	/* PS in a PML5E is reserved. */
	put64(PML5 + 1 * 8, PML4 | P | RW | US | PS);
	expect_pf((1ull << 48) + LA_4K, false, PW_PF_P | PW_PF_RSVD);
}
END_TEST

START_TEST(no_paging_32bit_and_pae)
{
	/* Paging off: linear is physical, wrapping at 4 GiB. */
	cpu = (struct pw_cpu){.cr0 = X86_CR0_PE, .cpl = 0, .maxphyaddr = 46};
	ck_assert_uint_eq(expect_ok(0x1000000012345ull, true), 0x12345);

	/* 32-bit paging: PD at 0x1000, PT at 0x2000; PDE 1 a 4 MiB page (PSE). */
	cpu = (struct pw_cpu){.cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_WP,
			      .cr3 = 0x1000,
			      .cr4 = X86_CR4_PSE,
			      .cpl = 3,
			      .maxphyaddr = 36};
	memset(ram, 0, 0x10000);
	put32(0x1000 + 0 * 4, 0x2000 | P | RW | US);
	put32(0x2000 + 5 * 4, (uint32_t)(DATA | P | US));
	put32(0x1000 + 1 * 4, 0 | P | RW | US | PS);
	ck_assert_uint_eq(expect_ok(0x5010, false), DATA + 0x10);
	expect_pf(0x5010, true, PW_PF_P | PW_PF_W | PW_PF_U);
	ck_assert_uint_eq(get32(0x2000 + 5 * 4) & A, A);
	ck_assert_uint_eq(expect_ok(0x400000 + 0x3abcd, true), 0x3abcd);
	ck_assert_uint_eq(get32(0x1000 + 4) & (A | D), A | D);
	/* PSE-36 bits beyond MAXPHYADDR 36 (bits 17..20 of the PDE) are reserved. */
	put32(0x1000 + 1 * 4, (1u << 17) | P | RW | US | PS);
	expect_pf(0x400000, false, PW_PF_P | PW_PF_U | PW_PF_RSVD);
	/* Without CR4.PSE the PS bit is ignored: the entry points to a page table at 0. */
	cpu.cr4 = 0;
	put32(0x1000 + 1 * 4, 0x2000 | P | RW | US | PS);
	ck_assert_uint_eq(expect_ok(0x405000, false), DATA);

	/* PAE: PDPT at 0x3000 (32-byte aligned), PD at 0x4000, PT at 0x5000. */
	cpu = (struct pw_cpu){.cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_WP,
			      .cr3 = 0x3000,
			      .cr4 = X86_CR4_PAE,
			      .cpl = 0,
			      .maxphyaddr = 46};
	put64(0x3000 + 3 * 8, 0x4000 | P);
	put64(0x4000 + 1 * 8, 0x5000 | P | RW);
	put64(0x5000 + 2 * 8, (DATA + 0x1000) | P);
	expect_ok(0xc0202000ull, false);
	expect_pf(0xc0202000ull, true, PW_PF_P | PW_PF_W);
	expect_pf(0x80000000ull, false, 0);	/* PDPTE 2 not present */
	put64(0x3000 + 3 * 8, 0x4000 | P | RW); /* PDPTE bit 1 is reserved */
	expect_pf(0xc0202000ull, false, PW_PF_P | PW_PF_RSVD);
}
END_TEST

START_TEST(protection_keys_refused)
{
	struct pw_fault f;
	uint64_t gpa;

	cpu.cr4 |= X86_CR4_PKE;
	expect_ok(LA_4K, true); /* supervisor page: PKRU does not apply */
	ck_assert_int_eq(xlate(LA_4K + 0x2000, false, &gpa, &f), PW_UNSUPPORTED);
	/* A #PF found first is still a #PF. */
	expect_pf(LA_4K + 0x4000, false, 0);
}
END_TEST

START_TEST(status_names)
{
	ck_assert_str_eq(pw_status_name(PW_NOT_RAM), "not guest RAM");
	ck_assert_str_eq(pw_status_name((enum pw_status)99), "unknown");
}
END_TEST

Suite *pagewalk_suite(void)
{
	Suite *s = suite_create("pagewalk");
	TCase *tc = tcase_create("walk");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, maps_4k);
	tcase_add_test(tc, not_present_each_level);
	tcase_add_test(tc, read_only_store_cpl0_wp);
	tcase_add_test(tc, read_only_store_cpl0_no_wp);
	tcase_add_test(tc, user_page_cpl3);
	tcase_add_test(tc, supervisor_page_cpl3);
	tcase_add_test(tc, smap);
	tcase_add_test(tc, large_pages);
	tcase_add_test(tc, reserved_bits);
	tcase_add_test(tc, accessed_dirty);
	tcase_add_test(tc, cross_page);
	tcase_add_test(tc, tables_outside_ram);
	tcase_add_test(tc, canonical_and_la57);
	tcase_add_test(tc, no_paging_32bit_and_pae);
	tcase_add_test(tc, protection_keys_refused);
	tcase_add_test(tc, status_names);
	suite_add_tcase(s, tc);
	return s;
}
