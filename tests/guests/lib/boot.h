/* SPDX-License-Identifier: MIT */
/*
 * What the loader handed the guest, normalised over the boot paths (bzImage
 * boot_params or Xen PVH hvm_start_info): entry.S calls guest_start(), which
 * fills a struct boot_info and calls the guest's guest_main().
 */
#ifndef GUEST_BOOT_H
#define GUEST_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>

#include "tests/guests/lib/entry.h"

/*
 * Xen PVH start info (xen/include/public/arch-x86/hvm/start_info.h): a
 * hypervisor ABI with no UAPI header, so restated here.
 */
struct hvm_start_info {
	uint32_t magic; /* HVM_START_MAGIC */
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	/* version >= 1 */
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* E820 type numbers */
	uint32_t reserved;
};

#define E820_TYPE_RAM 1

/* Enough for any map minivmm builds; the zero page itself holds 128. */
#define BOOT_MEMMAP_MAX 128

struct boot_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

struct boot_info {
	int entry_kind;		      /* BOOT_ENTRY_* */
	const char *entry;	      /* "linux64", "linux32" or "pvh" */
	bool header_valid;	      /* "HdrS" in boot_params / PVH magic and version >= 1 */
	const char *cmdline;	      /* never NULL: "" when the loader gave none */
	uint64_t rsdp_addr;	      /* 0 when no RSDP was found */
	const char *rsdp_source;      /* "boot_params", "pvh" or "scan" */
	unsigned int nr_memmap;	      /* entries, clamped to BOOT_MEMMAP_MAX */
	unsigned int nr_memmap_given; /* what the loader claimed */
	struct boot_memmap_entry memmap[BOOT_MEMMAP_MAX];
	const struct boot_params *boot_params;	 /* NULL on PVH */
	const struct hvm_start_info *start_info; /* NULL on the bzImage paths */
};

/* Each guest defines these two. */
extern const char guest_name[];
/* The return value is the exit status (guest_exit()). */
int guest_main(const struct boot_info *bi);

/* Called by entry.S only. */
void guest_start(uint32_t kind, uint64_t info_addr);

/* Writes `status` to EXIT_PORT; halts if the VMM lets the guest go on. */
__attribute__((noreturn)) void guest_exit(uint32_t status);

/*
 * For a guest that has just asked the VMM to end the run (poweroff, reset,
 * panic): waits until the RTC second has ticked twice (1-2 s), at most
 * GRACE_POLL_LIMIT polls, so a VMM that acts a moment later is not called
 * a failure.  Returns at once on nothing; the caller reports the failure.
 */
void guest_grace_period(void);

/* Exit status after an unexpected CPU exception (README). */
#define GUEST_STATUS_EXCEPTION 90

/*
 * Command line lookup: the last `name=value` (or bare `name`, value "")
 * among the space-separated words; a value may be double-quoted.  False if
 * absent or if the value does not fit in `size` bytes with its NUL.
 */
bool cmdline_get(const struct boot_info *bi, const char *name, char *buf, size_t size);
/* Decimal or 0x-hex; false if absent or not a number. */
bool cmdline_get_u64(const struct boot_info *bi, const char *name, uint64_t *value);

/* Sum of the E820_TYPE_RAM entries, in bytes. */
uint64_t boot_ram_bytes(const struct boot_info *bi);
/* "usable", "reserved", "acpi", "nvs", "unusable", "pmem" or "other". */
const char *e820_type_name(uint32_t type);

/* What the exception stubs (entry.S) saved; rip..ss are the CPU's frame. */
struct exception_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

/*
 * Called first for every CPU exception.  Return true to resume at
 * frame->rip (the guest may change it); false reports the exception and
 * ends the run with GUEST_STATUS_EXCEPTION.  The default returns false.
 */
bool guest_exception_hook(struct exception_frame *frame);

#endif
