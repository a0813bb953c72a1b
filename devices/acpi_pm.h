/* SPDX-License-Identifier: MIT */
/*
 * Hardware-reduced ACPI power management registers at
 * ACPI_SLEEP_CONTROL_PORT, length 3: offset 0 sleep control, offset 1 sleep
 * status, offset 2 reset register (the FADT points at them).
 *
 * SLP_EN with SLP_TYP == ACPI_S5_SLP_TYP ends the run as MVM_EXIT_POWEROFF;
 * ACPI_RESET_VALUE written to the reset register ends it as MVM_EXIT_REBOOT.
 * ctl->request_exit is called outside the device lock.
 */
#ifndef MINIVMM_ACPI_PM_H
#define MINIVMM_ACPI_PM_H

#include <stdint.h>

#include "vmm/irq.h"
#include "vmm/log.h"

struct acpi_pm;

/* ctl is copied. Returns 0, -EINVAL or -ENOMEM. */
int acpi_pm_create(struct acpi_pm **out, const struct machine_ctl *ctl, const struct logger *log);
void acpi_pm_destroy(struct acpi_pm *pm);

void acpi_pm_io_read(void *opaque, uint64_t offset, void *data, uint32_t len);
void acpi_pm_io_write(void *opaque, uint64_t offset, const void *data, uint32_t len);

#endif
