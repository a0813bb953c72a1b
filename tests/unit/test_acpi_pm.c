/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "boot/layout.h"
#include "devices/acpi_pm.h"
#include "tests/unit/fake_machine.h"

enum { CONTROL = 0, STATUS = 1, RESET = 2 };

static struct fake_ctl rec;
static struct machine_ctl ctl;
static struct logger quiet = {LOG_ERROR, -1, "test"};
static struct acpi_pm *pm;

static void setup(void)
{
	fake_ctl_init(&rec, &ctl);
	ck_assert_int_eq(acpi_pm_create(&pm, &ctl, &quiet), 0);
}

static void teardown(void)
{
	acpi_pm_destroy(pm);
}

static void wr(uint64_t off, uint8_t v)
{
	acpi_pm_io_write(pm, off, &v, 1);
}

static uint8_t sleep_value(unsigned slp_typ, int enable)
{
	return (uint8_t)(((slp_typ << ACPI_SLP_TYP_SHIFT) & ACPI_SLP_TYP_MASK) |
			 (enable ? ACPI_SLP_EN : 0));
}

START_TEST(s5_powers_off)
{
	wr(STATUS, 0x80); /* Linux clears WAK_STS first */
	ck_assert_int_eq(rec.exits, 0);
	wr(CONTROL, sleep_value(ACPI_S5_SLP_TYP, 1));
	ck_assert_int_eq(rec.exits, 1);
	ck_assert_int_eq(rec.reason, MVM_EXIT_POWEROFF);
}
END_TEST

START_TEST(other_sleep_types_ignored)
{
	for (unsigned typ = 0; typ < 8; typ++) {
		if (typ != ACPI_S5_SLP_TYP)
			wr(CONTROL, sleep_value(typ, 1));
	}
	ck_assert_int_eq(rec.exits, 0);
	/* S5 type without SLP_EN does nothing yet. */
	wr(CONTROL, sleep_value(ACPI_S5_SLP_TYP, 0));
	ck_assert_int_eq(rec.exits, 0);
	/* Stray high bits around a valid S5 request still count as S5. */
	wr(CONTROL, (uint8_t)(sleep_value(ACPI_S5_SLP_TYP, 1) | 0xc3));
	ck_assert_int_eq(rec.exits, 1);
}
END_TEST

START_TEST(reset_register)
{
	wr(RESET, ACPI_RESET_VALUE ^ 1);
	wr(RESET, 0);
	wr(RESET, 0xff);
	ck_assert_int_eq(rec.exits, 0);
	wr(RESET, ACPI_RESET_VALUE);
	ck_assert_int_eq(rec.exits, 1);
	ck_assert_int_eq(rec.reason, MVM_EXIT_REBOOT);
	/* The reset value at the control register is not a reset. */
	memset(&rec, 0, sizeof(rec));
	wr(CONTROL, ACPI_RESET_VALUE);
	ck_assert_int_eq(rec.exits, 0);
}
END_TEST

START_TEST(reads_and_odd_widths)
{
	uint8_t v = 0xaa;
	uint16_t w = 0;
	uint32_t d = ACPI_RESET_VALUE;

	for (uint64_t off = 0; off < 3; off++) {
		v = 0xaa;
		acpi_pm_io_read(pm, off, &v, 1);
		ck_assert_uint_eq(v, 0);
	}
	acpi_pm_io_read(pm, STATUS, &w, 2);
	ck_assert_uint_eq(w, 0xffff);
	acpi_pm_io_write(pm, RESET, &d, 4);
	d = sleep_value(ACPI_S5_SLP_TYP, 1);
	acpi_pm_io_write(pm, CONTROL, &d, 2);
	ck_assert_int_eq(rec.exits, 0);
	ck_assert_int_eq(acpi_pm_create(NULL, &ctl, NULL), -EINVAL);
}
END_TEST

Suite *acpi_pm_suite(void)
{
	Suite *s = suite_create("acpi_pm");
	TCase *tc = tcase_create("registers");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, s5_powers_off);
	tcase_add_test(tc, other_sleep_types_ignored);
	tcase_add_test(tc, reset_register);
	tcase_add_test(tc, reads_and_odd_widths);
	suite_add_tcase(s, tc);
	return s;
}
