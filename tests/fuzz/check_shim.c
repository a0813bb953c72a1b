/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/virtio_driver.c asserts with Check's ck_assert(), which needs a
 * Check runner (it reports through a pipe the runner set up).  The fuzzers
 * reuse that driver without a runner: these two stand-ins turn a failed
 * assertion into an abort(), which libFuzzer reports as a crash with the
 * failing line, and a passed one into nothing.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void _mark_point(const char *file, int line)
{
	(void)file;
	(void)line;
}

void _ck_assert_failed(const char *file, int line, const char *expr, const char *msg, ...)
{
	fprintf(stderr, "%s:%d: %s\n", file, line, expr);
	if (msg) {
		va_list ap;

		va_start(ap, msg);
		vfprintf(stderr, msg, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	abort();
}
