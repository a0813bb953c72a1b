/* SPDX-License-Identifier: MIT */
/*
 * Enough of the i8042 PS/2 controller for Linux's probe and for the reset
 * line: range I8042_DATA_PORT, length 5 (offset 0 = data port 0x60,
 * offset 4 = command/status port 0x64; offsets 1-3 are ignored).
 *
 * No keyboard or mouse is attached and no interrupts are raised.  Pulsing
 * the reset line (command 0xfe, or an output-port write with bit 0 clear)
 * calls ctl->request_exit(MVM_EXIT_REBOOT), outside the device lock.
 */
#ifndef MINIVMM_I8042_H
#define MINIVMM_I8042_H

#include <stdint.h>

#include "vmm/irq.h"
#include "vmm/log.h"

struct i8042;

/* ctl is copied. Returns 0, -EINVAL or -ENOMEM. */
int i8042_create(struct i8042 **out, const struct machine_ctl *ctl, const struct logger *log);
void i8042_destroy(struct i8042 *kbc);

void i8042_io_read(void *opaque, uint64_t offset, void *data, uint32_t len);
void i8042_io_write(void *opaque, uint64_t offset, const void *data, uint32_t len);

#endif
