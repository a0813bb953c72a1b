/* SPDX-License-Identifier: MIT */
/*
 * QEMU-compatible pvpanic ISA device at PVPANIC_PORT, length 1 (ACPI _HID
 * "QEMU0001"; Linux drivers/misc/pvpanic).  A read returns the supported
 * events; writing PVPANIC_PANICKED ends the run as MVM_EXIT_PANIC,
 * PVPANIC_CRASH_LOADED is only logged.  ctl->request_exit is called outside
 * the device lock.
 */
#ifndef MINIVMM_PVPANIC_H
#define MINIVMM_PVPANIC_H

#include <stdint.h>

#include "vmm/irq.h"
#include "vmm/log.h"

#define PVPANIC_PANICKED     (1u << 0)
#define PVPANIC_CRASH_LOADED (1u << 1)
#define PVPANIC_EVENTS	     (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED)

struct pvpanic;

/* ctl is copied. Returns 0, -EINVAL or -ENOMEM. */
int pvpanic_create(struct pvpanic **out, const struct machine_ctl *ctl, const struct logger *log);
void pvpanic_destroy(struct pvpanic *pvp);

void pvpanic_io_read(void *opaque, uint64_t offset, void *data, uint32_t len);
void pvpanic_io_write(void *opaque, uint64_t offset, const void *data, uint32_t len);

#endif
