/* SPDX-License-Identifier: MIT */
#include "tests/unit/fake_ram.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

uint8_t *fake_ram_new(struct guest_mem *gm, uint64_t bytes)
{
	uint8_t *ram = calloc(1, bytes);

	memset(gm, 0, sizeof(*gm));
	ck_assert_ptr_nonnull(ram);
	ck_assert_int_eq(gm_add_region(gm, 0, bytes, ram), 0);
	return ram;
}
