/* SPDX-License-Identifier: MIT */
/*
 * boot_info: prints what the loader handed over (memory map, RAM, CPUs,
 * command line, entry) and checks it: ACPI checksums and tables, the OEM ID,
 * and expect_cpus=N / expect_mem_mib=M from the command line.
 */
#include "tests/guests/lib/guest.h"

const char guest_name[] = "boot_info";

#define KIB ((uint64_t)1024)
#define MIB ((uint64_t)1024 * 1024)

/* True if `name` is absent; else reports whether it parsed. */
static bool optional_u64(const struct boot_info *bi, const char *name, uint64_t *value,
			 bool *present)
{
	char buf[32];

	*present = cmdline_get(bi, name, buf, sizeof(buf));
	if (!*present)
		return true;
	return report(parse_u64(buf, value), "%s=%s is a number", name, buf);
}

/* The CPUID the VMM's CPU template left: the host test checks hidden bits. */
static void print_cpuid(void)
{
	uint32_t a, b, c, d;

	asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	printf("cpuid.1: ebx=0x%x ecx=0x%x edx=0x%x\n", b, c, d);
	asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
	printf("cpuid.7: ebx=0x%x ecx=0x%x edx=0x%x\n", b, c, d);
}

/*
 * Where the loader put the initrd and what it starts with, as the guest
 * sees it: "initrd size=N head=xxxxxxxxxxxx" (6 bytes in hex), or
 * "initrd none".  Below 4 GiB, inside the guest's identity map.
 */
static void print_initrd(const struct boot_info *bi)
{
	uint64_t addr = 0, size = 0;

	if (bi->boot_params) {
		addr = bi->boot_params->hdr.ramdisk_image |
		       (uint64_t)bi->boot_params->ext_ramdisk_image << 32;
		size = bi->boot_params->hdr.ramdisk_size |
		       (uint64_t)bi->boot_params->ext_ramdisk_size << 32;
	} else if (bi->start_info && bi->start_info->nr_modules) {
		const struct hvm_modlist_entry *m =
		    (const struct hvm_modlist_entry *)(uintptr_t)bi->start_info->modlist_paddr;
		addr = m->paddr;
		size = m->size;
	}
	if (!size || addr + size > (4ull << 30) || size < 6) {
		printf("initrd none\n");
		return;
	}
	const uint8_t *p = (const uint8_t *)(uintptr_t)addr;
	printf("initrd size=%lu head=%02x%02x%02x%02x%02x%02x\n", size, p[0], p[1], p[2], p[3],
	       p[4], p[5]);
}

int guest_main(const struct boot_info *bi)
{
	uint64_t ram = boot_ram_bytes(bi), prev_end = 0, expect_cpus, expect_mib;
	bool sorted = true, hole_clear = true, high_ram = false, have_cpus, have_mib;
	struct acpi_info ai;
	unsigned int cpus;

	for (unsigned int i = 0; i < bi->nr_memmap; i++) {
		const struct boot_memmap_entry *e = &bi->memmap[i];
		uint64_t end = e->addr + e->size;

		printf("e820: 0x%lx-0x%lx %s\n", e->addr, end - 1, e820_type_name(e->type));
		if (!strcmp(e820_type_name(e->type), "other"))
			report_info("e820 type %u", e->type);
		if (!e->size || end < e->addr || e->addr < prev_end)
			sorted = false;
		prev_end = end;
		if (e->type != E820_TYPE_RAM)
			continue;
		if (e->addr < HIGH_RAM_START && end > LOW_RAM_END)
			hole_clear = false;
		if (end > HIGH_RAM_START)
			high_ram = true;
	}
	printf("mem_kib=%lu\n", ram / KIB);
	acpi_scan(&ai, bi->rsdp_addr, true);
	cpus = acpi_cpu_count(&ai);
	printf("cpus=%u\n", cpus);
	printf("cmdline=%s\n", bi->cmdline);
	printf("entry=%s\n", bi->entry);
	print_initrd(bi);
	print_cpuid();

	report(bi->header_valid, "%s boot header valid",
	       bi->boot_params ? "boot_params" : "hvm_start_info");
	report(bi->nr_memmap > 0 && bi->nr_memmap == bi->nr_memmap_given,
	       "memory map has %u entries", bi->nr_memmap_given);
	report(sorted, "memory map sorted, no empty or overlapping entries");
	report(hole_clear, "no RAM in the MMIO hole [0x%llx, 0x%llx)", LOW_RAM_END, HIGH_RAM_START);
	report(ai.rsdp_valid, "RSDP valid at 0x%lx (from %s)", bi->rsdp_addr, bi->rsdp_source);
	report(ai.nr_tables > 1 && !ai.nr_checksum_errors && !ai.nr_structure_errors,
	       "all %u ACPI checksums valid (%u bad, %u malformed)", ai.nr_tables,
	       ai.nr_checksum_errors, ai.nr_structure_errors);
	report(ai.facp != NULL, "FACP present");
	report(ai.apic != NULL, "APIC (MADT) present");
	report(ai.dsdt != NULL, "DSDT present");
	report(ai.nr_tables && !ai.nr_oem_mismatches, "OEM ID %s in all ACPI tables (%u differ)",
	       ACPI_OEM_ID, ai.nr_oem_mismatches);

	if (optional_u64(bi, "expect_cpus", &expect_cpus, &have_cpus) && have_cpus)
		report(cpus == expect_cpus, "MADT lists %u CPUs, expected %lu", cpus, expect_cpus);
	if (optional_u64(bi, "expect_mem_mib", &expect_mib, &have_mib) && have_mib) {
		uint64_t want_kib = expect_mib * KIB;
		bool want_high = expect_mib * MIB > LOW_RAM_END;

		/* The EBDA hole below 1 MiB is reserved, so up to 1 MiB is missing. */
		report(ram / KIB <= want_kib && ram / KIB + KIB >= want_kib,
		       "RAM %lu KiB within [%lu, %lu] KiB", ram / KIB, want_kib - KIB, want_kib);
		report(high_ram == want_high, "RAM above 4 GiB %s (expected %s)",
		       high_ram ? "present" : "absent", want_high ? "present" : "absent");
	}
	report_done();
}
