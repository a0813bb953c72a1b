/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "devices/cmos_rtc.h"

enum { INDEX = 0, DATA = 1 };

static struct logger quiet = {LOG_ERROR, -1, "test"};
static struct cmos_rtc *rtc;
static time_t fixed_time;

static time_t fake_clock(void *opaque)
{
	return *(const time_t *)opaque;
}

static void setup(void)
{
	ck_assert_int_eq(cmos_rtc_create(&rtc, &quiet), 0);
	fixed_time = 1709214307; /* 2024-02-29 13:45:07 UTC, a Thursday */
	cmos_rtc_set_clock(rtc, fake_clock, &fixed_time);
}

static void teardown(void)
{
	cmos_rtc_destroy(rtc);
}

static uint8_t reg(uint8_t index)
{
	uint8_t v = 0x5a;
	cmos_rtc_io_write(rtc, INDEX, &index, 1);
	cmos_rtc_io_read(rtc, DATA, &v, 1);
	return v;
}

static void set_reg(uint8_t index, uint8_t val)
{
	cmos_rtc_io_write(rtc, INDEX, &index, 1);
	cmos_rtc_io_write(rtc, DATA, &val, 1);
}

START_TEST(status_registers_defaults)
{
	ck_assert_uint_eq(reg(0x0a), 0x26);
	ck_assert_uint_eq(reg(0x0b), 0x02);
	ck_assert_uint_eq(reg(0x0c), 0x00);
	ck_assert_uint_eq(reg(0x0d), 0x80);
	/* UIP is read-only and always clear; C and D ignore writes. */
	set_reg(0x0a, 0xa6);
	ck_assert_uint_eq(reg(0x0a), 0x26);
	set_reg(0x0c, 0xff);
	set_reg(0x0d, 0x00);
	ck_assert_uint_eq(reg(0x0c), 0x00);
	ck_assert_uint_eq(reg(0x0d), 0x80);
}
END_TEST

START_TEST(time_in_bcd_24h)
{
	ck_assert_uint_eq(reg(0x00), 0x07);
	ck_assert_uint_eq(reg(0x02), 0x45);
	ck_assert_uint_eq(reg(0x04), 0x13);
	ck_assert_uint_eq(reg(0x06), 0x05); /* Sunday = 1 */
	ck_assert_uint_eq(reg(0x07), 0x29);
	ck_assert_uint_eq(reg(0x08), 0x02);
	ck_assert_uint_eq(reg(0x09), 0x24);
	ck_assert_uint_eq(reg(0x32), 0x20);
}
END_TEST

START_TEST(time_in_binary_and_12h)
{
	set_reg(0x0b, 0x06); /* DM = binary, 24h */
	ck_assert_uint_eq(reg(0x0b), 0x06);
	ck_assert_uint_eq(reg(0x00), 7);
	ck_assert_uint_eq(reg(0x02), 45);
	ck_assert_uint_eq(reg(0x04), 13);
	ck_assert_uint_eq(reg(0x07), 29);
	ck_assert_uint_eq(reg(0x08), 2);
	ck_assert_uint_eq(reg(0x09), 24);
	ck_assert_uint_eq(reg(0x32), 20);

	set_reg(0x0b, 0x04); /* binary, 12h: 1 PM */
	ck_assert_uint_eq(reg(0x04), 0x80 | 1);
	set_reg(0x0b, 0x00); /* BCD, 12h */
	ck_assert_uint_eq(reg(0x04), 0x81);

	fixed_time = 4102358759; /* 2099-12-31 00:05:59 UTC: midnight is 12 AM */
	ck_assert_uint_eq(reg(0x04), 0x12);
	set_reg(0x0b, 0x02);
	ck_assert_uint_eq(reg(0x04), 0x00);
	ck_assert_uint_eq(reg(0x00), 0x59);
	ck_assert_uint_eq(reg(0x09), 0x99);
	ck_assert_uint_eq(reg(0x32), 0x20);
	ck_assert_uint_eq(reg(0x08), 0x12);
	ck_assert_uint_eq(reg(0x07), 0x31);
}
END_TEST

START_TEST(clock_is_sampled_per_read_and_writes_ignored)
{
	ck_assert_uint_eq(reg(0x00), 0x07);
	fixed_time += 3;
	ck_assert_uint_eq(reg(0x00), 0x10);
	set_reg(0x00, 0x33); /* setting the clock: ignored */
	ck_assert_uint_eq(reg(0x00), 0x10);
	cmos_rtc_set_clock(rtc, NULL, NULL); /* back to the host clock */
	ck_assert_uint_le(reg(0x00), 0x59);
	ck_assert_uint_le(reg(0x00) & 0x0f, 9);
}
END_TEST

START_TEST(nmi_bit_masked_and_nvram)
{
	uint8_t v;

	/* Index 0x8b: NMI disable + register B. */
	ck_assert_uint_eq(reg(0x8b), 0x02);
	set_reg(0x40, 0xab);
	set_reg(0x7f, 0xcd);
	set_reg(0x0e, 0x01);
	ck_assert_uint_eq(reg(0x40), 0xab);
	ck_assert_uint_eq(reg(0xc0), 0xab);
	ck_assert_uint_eq(reg(0x7f), 0xcd);
	ck_assert_uint_eq(reg(0x0e), 0x01);
	ck_assert_uint_eq(reg(0x41), 0x00);
	/* Alarm registers are plain storage. */
	set_reg(0x01, 0x30);
	ck_assert_uint_eq(reg(0x01), 0x30);
	/* The index port is write-only. */
	cmos_rtc_io_read(rtc, INDEX, &v, 1);
	ck_assert_uint_eq(v, 0xff);
}
END_TEST

START_TEST(odd_widths)
{
	uint16_t w = 0;
	uint32_t d = 0x40404040;
	uint8_t idx = 0x0b, v = 0;

	cmos_rtc_io_read(rtc, DATA, &w, 2);
	ck_assert_uint_eq(w, 0xffff);
	cmos_rtc_io_write(rtc, INDEX, &idx, 1);
	cmos_rtc_io_write(rtc, INDEX, &d, 4); /* ignored: index stays 0x0b */
	d = 0xffffffff;
	cmos_rtc_io_write(rtc, DATA, &d, 2); /* ignored: register B unchanged */
	cmos_rtc_io_read(rtc, DATA, &v, 1);
	ck_assert_uint_eq(v, 0x02);
	ck_assert_int_eq(cmos_rtc_create(NULL, NULL), -EINVAL);
}
END_TEST

Suite *cmos_rtc_suite(void)
{
	Suite *s = suite_create("cmos_rtc");
	TCase *tc = tcase_create("registers");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, status_registers_defaults);
	tcase_add_test(tc, time_in_bcd_24h);
	tcase_add_test(tc, time_in_binary_and_12h);
	tcase_add_test(tc, clock_is_sampled_per_read_and_writes_ignored);
	tcase_add_test(tc, nmi_bit_masked_and_nvram);
	tcase_add_test(tc, odd_widths);
	suite_add_tcase(s, tc);
	return s;
}
