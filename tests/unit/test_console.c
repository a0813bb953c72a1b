/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <string.h>

#include "vmm/console.h"

/* The tail kept for diagnoses: the newest bytes, in order, across many small and one huge write. */
START_TEST(recent_output_keeps_the_newest_bytes)
{
	static struct console con; /* ~4 KiB: not on the stack */
	static char out[8192], want[8192];
	char chunk[100];
	size_t total = 0;

	memset(&con, 0, sizeof(con));
	con.out_fd = -1;
	con.log_fd = -1;
	console_recent(&con, out, sizeof(out));
	ck_assert_str_eq(out, "");
	for (int i = 0; i < 60; i++) {
		for (size_t j = 0; j < sizeof(chunk); j++)
			chunk[j] = (char)('a' + (total + j) % 26);
		console_output(&con, (const uint8_t *)chunk, sizeof(chunk));
		total += sizeof(chunk);
	}
	/* 6000 bytes written: the last sizeof(recent) survive, oldest first. */
	for (size_t k = 0; k < sizeof(con.recent); k++)
		want[k] = (char)('a' + (total - sizeof(con.recent) + k) % 26);
	want[sizeof(con.recent)] = '\0';
	console_recent(&con, out, sizeof(out));
	ck_assert_str_eq(out, want);
	/* A short buffer gets the newest part, NUL-terminated. */
	console_recent(&con, out, 11);
	ck_assert_str_eq(out, want + sizeof(con.recent) - 10);
	/* A NUL from the guest does not end the text. */
	console_output(&con, (const uint8_t *)"x\0y", 3);
	console_recent(&con, out, 4);
	ck_assert_str_eq(out, "x y");
	/* One write larger than the buffer. */
	static char big[10000];
	memset(big, 'z', sizeof(big));
	big[sizeof(big) - 1] = '!';
	console_output(&con, (const uint8_t *)big, sizeof(big));
	console_recent(&con, out, sizeof(out));
	ck_assert_uint_eq(strlen(out), sizeof(con.recent));
	ck_assert_int_eq(out[sizeof(con.recent) - 1], '!');
}
END_TEST

Suite *console_suite(void)
{
	Suite *s = suite_create("console");
	TCase *tc = tcase_create("recent");
	tcase_add_test(tc, recent_output_keeps_the_newest_bytes);
	suite_add_tcase(s, tc);
	return s;
}
