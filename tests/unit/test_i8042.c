/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "devices/i8042.h"
#include "tests/unit/fake_machine.h"

enum { DATA = 0, CMD = 4 };
#define STR_OBF	    0x01
#define STR_IBF	    0x02
#define STR_AUXDATA 0x20

static struct fake_ctl rec;
static struct machine_ctl ctl;
static struct logger quiet = {LOG_ERROR, -1, "test"};
static struct i8042 *kbc;

static void setup(void)
{
	fake_ctl_init(&rec, &ctl);
	ck_assert_int_eq(i8042_create(&kbc, &ctl, &quiet), 0);
}

static void teardown(void)
{
	i8042_destroy(kbc);
}

static uint8_t rd(uint64_t off)
{
	uint8_t v = 0x5a;
	i8042_io_read(kbc, off, &v, 1);
	return v;
}

static void wr(uint64_t off, uint8_t v)
{
	i8042_io_write(kbc, off, &v, 1);
}

START_TEST(status_idle_after_create)
{
	uint8_t s = rd(CMD);

	ck_assert_uint_eq(s & (STR_OBF | STR_IBF), 0);
	ck_assert_uint_eq(s & 0x10, 0x10); /* key lock not engaged */
	ck_assert_uint_eq(s & 0x04, 0x04); /* system flag: POST passed */
	ck_assert_uint_ne(s, 0xff);	   /* Linux: 0xff means "no controller" */
}
END_TEST

START_TEST(self_test_and_ctr_read_write)
{
	wr(CMD, 0xaa);
	ck_assert_uint_eq(rd(CMD) & (STR_OBF | STR_IBF | STR_AUXDATA), STR_OBF);
	ck_assert_uint_eq(rd(DATA), 0x55);
	ck_assert_uint_eq(rd(CMD) & STR_OBF, 0);

	wr(CMD, 0x20);
	ck_assert_uint_eq(rd(CMD) & STR_OBF, STR_OBF);
	ck_assert_uint_eq(rd(DATA), 0x45); /* XLATE | SYSFLAG | KBDINT */

	wr(CMD, 0x60);
	ck_assert_uint_eq(rd(CMD) & 0x08, 0x08); /* CMD/DATA: last write was a command */
	wr(DATA, 0x74);
	ck_assert_uint_eq(rd(CMD) & 0x08, 0);
	wr(CMD, 0x20);
	ck_assert_uint_eq(rd(DATA), 0x74);

	/* Port enable/disable commands edit the CTR. */
	wr(CMD, 0xa8); /* AUX enable */
	wr(CMD, 0xae); /* KBD enable */
	wr(CMD, 0x20);
	ck_assert_uint_eq(rd(DATA), 0x44);
	wr(CMD, 0xad);
	wr(CMD, 0xa7);
	wr(CMD, 0x20);
	ck_assert_uint_eq(rd(DATA), 0x74);

	/* Interface tests pass; AUX loop echoes with the AUX bit. */
	wr(CMD, 0xab);
	ck_assert_uint_eq(rd(DATA), 0x00);
	wr(CMD, 0xd3);
	wr(DATA, 0x5a);
	ck_assert_uint_eq(rd(CMD) & (STR_OBF | STR_AUXDATA), STR_OBF | STR_AUXDATA);
	ck_assert_uint_eq(rd(DATA), 0x5a);
	ck_assert_uint_eq(rd(CMD) & (STR_OBF | STR_AUXDATA), 0);
	wr(CMD, 0xd2);
	wr(DATA, 0x11);
	ck_assert_uint_eq(rd(CMD) & (STR_OBF | STR_AUXDATA), STR_OBF);
	ck_assert_uint_eq(rd(DATA), 0x11);
	ck_assert_int_eq(rec.exits, 0);
}
END_TEST

START_TEST(pulse_reset_requests_reboot)
{
	wr(CMD, 0xfe);
	ck_assert_int_eq(rec.exits, 1);
	ck_assert_int_eq(rec.reason, MVM_EXIT_REBOOT);
	wr(CMD, 0xff); /* pulse nothing */
	ck_assert_int_eq(rec.exits, 1);
}
END_TEST

START_TEST(output_port_reset_bit)
{
	wr(CMD, 0xd0);
	ck_assert_uint_eq(rd(DATA), 0x03);
	wr(CMD, 0xd1);
	wr(DATA, 0x03); /* A20 on, reset released: nothing happens */
	ck_assert_int_eq(rec.exits, 0);
	wr(CMD, 0xd1);
	wr(DATA, 0x02); /* reset line asserted */
	ck_assert_int_eq(rec.exits, 1);
	ck_assert_int_eq(rec.reason, MVM_EXIT_REBOOT);
}
END_TEST

START_TEST(unknown_commands_and_stray_data_ignored)
{
	uint8_t before = rd(CMD);

	wr(CMD, 0x12);
	wr(CMD, 0xc8);
	ck_assert_uint_eq(rd(CMD), before | 0x08);
	/* Keyboard commands with no keyboard: dropped, no reply, no exit. */
	wr(DATA, 0xf2);
	wr(DATA, 0xfe);
	ck_assert_uint_eq(rd(CMD) & STR_OBF, 0);
	/* 0xd4 consumes one byte for the (absent) mouse. */
	wr(CMD, 0xd4);
	wr(DATA, 0xff);
	ck_assert_uint_eq(rd(CMD) & STR_OBF, 0);
	ck_assert_int_eq(rec.exits, 0);
	/* A command cancels a pending data byte: 0x60 then 0xaa. */
	wr(CMD, 0x60);
	wr(CMD, 0xaa);
	wr(DATA, 0x00);
	wr(CMD, 0x20);
	ck_assert_uint_eq(rd(DATA), 0x45);
}
END_TEST

START_TEST(odd_widths_and_offsets)
{
	uint32_t v = 0;
	uint8_t b = 0xfe;

	i8042_io_read(kbc, CMD, &v, 4);
	ck_assert_uint_eq(v, 0xffffffffu);
	v = 0xfe;
	i8042_io_write(kbc, CMD, &v, 4);
	i8042_io_write(kbc, CMD, &v, 2);
	ck_assert_int_eq(rec.exits, 0);
	for (uint64_t off = 1; off < 4; off++) {
		ck_assert_uint_eq(rd(off), 0xff);
		i8042_io_write(kbc, off, &b, 1);
	}
	ck_assert_int_eq(rec.exits, 0);
	struct i8042 *other = NULL;
	ck_assert_int_eq(i8042_create(NULL, &ctl, NULL), -EINVAL);
	ck_assert_int_eq(i8042_create(&other, NULL, NULL), -EINVAL);
	ck_assert_ptr_null(other);
}
END_TEST

Suite *i8042_suite(void)
{
	Suite *s = suite_create("i8042");
	TCase *tc = tcase_create("registers");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, status_idle_after_create);
	tcase_add_test(tc, self_test_and_ctr_read_write);
	tcase_add_test(tc, pulse_reset_requests_reboot);
	tcase_add_test(tc, output_port_reset_bit);
	tcase_add_test(tc, unknown_commands_and_stray_data_ignored);
	tcase_add_test(tc, odd_widths_and_offsets);
	suite_add_tcase(s, tc);
	return s;
}
