/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "devices/pvpanic.h"
#include "tests/unit/fake_machine.h"

static struct fake_ctl rec;
static struct machine_ctl ctl;
static struct logger quiet = {LOG_ERROR, -1, "test"};
static struct pvpanic *pvp;

static void setup(void)
{
	fake_ctl_init(&rec, &ctl);
	ck_assert_int_eq(pvpanic_create(&pvp, &ctl, &quiet), 0);
}

static void teardown(void)
{
	pvpanic_destroy(pvp);
}

static void wr(uint8_t v)
{
	pvpanic_io_write(pvp, 0, &v, 1);
}

START_TEST(read_reports_supported_events)
{
	uint8_t v = 0;

	pvpanic_io_read(pvp, 0, &v, 1);
	ck_assert_uint_eq(v, 0x03);
}
END_TEST

START_TEST(crash_loaded_only_logs)
{
	wr(PVPANIC_CRASH_LOADED);
	wr(PVPANIC_CRASH_LOADED);
	wr(0);
	wr(0x04); /* unknown event bits: ignored */
	wr(0xfc);
	ck_assert_int_eq(rec.exits, 0);
}
END_TEST

START_TEST(panicked_requests_panic_exit)
{
	wr(PVPANIC_PANICKED);
	ck_assert_int_eq(rec.exits, 1);
	ck_assert_int_eq(rec.reason, MVM_EXIT_PANIC);
	wr(PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
	ck_assert_int_eq(rec.exits, 2);
	wr(0xff);
	ck_assert_int_eq(rec.exits, 3);
	ck_assert_int_eq(rec.reason, MVM_EXIT_PANIC);
}
END_TEST

START_TEST(odd_widths)
{
	uint32_t d = 0;

	pvpanic_io_read(pvp, 0, &d, 4);
	ck_assert_uint_eq(d, 0xffffffffu);
	d = PVPANIC_PANICKED;
	pvpanic_io_write(pvp, 0, &d, 2);
	pvpanic_io_write(pvp, 0, &d, 4);
	ck_assert_int_eq(rec.exits, 0);
	ck_assert_int_eq(pvpanic_create(NULL, &ctl, NULL), -EINVAL);
}
END_TEST

Suite *pvpanic_suite(void)
{
	Suite *s = suite_create("pvpanic");
	TCase *tc = tcase_create("registers");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, read_reports_supported_events);
	tcase_add_test(tc, crash_loaded_only_logs);
	tcase_add_test(tc, panicked_requests_panic_exit);
	tcase_add_test(tc, odd_widths);
	suite_add_tcase(s, tc);
	return s;
}
