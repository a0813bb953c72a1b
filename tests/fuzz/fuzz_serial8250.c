/* SPDX-License-Identifier: MIT */
/*
 * The 16550A register model (devices/serial8250.c): the input is a sequence
 * of guest port reads and writes (any offset, any width, mostly the eight
 * registers with 1-byte accesses) mixed with host input arriving from the
 * console, so FIFO, divisor latch, loopback, interrupt identification and
 * the RX queue's back-pressure are all reached in any order.
 */
#include <stdlib.h>

#include "devices/serial8250.h"
#include "tests/fuzz/fuzz.h"

static const struct logger quiet = {LOG_ERROR, -1, "fuzz"};

struct sink {
	size_t tx_bytes;
	unsigned rx_ready;
	int level;
};

static void set_level(void *opaque, uint32_t gsi, int level)
{
	struct sink *s = opaque;

	(void)gsi;
	if (level != 0 && level != 1)
		abort();
	s->level = level;
}

static void tx(void *opaque, const uint8_t *buf, size_t len)
{
	struct sink *s = opaque;
	volatile uint8_t x = 0;

	for (size_t i = 0; i < len; i++)
		x ^= buf[i]; /* every byte handed out must be readable */
	s->tx_bytes += len;
	(void)x;
}

static void rx_ready(void *opaque)
{
	((struct sink *)opaque)->rx_ready++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);
	struct sink s = {0};
	struct irq_chip chip = {set_level, &s};
	struct irq_line irq = {&chip, 4};
	struct serial8250 *uart;

	if (serial8250_create(&uart, &irq, tx, rx_ready, &s, &quiet) < 0)
		abort();
	while (!fuzz_empty(&in)) {
		uint8_t op = fuzz_u8(&in);
		uint64_t off = op >> 4 & 7;
		uint32_t len = 1;
		uint8_t buf[8];

		if (op & 0x80) { /* an odd access: any width, offsets past the range */
			static const uint32_t widths[] = {1, 2, 4, 8};
			len = widths[fuzz_u8(&in) & 3];
			off = fuzz_u8(&in) % 10;
		}
		switch (op & 3) {
		case 0:
		case 1:
			fuzz_bytes(&in, buf, len);
			serial8250_io_write(uart, off, buf, len);
			break;
		case 2:
			serial8250_io_read(uart, off, buf, len);
			break;
		default: {
			size_t got;
			const uint8_t *p = fuzz_take(&in, fuzz_u8(&in) % 64, &got);
			size_t took = serial8250_receive(uart, p, got);

			if (took > got)
				abort();
			break;
		}
		}
	}
	serial8250_destroy(uart);
	return 0;
}
