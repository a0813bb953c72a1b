/* SPDX-License-Identifier: MIT */
/*
 * The i8042 controller model (devices/i8042.c): guest reads and writes of
 * the data and command ports (and the ignored offsets between, at any
 * width), in any order, so every command, its parameter byte and the
 * output buffer are reached, with Ctrl-Alt-Del typed in between (the
 * keyboard's bounded queue against a guest that never reads); the reset
 * line must only ever ask for a reboot through machine_ctl, and the only
 * interrupt is IRQ 1.
 */
#include <errno.h>
#include <stdlib.h>

#include "devices/i8042.h"
#include "tests/fuzz/fuzz.h"
#include "tests/unit/fake_machine.h"

static const struct logger quiet = {LOG_ERROR, -1, "fuzz"};

static void irq_set_level(void *opaque, uint32_t gsi, int level)
{
	if (gsi != 1)
		abort();
}

static const struct irq_chip chip = {irq_set_level, NULL};
static const struct irq_line kbd_irq = {&chip, 1};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);
	struct fake_ctl rec;
	struct machine_ctl ctl;
	struct i8042 *kbc;

	fake_ctl_init(&rec, &ctl);
	if (i8042_create(&kbc, &ctl, &kbd_irq, &quiet) < 0)
		abort();
	while (!fuzz_empty(&in)) {
		uint8_t op = fuzz_u8(&in);
		uint64_t off = op & 2 ? 4 : 0;
		uint32_t len = 1;
		uint8_t buf[8];

		if ((op & 0x7c) == 0x7c) {
			int ret = i8042_ctrl_alt_del(kbc);

			if (ret != 0 && ret != -EAGAIN && ret != -EBUSY)
				abort();
			continue;
		}
		if (op & 0x80) {
			static const uint32_t widths[] = {1, 2, 4, 8};
			len = widths[fuzz_u8(&in) & 3];
			off = fuzz_u8(&in) % 6;
		}
		if (op & 1) {
			fuzz_bytes(&in, buf, len);
			i8042_io_write(kbc, off, buf, len);
		} else {
			i8042_io_read(kbc, off, buf, len);
		}
	}
	if (rec.exits && rec.reason != MVM_EXIT_REBOOT)
		abort();
	i8042_destroy(kbc);
	return 0;
}
