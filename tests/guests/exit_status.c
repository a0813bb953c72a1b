/* SPDX-License-Identifier: MIT */
/* exit_status: writes cmdline `status=N` to EXIT_PORT, nothing else. */
#include "tests/guests/lib/guest.h"

const char guest_name[] = "exit_status";

/* No usable status=N: a value a test would not pass on purpose. */
#define STATUS_MISSING 77

int guest_main(const struct boot_info *bi)
{
	uint64_t status;

	if (!cmdline_get_u64(bi, "status", &status)) {
		printf("exit_status: no status=N on the command line \"%s\"\n", bi->cmdline);
		return STATUS_MISSING;
	}
	printf("exit_status: status=%lu\n", status);
	/* Wider values saturate: the VMM clamps anything above its maximum. */
	guest_exit(status > UINT32_MAX ? UINT32_MAX : (uint32_t)status);
}
