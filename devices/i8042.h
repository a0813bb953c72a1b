/* SPDX-License-Identifier: MIT */
/*
 * Enough of the i8042 PS/2 controller for Linux's probe, the reset line and
 * a keyboard that can type Ctrl-Alt-Del: range I8042_DATA_PORT, length 5
 * (offset 0 = data port 0x60, offset 4 = command/status port 0x64; offsets
 * 1-3 are ignored).
 *
 * Pulsing the reset line (command 0xfe, or an output-port write with bit 0
 * clear) calls ctl->request_exit(MVM_EXIT_REBOOT), outside the device lock.
 * The keyboard answers the commands Linux's atkbd sends (ID ab 83, ACKs)
 * and sends scan code set 2, translated to set 1 by the controller while
 * the command byte's XLATE bit is set (as a BIOS leaves it); each byte it
 * puts in the output buffer is an edge on kbd_irq (ISA IRQ 1) when the
 * command byte enables the keyboard interrupt.  No mouse is attached.
 */
#ifndef MINIVMM_I8042_H
#define MINIVMM_I8042_H

#include <stdint.h>

#include "vmm/irq.h"
#include "vmm/log.h"

struct i8042;

/* ctl and kbd_irq (NULL: no interrupt) are copied. Returns 0, -EINVAL or -ENOMEM. */
int i8042_create(struct i8042 **out, const struct machine_ctl *ctl, const struct irq_line *kbd_irq,
		 const struct logger *log);
void i8042_destroy(struct i8042 *kbc);

void i8042_io_read(void *opaque, uint64_t offset, void *data, uint32_t len);
void i8042_io_write(void *opaque, uint64_t offset, const void *data, uint32_t len);

/*
 * Types Ctrl-Alt-Del (press Ctrl, Alt, Delete; release them in reverse), all
 * or nothing.  Any thread.  0; -EAGAIN while the guest's keyboard driver has
 * the keyboard disabled (before atkbd enabled it: a real keyboard would not
 * scan either); -EBUSY if the guest has not read what was typed before.
 */
int i8042_ctrl_alt_del(struct i8042 *kbc);

#endif
