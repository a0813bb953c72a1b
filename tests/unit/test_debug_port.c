/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

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

/*
 * Issue 10 defect 3: every marker byte was an info line, and one `rep outsb`
 * delivers a page of them per exit.  A flood passes only the burst through.
 */
START_TEST(boot_marker_flood_rate_limited)
{
	uint8_t page[4096];

	memset(page, 0x33, sizeof(page));
	for (int exit = 0; exit < 4; exit++)
		for (size_t i = 0; i < sizeof(page); i++)
			debug_port_io_write(dbg, MARKER_OFF, &page[i], 1);
	ck_assert_int_eq(rec.nmarkers, DEBUG_PORT_MARKER_BURST);
	ck_assert_uint_eq(rec.markers[0], 0x33);
}
END_TEST

/* The limiter under the markers: a burst per window, the overflow counted for the next one. */
START_TEST(ratelimit_window)
{
	struct ratelimit rl = {.interval_ms = 1000, .burst = 2};
	uint32_t suppressed = 99;

	ck_assert(ratelimit_allow(&rl, 1, &suppressed));
	ck_assert_uint_eq(suppressed, 0);
	ck_assert(ratelimit_allow(&rl, 2, &suppressed));
	ck_assert(!ratelimit_allow(&rl, 3, &suppressed));
	ck_assert(!ratelimit_allow(&rl, 999999999, &suppressed));
	ck_assert_uint_eq(suppressed, 0);
	ck_assert(ratelimit_allow(&rl, 1000000001, &suppressed)); /* window reopened */
	ck_assert_uint_eq(suppressed, 2);
	ck_assert(ratelimit_allow(&rl, 1000000002, &suppressed));
	ck_assert_uint_eq(suppressed, 0);
}
END_TEST

/* Lines the device logged into a pipe (non-blocking: a flood must not hang the test). */
static int count_logged_lines(void (*flood)(void))
{
	struct logger saved;
	char buf[65536];
	int fds[2], lines = 0;
	ssize_t n;

	ck_assert_int_eq(pipe2(fds, O_NONBLOCK), 0);
	debug_port_destroy(dbg);
	saved = quiet;
	quiet = (struct logger){LOG_DEBUG, fds[1], "test"};
	ck_assert_int_eq(debug_port_create(&dbg, &ctl, &quiet), 0);
	flood();
	while ((n = read(fds[0], buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	debug_port_destroy(dbg);
	quiet = saved;
	ck_assert_int_eq(debug_port_create(&dbg, &ctl, &quiet), 0);
	close(fds[0]);
	close(fds[1]);
	return lines;
}

static void exit_flood(void)
{
	uint8_t page[1024];

	memset(page, 7, sizeof(page));
	for (size_t i = 0; i < sizeof(page); i++) /* one `rep outsb` exit */
		debug_port_io_write(dbg, EXIT_OFF, &page[i], 1);
}

/*
 * The exit port ends the run, but the vCPUs stop only after the event loop
 * has seen it: a guest repeating the write gets one log line, not a page.
 */
START_TEST(exit_port_repeats_log_once)
{
	ck_assert_int_eq(count_logged_lines(exit_flood), 1);
	ck_assert_int_eq(rec.exits, 1024);
	ck_assert_int_eq(rec.status, 7);
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
	tcase_add_test(tc, boot_marker_flood_rate_limited);
	tcase_add_test(tc, ratelimit_window);
	tcase_add_test(tc, exit_port_repeats_log_once);
	tcase_add_test(tc, reads_all_ones);
	suite_add_tcase(s, tc);
	return s;
}
