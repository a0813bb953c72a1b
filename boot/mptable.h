/* SPDX-License-Identifier: MIT */
/*
 * The Intel MultiProcessor Specification 1.4 tables for one VM: the MP
 * Floating Pointer Structure and the MP Configuration Table, written into
 * guest memory at [MPTABLE_ADDR, MPTABLE_END) (boot/layout.h).
 *
 * Why, beside ACPI: a guest booted with acpi=off (Kata Containers boots its
 * guests that way) never reads the MADT, so without an MP table Linux sees
 * one CPU and no IOAPIC routing.  With ACPI on, Linux takes the MADT and
 * only reserves this table's memory; it is written either way, describing
 * the same machine: the MADT's APIC IDs and IOAPIC.  ISA IRQ 0 is on pin 0,
 * where KVM delivers the PIT (the MADT's override says pin 2; see
 * mptable.c).
 */
#ifndef MINIVMM_MPTABLE_H
#define MINIVMM_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/log.h"
#include "vmm/memory.h"

/* xAPIC IDs are one byte and 0xff means "all" in local interrupt entries. */
#define MPTABLE_MAX_CPUS 255

/* Entry sizes (MP spec 1.4, 4.3). */
#define MPTABLE_FPS_LEN		16
#define MPTABLE_HEADER_LEN	44
#define MPTABLE_PROCESSOR_LEN	20
#define MPTABLE_SMALL_ENTRY_LEN 8 /* bus, I/O APIC, I/O and local interrupt entries */

/* Entry types (MP spec 1.4, table 4-3). */
#define MPTABLE_ENTRY_PROCESSOR 0
#define MPTABLE_ENTRY_BUS	1
#define MPTABLE_ENTRY_IOAPIC	2
#define MPTABLE_ENTRY_IOINT	3
#define MPTABLE_ENTRY_LOCALINT	4

/* Interrupt types of I/O and local interrupt entries (table 4-8). */
#define MPTABLE_INT_INT	   0
#define MPTABLE_INT_NMI	   1
#define MPTABLE_INT_EXTINT 3

/* The one bus: ISA, ID 0. */
#define MPTABLE_ISA_BUS_ID 0

struct mptable_config {
	uint32_t ncpus; /* 1..MPTABLE_MAX_CPUS; vCPU i has APIC ID i, as in the MADT */
	/*
	 * The GSIs devices use beyond the ISA IRQs (the virtio-mmio slots):
	 * each one at 16 or above gets its own I/O interrupt entry, because
	 * with acpi=off Linux creates an IRQ for an IOAPIC pin only when an
	 * entry names it (setup_IO_APIC_irqs()).  Those below 16 are covered by
	 * the ISA entries already.  Every GSI must be < IOAPIC_PINS.
	 */
	const uint32_t *gsis;
	unsigned ngsis;
};

/* Bytes the floating pointer and configuration table take for cfg. */
size_t mptable_size(const struct mptable_config *cfg);

/*
 * Writes the floating pointer at MPTABLE_ADDR and the configuration table
 * right after it, both checksummed, through gm_write().  Returns 0, -EINVAL
 * for a bad config, -ENOSPC if the tables pass MPTABLE_END or the guest RAM
 * there; err says which.
 */
int mptable_build(struct guest_mem *gm, const struct mptable_config *cfg, struct vmm_err *err);

#endif
