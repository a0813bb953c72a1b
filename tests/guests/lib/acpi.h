/* SPDX-License-Identifier: MIT */
/*
 * A read-only ACPI walker for the test guests: RSDP -> XSDT (or RSDT) ->
 * tables, every checksum verified, the MADT's CPUs counted, the FADT's
 * hardware-reduced sleep and reset registers and the DSDT's \_S5 read.
 */
#ifndef GUEST_ACPI_H
#define GUEST_ACPI_H

#include <stdbool.h>
#include <stdint.h>

struct acpi_gas {
	uint8_t space_id; /* ACPI_GAS_MEMORY or ACPI_GAS_IO */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));

#define ACPI_GAS_MEMORY 0
#define ACPI_GAS_IO	1

struct acpi_table_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	uint8_t checksum;  /* over the first 20 bytes */
	char oem_id[6];
	uint8_t revision; /* 0: ACPI 1.0 (RSDT only); 2: XSDT */
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum; /* over `length` bytes */
	uint8_t reserved[3];
} __attribute__((packed));

struct acpi_info {
	uint64_t rsdp_addr;
	bool rsdp_valid; /* signature and checksum(s) */
	uint8_t rsdp_revision;
	uint64_t root_addr; /* XSDT, or the RSDT for revision 0 */
	bool root_is_xsdt;
	unsigned int nr_tables;		  /* RSDP, root, listed tables and the DSDT */
	unsigned int nr_checksum_errors;  /* across all of them */
	unsigned int nr_oem_mismatches;	  /* OEM ID != ACPI_OEM_ID */
	unsigned int nr_structure_errors; /* bad lengths, pointers, MADT entries */
	const struct acpi_table_header *facp, *apic, *dsdt;
	unsigned int madt_lapic_enabled;  /* type 0 entries with the Enabled flag */
	unsigned int madt_x2apic_enabled; /* type 9 entries with the Enabled flag */
	bool has_sleep_control;
	struct acpi_gas sleep_control, sleep_status;
	bool has_reset;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	int s5_slp_typ; /* SLP_TYP of \_S5 (its first package element); -1: none */
};

/* The RSDP in the legacy BIOS area 0xe0000..0xfffff, 16-byte aligned; 0 if none. */
uint64_t acpi_find_rsdp_legacy(void);

/*
 * Walks everything reachable from the RSDP at `rsdp_addr` into `ai`;
 * `verbose` prints one "# acpi: ..." line per table.  Returns false when
 * there is no valid RSDP or root table (then little of `ai` is filled).
 */
bool acpi_scan(struct acpi_info *ai, uint64_t rsdp_addr, bool verbose);

/* Enabled MADT CPUs (Local APIC plus x2APIC entries). */
unsigned int acpi_cpu_count(const struct acpi_info *ai);

/* An MMIO device declared in the DSDT: the first Memory32Fixed and interrupt of its _CRS. */
struct acpi_mmio_dev {
	uint64_t base;
	uint32_t size;
	uint32_t gsi; /* first Extended Interrupt entry; ~0u if none */
};

/*
 * Devices in ai->dsdt whose _HID is the string `hid` (e.g. "LNRO0005",
 * virtio-mmio), in DSDT order.  A byte scan, not an AML interpreter: the
 * string must be a StringPrefix literal, and its _CRS must follow it inside
 * the same Device.  Fills at most `max` entries and returns how many devices
 * were found (possibly more than `max`).
 */
unsigned int acpi_find_mmio_devices(const struct acpi_info *ai, const char *hid,
				    struct acpi_mmio_dev *devs, unsigned int max);

/* One write of `value` to a GAS register (system I/O or memory); false if unsupported. */
bool acpi_gas_write(const struct acpi_gas *gas, uint64_t value);

#endif
