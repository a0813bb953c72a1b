/* SPDX-License-Identifier: MIT */
/*
 * x86 Linux boot loaders: bzImage (Documentation/x86/boot.rst, 64-bit boot
 * protocol) and ELF vmlinux (64-bit entry with a zero page, or the PVH entry
 * with a struct hvm_start_info).  Pure logic on top of struct guest_mem: no
 * KVM ioctls, so every path is unit-tested against malloc'd guest memory.
 *
 * Everything a kernel image says (offsets, sizes, counts, addresses) is
 * treated as hostile: it is checked against the file length and guest RAM,
 * with overflow checks, before it is used.
 */
#ifndef MINIVMM_BOOT_H
#define MINIVMM_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>

#include "boot/layout.h"
#include "vmm/log.h"
#include "vmm/memory.h"
#include "vmm/config.h"

enum boot_entry_mode {
	BOOT_ENTRY_LINUX64, /* 64-bit boot protocol: long mode, RSI = zero page */
	BOOT_ENTRY_PVH32,   /* PVH: 32-bit protected mode, paging off, EBX = hvm_start_info */
};

struct boot_entry {
	enum boot_entry_mode mode;
	uint64_t entry;			   /* guest-physical RIP */
	uint64_t boot_info;		   /* zero page (LINUX64) or hvm_start_info (PVH32) */
	uint64_t kernel_start, kernel_end; /* what the image occupies, for logs and tests */
	uint64_t initrd_start, initrd_size;
	/*
	 * What was booted, for the log: "bzImage", "ELF vmlinux (64-bit entry)",
	 * "ELF (PVH entry)", or "bzImage (lz4 payload decompressed on the host in
	 * 60.3 ms)".  May point into format_buf.
	 */
	const char *format;
	/*
	 * NULL, or one log-worthy line (log it as a warning) when the loader fell
	 * back: decompress=auto could not decompress the payload on the host, so
	 * the kernel's own decompressor (minutes under an emulated CPL0) runs.
	 * Points into note_buf.
	 */
	const char *note;
	/*
	 * Storage for the two strings above: they point into the struct that
	 * boot_load_kernel() filled, so keep using that one (a copy's pointers
	 * still lead to the original's buffers).
	 */
	char format_buf[128];
	char note_buf[512];
};

struct boot_request {
	const uint8_t *kernel;
	size_t kernel_len;
	const char *kernel_path; /* for messages only; may be NULL */
	const uint8_t *initrd;	 /* NULL or initrd_len == 0: no initrd */
	size_t initrd_len;
	const char *initrd_path; /* for messages only; may be NULL */
	const char *cmdline;	 /* may be NULL = "" */
	uint64_t acpi_rsdp_addr; /* 0 = none */
	bool prefer_pvh;	 /* ELF with a PVH note: use the PVH entry */
	/*
	 * bzImage only: who decompresses the payload (vmm/minivmm.h).  AUTO (0,
	 * the default): the host when it can, else the kernel with a note in
	 * boot_entry; HOST: the host or an error; GUEST: the kernel's own
	 * decompressor (entry at load address + 0x200).
	 */
	enum mvm_kernel_decompress decompress;
};

#define BOOT_FORMAT_BZIMAGE "bzImage"
#define BOOT_FORMAT_ELF64   "ELF vmlinux (64-bit entry)"
#define BOOT_FORMAT_ELF_PVH "ELF (PVH entry)"

/*
 * bzImage and decompress != GUEST: the payload (protocol 2.08+
 * payload_offset/payload_length) is decompressed on the host
 * (boot/decompress.h) and the resulting ELF vmlinux is loaded at its
 * p_paddr (LOAD_PHYSICAL_ADDR: no relocation needed, and no KASLR) and
 * entered at e_entry (startup_64) in long mode with a zero page whose setup
 * header is the bzImage's own, as the kernel's decompressor would have
 * passed it (real version, init_size, kernel_alignment, cmdline_size...).
 * A PVH note in that vmlinux is ignored on purpose: the bzImage header tells
 * the kernel more than an hvm_start_info can.
 *
 * Detects the format (ELF magic -> ELF; "HdrS" at 0x202 -> bzImage; else
 * "KERNEL: not a Linux kernel image (no ELF header, no bzImage 'HdrS'
 * signature)"), loads kernel + initrd + cmdline + boot_params/hvm_start_info
 * + e820 into gm and fills *out.  Returns 0 or -EINVAL / -ENOMEM / -E2BIG
 * with err filled.
 */
int boot_load_kernel(struct guest_mem *gm, const struct boot_request *req, struct boot_entry *out,
		     struct vmm_err *err);

/*
 * The e820 map minivmm gives every guest, derived from gm's regions:
 * [0, EBDA_START) RAM, [EBDA_START, 1 MiB) reserved (ACPI tables live there),
 * [1 MiB, end of low region) RAM, [4 GiB, ...) RAM.  Entries are sorted by
 * address.  Returns the number of entries (<= max).
 */
unsigned boot_build_e820(const struct guest_mem *gm, struct boot_e820_entry *entries, unsigned max);

/*
 * PVH start info, as laid out by Xen's public header
 * xen/include/public/arch-x86/hvm/start_info.h (Linux carries a copy in
 * include/xen/interface/hvm/start_info.h).  Not part of the kernel's UAPI,
 * so it is restated here; the layout is an ABI (offsets in the comments).
 */
#define HVM_START_MAGIC_VALUE 0x336ec578u
#define HVM_START_VERSION     1u

struct hvm_start_info {
	uint32_t magic;		 /* 0: HVM_START_MAGIC_VALUE */
	uint32_t version;	 /* 4: 1 = has memmap_paddr/memmap_entries */
	uint32_t flags;		 /* 8: SIF_xxx */
	uint32_t nr_modules;	 /* 12 */
	uint64_t modlist_paddr;	 /* 16: array of struct hvm_modlist_entry */
	uint64_t cmdline_paddr;	 /* 24 */
	uint64_t rsdp_paddr;	 /* 32 */
	uint64_t memmap_paddr;	 /* 40: array of struct hvm_memmap_table_entry */
	uint32_t memmap_entries; /* 48 */
	uint32_t reserved;	 /* 52: must be zero */
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
	uint32_t type; /* same values as e820 (ACPI address range types) */
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info is a 56-byte ABI");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry is a 32-byte ABI");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap entry is 24 bytes");

/* Xen ELF note carrying the 32-bit PVH entry point (xen/include/public/elfnote.h). */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

/*
 * Linux x86's COMMAND_LINE_SIZE (arch/x86/include/asm/setup.h): the kernel
 * silently truncates longer command lines.  An ELF carries no cmdline_size
 * field, so the ELF paths use this limit (bzImages say their own).
 */
#define LINUX_X86_COMMAND_LINE_SIZE 2048u

/* Where the hvm_start_info block puts its arrays (all inside the PVH_START_ADDR page). */
#define PVH_MODLIST_ADDR (PVH_START_ADDR + 64)
#define PVH_MEMMAP_ADDR	 (PVH_MODLIST_ADDR + sizeof(struct hvm_modlist_entry))
#define PVH_MEMMAP_MAX	 16

/* ---- Shared by the loaders (boot/linux_x86.c, boot/elf_loader.c) -------- */

/* "kernel"/"initrd" when the request names no path. */
const char *boot_kernel_name(const struct boot_request *req);

/*
 * Writes the NUL-terminated command line at CMDLINE_ADDR after checking that
 * it has at most max_len characters (without the NUL); err names `limit_what`.
 */
int boot_write_cmdline(struct guest_mem *gm, const char *cmdline, uint64_t max_len,
		       const char *limit_what, struct vmm_err *err);

/*
 * Places the initrd page-aligned as high as possible with its end at or below
 * min(limit, end of the low RAM region) and its start at or above
 * kernel_end, copies it and fills out->initrd_start/initrd_size.  No initrd
 * in the request: fills zeros and returns 0.
 */
int boot_place_initrd(struct guest_mem *gm, const struct boot_request *req, uint64_t limit,
		      uint64_t kernel_end, struct boot_entry *out, struct vmm_err *err);

/* Fills bp->e820_entries/e820_table from boot_build_e820(). */
void boot_fill_zero_page_e820(const struct guest_mem *gm, struct boot_params *bp);

/* Sets out->format (truncating to its size). */
void boot_entry_set_format(struct boot_entry *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Loads an ELF image (the caller has seen the ELF magic). */
int boot_load_elf(struct guest_mem *gm, const struct boot_request *req, struct boot_entry *out,
		  struct vmm_err *err);

/* An ELF vmlinux whose PT_LOAD segments boot_elf_load_image() has copied into guest RAM. */
struct boot_elf_image {
	uint64_t entry64;   /* e_entry: startup_64's physical address for Linux */
	uint64_t pvh_entry; /* valid if has_pvh */
	bool has_pvh;
	uint64_t start, end; /* [lowest p_paddr, highest p_paddr + p_memsz) */
};

/*
 * Checks the ELF header, finds the PVH note and copies every PT_LOAD to its
 * p_paddr (bss zeroed).  Entries are not checked: see boot_elf_check_entry().
 * Returns 0 or -EINVAL / -ENOMEM with err filled.
 */
int boot_elf_load_image(struct guest_mem *gm, const uint8_t *image, size_t len, const char *name,
			struct boot_elf_image *info, struct vmm_err *err);

/* -EINVAL (err names `what`, e.g. "64-bit") unless entry lies inside the loaded segments. */
int boot_elf_check_entry(const struct boot_elf_image *info, uint64_t entry, const char *what,
			 const char *name, struct vmm_err *err);

/*
 * Looks for the Xen PHYS32_ENTRY note in the image's PT_NOTE segments.
 * Returns 1 and sets *entry if found, 0 if absent, -EINVAL (err filled) on a
 * malformed note.  The image must already have passed the ELF header checks.
 */
int boot_elf_find_pvh_entry(const uint8_t *image, size_t len, const char *name, uint64_t *entry,
			    struct vmm_err *err);

#endif
