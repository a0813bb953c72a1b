/* SPDX-License-Identifier: MIT */
/*
 * Interrupt lines and machine-level requests, as devices see them.
 *
 * Devices never call KVM: they get an `irq_line` (a GSI on some interrupt
 * controller) and a `machine_ctl` (how to end the run or log a boot marker).
 * vm.c backs them with KVM_IRQ_LINE / irqfd and its own exit logic; unit
 * tests back them with recorders.
 */
#ifndef MINIVMM_IRQ_H
#define MINIVMM_IRQ_H

#include <stdint.h>

#include "minivmm.h"

struct irq_chip {
	/* level: 1 asserted, 0 deasserted.  Called from any thread. */
	void (*set_level)(void *opaque, uint32_t gsi, int level);
	void *opaque;
};

struct irq_line {
	const struct irq_chip *chip;
	uint32_t gsi;
};

static inline void irq_line_set(const struct irq_line *line, int level)
{
	if (line->chip)
		line->chip->set_level(line->chip->opaque, line->gsi, level);
}

/*
 * An edge on the line: what virtio-mmio interrupts are (the DSDT declares
 * them edge-triggered).  Backed by an irqfd write in vm.c, where the 0 is a
 * no-op.
 */
static inline void irq_line_pulse(const struct irq_line *line)
{
	irq_line_set(line, 1);
	irq_line_set(line, 0);
}

struct machine_ctl {
	/*
	 * Ends the run (the first request wins).  `status` is the guest-chosen
	 * exit status for MVM_EXIT_GUEST_STATUS and ignored otherwise.
	 */
	void (*request_exit)(void *opaque, enum mvm_exit_reason reason, int status);
	/* A guest-written boot-marker code (boot/layout.h BOOT_MARKER_PORT). */
	void (*boot_marker)(void *opaque, uint8_t code);
	void *opaque;
};

#endif
