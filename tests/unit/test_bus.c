/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "vmm/bus.h"

struct recorder {
	uint64_t last_offset;
	uint32_t last_len;
	uint32_t last_value;
	int reads, writes;
};

static void rec_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct recorder *r = opaque;
	r->reads++;
	r->last_offset = offset;
	r->last_len = len;
	memset(data, 0xab, len);
}

static void rec_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct recorder *r = opaque;
	r->writes++;
	r->last_offset = offset;
	r->last_len = len;
	r->last_value = 0;
	memcpy(&r->last_value, data, len > 4 ? 4 : len);
}

static const struct logger quiet = {.level = LOG_ERROR, .fd = -1};

START_TEST(dispatch_gives_offsets)
{
	struct bus bus;
	struct recorder a = {0}, b = {0};
	uint32_t v = 0x1234;
	uint8_t byte = 0;

	bus_init(&bus, "pio", &quiet);
	ck_assert_int_eq(bus_register(&bus, 0x3f8, 8, rec_read, rec_write, &a, "a"), 0);
	ck_assert_int_eq(bus_register(&bus, 0x60, 5, rec_read, rec_write, &b, "b"), 0);
	ck_assert(bus_dispatch(&bus, 0x3fd, &byte, 1, false));
	ck_assert_uint_eq(a.last_offset, 5);
	ck_assert_uint_eq(byte, 0xab);
	ck_assert(bus_dispatch(&bus, 0x63, &v, 2, true));
	ck_assert_uint_eq(b.last_offset, 3);
	ck_assert_uint_eq(b.last_value, 0x1234);
	ck_assert_int_eq(a.writes, 0);
	bus_destroy(&bus);
}
END_TEST

START_TEST(unclaimed_reads_all_ones_and_counts)
{
	struct bus bus;
	struct recorder a = {0};
	uint32_t v = 0;

	bus_init(&bus, "mmio", &quiet);
	ck_assert_int_eq(bus_register(&bus, 0x1000, 0x10, rec_read, rec_write, &a, "a"), 0);
	ck_assert(!bus_dispatch(&bus, 0x2000, &v, 4, false));
	ck_assert_uint_eq(v, 0xffffffffu);
	/* Straddling the end of a range is not the device's business. */
	ck_assert(!bus_dispatch(&bus, 0x100e, &v, 4, true));
	ck_assert_int_eq(a.writes, 0);
	ck_assert_uint_eq(atomic_load(&bus.unhandled), 2);
	bus_destroy(&bus);
}
END_TEST

START_TEST(overlaps_and_wraps_rejected)
{
	struct bus bus;
	struct recorder a = {0};

	bus_init(&bus, "pio", &quiet);
	ck_assert_int_eq(bus_register(&bus, 0x100, 0x10, NULL, NULL, &a, "a"), 0);
	ck_assert_int_eq(bus_register(&bus, 0x10f, 1, NULL, NULL, &a, "b"), -EEXIST);
	ck_assert_int_eq(bus_register(&bus, 0xf0, 0x11, NULL, NULL, &a, "c"), -EEXIST);
	ck_assert_int_eq(bus_register(&bus, 0x110, 1, NULL, NULL, &a, "d"), 0);
	ck_assert_int_eq(bus_register(&bus, 0xff, 1, NULL, NULL, &a, "e"), 0);
	ck_assert_int_eq(bus_register(&bus, UINT64_MAX, 2, NULL, NULL, &a, "f"), -EINVAL);
	ck_assert_int_eq(bus_register(&bus, 0x200, 0, NULL, NULL, &a, "g"), -EINVAL);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(bus_register(&bus, 0x1000 + 4 * i, 4, NULL, NULL, &a, "h"), 0);
	uint8_t byte = 0;
	/* No read callback: all-ones, but claimed. */
	ck_assert(bus_dispatch(&bus, 0x1000 + 4 * 57 + 3, &byte, 1, false));
	ck_assert_uint_eq(byte, 0xff);
	bus_destroy(&bus);
}
END_TEST

Suite *bus_suite(void)
{
	Suite *s = suite_create("bus");
	TCase *tc = tcase_create("dispatch");
	tcase_add_test(tc, dispatch_gives_offsets);
	tcase_add_test(tc, unclaimed_reads_all_ones_and_counts);
	tcase_add_test(tc, overlaps_and_wraps_rejected);
	suite_add_tcase(s, tc);
	return s;
}
