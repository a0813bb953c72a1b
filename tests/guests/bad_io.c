/* SPDX-License-Identifier: MIT */
/*
 * bad_io: pokes I/O ports and MMIO addresses where no device lives; every
 * read must come back all-ones and the VMM must keep running.  Also reads
 * the RTC and writes boot markers 0x01 (start) and 0x02 (end).
 */
#include "tests/guests/lib/guest.h"

const char guest_name[] = "bad_io";

#define CMOS_SECONDS  0x00
#define CMOS_MINUTES  0x02
#define CMOS_STATUS_B 0x0b
#define CMOS_B_BINARY (1u << 2) /* DM: data mode binary, else BCD */

#define BOOT_MARKER_START 0x01
#define BOOT_MARKER_END	  0x02

/* No device on these: COM4, the second PCMCIA controller, a made-up one. */
static const uint16_t unknown_ports[] = {0x2e8, 0x3e0, 0x1234};

/*
 * In the MMIO hole, away from every device in boot/layout.h: its first
 * page, the page after the last possible virtio-mmio slot, and the page
 * below the IOAPIC.
 */
static const uint64_t unknown_mmio[] = {
    MMIO_HOLE_START,
    VIRTIO_MMIO_BASE + VIRTIO_MMIO_MAX *VIRTIO_MMIO_SIZE,
    IOAPIC_ADDR - VIRTIO_MMIO_SIZE,
};

static bool in_ram(const struct boot_info *bi, uint64_t addr)
{
	for (unsigned int i = 0; i < bi->nr_memmap; i++) {
		const struct boot_memmap_entry *e = &bi->memmap[i];

		if (e->type == E820_TYPE_RAM && addr >= e->addr && addr - e->addr < e->size)
			return true;
	}
	return false;
}

static void check_port(uint16_t port)
{
	uint8_t b;
	uint16_t w;
	uint32_t l;

	outb(0x5a, port);
	outw(0xa55a, port);
	outl(0xdeadbeef, port);
	b = inb(port);
	w = inw(port);
	l = inl(port);
	report(b == 0xff && w == 0xffff && l == 0xffffffff,
	       "port 0x%x reads all-ones (0x%x 0x%x 0x%x)", port, b, w, l);
}

static void check_mmio(const struct boot_info *bi, uint64_t addr)
{
	uint8_t b;
	uint16_t w;
	uint32_t l;
	uint64_t q;

	if (!report(!in_ram(bi, addr), "0x%lx is not RAM in the memory map", addr))
		return;
	mmio_write8(addr, 0x5a);
	mmio_write16(addr, 0xa55a);
	mmio_write32(addr, 0xdeadbeef);
	mmio_write64(addr, 0x0123456789abcdefull);
	b = mmio_read8(addr);
	w = mmio_read16(addr + 2);
	l = mmio_read32(addr + 4);
	q = mmio_read64(addr + 8);
	report(b == 0xff && w == 0xffff && l == 0xffffffff && q == ~0ull,
	       "MMIO 0x%lx reads all-ones (0x%x 0x%x 0x%x 0x%lx)", addr, b, w, l, q);
}

static bool bcd_below(uint8_t v, unsigned int limit)
{
	return (v & 0xf) <= 9 && (v >> 4) <= 9 && (unsigned int)((v >> 4) * 10 + (v & 0xf)) < limit;
}

int guest_main(const struct boot_info *bi)
{
	uint8_t status_b, seconds, minutes;
	bool binary;

	outb(BOOT_MARKER_START, BOOT_MARKER_PORT);
	for (unsigned int i = 0; i < sizeof(unknown_ports) / sizeof(unknown_ports[0]); i++)
		check_port(unknown_ports[i]);
	for (unsigned int i = 0; i < sizeof(unknown_mmio) / sizeof(unknown_mmio[0]); i++)
		check_mmio(bi, unknown_mmio[i]);

	status_b = cmos_read(CMOS_STATUS_B);
	seconds = cmos_read(CMOS_SECONDS);
	minutes = cmos_read(CMOS_MINUTES);
	binary = status_b != 0xff && (status_b & CMOS_B_BINARY);
	report(binary ? seconds < 60 : bcd_below(seconds, 60),
	       "RTC seconds 0x%x plausible (%s, status B 0x%x)", seconds, binary ? "binary" : "BCD",
	       status_b);
	report(binary ? minutes < 60 : bcd_below(minutes, 60), "RTC minutes 0x%x plausible",
	       minutes);

	report(true, "still running after the unknown accesses");
	outb(BOOT_MARKER_END, BOOT_MARKER_PORT);
	report_done();
}
