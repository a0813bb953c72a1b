/* SPDX-License-Identifier: MIT */
/*
 * The few string functions the guests need.  memset/memcpy/memmove/memcmp
 * must exist under these names: gcc emits calls to them even with
 * -ffreestanding (struct copies, zeroing).
 */
#ifndef GUEST_STR_H
#define GUEST_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/*
 * Parses a decimal or 0x-prefixed hexadecimal number that makes up all of
 * `s`; false on an empty string, a stray character or overflow.
 */
bool parse_u64(const char *s, uint64_t *value);
/* 0-15 for a hex digit (either case), 99 for anything else. */
int digit_value(char c);

#endif
