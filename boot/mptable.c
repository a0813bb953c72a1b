/* SPDX-License-Identifier: MIT */
/*
 * Intel MP tables; see mptable.h.  Offsets and values are from the
 * MultiProcessor Specification 1.4 (May 1997), chapter 4: the floating
 * pointer (4.1, table 4-1) and the configuration table header (4.2, table
 * 4-2) with its entries in the order the spec requires (4.3: processors,
 * buses, I/O APICs, I/O interrupts, local interrupts).  Staged in host
 * memory, checksummed, then copied into guest memory with one gm_write().
 */
#include "boot/mptable.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot/layout.h"
#include "boot/table_bytes.h"

/*
 * The header's 12-byte product ID, as an array of that size: passing a
 * shorter literal with n = 12 makes GCC's ASan build (-O1) report an
 * over-read that strnlen's NUL check in fact prevents.
 */
static const char mp_product_id[12] = "MINIVMM";

#define MP_SPEC_REV_1_4 4

/* Floating pointer (table 4-1). */
#define FPS_PHYSPTR  4
#define FPS_LENGTH   8 /* in 16-byte paragraphs */
#define FPS_SPEC_REV 9
#define FPS_CHECKSUM 10
#define FPS_FEATURE1 11 /* 0: a configuration table exists (no default config) */
#define FPS_FEATURE2 12 /* bit 7 IMCRP clear: virtual wire mode, no IMCR */

/* Configuration table header (table 4-2). */
#define HDR_LENGTH	  4
#define HDR_SPEC_REV	  6
#define HDR_CHECKSUM	  7
#define HDR_OEM_ID	  8  /* 8 characters */
#define HDR_PRODUCT_ID	  16 /* 12 characters */
#define HDR_ENTRY_COUNT	  34
#define HDR_LAPIC_ADDRESS 36
#define HDR_EXT_LENGTH	  40
#define HDR_EXT_CHECKSUM  42

/* Processor entry (table 4-4). */
#define CPU_FLAG_EN 0x01
#define CPU_FLAG_BP 0x02
/*
 * The local APIC version KVM's LAPIC reports (its version register's low
 * byte): >= 0x10 is an integrated APIC, which Linux requires.
 */
#define LAPIC_VERSION 0x14
/* Family 6, and CPUID.1:EDX FPU | APIC: informational, Linux reads CPUID itself. */
#define CPU_SIGNATURE 0x600
#define CPU_FEATURES  ((1u << 0) | (1u << 9))

/* I/O APIC entry (table 4-6): KVM's in-kernel IOAPIC has version 0x11. */
#define IOAPIC_VERSION 0x11
#define IOAPIC_FLAG_EN 0x01

/* Interrupt entry flags (tables 4-7, 4-9): PO bits 1:0, EL bits 3:2. */
#define INT_POLARITY_HIGH 0x1
#define INT_TRIGGER_EDGE  (0x1 << 2)
#define INT_CONFORMS	  0x0

#define LAPIC_ALL	0xff
#define ISA_IRQS	16
#define ISA_IRQ_CASCADE 2

/* Pins that get an I/O interrupt entry beyond the ISA ones: one bit per pin. */
static uint32_t extra_pins(const struct mptable_config *cfg)
{
	uint32_t pins = 0;

	for (unsigned i = 0; i < cfg->ngsis; i++)
		if (cfg->gsis[i] >= ISA_IRQS && cfg->gsis[i] < IOAPIC_PINS)
			pins |= 1u << cfg->gsis[i];
	return pins;
}

static unsigned count_ioints(const struct mptable_config *cfg)
{
	/* ISA IRQs 0-15 but the cascade (IRQ 2 is never an input), plus the extras. */
	return ISA_IRQS - 1 + (unsigned)__builtin_popcount(extra_pins(cfg));
}

size_t mptable_size(const struct mptable_config *cfg)
{
	return MPTABLE_FPS_LEN + MPTABLE_HEADER_LEN + (size_t)cfg->ncpus * MPTABLE_PROCESSOR_LEN +
	       (1 /* bus */ + 1 /* I/O APIC */ + count_ioints(cfg) + 2 /* LINT0, LINT1 */) *
		   MPTABLE_SMALL_ENTRY_LEN;
}

static uint8_t *put_ioint(uint8_t *e, uint8_t type, uint16_t flags, uint8_t src_irq, uint8_t pin)
{
	e[0] = MPTABLE_ENTRY_IOINT;
	e[1] = type;
	put16(e + 2, flags);
	e[4] = MPTABLE_ISA_BUS_ID;
	e[5] = src_irq;
	e[6] = IOAPIC_ID;
	e[7] = pin;
	return e + MPTABLE_SMALL_ENTRY_LEN;
}

static uint8_t *put_localint(uint8_t *e, uint8_t type, uint8_t dest_apic, uint8_t lint)
{
	e[0] = MPTABLE_ENTRY_LOCALINT;
	e[1] = type;
	put16(e + 2, INT_CONFORMS);
	e[4] = MPTABLE_ISA_BUS_ID;
	e[5] = 0;
	e[6] = dest_apic;
	e[7] = lint;
	return e + MPTABLE_SMALL_ENTRY_LEN;
}

/* Fills the configuration table at t (len bytes); returns the entry count. */
static unsigned write_entries(uint8_t *t, const struct mptable_config *cfg)
{
	const uint16_t edge_high = INT_POLARITY_HIGH | INT_TRIGGER_EDGE;
	uint8_t *e = t + MPTABLE_HEADER_LEN;
	uint32_t pins = extra_pins(cfg);
	unsigned n = 0;

	for (uint32_t cpu = 0; cpu < cfg->ncpus; cpu++, n++) {
		e[0] = MPTABLE_ENTRY_PROCESSOR;
		e[1] = (uint8_t)cpu; /* APIC ID: KVM gives vCPU i APIC ID i, as the MADT says */
		e[2] = LAPIC_VERSION;
		e[3] = CPU_FLAG_EN | (cpu == 0 ? CPU_FLAG_BP : 0);
		put32(e + 4, CPU_SIGNATURE);
		put32(e + 8, CPU_FEATURES);
		/* bytes 12-19 reserved, zero */
		e += MPTABLE_PROCESSOR_LEN;
	}

	e[0] = MPTABLE_ENTRY_BUS;
	e[1] = MPTABLE_ISA_BUS_ID;
	memcpy(e + 2, "ISA   ", 6); /* table 4-5's bus type string, space-padded */
	e += MPTABLE_SMALL_ENTRY_LEN;
	n++;

	e[0] = MPTABLE_ENTRY_IOAPIC;
	e[1] = IOAPIC_ID; /* the MADT's */
	e[2] = IOAPIC_VERSION;
	e[3] = IOAPIC_FLAG_EN;
	put32(e + 4, (uint32_t)IOAPIC_ADDR);
	e += MPTABLE_SMALL_ENTRY_LEN;
	n++;

	/*
	 * ISA IRQ i -> pin i, edge/high, but IRQ 2 (the 8259 cascade, never an
	 * input).  IRQ 0 stays on pin 0, where KVM's default GSI routing
	 * delivers the in-kernel PIT, and not on pin 2 as the MADT's override
	 * has it: a guest whose local APIC timer fails Linux's verification
	 * (seen with Debian's generic kernel in the SVM test host) falls back to
	 * the PIT, and with IRQ 0 on pin 2 its jiffies never advanced (boot hung
	 * in the i8042 probe's first timed wait).  Firecracker's table does the
	 * same.
	 */
	for (unsigned irq = 0; irq < ISA_IRQS; irq++) {
		if (irq == ISA_IRQ_CASCADE)
			continue;
		e = put_ioint(e, MPTABLE_INT_INT, edge_high, (uint8_t)irq, (uint8_t)irq);
		n++;
	}
	/*
	 * GSIs 16 and up (virtio-mmio slots past the eleventh): named as
	 * "ISA" IRQ = pin, edge/high like the DSDT's Interrupt() for them.  Linux
	 * (mp_map_pin_to_irq) makes IRQ number = GSI for a non-legacy source
	 * IRQ on a non-PCI bus, which is the number virtio_mmio.device= gives.
	 */
	for (unsigned pin = ISA_IRQS; pin < IOAPIC_PINS; pin++) {
		if (!(pins & (1u << pin)))
			continue;
		e = put_ioint(e, MPTABLE_INT_INT, edge_high, (uint8_t)pin, (uint8_t)pin);
		n++;
	}

	/*
	 * Virtual wire mode (MP spec 3.6.2.2): the 8259's output is ExtINT on
	 * the boot CPU's LINT0 (KVM delivers the PIC to vCPU 0's LAPIC only),
	 * NMI on every CPU's LINT1.
	 */
	e = put_localint(e, MPTABLE_INT_EXTINT, 0, 0);
	e = put_localint(e, MPTABLE_INT_NMI, LAPIC_ALL, 1);
	n += 2;
	return n;
}

int mptable_build(struct guest_mem *gm, const struct mptable_config *cfg, struct vmm_err *err)
{
	size_t size, table_len;
	uint8_t *stage, *fps, *t;
	unsigned count;
	int ret;

	if (cfg->ncpus < 1 || cfg->ncpus > MPTABLE_MAX_CPUS)
		return vmm_errf(err, -EINVAL, "MP table: %u vCPUs requested, it supports 1-%d",
				cfg->ncpus, MPTABLE_MAX_CPUS);
	if (cfg->ngsis && !cfg->gsis)
		return vmm_errf(err, -EINVAL, "MP table: %u GSIs but no GSI list", cfg->ngsis);
	for (unsigned i = 0; i < cfg->ngsis; i++)
		if (cfg->gsis[i] >= IOAPIC_PINS)
			return vmm_errf(err, -EINVAL,
					"MP table: GSI %u is not an IOAPIC pin (0-%u)",
					cfg->gsis[i], IOAPIC_PINS - 1);

	size = mptable_size(cfg);
	if (size > MPTABLE_END - MPTABLE_ADDR)
		return vmm_errf(err, -ENOSPC, "MP table: %zu bytes do not fit in [0x%llx, 0x%llx)",
				size, MPTABLE_ADDR, MPTABLE_END);
	if (!gm_ptr(gm, MPTABLE_ADDR, size))
		return vmm_errf(
		    err, -ENOSPC,
		    "MP table: no guest RAM for %zu bytes at 0x%llx (is the guest smaller "
		    "than 1 MiB?)",
		    size, MPTABLE_ADDR);

	stage = calloc(1, size);
	if (!stage)
		return vmm_errf(err, -ENOMEM, "MP table: out of memory staging %zu bytes", size);
	fps = stage;
	t = stage + MPTABLE_FPS_LEN;
	table_len = size - MPTABLE_FPS_LEN;

	memcpy(t, "PCMP", 4);
	put16(t + HDR_LENGTH, (uint16_t)table_len);
	t[HDR_SPEC_REV] = MP_SPEC_REV_1_4;
	put_padded(t + HDR_OEM_ID, ACPI_OEM_TABLE_ID, 8);
	put_padded(t + HDR_PRODUCT_ID, mp_product_id, sizeof(mp_product_id));
	/* No OEM table, no extended entries: their pointer, sizes and checksum stay 0. */
	count = write_entries(t, cfg);
	put16(t + HDR_ENTRY_COUNT, (uint16_t)count);
	put32(t + HDR_LAPIC_ADDRESS, (uint32_t)LAPIC_ADDR);
	put16(t + HDR_EXT_LENGTH, 0);
	t[HDR_EXT_CHECKSUM] = 0;
	t[HDR_CHECKSUM] = (uint8_t)-table_sum8(t, table_len);

	memcpy(fps, "_MP_", 4);
	put32(fps + FPS_PHYSPTR, (uint32_t)(MPTABLE_ADDR + MPTABLE_FPS_LEN));
	fps[FPS_LENGTH] = 1;
	fps[FPS_SPEC_REV] = MP_SPEC_REV_1_4;
	fps[FPS_FEATURE1] = 0;
	fps[FPS_FEATURE2] = 0;
	fps[FPS_CHECKSUM] = (uint8_t)-table_sum8(fps, MPTABLE_FPS_LEN);

	ret = gm_write(gm, MPTABLE_ADDR, stage, size);
	free(stage);
	if (ret)
		return vmm_errf(err, ret, "MP table: cannot write guest RAM at 0x%llx",
				MPTABLE_ADDR);
	return 0;
}
