/* SPDX-License-Identifier: MIT */
/* hang: prints one line, then halts with interrupts off for good (--timeout test). */
#include "tests/guests/lib/guest.h"

const char guest_name[] = "hang";

int guest_main(const struct boot_info *bi)
{
	(void)bi;
	printf("hang: halting forever\n");
	halt_forever();
}
