/* SPDX-License-Identifier: MIT */
/* Test double for struct machine_ctl: records what devices asked the machine to do. */
#ifndef MINIVMM_TEST_FAKE_MACHINE_H
#define MINIVMM_TEST_FAKE_MACHINE_H

#include <stdint.h>

#include "vmm/irq.h"

#define FAKE_CTL_MAX_MARKERS 8

struct fake_ctl {
	int exits;
	enum mvm_exit_reason reason;
	int status;
	uint8_t markers[FAKE_CTL_MAX_MARKERS]; /* the first boot markers, in order */
	int nmarkers;			       /* all boot markers seen */
};

/* Clears rec and points ctl's callbacks at it. */
void fake_ctl_init(struct fake_ctl *rec, struct machine_ctl *ctl);

#endif
