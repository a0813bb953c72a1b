/* SPDX-License-Identifier: MIT */
/*
 * The x86 machine minivmm builds: every fixed guest-physical address and I/O
 * port in one place.  The VMM, the ACPI tables and the test guests
 * (tests/guests/) all include this header, so they cannot disagree.
 * Pure #defines: safe to include from freestanding guest code.
 */
#ifndef MINIVMM_LAYOUT_H
#define MINIVMM_LAYOUT_H

/* ---- Guest-physical memory ---------------------------------------------- */
#define GDT_ADDR	 0x0500ull /* boot GDT: null, code32 0x08, code64 0x10, data 0x18, TSS 0x20 */
#define PML4_ADDR	 0x1000ull /* identity page tables for the 64-bit entry */
#define PDPT_ADDR	 0x2000ull
#define PD_ADDR		 0x3000ull /* 4 pages: 4 GiB of 2 MiB identity mappings */
#define ZERO_PAGE_ADDR	 0x7000ull /* struct boot_params */
#define BOOT_STACK_TOP	 0x8ff0ull /* stack page 0x8000-0x8fff */
#define PVH_START_ADDR	 0x9000ull /* struct hvm_start_info + modlist + memmap (PVH entry) */
#define CMDLINE_ADDR	 0x20000ull
#define CMDLINE_MAX	 0x10000ull /* bytes, including the NUL */
#define EBDA_START	 0x9fc00ull /* e820: [EBDA_START, 1 MiB) is reserved */
#define ACPI_TABLES_ADDR 0xe0000ull /* RSDP first (legacy scan area), then tables */
#define ACPI_TABLES_END	 0x100000ull
/*
 * Intel MP table (boot/mptable.c): the floating pointer at the start of the
 * EBDA, where Linux's smp_scan_config() looks (the top KiB of base memory,
 * 639 KiB), then the configuration table; with many vCPUs it runs past
 * 0xa0000 into the legacy VGA window, which is RAM here and reserved in e820.
 */
#define MPTABLE_ADDR EBDA_START
#define MPTABLE_END  ACPI_TABLES_ADDR
/*
 * The real-mode reset vector f000:fff0.  We have no firmware, but Linux's
 * last-resort reboot (machine_real_restart, taken when a hardware-reduced
 * FADT makes it try EFI first) jumps here; a tiny stub (boot/x86_entry.c)
 * pulses the i8042 reset line so that reboot ends the run instead of hanging.
 */
#define RESET_VECTOR_ADDR 0xffff0ull
#define KERNEL_LOAD_ADDR  0x100000ull /* default for non-relocatable bzImages */
#define HIMEM_START	  0x100000ull

/* RAM: [0, min(mem, LOW_RAM_END)) and the rest from HIGH_RAM_START up. */
#define LOW_RAM_END	0xc0000000ull /* 3 GiB */
#define MMIO_HOLE_START 0xc0000000ull
#define HIGH_RAM_START	0x100000000ull /* 4 GiB */

/* ---- MMIO ---------------------------------------------------------------- */
#define VIRTIO_MMIO_BASE      0xd0000000ull /* device i at BASE + i * SIZE */
#define VIRTIO_MMIO_SIZE      0x1000ull
#define VIRTIO_MMIO_GSI0      5 /* device i uses GSI 5 + i */
#define VIRTIO_MMIO_MAX	      16
#define IOAPIC_ADDR	      0xfec00000ull
#define LAPIC_ADDR	      0xfee00000ull
#define KVM_TSS_ADDR	      0xfffbd000ull /* 3 pages, below the identity map page */
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ull

/* ---- Interrupts ------------------------------------------------------------ */
#define IOAPIC_ID	0
#define IOAPIC_GSI_BASE 0
#define IOAPIC_PINS	24
#define COM1_IRQ	4
#define I8042_KBD_IRQ	1 /* the keyboard's ISA IRQ (Ctrl-Alt-Del) */

/* ---- I/O ports ------------------------------------------------------------- */
#define COM1_PORT	0x3f8 /* 16550A, 8 registers */
#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT	0x64 /* write 0xfe: pulse reset line -> "reboot" */
#define CMOS_INDEX_PORT 0x70
#define CMOS_DATA_PORT	0x71
#define POST_PORT	0x80 /* io_delay / POST codes: ignored */

/*
 * minivmm's debug ports (README "Guest ports"), one 4-byte range at 0xf4:
 *  EXIT_PORT (0xf4): an 8-, 16- or 32-bit write of N ends the run with exit
 *    status N (0..99); larger values are clamped to 99.  Same idea as QEMU's
 *    isa-debug-exit but the status is passed through unchanged (no
 *    (N << 1) | 1).
 *  BOOT_MARKER_PORT (0xf5): a byte write logs "boot marker 0xNN" with the
 *    time since minivmm started (like Firecracker's boot timer device).
 */
#define DEBUG_PORT_BASE	      0xf4
#define DEBUG_PORT_LEN	      4
#define EXIT_PORT	      0xf4
#define BOOT_MARKER_PORT      0xf5
#define GUEST_EXIT_STATUS_MAX 99

/* QEMU-compatible pvpanic ISA port (ACPI _HID "QEMU0001"). */
#define PVPANIC_PORT 0x505

/*
 * Hardware-reduced ACPI registers (FADT sleep control / status and reset).
 * Writing SLP_EN | SLP_TYP(5) to the control register is ACPI S5 (poweroff);
 * writing ACPI_RESET_VALUE to the reset register resets ("reboot").
 */
#define ACPI_SLEEP_CONTROL_PORT 0x600
#define ACPI_SLEEP_STATUS_PORT	0x601
#define ACPI_RESET_PORT		0x602
#define ACPI_RESET_VALUE	0x0f
#define ACPI_S5_SLP_TYP		5
#define ACPI_SLP_EN		(1u << 5)
#define ACPI_SLP_TYP_SHIFT	2
#define ACPI_SLP_TYP_MASK	(7u << 2)

/* OEM identity written into every ACPI table (Linux prints it at boot). */
#define ACPI_OEM_ID	  "MINVMM"   /* 6 characters */
#define ACPI_OEM_TABLE_ID "MINIVMM " /* 8 characters */

#endif
