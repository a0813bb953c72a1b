/* SPDX-License-Identifier: MIT */
#include "tests/guests/lib/serial.h"

#include <stdint.h>

#include "boot/layout.h"
#include "tests/guests/lib/io.h"

/* 16550 registers (offsets from COM1_PORT). */
#define UART_RBR_THR	 0
#define UART_IER	 1
#define UART_LCR	 3
#define UART_MCR	 4
#define UART_LSR	 5
#define UART_DLL	 0 /* with LCR.DLAB */
#define UART_DLM	 1
#define UART_LCR_8N1	 0x03
#define UART_LCR_DLAB	 0x80
#define UART_MCR_DTR_RTS 0x03
#define UART_LSR_DR	 0x01
#define UART_LSR_THRE	 0x20

/*
 * A UART that never reports THRE must not hang the guest: after this many
 * polls the byte is written anyway.  Each poll is an exit to the VMM.
 */
#define THRE_POLL_LIMIT 10000

void serial_init(void)
{
	/* Polled use only: no interrupts.  115200 8N1 like Linux's console. */
	outb(0, COM1_PORT + UART_IER);
	outb(UART_LCR_DLAB, COM1_PORT + UART_LCR);
	outb(1, COM1_PORT + UART_DLL);
	outb(0, COM1_PORT + UART_DLM);
	outb(UART_LCR_8N1, COM1_PORT + UART_LCR);
	/*
	 * FCR is left alone: turning the FIFO on clears it (16550 data sheet),
	 * and input may already be queued before the guest runs (echo).
	 */
	outb(UART_MCR_DTR_RTS, COM1_PORT + UART_MCR);
}

static void serial_put_raw(char c)
{
	unsigned int polls = 0;

	while (!(inb(COM1_PORT + UART_LSR) & UART_LSR_THRE) && ++polls < THRE_POLL_LIMIT)
		cpu_relax();
	outb((uint8_t)c, COM1_PORT + UART_RBR_THR);
}

void serial_putc(char c)
{
	serial_put_raw(c);
}

void serial_puts(const char *s)
{
	while (*s)
		serial_put_raw(*s++);
}

int serial_try_getc(void)
{
	if (!(inb(COM1_PORT + UART_LSR) & UART_LSR_DR))
		return -1;
	return inb(COM1_PORT + UART_RBR_THR);
}

static void emit_number(format_emit_fn emit, void *ctx, uint64_t v, unsigned int base,
			bool negative, unsigned int width, char pad)
{
	char digits[24];
	unsigned int n = 0;

	do {
		unsigned int d = v % base;

		digits[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v /= base;
	} while (v);
	if (negative)
		digits[n++] = '-';
	/* A '-' goes before zero padding: print it first. */
	if (negative && pad == '0') {
		emit(ctx, digits[--n]);
		if (width)
			width--;
	}
	for (; width > n; width--)
		emit(ctx, pad);
	while (n)
		emit(ctx, digits[--n]);
}

void format(format_emit_fn emit, void *ctx, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		unsigned int width = 0, longs = 0;
		char pad = ' ';
		uint64_t u;
		int64_t s;

		if (*fmt != '%') {
			emit(ctx, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (unsigned int)(*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			longs++;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
			s = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
			u = s < 0 ? -(uint64_t)s : (uint64_t)s;
			emit_number(emit, ctx, u, 10, s < 0, width, pad);
			break;
		case 'u':
		case 'x':
			u = longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int);
			emit_number(emit, ctx, u, *fmt == 'u' ? 10 : 16, false, width, pad);
			break;
		case 'p':
			emit(ctx, '0');
			emit(ctx, 'x');
			emit_number(emit, ctx, (uintptr_t)va_arg(ap, void *), 16, false, width,
				    pad);
			break;
		case 'c':
			emit(ctx, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			unsigned int len = 0;

			if (!str)
				str = "(null)";
			while (str[len])
				len++;
			for (; width > len; width--)
				emit(ctx, ' ');
			while (*str)
				emit(ctx, *str++);
			break;
		}
		case '%':
			emit(ctx, '%');
			break;
		case '\0':
			return;
		default:
			/* Unknown conversion: show it rather than guess its argument. */
			emit(ctx, '%');
			emit(ctx, *fmt);
			break;
		}
	}
}

static void emit_serial(void *ctx, char c)
{
	(void)ctx;
	serial_put_raw(c);
}

void vprintf(const char *fmt, va_list ap)
{
	format(emit_serial, NULL, fmt, ap);
}

void printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

struct buffer {
	char *buf;
	size_t size;
	size_t len;
};

static void emit_buffer(void *ctx, char c)
{
	struct buffer *b = ctx;

	if (b->len + 1 < b->size)
		b->buf[b->len] = c;
	b->len++;
}

size_t vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct buffer b = {.buf = buf, .size = size, .len = 0};

	format(emit_buffer, &b, fmt, ap);
	if (size)
		buf[b.len < size ? b.len : size - 1] = '\0';
	return b.len;
}

size_t snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	len = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return len;
}
