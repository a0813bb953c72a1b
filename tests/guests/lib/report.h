/* SPDX-License-Identifier: MIT */
/*
 * The report protocol (README.md): one TAP-like line per check,
 *   ok N - description      /      not ok N - description
 * then report_done(): "1..n", "# minivmm-test: PASS" or
 * "# minivmm-test: FAIL (k of n failed)", and k written to EXIT_PORT.
 */
#ifndef GUEST_REPORT_H
#define GUEST_REPORT_H

#include <stdbool.h>

/* Returns `ok`, so a caller can skip checks that depend on this one. */
__attribute__((format(printf, 2, 3))) bool report(bool ok, const char *fmt, ...);
/* Prints "# " and the message: context that is not a check. */
__attribute__((format(printf, 1, 2))) void report_info(const char *fmt, ...);
/* Ends the run with exit status = number of failed checks. */
__attribute__((noreturn)) void report_done(void);

#endif
