/* SPDX-License-Identifier: MIT */
/*
 * Polled 16550 UART at COM1_PORT and a small printf: %s %c %d %u %x %p %%,
 * with the l/ll (and z) length modifiers, a '0' flag and a field width.
 */
#ifndef GUEST_SERIAL_H
#define GUEST_SERIAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

void serial_init(void);
void serial_putc(char c);
void serial_puts(const char *s);
/* The next received byte, or -1 when the receive buffer is empty. */
int serial_try_getc(void);

typedef void (*format_emit_fn)(void *ctx, char c);
void format(format_emit_fn emit, void *ctx, const char *fmt, va_list ap);

__attribute__((format(printf, 1, 2))) void printf(const char *fmt, ...);
void vprintf(const char *fmt, va_list ap);
/* Always NUL-terminates when size > 0; returns the length it wanted. */
__attribute__((format(printf, 3, 4))) size_t snprintf(char *buf, size_t size, const char *fmt, ...);
size_t vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

#endif
