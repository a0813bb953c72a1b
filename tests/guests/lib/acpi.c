/* SPDX-License-Identifier: MIT */
#include "tests/guests/lib/acpi.h"

#include <stddef.h>

#include "boot/layout.h"
#include "tests/guests/lib/io.h"
#include "tests/guests/lib/serial.h"
#include "tests/guests/lib/str.h"

#define LEGACY_RSDP_START 0xe0000ull /* ACPI 6.5 §5.2.5.1: BIOS read-only area */
#define LEGACY_RSDP_END	  0x100000ull
#define RSDP_V1_LENGTH	  20

/* The guests map 4 GiB (entry.S); anything beyond would fault. */
#define MAPPED_END	 0x100000000ull
#define TABLE_MAX_LENGTH 0x100000u

/* FADT field offsets (ACPI 6.5 §5.2.9, Table 5.9). */
#define FADT_DSDT	   40
#define FADT_FLAGS	   112
#define FADT_RESET_REG	   116
#define FADT_RESET_VALUE   128
#define FADT_X_DSDT	   140
#define FADT_SLEEP_CONTROL 244
#define FADT_SLEEP_STATUS  256
#define FADT_RESET_REG_SUP (1u << 10)

/* MADT (§5.2.12): header, then local APIC address and flags, then entries. */
#define MADT_ENTRIES	 44
#define MADT_TYPE_LAPIC	 0
#define MADT_TYPE_X2APIC 9
#define MADT_LAPIC_LEN	 8
#define MADT_X2APIC_LEN	 16
#define MADT_ENABLED	 1u

/* AML opcodes (§20.3). */
#define AML_ZERO_OP	  0x00
#define AML_ONE_OP	  0x01
#define AML_BYTE_PREFIX	  0x0a
#define AML_PACKAGE_OP	  0x12
#define AML_STRING_PREFIX 0x0d
#define AML_EXT_OP_PREFIX 0x5b
#define AML_DEVICE_OP	  0x82 /* after AML_EXT_OP_PREFIX */

/* Resource descriptors (ACPI 6.5 §6.4): small ones have their length in bits 0-2. */
#define RES_LARGE	       0x80
#define RES_SMALL_LEN_MASK     0x07
#define RES_END_TAG	       0x79
#define RES_MEMORY32_FIXED     0x86
#define RES_MEMORY32_FIXED_LEN 9 /* data bytes after the 3-byte header */
#define RES_EXTENDED_IRQ       0x89
#define RES_EXTENDED_IRQ_MIN   6   /* flags, count, one 32-bit interrupt */
#define CRS_SCAN_MAX	       512 /* bytes after _HID in which the _CRS must start */

static uint8_t checksum(const void *p, uint32_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return sum;
}

static uint32_t get_u32(const void *p)
{
	uint32_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t get_u64(const void *p)
{
	uint64_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static bool range_mapped(uint64_t addr, uint64_t len)
{
	return addr && addr < MAPPED_END && len <= MAPPED_END - addr;
}

uint64_t acpi_find_rsdp_legacy(void)
{
	uint64_t signature;

	/*
	 * One 8-byte compare per candidate: 8192 of them, and every guest
	 * instruction may be emulated (HOST-KVM.md), so no memcmp call here.
	 */
	__builtin_memcpy(&signature, "RSD PTR ", sizeof(signature));
	for (uint64_t a = LEGACY_RSDP_START; a < LEGACY_RSDP_END; a += 16) {
		if (*(const volatile uint64_t *)a == signature &&
		    !checksum((const void *)a, RSDP_V1_LENGTH))
			return a;
	}
	return 0;
}

static void check_oem(struct acpi_info *ai, const char oem_id[6])
{
	if (memcmp(oem_id, ACPI_OEM_ID, 6))
		ai->nr_oem_mismatches++;
}

/* Validates one table's header, length and checksum; NULL if unusable. */
static const struct acpi_table_header *table_at(struct acpi_info *ai, uint64_t addr, bool verbose)
{
	const struct acpi_table_header *t = (const void *)addr;
	uint32_t len;
	bool sum_ok;

	if (!range_mapped(addr, sizeof(*t))) {
		printf("# acpi: table pointer 0x%lx not usable\n", addr);
		ai->nr_structure_errors++;
		return NULL;
	}
	len = t->length;
	if (len < sizeof(*t) || len > TABLE_MAX_LENGTH || !range_mapped(addr, len)) {
		printf("# acpi: %c%c%c%c at 0x%lx has a bad length %u\n", t->signature[0],
		       t->signature[1], t->signature[2], t->signature[3], addr, len);
		ai->nr_structure_errors++;
		return NULL;
	}
	sum_ok = !checksum(t, len);
	ai->nr_tables++;
	if (!sum_ok)
		ai->nr_checksum_errors++;
	check_oem(ai, t->oem_id);
	if (verbose || !sum_ok)
		printf("# acpi: %c%c%c%c @0x%lx len=%u rev=%u oem=%c%c%c%c%c%c checksum %s\n",
		       t->signature[0], t->signature[1], t->signature[2], t->signature[3], addr,
		       len, t->revision, t->oem_id[0], t->oem_id[1], t->oem_id[2], t->oem_id[3],
		       t->oem_id[4], t->oem_id[5], sum_ok ? "ok" : "BAD");
	return t;
}

static void parse_madt(struct acpi_info *ai, const struct acpi_table_header *t)
{
	const uint8_t *p = (const uint8_t *)t + MADT_ENTRIES;
	const uint8_t *end = (const uint8_t *)t + t->length;

	while (p + 2 <= end) {
		uint8_t type = p[0], len = p[1];

		/* A zero length would loop forever; an overrun reads past the table. */
		if (len < 2 || p + len > end) {
			printf("# acpi: MADT entry type %u has a bad length %u\n", type, len);
			ai->nr_structure_errors++;
			return;
		}
		if (type == MADT_TYPE_LAPIC && len >= MADT_LAPIC_LEN) {
			if (get_u32(p + 4) & MADT_ENABLED)
				ai->madt_lapic_enabled++;
		} else if (type == MADT_TYPE_X2APIC && len >= MADT_X2APIC_LEN) {
			if (get_u32(p + 8) & MADT_ENABLED)
				ai->madt_x2apic_enabled++;
		}
		p += len;
	}
}

static uint64_t parse_fadt(struct acpi_info *ai, const struct acpi_table_header *t)
{
	const uint8_t *f = (const uint8_t *)t;
	uint64_t dsdt = 0;

	if (t->length >= FADT_DSDT + 4)
		dsdt = get_u32(f + FADT_DSDT);
	if (t->length >= FADT_X_DSDT + 8 && get_u64(f + FADT_X_DSDT))
		dsdt = get_u64(f + FADT_X_DSDT);
	if (t->length >= FADT_RESET_VALUE + 1 && (get_u32(f + FADT_FLAGS) & FADT_RESET_REG_SUP)) {
		__builtin_memcpy(&ai->reset_reg, f + FADT_RESET_REG, sizeof(ai->reset_reg));
		ai->reset_value = f[FADT_RESET_VALUE];
		ai->has_reset = ai->reset_reg.address != 0;
	}
	if (t->length >= FADT_SLEEP_STATUS + sizeof(struct acpi_gas)) {
		__builtin_memcpy(&ai->sleep_control, f + FADT_SLEEP_CONTROL,
				 sizeof(ai->sleep_control));
		__builtin_memcpy(&ai->sleep_status, f + FADT_SLEEP_STATUS,
				 sizeof(ai->sleep_status));
		ai->has_sleep_control = ai->sleep_control.address != 0;
	}
	return dsdt;
}

/*
 * \_S5 is `Name (_S5, Package () { SLP_TYPa, ... })`: "_S5_" followed by
 * PackageOp, PkgLength (1-4 bytes, §20.2.4), NumElements, then the first
 * element as ZeroOp, OneOp or BytePrefix+byte.
 */
static int find_s5(const struct acpi_table_header *dsdt)
{
	const uint8_t *aml = (const uint8_t *)dsdt + sizeof(*dsdt);
	const uint8_t *end = (const uint8_t *)dsdt + dsdt->length;

	for (const uint8_t *p = aml; p + 4 <= end; p++) {
		const uint8_t *q = p + 4;
		unsigned int pkglen_bytes;

		if (memcmp(p, "_S5_", 4) || q >= end || *q != AML_PACKAGE_OP)
			continue;
		q++;
		if (q >= end)
			return -1;
		pkglen_bytes = 1 + (*q >> 6);
		q += pkglen_bytes + 1; /* PkgLength, NumElements */
		if (q >= end)
			return -1;
		switch (q[0]) {
		case AML_ZERO_OP:
			return 0;
		case AML_ONE_OP:
			return 1;
		case AML_BYTE_PREFIX:
			return q + 1 < end ? q[1] : -1;
		default:
			printf("# acpi: \\_S5 first element has opcode 0x%x\n", q[0]);
			return -1;
		}
	}
	return -1;
}

static bool check_rsdp(struct acpi_info *ai, const struct acpi_rsdp *rsdp)
{
	if (memcmp(rsdp->signature, "RSD PTR ", 8)) {
		printf("# acpi: no RSDP signature at 0x%lx\n", ai->rsdp_addr);
		return false;
	}
	ai->nr_tables++;
	ai->rsdp_revision = rsdp->revision;
	check_oem(ai, rsdp->oem_id);
	if (checksum(rsdp, RSDP_V1_LENGTH) ||
	    (rsdp->revision >= 2 && (rsdp->length < sizeof(*rsdp) || rsdp->length > 4096 ||
				     checksum(rsdp, rsdp->length)))) {
		printf("# acpi: RSDP checksum BAD\n");
		ai->nr_checksum_errors++;
		return false;
	}
	return true;
}

bool acpi_scan(struct acpi_info *ai, uint64_t rsdp_addr, bool verbose)
{
	const struct acpi_rsdp *rsdp = (const void *)rsdp_addr;
	const struct acpi_table_header *root;
	unsigned int entry_size, nr_entries;
	uint64_t dsdt_addr = 0;

	memset(ai, 0, sizeof(*ai));
	ai->rsdp_addr = rsdp_addr;
	ai->s5_slp_typ = -1;
	if (!range_mapped(rsdp_addr, sizeof(*rsdp))) {
		printf("# acpi: no RSDP\n");
		return false;
	}
	ai->rsdp_valid = check_rsdp(ai, rsdp);
	if (!ai->rsdp_valid)
		return false;
	ai->root_is_xsdt = rsdp->revision >= 2 && rsdp->xsdt_address;
	ai->root_addr = ai->root_is_xsdt ? rsdp->xsdt_address : rsdp->rsdt_address;
	if (verbose)
		printf("# acpi: RSDP @0x%lx rev=%u %s=0x%lx\n", rsdp_addr, rsdp->revision,
		       ai->root_is_xsdt ? "xsdt" : "rsdt", ai->root_addr);
	root = table_at(ai, ai->root_addr, verbose);
	if (!root)
		return false;
	if (memcmp(root->signature, ai->root_is_xsdt ? "XSDT" : "RSDT", 4))
		ai->nr_structure_errors++;
	entry_size = ai->root_is_xsdt ? 8 : 4;
	nr_entries = (root->length - sizeof(*root)) / entry_size;
	for (unsigned int i = 0; i < nr_entries; i++) {
		const uint8_t *e = (const uint8_t *)(root + 1) + i * entry_size;
		uint64_t addr = entry_size == 8 ? get_u64(e) : get_u32(e);
		const struct acpi_table_header *t = table_at(ai, addr, verbose);

		if (!t)
			continue;
		if (!memcmp(t->signature, "FACP", 4) && !ai->facp) {
			ai->facp = t;
			dsdt_addr = parse_fadt(ai, t);
		} else if (!memcmp(t->signature, "APIC", 4) && !ai->apic) {
			ai->apic = t;
			parse_madt(ai, t);
		}
	}
	if (dsdt_addr) {
		const struct acpi_table_header *t = table_at(ai, dsdt_addr, verbose);

		if (t && !memcmp(t->signature, "DSDT", 4)) {
			ai->dsdt = t;
			ai->s5_slp_typ = find_s5(t);
		} else {
			ai->nr_structure_errors++;
		}
	}
	return true;
}

/*
 * The resource template after a device's _HID: the first Memory32Fixed
 * descriptor, found by a byte scan that stops at the next DeviceOp (its
 * resources belong to another device), then a walk over the descriptors that
 * follow it, up to the End Tag, for the first Extended Interrupt.
 */
static bool parse_device_crs(const uint8_t *p, const uint8_t *end, struct acpi_mmio_dev *dev)
{
	const uint8_t *limit = end - p > CRS_SCAN_MAX ? p + CRS_SCAN_MAX : end;

	for (;; p++) {
		if (p + 3 + RES_MEMORY32_FIXED_LEN > limit)
			return false;
		if (p[0] == AML_EXT_OP_PREFIX && p[1] == AML_DEVICE_OP)
			return false;
		if (p[0] == RES_MEMORY32_FIXED && p[1] == RES_MEMORY32_FIXED_LEN && p[2] == 0)
			break;
	}
	dev->base = get_u32(p + 4);
	dev->size = get_u32(p + 8);
	p += 3 + RES_MEMORY32_FIXED_LEN;
	while (p < end && *p != RES_END_TAG) {
		uint32_t len;

		if (*p & RES_LARGE) {
			if (p + 3 > end)
				break;
			len = 3u + (p[1] | (uint32_t)p[2] << 8);
			if (len > (uint32_t)(end - p))
				break;
			if (*p == RES_EXTENDED_IRQ && len >= 3 + RES_EXTENDED_IRQ_MIN &&
			    p[4] >= 1 && dev->gsi == ~0u)
				dev->gsi = get_u32(p + 5);
		} else {
			len = 1u + (*p & RES_SMALL_LEN_MASK);
		}
		p += len;
	}
	return true;
}

unsigned int acpi_find_mmio_devices(const struct acpi_info *ai, const char *hid,
				    struct acpi_mmio_dev *devs, unsigned int max)
{
	size_t hid_len = strlen(hid);
	const uint8_t *aml, *end;
	unsigned int found = 0;

	if (!ai->dsdt || !hid_len)
		return 0;
	aml = (const uint8_t *)ai->dsdt + sizeof(*ai->dsdt);
	end = (const uint8_t *)ai->dsdt + ai->dsdt->length;
	/* Name (_HID, "LNRO0005") is NameOp "_HID" StringPrefix 'L' ... 'NUL'. */
	for (const uint8_t *p = aml + 1; p + hid_len + 1 <= end; p++) {
		struct acpi_mmio_dev dev = {.gsi = ~0u};

		if (p[0] != (uint8_t)hid[0] || p[-1] != AML_STRING_PREFIX || p[hid_len] != 0 ||
		    memcmp(p, hid, hid_len))
			continue;
		p += hid_len;
		if (!parse_device_crs(p + 1, end, &dev)) {
			printf("# acpi: %s device at DSDT offset 0x%lx has no Memory32Fixed\n", hid,
			       (uint64_t)(p - hid_len - (const uint8_t *)ai->dsdt));
			continue;
		}
		if (found < max)
			devs[found] = dev;
		found++;
	}
	return found;
}

unsigned int acpi_cpu_count(const struct acpi_info *ai)
{
	return ai->madt_lapic_enabled + ai->madt_x2apic_enabled;
}

bool acpi_gas_write(const struct acpi_gas *gas, uint64_t value)
{
	unsigned int width = gas->bit_width ? gas->bit_width : 8;

	if (gas->space_id == ACPI_GAS_IO) {
		if (gas->address > 0xffff)
			return false;
		if (width <= 8)
			outb((uint8_t)value, (uint16_t)gas->address);
		else if (width <= 16)
			outw((uint16_t)value, (uint16_t)gas->address);
		else
			outl((uint32_t)value, (uint16_t)gas->address);
		return true;
	}
	if (gas->space_id == ACPI_GAS_MEMORY) {
		if (!range_mapped(gas->address, width / 8 ? width / 8 : 1))
			return false;
		if (width <= 8)
			mmio_write8(gas->address, (uint8_t)value);
		else if (width <= 16)
			mmio_write16(gas->address, (uint16_t)value);
		else if (width <= 32)
			mmio_write32(gas->address, (uint32_t)value);
		else
			mmio_write64(gas->address, value);
		return true;
	}
	return false;
}
