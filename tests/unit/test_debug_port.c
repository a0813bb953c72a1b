/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "boot/layout.h"
#include "devices/debug_port.h"
#include "tests/unit/fake_machine.h"

enum { EXIT_OFF = EXIT_PORT - DEBUG_PORT_BASE, MARKER_OFF = BOOT_MARKER_PORT - DEBUG_PORT_BASE };

static struct fake_ctl rec;
static struct machine_ctl ctl;
static struct logger quiet = {LOG_ERROR, -1, "test"};
static struct debug_port *dbg;

static void setup(void)
{
	fake_ctl_init(&rec, &ctl);
	ck_assert_int_eq(debug_port_create(&dbg, &ctl, &quiet), 0);
}

static void teardown(void)
{
	debug_port_destroy(dbg);
}

static void write_exit(uint32_t value, uint32_t len)
{
	uint8_t bytes[4] = {(uint8_t)value, (uint8_t)(value >> 8), (uint8_t)(value >> 16),
			    (uint8_t)(value >> 24)};
	debug_port_io_write(dbg, EXIT_OFF, bytes, len);
}

START_TEST(exit_status_passes_through)
{
	write_exit(0, 1);
	ck_assert_int_eq(rec.exits, 1);
	ck_assert_int_eq(rec.reason, MVM_EXIT_GUEST_STATUS);
	ck_assert_int_eq(rec.status, 0);
	write_exit(42, 1);
	ck_assert_int_eq(rec.status, 42);
	write_exit(98, 2);
	ck_assert_int_eq(rec.status, 98);
	write_exit(GUEST_EXIT_STATUS_MAX, 4);
	ck_assert_int_eq(rec.status, GUEST_EXIT_STATUS_MAX);
	ck_assert_int_eq(rec.exits, 4);
}
END_TEST

START_TEST(exit_status_clamped)
{
	write_exit(100, 1);
	ck_assert_int_eq(rec.status, GUEST_EXIT_STATUS_MAX);
	write_exit(0xff, 1);
	ck_assert_int_eq(rec.status, GUEST_EXIT_STATUS_MAX);
	write_exit(0x0100, 2); /* little-endian: 256, not 1 */
	ck_assert_int_eq(rec.status, GUEST_EXIT_STATUS_MAX);
	write_exit(0xffffffffu, 4); /* must not become a negative int */
	ck_assert_int_eq(rec.status, GUEST_EXIT_STATUS_MAX);
	write_exit(0x80000000u, 4);
	ck_assert_int_eq(rec.status, GUEST_EXIT_STATUS_MAX);
	ck_assert_int_eq(rec.exits, 5);
}
END_TEST

START_TEST(bad_exit_widths_ignored)
{
	uint8_t buf[8] = {1, 0, 0, 0, 0, 0, 0, 0};

	debug_port_io_write(dbg, EXIT_OFF, buf, 3);
	debug_port_io_write(dbg, EXIT_OFF, buf, 8);
	ck_assert_int_eq(rec.exits, 0);
}
END_TEST

START_TEST(boot_markers)
{
	uint8_t code = 0x2a;
	uint16_t wide = 0x1234;

	debug_port_io_write(dbg, MARKER_OFF, &code, 1);
	code = 0xff;
	debug_port_io_write(dbg, MARKER_OFF, &code, 1);
	debug_port_io_write(dbg, MARKER_OFF, &wide, 2); /* not a byte write: ignored */
	debug_port_io_write(dbg, 2, &code, 1);		/* unused offsets */
	debug_port_io_write(dbg, 3, &code, 1);
	ck_assert_int_eq(rec.nmarkers, 2);
	ck_assert_uint_eq(rec.markers[0], 0x2a);
	ck_assert_uint_eq(rec.markers[1], 0xff);
	ck_assert_int_eq(rec.exits, 0);
}
END_TEST

START_TEST(reads_all_ones)
{
	uint8_t b = 0;
	uint32_t d = 0;

	debug_port_io_read(dbg, EXIT_OFF, &b, 1);
	ck_assert_uint_eq(b, 0xff);
	debug_port_io_read(dbg, EXIT_OFF, &d, 4);
	ck_assert_uint_eq(d, 0xffffffffu);
	ck_assert_int_eq(rec.exits, 0);
	ck_assert_int_eq(debug_port_create(NULL, &ctl, NULL), -EINVAL);
}
END_TEST

Suite *debug_port_suite(void)
{
	Suite *s = suite_create("debug_port");
	TCase *tc = tcase_create("registers");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, exit_status_passes_through);
	tcase_add_test(tc, exit_status_clamped);
	tcase_add_test(tc, bad_exit_widths_ignored);
	tcase_add_test(tc, boot_markers);
	tcase_add_test(tc, reads_all_ones);
	suite_add_tcase(s, tc);
	return s;
}
