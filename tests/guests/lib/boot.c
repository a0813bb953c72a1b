/* SPDX-License-Identifier: MIT */
#include "tests/guests/lib/boot.h"

#include "boot/layout.h"
#include "tests/guests/lib/acpi.h"
#include "tests/guests/lib/io.h"
#include "tests/guests/lib/serial.h"
#include "tests/guests/lib/str.h"

#define HDRS_MAGIC   0x53726448 /* "HdrS" */
#define CMOS_SECONDS 0x00
/* Each poll is two exits to the VMM: a few µs on hardware KVM. */
#define GRACE_POLL_LIMIT 500000u

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
} __attribute__((packed));

#define IDT_GATE_INTERRUPT 0x8e /* present, DPL 0, 64-bit interrupt gate */

extern const uint64_t exception_stubs[GUEST_EXCEPTION_VECTORS];
void exception_handler(struct exception_frame *frame);

/* Guests that expect an exception define their own (strong) hook. */
__attribute__((weak)) bool guest_exception_hook(struct exception_frame *frame)
{
	(void)frame;
	return false;
}

/*
 * The one piece of mutable global state besides the report counters
 * (report.c): the IDT must live somewhere that outlives guest_start()'s
 * frame.  A guest is one program on one CPU, not a library shared by VMs.
 */
static struct idt_gate idt[GUEST_EXCEPTION_VECTORS] __attribute__((aligned(16)));

static void idt_init(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) desc = {sizeof(idt) - 1, (uintptr_t)idt};

	for (unsigned int i = 0; i < GUEST_EXCEPTION_VECTORS; i++) {
		uint64_t handler = exception_stubs[i];

		idt[i] = (struct idt_gate){
		    .offset_low = (uint16_t)handler,
		    .selector = GUEST_CODE64_SEL,
		    .type_attr = IDT_GATE_INTERRUPT,
		    .offset_mid = (uint16_t)(handler >> 16),
		    .offset_high = (uint32_t)(handler >> 32),
		};
	}
	asm volatile("lidt %0" : : "m"(desc));
}

void exception_handler(struct exception_frame *frame)
{
	uint64_t cr2;

	if (guest_exception_hook(frame))
		return;
	asm volatile("mov %%cr2, %0" : "=r"(cr2));
	printf("# minivmm-test: EXCEPTION vector=%lu error=0x%lx rip=0x%lx cr2=0x%lx\n",
	       frame->vector, frame->error_code, frame->rip, cr2);
	guest_exit(GUEST_STATUS_EXCEPTION);
}

void guest_exit(uint32_t status)
{
	outl(status, EXIT_PORT);
	halt_forever();
}

void guest_grace_period(void)
{
	uint8_t last = cmos_read(CMOS_SECONDS);
	unsigned int ticks = 0;

	for (unsigned int polls = 0; polls < GRACE_POLL_LIMIT && ticks < 2; polls++) {
		uint8_t now = cmos_read(CMOS_SECONDS);

		if (now != last) {
			ticks++;
			last = now;
		}
		cpu_relax();
	}
}

static void memmap_add(struct boot_info *bi, uint64_t addr, uint64_t size, uint32_t type)
{
	bi->nr_memmap_given++;
	if (bi->nr_memmap >= BOOT_MEMMAP_MAX)
		return;
	bi->memmap[bi->nr_memmap++] = (struct boot_memmap_entry){addr, size, type};
}

static void from_boot_params(struct boot_info *bi, const struct boot_params *bp)
{
	uint64_t cmdline = bp->hdr.cmd_line_ptr | ((uint64_t)bp->ext_cmd_line_ptr << 32);
	unsigned int n = bp->e820_entries;

	bi->boot_params = bp;
	bi->header_valid = bp->hdr.header == HDRS_MAGIC;
	if (cmdline)
		bi->cmdline = (const char *)cmdline;
	if (bp->acpi_rsdp_addr) {
		bi->rsdp_addr = bp->acpi_rsdp_addr;
		bi->rsdp_source = "boot_params";
	}
	if (n > E820_MAX_ENTRIES_ZEROPAGE)
		n = E820_MAX_ENTRIES_ZEROPAGE;
	for (unsigned int i = 0; i < n; i++)
		memmap_add(bi, bp->e820_table[i].addr, bp->e820_table[i].size,
			   bp->e820_table[i].type);
}

static void from_start_info(struct boot_info *bi, const struct hvm_start_info *si)
{
	bi->start_info = si;
	bi->header_valid = si->magic == HVM_START_MAGIC && si->version >= 1;
	if (si->magic != HVM_START_MAGIC)
		return;
	if (si->cmdline_paddr)
		bi->cmdline = (const char *)si->cmdline_paddr;
	if (si->rsdp_paddr) {
		bi->rsdp_addr = si->rsdp_paddr;
		bi->rsdp_source = "pvh";
	}
	if (si->version < 1 || !si->memmap_paddr)
		return;
	const struct hvm_memmap_table_entry *map = (const void *)si->memmap_paddr;

	for (uint32_t i = 0; i < si->memmap_entries && i < BOOT_MEMMAP_MAX; i++)
		memmap_add(bi, map[i].addr, map[i].size, map[i].type);
	bi->nr_memmap_given = si->memmap_entries;
}

void guest_start(uint32_t kind, uint64_t info_addr)
{
	struct boot_info bi = {.entry_kind = (int)kind, .cmdline = ""};

	idt_init();
	serial_init();
	switch (kind) {
	case BOOT_ENTRY_LINUX64:
	case BOOT_ENTRY_LINUX32:
		bi.entry = kind == BOOT_ENTRY_LINUX64 ? "linux64" : "linux32";
		from_boot_params(&bi, (const struct boot_params *)info_addr);
		break;
	default:
		bi.entry = "pvh";
		from_start_info(&bi, (const struct hvm_start_info *)info_addr);
		break;
	}
	if (!bi.rsdp_addr) {
		bi.rsdp_addr = acpi_find_rsdp_legacy();
		bi.rsdp_source = "scan";
	}
	printf("# minivmm-test: %s entry=%s\n", guest_name, bi.entry);
	guest_exit((uint32_t)guest_main(&bi));
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool cmdline_get(const struct boot_info *bi, const char *name, char *buf, size_t size)
{
	size_t name_len = strlen(name);
	const char *p = bi->cmdline;
	bool found = false;

	while (*p) {
		const char *word, *value;
		size_t len = 0;
		bool quoted = false;

		while (is_space(*p))
			p++;
		word = p;
		while (*p && (quoted || !is_space(*p))) {
			if (*p == '"')
				quoted = !quoted;
			p++;
		}
		if ((size_t)(p - word) < name_len || strncmp(word, name, name_len))
			continue;
		value = word + name_len;
		if (value == p) {
			value = "";
		} else if (*value == '=') {
			value++;
		} else {
			continue;
		}
		/* Copy without quotes; a later occurrence overrides (as in Linux). */
		for (const char *v = value; v < p && *v; v++) {
			if (*v == '"')
				continue;
			if (len + 1 >= size)
				return false;
			buf[len++] = *v;
		}
		if (size)
			buf[len] = '\0';
		found = true;
	}
	return found;
}

bool cmdline_get_u64(const struct boot_info *bi, const char *name, uint64_t *value)
{
	char buf[32];

	return cmdline_get(bi, name, buf, sizeof(buf)) && parse_u64(buf, value);
}

uint64_t boot_ram_bytes(const struct boot_info *bi)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < bi->nr_memmap; i++) {
		if (bi->memmap[i].type == E820_TYPE_RAM)
			total += bi->memmap[i].size;
	}
	return total;
}

const char *e820_type_name(uint32_t type)
{
	switch (type) {
	case 1:
		return "usable";
	case 2:
		return "reserved";
	case 3:
		return "acpi";
	case 4:
		return "nvs";
	case 5:
		return "unusable";
	case 7:
		return "pmem";
	default:
		return "other";
	}
}
