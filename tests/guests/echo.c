/* SPDX-License-Identifier: MIT */
/*
 * echo: prints "echo: ready", then echoes each line it receives on COM1 as
 * "echo: <line>"; the line "quit" ends the run with status 0.  With no input
 * for IDLE_TIMEOUT_S seconds (RTC) it gives up with STATUS_IDLE.
 */
#include "tests/guests/lib/guest.h"

const char guest_name[] = "echo";

#define LINE_MAX       256
#define IDLE_TIMEOUT_S 20
#define STATUS_IDLE    2
/* Empty polls between RTC reads; each poll is an exit to the VMM. */
#define POLLS_PER_CLOCK_CHECK 1024
/* Without a ticking RTC, give up after this many empty polls. */
#define IDLE_POLL_LIMIT 5000000u

int guest_main(const struct boot_info *bi)
{
	unsigned int idle_polls = 0, idle_seconds = 0;
	uint8_t last_second = cmos_read(0);
	char line[LINE_MAX];
	size_t len = 0;

	(void)bi;
	printf("echo: ready\n");
	for (;;) {
		int c = serial_try_getc();

		if (c < 0) {
			cpu_relax();
			if (++idle_polls >= IDLE_POLL_LIMIT)
				break;
			if (idle_polls % POLLS_PER_CLOCK_CHECK == 0) {
				uint8_t second = cmos_read(0);

				if (second != last_second && ++idle_seconds >= IDLE_TIMEOUT_S)
					break;
				last_second = second;
			}
			continue;
		}
		idle_polls = 0;
		idle_seconds = 0;
		if (c == '\r')
			continue;
		if (c != '\n') {
			/* Overlong lines are cut, not overflowed. */
			if (len < sizeof(line) - 1)
				line[len++] = (char)c;
			continue;
		}
		line[len] = '\0';
		printf("echo: %s\n", line);
		if (!strcmp(line, "quit"))
			return 0;
		len = 0;
	}
	printf("echo: no input for %u s, giving up\n", IDLE_TIMEOUT_S);
	return STATUS_IDLE;
}
