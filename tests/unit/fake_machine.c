/* SPDX-License-Identifier: MIT */
#include "tests/unit/fake_machine.h"

#include <string.h>

static void fake_request_exit(void *opaque, enum mvm_exit_reason reason, int status)
{
	struct fake_ctl *f = opaque;

	f->exits++;
	f->reason = reason;
	f->status = status;
}

static void fake_boot_marker(void *opaque, uint8_t code)
{
	struct fake_ctl *f = opaque;

	if (f->nmarkers < FAKE_CTL_MAX_MARKERS)
		f->markers[f->nmarkers] = code;
	f->nmarkers++;
}

void fake_ctl_init(struct fake_ctl *rec, struct machine_ctl *ctl)
{
	memset(rec, 0, sizeof(*rec));
	*ctl = (struct machine_ctl){fake_request_exit, fake_boot_marker, rec};
}
