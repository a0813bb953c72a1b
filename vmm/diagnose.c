/* SPDX-License-Identifier: MIT */
#include "vmm/diagnose.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

bool diagnose_syscall_entry_fault(const char *console_tail, uint64_t lstar)
{
	char needle[64];

	if (!console_tail || lstar == 0)
		return false;
	/* %lx for the address, %px (16 digits) for ip: both the entry point. */
	snprintf(needle, sizeof(needle), "segfault at %" PRIx64 " ip %016" PRIx64, lstar, lstar);
	return strstr(console_tail, needle) != NULL;
}
