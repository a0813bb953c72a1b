/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables for one VM: RSDP, XSDT, a hardware-reduced FADT, MADT and a
 * DSDT (AML from boot/aml.h), written into guest memory at
 * [ACPI_TABLES_ADDR, ACPI_TABLES_END) (boot/layout.h).
 *
 * What Linux gets from them: the CPU count and the IOAPIC (MADT: "smpboot:
 * Allowing N CPUs"), poweroff through the sleep control register and reboot
 * through the reset register (FADT), and the COM1, pvpanic and virtio-mmio
 * devices (DSDT) that a stock distro kernel can only find through ACPI,
 * and the power button (DSDT: Generic Event Device + PNP0C0C).
 */
#ifndef MINIVMM_ACPI_H
#define MINIVMM_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/log.h"
#include "vmm/memory.h"

/* xAPIC IDs are one byte and 0xff is the broadcast ID. */
#define ACPI_MAX_CPUS 255
/* DSDT device names are VR00..VR99. */
#define ACPI_MAX_MMIO_DEVICES 100

struct acpi_mmio_device {
	uint64_t base;
	uint64_t size;
	uint32_t gsi;
	const char *hid; /* e.g. "LNRO0005" */
};

struct acpi_config {
	uint32_t ncpus; /* 1..ACPI_MAX_CPUS */
	const struct acpi_mmio_device *mmio_devices;
	unsigned n_mmio_devices; /* may be 0 */
	bool pvpanic;		 /* QEMU0001 device at PVPANIC_PORT */
	/*
	 * The power button: a Generic Event Device (ACPI0013) whose one edge
	 * interrupt, power_button_gsi, makes its _EVT Notify a PNP0C0C power
	 * button device with 0x80 (a hardware-reduced machine has no fixed
	 * power button).  An edge on that GSI is a press.
	 */
	bool power_button;
	uint32_t power_button_gsi;
};

/*
 * Writes RSDP (revision 2, at ACPI_TABLES_ADDR so the legacy 0xe0000 scan
 * finds it too), XSDT, FADT, MADT and DSDT into [ACPI_TABLES_ADDR,
 * ACPI_TABLES_END) of gm (the rest of the area is zeroed); every table is
 * checksummed.  *rsdp_gpa is set to
 * ACPI_TABLES_ADDR.  Returns 0, -EINVAL for a bad config, -ENOSPC if the
 * tables do not fit in the area (or the guest RAM backing it), -ENOMEM;
 * err says which.
 */
int acpi_build(struct guest_mem *gm, const struct acpi_config *cfg, uint64_t *rsdp_gpa,
	       struct vmm_err *err);

/* Sum of the bytes mod 256: 0 for a correctly checksummed table. */
uint8_t acpi_sum8(const void *data, size_t len);

#endif
