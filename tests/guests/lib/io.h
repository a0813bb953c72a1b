/* SPDX-License-Identifier: MIT */
/* Port I/O and MMIO accessors for the test guests (freestanding). */
#ifndef GUEST_IO_H
#define GUEST_IO_H

#include <stdint.h>

#include "boot/layout.h"

static inline void outb(uint8_t value, uint16_t port)
{
	asm volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline void outw(uint16_t value, uint16_t port)
{
	asm volatile("outw %0, %1" : : "a"(value), "Nd"(port));
}

static inline void outl(uint32_t value, uint16_t port)
{
	asm volatile("outl %0, %1" : : "a"(value), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t value;

	asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
	return value;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t value;

	asm volatile("inw %1, %0" : "=a"(value) : "Nd"(port));
	return value;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t value;

	asm volatile("inl %1, %0" : "=a"(value) : "Nd"(port));
	return value;
}

/*
 * MMIO through volatile pointers: one access of exactly the given width, so
 * the VMM sees the length the test means (KVM reports 1, 2, 4 or 8 bytes).
 */
static inline uint8_t mmio_read8(uint64_t addr)
{
	return *(volatile uint8_t *)addr;
}

static inline uint16_t mmio_read16(uint64_t addr)
{
	return *(volatile uint16_t *)addr;
}

static inline uint32_t mmio_read32(uint64_t addr)
{
	return *(volatile uint32_t *)addr;
}

static inline uint64_t mmio_read64(uint64_t addr)
{
	return *(volatile uint64_t *)addr;
}

static inline void mmio_write8(uint64_t addr, uint8_t value)
{
	*(volatile uint8_t *)addr = value;
}

static inline void mmio_write16(uint64_t addr, uint16_t value)
{
	*(volatile uint16_t *)addr = value;
}

static inline void mmio_write32(uint64_t addr, uint32_t value)
{
	*(volatile uint32_t *)addr = value;
}

static inline void mmio_write64(uint64_t addr, uint64_t value)
{
	*(volatile uint64_t *)addr = value;
}

static inline void cpu_relax(void)
{
	asm volatile("pause" ::: "memory");
}

/* Stops this CPU for good: interrupts off, so hlt never returns. */
static inline __attribute__((noreturn)) void halt_forever(void)
{
	for (;;)
		asm volatile("cli; hlt" ::: "memory");
}

/* A bounded delay: each POST_PORT write is an exit to the VMM. */
static inline void io_delay(unsigned int count)
{
	while (count--)
		outb(0, POST_PORT);
}

/* RTC/CMOS register `reg` (NMI stays enabled: bit 7 of the index clear). */
static inline uint8_t cmos_read(uint8_t reg)
{
	outb(reg & 0x7f, CMOS_INDEX_PORT);
	return inb(CMOS_DATA_PORT);
}

#endif
