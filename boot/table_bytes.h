/* SPDX-License-Identifier: MIT */
/*
 * Byte-level helpers the firmware tables share (boot/acpi.c, boot/mptable.c):
 * both are staged in a host buffer, little-endian whatever the host, with
 * space-padded ID strings and a checksum byte that makes all bytes sum to 0
 * mod 256 (ACPI 6.3 §5.2.5.3, §5.2.6; MP spec 1.4 §4.1, §4.2).
 */
#ifndef MINIVMM_TABLE_BYTES_H
#define MINIVMM_TABLE_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static inline void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* Copies up to n characters of s and pads with spaces (OEM IDs are space-padded). */
static inline void put_padded(uint8_t *p, const char *s, size_t n)
{
	size_t len = strnlen(s, n);

	memcpy(p, s, len);
	memset(p + len, ' ', n - len);
}

/* Sum of the bytes mod 256; a table's checksum byte is its negation. */
static inline uint8_t table_sum8(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return sum;
}

#endif
