/* SPDX-License-Identifier: MIT */
/*
 * The e820 memory map every minivmm guest sees, derived from guest_mem's
 * regions so that the map, gm_ptr() and KVM's memory slots cannot disagree.
 */
#include <asm/e820.h>

#include "boot/boot.h"
#include "boot/layout.h"

static unsigned e820_add(struct boot_e820_entry *entries, unsigned n, unsigned max, uint64_t addr,
			 uint64_t size, uint32_t type)
{
	if (size == 0 || n >= max)
		return n;
	entries[n].addr = addr;
	entries[n].size = size;
	entries[n].type = type;
	return n + 1;
}

unsigned boot_build_e820(const struct guest_mem *gm, struct boot_e820_entry *entries, unsigned max)
{
	const struct gm_region *sorted[GM_MAX_REGIONS];
	unsigned nregions = gm->nregions < GM_MAX_REGIONS ? gm->nregions : GM_MAX_REGIONS;
	unsigned n = 0;

	/* Regions are kept in insertion order; e820 consumers expect ascending addresses. */
	for (unsigned i = 0; i < nregions; i++) {
		unsigned j = i;
		while (j > 0 && sorted[j - 1]->gpa > gm->regions[i].gpa) {
			sorted[j] = sorted[j - 1];
			j--;
		}
		sorted[j] = &gm->regions[i];
	}

	for (unsigned i = 0; i < nregions; i++) {
		const struct gm_region *r = sorted[i];
		uint64_t end = r->gpa + r->size; /* gm_add_region() rejected wrap-around */

		if (r->gpa >= HIMEM_START || end <= EBDA_START) {
			n = e820_add(entries, n, max, r->gpa, r->size, E820_RAM);
			continue;
		}
		/*
		 * The region covers the legacy hole: the EBDA, VGA window and BIOS
		 * area below 1 MiB are reserved, as on a PC.  Our ACPI tables live
		 * in [ACPI_TABLES_ADDR, ACPI_TABLES_END), inside that reservation,
		 * so the guest never allocates over them.
		 */
		if (r->gpa < EBDA_START)
			n = e820_add(entries, n, max, r->gpa, EBDA_START - r->gpa, E820_RAM);
		n = e820_add(entries, n, max, EBDA_START, HIMEM_START - EBDA_START, E820_RESERVED);
		if (end > HIMEM_START)
			n = e820_add(entries, n, max, HIMEM_START, end - HIMEM_START, E820_RAM);
	}
	return n;
}
