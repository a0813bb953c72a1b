/* SPDX-License-Identifier: MIT */
#include "tests/guests/lib/report.h"

#include <stdarg.h>

#include "tests/guests/lib/boot.h"
#include "tests/guests/lib/serial.h"

/*
 * Check counters: global because report() is called from anywhere in a
 * guest, which is a single program on a single CPU (not a library shared by
 * VMs, the reason for minivmm's no-global-state rule).
 */
static struct {
	unsigned int checks;
	unsigned int failures;
} report_state;

bool report(bool ok, const char *fmt, ...)
{
	va_list ap;

	report_state.checks++;
	if (!ok)
		report_state.failures++;
	printf("%s %u - ", ok ? "ok" : "not ok", report_state.checks);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	serial_putc('\n');
	return ok;
}

void report_info(const char *fmt, ...)
{
	va_list ap;

	serial_puts("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	serial_putc('\n');
}

void report_done(void)
{
	printf("1..%u\n", report_state.checks);
	if (report_state.failures)
		printf("# minivmm-test: FAIL (%u of %u failed)\n", report_state.failures,
		       report_state.checks);
	else
		printf("# minivmm-test: PASS\n");
	guest_exit(report_state.failures);
}
