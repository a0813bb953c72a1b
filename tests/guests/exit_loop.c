/* SPDX-License-Identifier: MIT */
/*
 * exit_loop: 100000 port writes to the POST port (0x80), each a VM exit that
 * minivmm handles on the vCPU thread and ignores, then exit status 0.  For
 * bench/seccomp.py: the per-exit cost of the vCPU thread's KVM_RUN round trip.
 */
#include "tests/guests/lib/guest.h"

const char guest_name[] = "exit_loop";

#define POST_PORT_IO 0x80
#define EXITS	     100000

int guest_main(const struct boot_info *bi)
{
	(void)bi;
	printf("exit_loop: %d port writes\n", EXITS);
	for (int i = 0; i < EXITS; i++)
		outb((uint8_t)i, POST_PORT_IO);
	printf("exit_loop: done\n");
	return 0;
}
