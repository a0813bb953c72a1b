/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/memory.h"

static struct guest_mem gm;
static uint8_t *low, *high;

static void setup(void)
{
	memset(&gm, 0, sizeof(gm));
	low = calloc(1, 0x10000);
	high = calloc(1, 0x1000);
	ck_assert_int_eq(gm_add_region(&gm, 0, 0x10000, low), 0);
	ck_assert_int_eq(gm_add_region(&gm, 0x100000000ull, 0x1000, high), 0);
}

static void teardown(void)
{
	free(low);
	free(high);
}

START_TEST(ptr_inside_region)
{
	ck_assert_ptr_eq(gm_ptr(&gm, 0, 0x10000), low);
	ck_assert_ptr_eq(gm_ptr(&gm, 0xfff0, 0x10), low + 0xfff0);
	ck_assert_ptr_eq(gm_ptr(&gm, 0x100000000ull + 8, 8), high + 8);
}
END_TEST

START_TEST(ptr_rejects_out_of_range)
{
	ck_assert_ptr_null(gm_ptr(&gm, 0xfff0, 0x11));		 /* runs off the end */
	ck_assert_ptr_null(gm_ptr(&gm, 0x10000, 1));		 /* in the gap */
	ck_assert_ptr_null(gm_ptr(&gm, 0x100000fffull, 2));	 /* straddles high end */
	ck_assert_ptr_null(gm_ptr(&gm, UINT64_MAX, 2));		 /* wraps */
	ck_assert_ptr_null(gm_ptr(&gm, 8, UINT64_MAX - 4));	 /* wraps */
	ck_assert_ptr_null(gm_ptr(&gm, 0xffff0000ull, 0x20000)); /* spans the hole */
}
END_TEST

START_TEST(read_write_copy)
{
	uint32_t v = 0xdeadbeef, r = 0;
	ck_assert_int_eq(gm_write(&gm, 0x100, &v, 4), 0);
	ck_assert_int_eq(gm_read(&gm, 0x100, &r, 4), 0);
	ck_assert_uint_eq(r, v);
	ck_assert_int_eq(gm_write(&gm, 0xfffe, &v, 4), -EFAULT);
	ck_assert_int_eq(gm_read(&gm, 0x20000, &r, 4), -EFAULT);
}
END_TEST

START_TEST(regions_must_not_overlap_or_wrap)
{
	uint8_t buf[16];
	ck_assert_int_eq(gm_add_region(&gm, 0x8000, 16, buf), -EEXIST);
	ck_assert_int_eq(gm_add_region(&gm, UINT64_MAX - 4, 16, buf), -EINVAL);
	ck_assert_uint_eq(gm_region_end(&gm, 0x10), 0x10000);
	ck_assert_uint_eq(gm_region_end(&gm, 0x10000), 0);
}
END_TEST

START_TEST(x86_layout_splits_around_hole)
{
	struct guest_mem big;
	struct vmm_err err = {{0}};
	ck_assert_int_eq(gm_init_x86(&big, 4ull << 30, &err), 0);
	ck_assert_uint_eq(big.nregions, 2);
	ck_assert_uint_eq(big.regions[0].size, 3ull << 30);
	ck_assert_uint_eq(big.regions[1].gpa, 4ull << 30);
	ck_assert_uint_eq(big.regions[1].size, 1ull << 30);
	ck_assert_ptr_null(gm_ptr(&big, 0xd0000000ull, 4));
	ck_assert_ptr_nonnull(gm_ptr(&big, (5ull << 30) - 4, 4));
	gm_destroy(&big);
}
END_TEST

/*
 * Guest RAM is marked "dd" (VM_DONTDUMP) in /proc/self/smaps: a core dump
 * after a seccomp kill must not carry the guest's memory.
 */
START_TEST(guest_ram_left_out_of_core_dumps)
{
	struct guest_mem vm_ram;
	struct vmm_err err = {{0}};
	char line[512], want[64];
	bool in_area = false, dontdump = false, found = false;

	ck_assert_int_eq(gm_init_x86(&vm_ram, 64ull << 20, &err), 0);
	snprintf(want, sizeof(want), "%lx-", (unsigned long)vm_ram.regions[0].host);
	FILE *f = fopen("/proc/self/smaps", "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		if (strchr(line, '-') && strncmp(line, "VmFlags", 7) && line[0] != ' ' &&
		    strspn(line, "0123456789abcdef") == strcspn(line, "-")) {
			in_area = strncmp(line, want, strlen(want)) == 0;
			found |= in_area;
		} else if (in_area && !strncmp(line, "VmFlags:", 8)) {
			dontdump = strstr(line, " dd") != NULL;
		}
	}
	fclose(f);
	gm_destroy(&vm_ram);
	ck_assert_msg(found, "guest RAM mapping not in /proc/self/smaps");
	ck_assert_msg(dontdump, "guest RAM would be written to a core dump (no dd in VmFlags)");
}
END_TEST

Suite *memory_suite(void)
{
	Suite *s = suite_create("memory");
	TCase *tc = tcase_create("gm_ptr");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, ptr_inside_region);
	tcase_add_test(tc, ptr_rejects_out_of_range);
	tcase_add_test(tc, read_write_copy);
	tcase_add_test(tc, regions_must_not_overlap_or_wrap);
	tcase_add_test(tc, x86_layout_splits_around_hole);
	tcase_add_test(tc, guest_ram_left_out_of_core_dumps);
	suite_add_tcase(s, tc);
	return s;
}
