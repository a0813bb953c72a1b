/* SPDX-License-Identifier: MIT */
/*
 * Guest physical memory and the one bounds-checked path into it.
 *
 * Every guest-physical address and length that comes from the guest, or from
 * a file describing the guest (kernel image, initrd), is turned into a host
 * pointer by gm_ptr() and nothing else.  gm_ptr() returns a pointer only when
 * the whole range [gpa, gpa + len) lies inside a single RAM region, with the
 * additions checked for overflow, so a hostile guest cannot make the VMM read
 * or write outside the memory it owns.
 */
#ifndef MINIVMM_MEMORY_H
#define MINIVMM_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define GM_MAX_REGIONS 4

struct gm_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

struct guest_mem {
	struct gm_region regions[GM_MAX_REGIONS];
	unsigned nregions;
	uint64_t ram_bytes; /* total RAM, all regions */
	bool owns_mapping;  /* gm_destroy() munmaps when set */
};

/*
 * Maps ram_bytes of anonymous memory and lays it out as the x86 machine
 * sees it (boot/layout.h): [0, min(ram, LOW_RAM_END)) and the rest from
 * 4 GiB up, leaving the 32-bit MMIO hole unbacked.
 */
int gm_init_x86(struct guest_mem *gm, uint64_t ram_bytes, struct vmm_err *err);
void gm_destroy(struct guest_mem *gm);

/* Adds a caller-owned host buffer as a RAM region (unit tests use malloc). */
int gm_add_region(struct guest_mem *gm, uint64_t gpa, uint64_t size, void *host);

/* Host pointer for [gpa, gpa+len) if it lies in one region; NULL otherwise. */
void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Copy helpers on top of gm_ptr(); return 0 or -EFAULT. */
int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len);
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len);

/* End of the RAM region containing gpa (exclusive), or 0 if gpa is not RAM. */
uint64_t gm_region_end(const struct guest_mem *gm, uint64_t gpa);

#endif
