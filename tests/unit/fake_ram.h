/* SPDX-License-Identifier: MIT */
/*
 * Fake guest RAM for the boot-side unit tests (ACPI, MP table, loaders), and
 * little-endian reads of what the code under test wrote there.  The readers
 * are restated here rather than shared with boot/, so an encoding bug there
 * cannot cancel out in the check.
 */
#ifndef MINIVMM_TEST_FAKE_RAM_H
#define MINIVMM_TEST_FAKE_RAM_H

#include <stdint.h>

#include "vmm/memory.h"

/* `bytes` of zeroed RAM at guest-physical 0, gm's one region (gm is cleared first). */
uint8_t *fake_ram_new(struct guest_mem *gm, uint64_t bytes);

static inline uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16;
}

static inline uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

#endif
