/* SPDX-License-Identifier: MIT */
#include "memory.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "boot/layout.h"

int gm_add_region(struct guest_mem *gm, uint64_t gpa, uint64_t size, void *host)
{
	uint64_t end;

	if (gm->nregions >= GM_MAX_REGIONS || size == 0 || !host)
		return -EINVAL;
	if (__builtin_add_overflow(gpa, size, &end))
		return -EINVAL;
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct gm_region *r = &gm->regions[i];
		if (gpa < r->gpa + r->size && r->gpa < end)
			return -EEXIST;
	}
	gm->regions[gm->nregions++] = (struct gm_region){.gpa = gpa, .size = size, .host = host};
	gm->ram_bytes += size;
	return 0;
}

int gm_init_x86(struct guest_mem *gm, uint64_t ram_bytes, struct vmm_err *err)
{
	uint64_t low = ram_bytes < LOW_RAM_END ? ram_bytes : LOW_RAM_END;
	uint64_t high = ram_bytes - low;
	void *map;

	memset(gm, 0, sizeof(*gm));
	/*
	 * One reservation for all of RAM; MAP_NORESERVE so that a 16 GiB guest
	 * costs nothing until it touches its pages.
	 */
	map = mmap(NULL, ram_bytes, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED)
		return vmm_errf(err, -errno, "cannot map %llu MiB of guest memory: %s",
				(unsigned long long)(ram_bytes >> 20), strerror(errno));
	madvise(map, ram_bytes, MADV_MERGEABLE);
	/*
	 * Guest RAM stays out of core dumps: a seccomp kill (SIGSYS) or a crash
	 * would otherwise write the guest's secrets into a host file that the
	 * guest's owner may not be allowed to read, and gigabytes of it.
	 */
	madvise(map, ram_bytes, MADV_DONTDUMP);
	/*
	 * No transparent huge page under the first 2 MiB of guest RAM: the boot
	 * structures, ACPI tables and a small guest all live there, and with
	 * THP "always" their first touch faulted in a whole 2 MiB page (a tiny
	 * VM's peak RSS 4.1 instead of 2.1 MiB in bench/startup_floor.py).
	 * A Linux kernel and its memory above still get huge pages.
	 */
	madvise(map, low < (2u << 20) ? low : (2u << 20), MADV_NOHUGEPAGE);
	gm->owns_mapping = true;
	gm_add_region(gm, 0, low, map);
	if (high)
		gm_add_region(gm, HIGH_RAM_START, high, (uint8_t *)map + low);
	return 0;
}

void gm_destroy(struct guest_mem *gm)
{
	if (gm->owns_mapping && gm->nregions)
		munmap(gm->regions[0].host, gm->ram_bytes);
	memset(gm, 0, sizeof(*gm));
}

void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	uint64_t end;

	if (__builtin_add_overflow(gpa, len, &end))
		return NULL;
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct gm_region *r = &gm->regions[i];
		/* r->gpa + r->size cannot overflow: gm_add_region checked it. */
		if (gpa >= r->gpa && end <= r->gpa + r->size)
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len)
{
	const void *src = gm_ptr(gm, gpa, len);
	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len)
{
	void *dst = gm_ptr(gm, gpa, len);
	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

uint64_t gm_region_end(const struct guest_mem *gm, uint64_t gpa)
{
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct gm_region *r = &gm->regions[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r->gpa + r->size;
	}
	return 0;
}
