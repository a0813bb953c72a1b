/* SPDX-License-Identifier: MIT */
/*
 * panic: announces a guest panic through the pvpanic port, as Linux's
 * pvpanic driver does: read the supported events, write PANICKED.
 * Still running afterwards is a failure (exit status 1).
 */
#include "tests/guests/lib/guest.h"

const char guest_name[] = "panic";

#define PVPANIC_PANICKED (1u << 0)

int guest_main(const struct boot_info *bi)
{
	uint8_t events = inb(PVPANIC_PORT);

	(void)bi;
	/* All-ones is what an absent device reads as. */
	if (!report(events != 0xff && (events & PVPANIC_PANICKED),
		    "pvpanic port offers PANICKED (reads 0x%x)", events))
		report_done();
	printf("panic: writing PANICKED to the pvpanic port\n");
	outb(PVPANIC_PANICKED, PVPANIC_PORT);
	guest_grace_period();
	report(false, "run ended by the pvpanic event (still running)");
	report_done();
}
