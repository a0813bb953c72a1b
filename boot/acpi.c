/* SPDX-License-Identifier: MIT */
/*
 * Per-VM ACPI tables; see acpi.h.  Field offsets are from the ACPI 6.3
 * specification (section 5.2); the FADT is hardware-reduced (5.2.9, 4.1):
 * no SCI, no PM1/GPE blocks, no FACS, only the sleep control/status and
 * reset registers.  The tables are staged in host memory, checksummed and
 * copied into guest memory in one gm_write().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/acpi.h"
#include "boot/aml.h"
#include "boot/layout.h"
#include "boot/table_bytes.h"

#define ACPI_CREATOR_ID	      "MVMM"
#define ACPI_CREATOR_REVISION 1
#define ACPI_OEM_REVISION     1
#define ACPI_HYPERVISOR_ID    "MINIVMM" /* FADT "Hypervisor Vendor Identity" */

/* 16550A: eight byte-wide registers from COM1_PORT. */
#define COM1_NR_REGS 8

/* ---- Common table header (5.2.6) --------------------------------------------- */
#define HDR_SIGNATURE	     0
#define HDR_LENGTH	     4
#define HDR_REVISION	     8
#define HDR_CHECKSUM	     9
#define HDR_OEM_ID	     10
#define HDR_OEM_TABLE_ID     16
#define HDR_OEM_REVISION     24
#define HDR_CREATOR_ID	     28
#define HDR_CREATOR_REVISION 32
#define HDR_LEN		     36

/* ---- RSDP (5.2.5.3) ----------------------------------------------------------- */
#define RSDP_CHECKSUM	  8 /* over the first RSDP_V1_LEN bytes */
#define RSDP_OEM_ID	  9
#define RSDP_REVISION	  15
#define RSDP_RSDT_ADDRESS 16
#define RSDP_LENGTH	  20
#define RSDP_XSDT_ADDRESS 24
#define RSDP_EXT_CHECKSUM 32 /* over all RSDP_LEN bytes */
#define RSDP_V1_LEN	  20
#define RSDP_LEN	  36

/* ---- XSDT (5.2.8) -------------------------------------------------------------- */
#define XSDT_REVISION 1
#define XSDT_ENTRIES  2 /* FACP, APIC; the DSDT is reached through the FADT */

/* ---- FADT (5.2.9, table 5-33), revision 6 = ACPI 6.x, minor 3 = 6.3 ----------- */
#define FADT_REVISION	       6
#define FADT_MINOR_REVISION    3
#define FADT_DSDT	       40
#define FADT_IAPC_BOOT_ARCH    109
#define FADT_FLAGS	       112
#define FADT_RESET_REG	       116
#define FADT_RESET_VALUE       128
#define FADT_MINOR_VERSION     131
#define FADT_X_DSDT	       140
#define FADT_SLEEP_CONTROL_REG 244
#define FADT_SLEEP_STATUS_REG  256
#define FADT_HYPERVISOR_ID     268
#define FADT_LEN	       276

/* IA-PC boot architecture flags (5.2.9.3). */
#define IAPC_BOOT_ARCH_VGA_NOT_PRESENT (1u << 2)

/* FADT flags (5.2.9, table 5-34). */
#define FADT_F_PWR_BUTTON      (1u << 4)  /* no fixed-feature power button */
#define FADT_F_SLP_BUTTON      (1u << 5)  /* no fixed-feature sleep button */
#define FADT_F_RESET_REG_SUP   (1u << 10) /* RESET_REG is valid */
#define FADT_F_HW_REDUCED_ACPI (1u << 20)

/* Generic Address Structure (5.2.3.2). */
#define GAS_SPACE_SYSTEM_IO 1
#define GAS_ACCESS_BYTE	    1
#define GAS_LEN		    12

/* ---- MADT (5.2.12), revision 5 = ACPI 6.3 ---------------------------------------- */
#define MADT_REVISION	       5
#define MADT_LAPIC_ADDRESS     36
#define MADT_FLAGS	       40
#define MADT_ENTRIES	       44
#define MADT_F_PCAT_COMPAT     (1u << 0)
#define MADT_TYPE_LAPIC	       0
#define MADT_LAPIC_LEN	       8
#define MADT_LAPIC_ENABLED     (1u << 0)
#define MADT_TYPE_IOAPIC       1
#define MADT_IOAPIC_LEN	       12
#define MADT_TYPE_ISO	       2 /* Interrupt Source Override */
#define MADT_ISO_LEN	       10
#define MPS_INTI_POLARITY_HIGH (1u << 0)
#define MPS_INTI_TRIGGER_EDGE  (1u << 2)
#define ISA_IRQ_PIT	       0 /* the 8254 PIT's IRQ0 ... */
#define GSI_PIT		       2 /* ... is IOAPIC pin 2, as on every PC */

/* ---- DSDT (5.2.11.1), revision 2: 64-bit AML integers --------------------------- */
#define DSDT_REVISION 2

#define TABLE_ALIGN 16

struct acpi_layout {
	size_t rsdp, xsdt, fadt, madt, dsdt, end;
	size_t xsdt_len, madt_len, dsdt_len;
};

uint8_t acpi_sum8(const void *data, size_t len)
{
	return table_sum8(data, len);
}

static void put_header(uint8_t *t, const char sig[4], size_t len, uint8_t revision)
{
	memcpy(t + HDR_SIGNATURE, sig, 4);
	put32(t + HDR_LENGTH, (uint32_t)len);
	t[HDR_REVISION] = revision;
	put_padded(t + HDR_OEM_ID, ACPI_OEM_ID, 6);
	put_padded(t + HDR_OEM_TABLE_ID, ACPI_OEM_TABLE_ID, 8);
	put32(t + HDR_OEM_REVISION, ACPI_OEM_REVISION);
	memcpy(t + HDR_CREATOR_ID, ACPI_CREATOR_ID, 4);
	put32(t + HDR_CREATOR_REVISION, ACPI_CREATOR_REVISION);
}

static void finish_table(uint8_t *t, size_t len)
{
	t[HDR_CHECKSUM] = 0;
	t[HDR_CHECKSUM] = (uint8_t)-acpi_sum8(t, len);
}

static void put_gas_io8(uint8_t *p, uint16_t port)
{
	p[0] = GAS_SPACE_SYSTEM_IO;
	p[1] = 8; /* register bit width */
	p[2] = 0; /* bit offset */
	p[3] = GAS_ACCESS_BYTE;
	put64(p + 4, port);
}

static bool valid_hid(const char *hid)
{
	size_t len, i;

	if (!hid)
		return false;
	len = strlen(hid);
	/* PNP ID (AAA####) or ACPI ID (NNNN####), ACPI 6.3 6.1.5. */
	if (len != 7 && len != 8)
		return false;
	for (i = 0; i < len; i++)
		if (!((hid[i] >= 'A' && hid[i] <= 'Z') || (hid[i] >= '0' && hid[i] <= '9')))
			return false;
	return true;
}

static int check_config(const struct acpi_config *cfg, struct vmm_err *err)
{
	unsigned i;

	if (cfg->ncpus < 1 || cfg->ncpus > ACPI_MAX_CPUS)
		return vmm_errf(err, -EINVAL, "ACPI: %u vCPUs requested, the MADT supports 1-%d",
				cfg->ncpus, ACPI_MAX_CPUS);
	if (cfg->n_mmio_devices > ACPI_MAX_MMIO_DEVICES)
		return vmm_errf(err, -EINVAL, "ACPI: %u MMIO devices requested, at most %d",
				cfg->n_mmio_devices, ACPI_MAX_MMIO_DEVICES);
	if (cfg->n_mmio_devices && !cfg->mmio_devices)
		return vmm_errf(err, -EINVAL, "ACPI: %u MMIO devices but no device table",
				cfg->n_mmio_devices);
	if (cfg->power_button && cfg->power_button_gsi - (uint64_t)IOAPIC_GSI_BASE >= IOAPIC_PINS)
		return vmm_errf(
		    err, -EINVAL, "ACPI: the power button uses GSI %u, the IOAPIC has %u-%u",
		    cfg->power_button_gsi, IOAPIC_GSI_BASE, IOAPIC_GSI_BASE + IOAPIC_PINS - 1);
	for (i = 0; i < cfg->n_mmio_devices; i++) {
		const struct acpi_mmio_device *d = &cfg->mmio_devices[i];

		if (!valid_hid(d->hid))
			return vmm_errf(err, -EINVAL,
					"ACPI: MMIO device %u: _HID \"%s\" is not a 7/8-character "
					"PNP or ACPI ID",
					i, d->hid ? d->hid : "(null)");
		if (d->size == 0 || d->size > (1ull << 32) || d->base > (1ull << 32) - d->size)
			return vmm_errf(err, -EINVAL,
					"ACPI: MMIO device %u at 0x%llx+0x%llx is empty or not "
					"below 4 GiB (Memory32Fixed)",
					i, (unsigned long long)d->base,
					(unsigned long long)d->size);
		if (d->gsi - (uint64_t)IOAPIC_GSI_BASE >= IOAPIC_PINS) /* also catches gsi < base */
			return vmm_errf(err, -EINVAL,
					"ACPI: MMIO device %u uses GSI %u, the IOAPIC has %u-%u", i,
					d->gsi, IOAPIC_GSI_BASE, IOAPIC_GSI_BASE + IOAPIC_PINS - 1);
	}
	return 0;
}

static void dsdt_com1(struct aml_buf *b)
{
	size_t dev, crs;

	dev = aml_device_begin(b, "COM1");
	aml_name(b, "_HID");
	aml_eisaid(b, "PNP0501"); /* 16550A-compatible COM port */
	aml_name_integer(b, "_UID", 0);
	aml_name(b, "_CRS");
	crs = aml_restemplate_begin(b);
	aml_res_io(b, COM1_PORT, COM1_PORT, 0, COM1_NR_REGS);
	aml_res_irq_noflags(b, COM1_IRQ);
	aml_restemplate_end(b, crs);
	aml_end(b, dev);
}

/*
 * The MC146818 CMOS clock (devices/cmos_rtc.c).  With a hardware-reduced
 * FADT Linux's rtc_cmos driver finds the clock only through PNP0B00; we do
 * not raise IRQ 8 (no alarms or update interrupts), so _CRS has the ports
 * alone and the driver runs without an interrupt.
 */
static void dsdt_rtc(struct aml_buf *b)
{
	size_t dev, crs;

	dev = aml_device_begin(b, "RTC_");
	aml_name(b, "_HID");
	aml_eisaid(b, "PNP0B00");
	aml_name(b, "_CRS");
	crs = aml_restemplate_begin(b);
	aml_res_io(b, CMOS_INDEX_PORT, CMOS_INDEX_PORT, 1, 2);
	aml_restemplate_end(b, crs);
	aml_end(b, dev);
}

/* Linux's pvpanic driver (drivers/misc/pvpanic/) binds "QEMU0001" and uses its IO port. */
static void dsdt_pvpanic(struct aml_buf *b)
{
	size_t dev, crs;

	dev = aml_device_begin(b, "PEVT");
	aml_name_string(b, "_HID", "QEMU0001");
	aml_name_integer(b, "_STA", 0x0f); /* present, enabled, shown, functioning */
	aml_name(b, "_CRS");
	crs = aml_restemplate_begin(b);
	aml_res_io(b, PVPANIC_PORT, PVPANIC_PORT, 1, 1);
	aml_restemplate_end(b, crs);
	aml_end(b, dev);
}

/*
 * Linux's virtio_mmio driver matches _HID "LNRO0005" and takes the first
 * memory resource and the first IRQ (platform_get_irq) from _CRS.  The
 * interrupt is declared Edge/ActiveHigh/Exclusive, as Firecracker and Cloud
 * Hypervisor do: we raise it as a pulse (irqfd without a resample fd), and
 * the driver re-reads InterruptStatus in its handler, so no level state has
 * to be kept in sync with the guest's EOI.  QEMU microvm says Level because
 * it emulates a level line with resampling.  GSIs 5.. are ISA IRQ numbers
 * whose default is edge/high anyway, so no MADT override is needed.
 * _CCA(1): DMA is cache-coherent (x86 assumes it; arm64 requires the object).
 */
static void dsdt_mmio_device(struct aml_buf *b, unsigned index, const struct acpi_mmio_device *d)
{
	char name[8];
	size_t dev, crs;

	snprintf(name, sizeof(name), "VR%02u", index % 100);
	dev = aml_device_begin(b, name);
	aml_name_string(b, "_HID", d->hid);
	aml_name_integer(b, "_UID", index);
	aml_name_integer(b, "_CCA", 1);
	aml_name(b, "_CRS");
	crs = aml_restemplate_begin(b);
	aml_res_memory32_fixed(b, true, (uint32_t)d->base, (uint32_t)d->size);
	aml_res_interrupt(b, AML_IRQ_CONSUMER | AML_IRQ_EDGE, d->gsi);
	aml_restemplate_end(b, crs);
	aml_end(b, dev);
}

/*
 * The power button of a hardware-reduced machine (ACPI 6.3 4.8.2.2.1.2: a
 * control-method power button, PNP0C0C) signalled through a Generic Event
 * Device (5.6.9): Linux's evged driver requests the GED's one interrupt and,
 * on each edge, runs _EVT with the GSI as Arg0; _EVT's Notify(PWRB, 0x80)
 * is what the ACPI button driver reports as KEY_POWER.  One event source, so
 * _EVT needs no status register to read: the edge is the press.  Edge,
 * ActiveHigh, Exclusive like the virtio-mmio interrupts, raised as a pulse.
 */
static void dsdt_power_button(struct aml_buf *b, uint32_t gsi)
{
	size_t dev, crs, method, cond;

	dev = aml_device_begin(b, "PWRB");
	aml_name(b, "_HID");
	aml_eisaid(b, "PNP0C0C");
	aml_name_integer(b, "_UID", 0);
	aml_end(b, dev);

	dev = aml_device_begin(b, "GED0");
	aml_name_string(b, "_HID", "ACPI0013");
	aml_name_integer(b, "_UID", 0);
	aml_name(b, "_CRS");
	crs = aml_restemplate_begin(b);
	aml_res_interrupt(b, AML_IRQ_CONSUMER | AML_IRQ_EDGE, gsi);
	aml_restemplate_end(b, crs);
	method = aml_method_begin(b, "_EVT", 1, false);
	cond = aml_if_begin(b);
	aml_lequal(b);
	aml_arg(b, 0);
	aml_integer(b, gsi);
	aml_notify(b, "\\_SB_.PWRB", 0x80); /* 0x80: button pressed (4.8.2.2.1.2) */
	aml_end(b, cond);
	aml_end(b, method);
	aml_end(b, dev);
}

static int build_dsdt_aml(struct aml_buf *b, const struct acpi_config *cfg)
{
	size_t sb, pkg;
	unsigned i;

	sb = aml_scope_begin(b, "\\_SB_");
	dsdt_com1(b);
	dsdt_rtc(b);
	if (cfg->pvpanic)
		dsdt_pvpanic(b);
	for (i = 0; i < cfg->n_mmio_devices; i++)
		dsdt_mmio_device(b, i, &cfg->mmio_devices[i]);
	if (cfg->power_button)
		dsdt_power_button(b, cfg->power_button_gsi);
	aml_end(b, sb);

	/*
	 * \_S5 {SLP_TYPa, SLP_TYPb, reserved, reserved} (7.4.2): on a
	 * hardware-reduced machine Linux writes SLP_TYPa << 2 | SLP_EN to the
	 * FADT sleep control register to power off.
	 */
	aml_name(b, "\\_S5_");
	pkg = aml_package_begin(b, 4);
	aml_integer(b, ACPI_S5_SLP_TYP);
	aml_integer(b, 0);
	aml_integer(b, 0);
	aml_integer(b, 0);
	aml_end(b, pkg);
	return b->error;
}

static size_t align_up(size_t v)
{
	return (v + TABLE_ALIGN - 1) & ~(size_t)(TABLE_ALIGN - 1);
}

static void write_rsdp(uint8_t *base, const struct acpi_layout *l)
{
	uint8_t *r = base + l->rsdp;

	memcpy(r, "RSD PTR ", 8);
	put_padded(r + RSDP_OEM_ID, ACPI_OEM_ID, 6);
	r[RSDP_REVISION] = 2; /* ACPI 2.0+: XSDT, Length and the extended checksum are valid */
	put32(r + RSDP_RSDT_ADDRESS, 0);
	put32(r + RSDP_LENGTH, RSDP_LEN);
	put64(r + RSDP_XSDT_ADDRESS, ACPI_TABLES_ADDR + l->xsdt);
	r[RSDP_CHECKSUM] = (uint8_t)-acpi_sum8(r, RSDP_V1_LEN);
	r[RSDP_EXT_CHECKSUM] = (uint8_t)-acpi_sum8(r, RSDP_LEN);
}

static void write_xsdt(uint8_t *base, const struct acpi_layout *l)
{
	uint8_t *t = base + l->xsdt;

	put_header(t, "XSDT", l->xsdt_len, XSDT_REVISION);
	put64(t + HDR_LEN, ACPI_TABLES_ADDR + l->fadt);
	put64(t + HDR_LEN + 8, ACPI_TABLES_ADDR + l->madt);
	finish_table(t, l->xsdt_len);
}

static void write_fadt(uint8_t *base, const struct acpi_layout *l)
{
	uint8_t *t = base + l->fadt;
	uint8_t hypervisor_id[8] = {0};

	put_header(t, "FACP", FADT_LEN, FADT_REVISION);
	/*
	 * Both DSDT pointers, equal: ACPICA prefers X_DSDT and only warns when
	 * the two disagree; old 32-bit readers still find the table.
	 */
	put32(t + FADT_DSDT, (uint32_t)(ACPI_TABLES_ADDR + l->dsdt));
	put64(t + FADT_X_DSDT, ACPI_TABLES_ADDR + l->dsdt);
	/*
	 * No VGA; the 8042 bit stays clear so Linux marks the i8042 absent
	 * instead of probing a keyboard (we only emulate its reset line).
	 */
	put16(t + FADT_IAPC_BOOT_ARCH, IAPC_BOOT_ARCH_VGA_NOT_PRESENT);
	put32(t + FADT_FLAGS, FADT_F_HW_REDUCED_ACPI | FADT_F_RESET_REG_SUP | FADT_F_PWR_BUTTON |
				  FADT_F_SLP_BUTTON);
	put_gas_io8(t + FADT_RESET_REG, ACPI_RESET_PORT);
	t[FADT_RESET_VALUE] = ACPI_RESET_VALUE;
	t[FADT_MINOR_VERSION] = FADT_MINOR_REVISION;
	put_gas_io8(t + FADT_SLEEP_CONTROL_REG, ACPI_SLEEP_CONTROL_PORT);
	put_gas_io8(t + FADT_SLEEP_STATUS_REG, ACPI_SLEEP_STATUS_PORT);
	memcpy(hypervisor_id, ACPI_HYPERVISOR_ID, strlen(ACPI_HYPERVISOR_ID));
	memcpy(t + FADT_HYPERVISOR_ID, hypervisor_id, sizeof(hypervisor_id));
	finish_table(t, FADT_LEN);
}

static void write_madt(uint8_t *base, const struct acpi_layout *l, uint32_t ncpus)
{
	uint8_t *t = base + l->madt;
	uint8_t *e = t + MADT_ENTRIES;
	uint32_t cpu;

	put_header(t, "APIC", l->madt_len, MADT_REVISION);
	put32(t + MADT_LAPIC_ADDRESS, (uint32_t)LAPIC_ADDR);
	put32(t + MADT_FLAGS, MADT_F_PCAT_COMPAT);
	for (cpu = 0; cpu < ncpus; cpu++, e += MADT_LAPIC_LEN) {
		e[0] = MADT_TYPE_LAPIC;
		e[1] = MADT_LAPIC_LEN;
		e[2] = (uint8_t)cpu; /* ACPI processor UID */
		e[3] = (uint8_t)cpu; /* APIC ID: KVM gives vCPU i APIC ID i */
		put32(e + 4, MADT_LAPIC_ENABLED);
	}
	e[0] = MADT_TYPE_IOAPIC;
	e[1] = MADT_IOAPIC_LEN;
	e[2] = IOAPIC_ID;
	e[3] = 0;
	put32(e + 4, (uint32_t)IOAPIC_ADDR);
	put32(e + 8, IOAPIC_GSI_BASE);
	e += MADT_IOAPIC_LEN;
	e[0] = MADT_TYPE_ISO;
	e[1] = MADT_ISO_LEN;
	e[2] = 0; /* bus: ISA */
	e[3] = ISA_IRQ_PIT;
	put32(e + 4, GSI_PIT);
	put16(e + 8, MPS_INTI_POLARITY_HIGH | MPS_INTI_TRIGGER_EDGE);
	finish_table(t, l->madt_len);
}

static void write_dsdt(uint8_t *base, const struct acpi_layout *l, const struct aml_buf *aml)
{
	uint8_t *t = base + l->dsdt;

	put_header(t, "DSDT", l->dsdt_len, DSDT_REVISION);
	memcpy(t + HDR_LEN, aml->data, aml->len);
	finish_table(t, l->dsdt_len);
}

int acpi_build(struct guest_mem *gm, const struct acpi_config *cfg, uint64_t *rsdp_gpa,
	       struct vmm_err *err)
{
	struct acpi_layout l;
	struct aml_buf aml;
	uint64_t ram_end;
	size_t avail;
	uint8_t *stage;
	int ret;

	ret = check_config(cfg, err);
	if (ret)
		return ret;

	ram_end = gm_region_end(gm, ACPI_TABLES_ADDR);
	if (ram_end > ACPI_TABLES_END)
		ram_end = ACPI_TABLES_END;
	avail = ram_end > ACPI_TABLES_ADDR ? (size_t)(ram_end - ACPI_TABLES_ADDR) : 0;
	if (avail == 0)
		return vmm_errf(err, -ENOSPC,
				"ACPI: no guest RAM at 0x%llx for the tables (is the guest "
				"smaller than 1 MiB?)",
				ACPI_TABLES_ADDR);

	aml_init(&aml, avail);
	ret = build_dsdt_aml(&aml, cfg);
	if (ret) {
		if (ret == -ENOSPC)
			vmm_errf(err, ret,
				 "ACPI: the DSDT does not fit in the %zu bytes of guest RAM at "
				 "0x%llx (too many devices?)",
				 avail, ACPI_TABLES_ADDR);
		else
			vmm_errf(err, ret, "ACPI: building the DSDT: %s", aml.err.msg);
		aml_free(&aml);
		return ret;
	}

	l.rsdp = 0;
	l.xsdt = align_up(l.rsdp + RSDP_LEN);
	l.xsdt_len = HDR_LEN + 8 * XSDT_ENTRIES;
	l.fadt = align_up(l.xsdt + l.xsdt_len);
	l.madt = align_up(l.fadt + FADT_LEN);
	l.madt_len =
	    MADT_ENTRIES + (size_t)cfg->ncpus * MADT_LAPIC_LEN + MADT_IOAPIC_LEN + MADT_ISO_LEN;
	l.dsdt = align_up(l.madt + l.madt_len);
	l.dsdt_len = HDR_LEN + aml.len;
	l.end = l.dsdt + l.dsdt_len;
	if (l.end > avail) {
		aml_free(&aml);
		return vmm_errf(err, -ENOSPC,
				"ACPI: the tables need %zu bytes but only %zu bytes of guest RAM "
				"are available at 0x%llx (too many devices or too little RAM?)",
				l.end, avail, ACPI_TABLES_ADDR);
	}

	/*
	 * Stage (and write) the whole area, not just l.end bytes: a rebuild
	 * with fewer CPUs or devices must not leave stale table bytes behind.
	 */
	stage = calloc(1, avail);
	if (!stage) {
		aml_free(&aml);
		return vmm_errf(err, -ENOMEM, "ACPI: out of memory staging %zu bytes of tables",
				avail);
	}
	write_xsdt(stage, &l);
	write_fadt(stage, &l);
	write_madt(stage, &l, cfg->ncpus);
	write_dsdt(stage, &l, &aml);
	write_rsdp(stage, &l);
	aml_free(&aml);

	ret = gm_write(gm, ACPI_TABLES_ADDR, stage, avail);
	free(stage);
	if (ret)
		return vmm_errf(err, ret, "ACPI: cannot write the tables to guest RAM at 0x%llx",
				ACPI_TABLES_ADDR);
	*rsdp_gpa = ACPI_TABLES_ADDR;
	return 0;
}
