/* SPDX-License-Identifier: MIT */
/*
 * Format detection and the bzImage loader for the 64-bit Linux boot protocol
 * (Documentation/x86/boot.rst, "64-bit Boot Protocol"), plus the pieces the
 * ELF loader shares: command line, initrd placement, zero-page e820.
 *
 * A bzImage is a real-mode setup area ((setup_sects + 1) * 512 bytes, whose
 * setup header at 0x1f1 describes the image) followed by the protected-mode
 * kernel (syssize * 16 bytes).  We skip the real-mode code: the header goes
 * into a zero page.  Then either (the classic, "guest" path) the
 * protected-mode kernel goes to its load address and the vCPU enters at
 * load + 0x200 (the decompressor's startup_64), or (the "host" path) we do
 * what that decompressor would: decompress the payload, place the ELF
 * vmlinux at its p_paddr and enter the kernel proper's startup_64 at e_entry
 * with RSI = the same zero page.  That is what Firecracker and Cloud
 * Hypervisor do with a vmlinux; it saves minutes under an emulated CPL0.
 */
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "boot/decompress.h"
#include "boot/layout.h"

#define SETUP_HEADER_OFFSET 0x1f1 /* boot.rst: the setup header starts here */
#define SETUP_JUMP_OFFSET   0x201 /* byte: the header ends at 0x202 + this */
#define SETUP_MAGIC_OFFSET  0x202 /* "HdrS" */
#define SETUP_MAGIC	    "HdrS"
#define BOOT_FLAG_MAGIC	    0xaa55
#define SECTOR_SIZE	    512u
#define DEFAULT_SETUP_SECTS 4u	   /* boot.rst: setup_sects == 0 means 4 */
#define ENTRY64_OFFSET	    0x200  /* boot.rst: 64-bit entry = load address + 0x200 */
#define HEAP_END_PTR	    0xfe00 /* boot.rst: heap_end = 0xfe00 for a zero page-only loader */
#define LOADER_TYPE_UNKNOWN 0xff   /* boot.rst type_of_loader: "undefined" */
#define PAGE_SIZE_4K	    0x1000ull
#define MIB		    (1ull << 20)
/*
 * Room for what the payload carries behind the vmlinux ELF: the relocation
 * table (arch/x86/boot/compressed/Makefile appends vmlinux.relocs, a few
 * MiB at most), never loaded into guest RAM.
 */
#define PAYLOAD_RELOCS_SLACK (32 * MIB)

/* Protocol versions (boot.rst "Details of header fields"). */
#define PROTO_2_08 0x0208 /* payload_offset, payload_length */
#define PROTO_2_10 0x020a /* pref_address, init_size */
#define PROTO_2_12 0x020c /* xloadflags: XLF_KERNEL_64 */
#define PROTO_2_14 0x020e /* acpi_rsdp_addr in the zero page */

const char *boot_kernel_name(const struct boot_request *req)
{
	return req->kernel_path ? req->kernel_path : "kernel";
}

int boot_write_cmdline(struct guest_mem *gm, const char *cmdline, uint64_t max_len,
		       const char *limit_what, struct vmm_err *err)
{
	const char *text = cmdline ? cmdline : "";
	size_t len = strlen(text);

	if (max_len > CMDLINE_MAX - 1) {
		max_len = CMDLINE_MAX - 1;
		limit_what = "minivmm's command line buffer";
	}
	if (len > max_len)
		return vmm_errf(
		    err, -E2BIG,
		    "CMDLINE: the kernel command line has %zu characters, but %s allows "
		    "at most %llu; shorten it",
		    len, limit_what, (unsigned long long)max_len);
	if (gm_write(gm, CMDLINE_ADDR, text, len + 1) < 0)
		return vmm_errf(err, -EFAULT,
				"CMDLINE: guest RAM has no room for the command line at 0x%llx",
				(unsigned long long)CMDLINE_ADDR);
	return 0;
}

int boot_place_initrd(struct guest_mem *gm, const struct boot_request *req, uint64_t limit,
		      uint64_t kernel_end, struct boot_entry *out, struct vmm_err *err)
{
	uint64_t low_end = gm_region_end(gm, 0);
	uint64_t top = limit < low_end ? limit : low_end;
	uint64_t size = req->initrd_len;
	uint64_t floor = kernel_end > HIMEM_START ? kernel_end : HIMEM_START;
	uint64_t addr;
	void *dst;

	out->initrd_start = 0;
	out->initrd_size = 0;
	if (!req->initrd || req->initrd_len == 0)
		return 0;

	/*
	 * As high as possible: the kernel decompresses and allocates upwards from
	 * its load address, so the top of low RAM is the least contended place
	 * (and what boot.rst suggests: below initrd_addr_max).
	 */
	addr = size <= top ? (top - size) & ~(PAGE_SIZE_4K - 1) : 0;
	dst = size <= top && addr >= floor ? gm_ptr(gm, addr, size) : NULL;
	if (!dst)
		return vmm_errf(
		    err, -ENOMEM,
		    "INITRD (%llu MiB) does not fit in guest RAM below 0x%llx; give the "
		    "VM more memory (--mem)",
		    (unsigned long long)((size + MIB - 1) / MIB), (unsigned long long)top);
	memcpy(dst, req->initrd, size);
	out->initrd_start = addr;
	out->initrd_size = size;
	return 0;
}

void boot_fill_zero_page_e820(const struct guest_mem *gm, struct boot_params *bp)
{
	bp->e820_entries = (uint8_t)boot_build_e820(gm, bp->e820_table, E820_MAX_ENTRIES_ZEROPAGE);
}

/* True if `word` appears in the command line as a whole space-separated token. */
static bool cmdline_has_word(const char *cmdline, const char *word)
{
	size_t wlen = strlen(word);
	const char *p = cmdline;

	while (p && *p) {
		size_t tok;

		while (*p == ' ')
			p++;
		tok = strcspn(p, " ");
		if (tok == wlen && memcmp(p, word, wlen) == 0)
			return true;
		p += tok;
	}
	return false;
}

void boot_entry_set_format(struct boot_entry *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->format_buf, sizeof(out->format_buf), fmt, ap);
	va_end(ap);
	out->format = out->format_buf;
}

/* A bzImage whose setup header passed the checks. */
struct bzimage {
	struct boot_params bp; /* hdr: the file's setup header; the rest zero */
	uint64_t setup_size;   /* real-mode part: (setup_sects + 1) * 512 */
	uint64_t pm_size;      /* protected-mode part (syssize * 16), right after it */
	uint64_t load;	       /* where the protected-mode part goes */
};

static int parse_bzimage(const struct boot_request *req, struct bzimage *bz, struct vmm_err *err)
{
	const char *name = boot_kernel_name(req);
	const uint8_t *img = req->kernel;
	size_t len = req->kernel_len;
	struct setup_header *hdr = &bz->bp.hdr;
	uint64_t hdr_len, setup_sects, need;

	/* The caller saw "HdrS" at 0x202, so the file reaches at least 0x206. */
	memset(bz, 0, sizeof(*bz));
	hdr_len = SETUP_MAGIC_OFFSET + img[SETUP_JUMP_OFFSET] - SETUP_HEADER_OFFSET;
	if (hdr_len > sizeof(*hdr))
		hdr_len = sizeof(*hdr);
	if (SETUP_HEADER_OFFSET + hdr_len > len)
		return vmm_errf(
		    err, -EINVAL,
		    "KERNEL: truncated bzImage: header says %llu bytes, file has %zu (%s)",
		    (unsigned long long)(SETUP_HEADER_OFFSET + hdr_len), len, name);
	/* Fields past the header's own length stay zero, so a short header fails the checks below.
	 */
	memcpy(hdr, img + SETUP_HEADER_OFFSET, hdr_len);

	if (hdr->boot_flag != BOOT_FLAG_MAGIC)
		return vmm_errf(
		    err, -EINVAL,
		    "KERNEL: bzImage boot_flag is 0x%04x, not 0xAA55: the image is corrupt "
		    "(%s)",
		    hdr->boot_flag, name);
	if (hdr->version < PROTO_2_12)
		return vmm_errf(
		    err, -EINVAL,
		    "KERNEL: bzImage boot protocol %u.%02u is too old: minivmm needs 2.12+ "
		    "(Linux 3.8+) for the 64-bit entry; use a newer kernel or its ELF "
		    "vmlinux (%s)",
		    hdr->version >> 8, hdr->version & 0xff, name);
	if (!(hdr->xloadflags & XLF_KERNEL_64))
		return vmm_errf(
		    err, -EINVAL,
		    "KERNEL: bzImage has no 64-bit entry point (XLF_KERNEL_64 is not set in "
		    "xloadflags: a 32-bit kernel?); build an x86_64 kernel (%s)",
		    name);

	setup_sects = hdr->setup_sects ? hdr->setup_sects : DEFAULT_SETUP_SECTS;
	bz->setup_size = (setup_sects + 1) * SECTOR_SIZE;
	bz->pm_size = (uint64_t)hdr->syssize * 16; /* < 2^36: no overflow */
	need = bz->setup_size + bz->pm_size;
	if (need > len)
		return vmm_errf(err, -EINVAL,
				"KERNEL: truncated bzImage: header says %llu bytes, file has %zu "
				"(setup %llu + kernel %llu; %s)",
				(unsigned long long)need, len, (unsigned long long)bz->setup_size,
				(unsigned long long)bz->pm_size, name);
	if (bz->pm_size == 0)
		return vmm_errf(
		    err, -EINVAL,
		    "KERNEL: bzImage has an empty protected-mode kernel (syssize 0) (%s)", name);

	/*
	 * boot.rst: a relocatable kernel (2.10+) says where it prefers to be
	 * (pref_address); otherwise the kernel runs where code32_start says,
	 * traditionally 1 MiB.  Below 1 MiB it would overwrite the zero page,
	 * the command line and the page tables, so that is refused.
	 */
	if (hdr->relocatable_kernel && hdr->version >= PROTO_2_10)
		bz->load = hdr->pref_address;
	else
		bz->load = hdr->code32_start ? hdr->code32_start : KERNEL_LOAD_ADDR;
	if (bz->load < HIMEM_START)
		return vmm_errf(
		    err, -EINVAL,
		    "KERNEL: bzImage wants to be loaded at 0x%llx, below 1 MiB where the "
		    "boot structures live; the image is corrupt (%s)",
		    (unsigned long long)bz->load, name);
	return 0;
}

/*
 * Command line, initrd and the zero page, shared by both bzImage paths: the
 * zero page carries the file's setup header with the loader's fields filled
 * in (boot.rst "Details of header fields": what the boot loader writes).
 */
static int finish_bzimage(struct guest_mem *gm, const struct boot_request *req, struct bzimage *bz,
			  uint64_t kernel_end, struct boot_entry *out, struct vmm_err *err)
{
	struct boot_params *bp = &bz->bp;
	struct setup_header *hdr = &bp->hdr;
	int ret;

	ret = boot_write_cmdline(gm, req->cmdline, hdr->cmdline_size, "the kernel's cmdline_size",
				 err);
	if (ret < 0)
		return ret;
	ret = boot_place_initrd(gm, req, (uint64_t)hdr->initrd_addr_max + 1, kernel_end, out, err);
	if (ret < 0)
		return ret;

	hdr->type_of_loader = LOADER_TYPE_UNKNOWN;
	hdr->heap_end_ptr = HEAP_END_PTR;
	hdr->loadflags |= CAN_USE_HEAP;
	/* KEEP_SEGMENTS only means something for the 32-bit entry (and is gone since 5.8). */
	hdr->loadflags &= ~KEEP_SEGMENTS;
	/*
	 * KASLR_FLAG is the decompressor's report that it randomized the
	 * kernel; the kernel then also randomizes its memory regions.  Nothing
	 * was randomized when we place vmlinux ourselves, and on the classic
	 * path the decompressor sets it itself, so never forward the file's.
	 */
	hdr->loadflags &= ~KASLR_FLAG;
	/* QUIET_FLAG silences the decompressor's messages: each byte is expensive to emulate. */
	if (cmdline_has_word(req->cmdline, "quiet"))
		hdr->loadflags |= QUIET_FLAG;
	else
		hdr->loadflags &= ~QUIET_FLAG;
	hdr->cmd_line_ptr = (uint32_t)CMDLINE_ADDR;
	bp->ext_cmd_line_ptr = (uint32_t)(CMDLINE_ADDR >> 32);
	hdr->ramdisk_image = (uint32_t)out->initrd_start;
	hdr->ramdisk_size = (uint32_t)out->initrd_size;
	bp->ext_ramdisk_image = (uint32_t)(out->initrd_start >> 32);
	bp->ext_ramdisk_size = (uint32_t)(out->initrd_size >> 32);
	/* We pass no setup_data list; never forward whatever the file carried. */
	hdr->setup_data = 0;
	if (hdr->version >= PROTO_2_14)
		bp->acpi_rsdp_addr = req->acpi_rsdp_addr;
	boot_fill_zero_page_e820(gm, bp);
	if (gm_write(gm, ZERO_PAGE_ADDR, bp, sizeof(*bp)) < 0)
		return vmm_errf(err, -EFAULT,
				"KERNEL: guest RAM has no room for the zero page at 0x%llx",
				(unsigned long long)ZERO_PAGE_ADDR);
	out->mode = BOOT_ENTRY_LINUX64;
	out->boot_info = ZERO_PAGE_ADDR;
	out->kernel_end = kernel_end;
	return 0;
}

/* The classic path: the protected-mode kernel at its load address decompresses itself. */
static int load_bzimage_guest(struct guest_mem *gm, const struct boot_request *req,
			      struct bzimage *bz, struct boot_entry *out, struct vmm_err *err)
{
	const struct setup_header *hdr = &bz->bp.hdr;
	uint64_t footprint, end;
	void *dst;
	int ret;

	/* init_size (2.10+) is the memory the kernel needs from its load address on. */
	footprint = hdr->init_size > bz->pm_size ? hdr->init_size : bz->pm_size;
	if (__builtin_add_overflow(bz->load, footprint, &end) ||
	    !(dst = gm_ptr(gm, bz->load, footprint)))
		return vmm_errf(
		    err, -ENOMEM,
		    "KERNEL: bzImage needs guest RAM at [0x%llx, 0x%llx) (load address + "
		    "init_size), which is not all RAM; give the VM more memory (--mem) (%s)",
		    (unsigned long long)bz->load, (unsigned long long)(bz->load + footprint),
		    boot_kernel_name(req));
	ret = finish_bzimage(gm, req, bz, end, out, err);
	if (ret < 0)
		return ret;
	memcpy(dst, req->kernel + bz->setup_size, bz->pm_size);
	out->entry = bz->load + ENTRY64_OFFSET;
	out->kernel_start = bz->load;
	out->format = BOOT_FORMAT_BZIMAGE;
	return 0;
}

/*
 * Decompresses the payload on the host and copies the vmlinux ELF into
 * guest RAM.  Touches nothing but the ELF's own segments, so a failure here
 * leaves the classic path free to run.  Returns the ELF and the time taken.
 */
static int decompress_bzimage(struct guest_mem *gm, const struct boot_request *req,
			      const struct bzimage *bz, struct boot_elf_image *elf,
			      enum payload_format *format, uint64_t *elapsed_ns,
			      struct vmm_err *err)
{
	const char *name = boot_kernel_name(req);
	const struct setup_header *hdr = &bz->bp.hdr;
	const uint8_t *payload;
	uint8_t *vmlinux = NULL;
	size_t vmlinux_len = 0, max_out = PAYLOAD_MAX_OUTPUT;
	struct vmm_err dec_err = {{0}};
	uint64_t t0;
	int ret;

	*format = PAYLOAD_UNKNOWN;
	if (hdr->version < PROTO_2_08 || hdr->payload_length == 0)
		return vmm_errf(err, -ENOTSUP,
				"KERNEL: the bzImage declares no compressed payload "
				"(payload_length 0, boot protocol %u.%02u) (%s)",
				hdr->version >> 8, hdr->version & 0xff, name);
	/* boot.rst: payload_offset is from the start of the protected-mode code. */
	if (hdr->payload_offset > bz->pm_size ||
	    hdr->payload_length > bz->pm_size - hdr->payload_offset)
		return vmm_errf(err, -EINVAL,
				"KERNEL: bzImage payload [0x%x, +0x%x) runs past the %llu-byte "
				"protected-mode kernel: the image is corrupt (%s)",
				hdr->payload_offset, hdr->payload_length,
				(unsigned long long)bz->pm_size, name);
	payload = req->kernel + bz->setup_size + hdr->payload_offset;
	*format = payload_detect(payload, hdr->payload_length);
	if (!payload_format_supported(*format))
		return vmm_errf(err, -ENOTSUP,
				"KERNEL: the bzImage payload is %s-compressed, which minivmm "
				"cannot decompress on the host (%s)",
				payload_format_name(*format), name);

	/*
	 * The vmlinux's segments must fit in guest RAM, so output beyond RAM
	 * plus the relocation table is wasted: without this bound a 13 KiB
	 * image inflating to 400 MiB of zeroes cost 600 MB of host memory and
	 * seconds before it failed to fit a 16 MiB guest (found by fuzz_boot).
	 */
	if (gm->ram_bytes < PAYLOAD_MAX_OUTPUT - PAYLOAD_RELOCS_SLACK)
		max_out = gm->ram_bytes + PAYLOAD_RELOCS_SLACK;
	t0 = clock_ns();
	ret = payload_decompress(payload, hdr->payload_length, max_out, &vmlinux, &vmlinux_len,
				 &dec_err);
	*elapsed_ns = clock_ns() - t0;
	if (ret == -EFBIG && max_out < PAYLOAD_MAX_OUTPUT)
		return vmm_errf(err, ret,
				"KERNEL: the bzImage's %s payload decompresses to more than %zu "
				"bytes, more than any vmlinux that fits %llu MiB of guest RAM; "
				"give the VM more memory (--mem) or check the image (%s)",
				payload_format_name(*format), max_out,
				(unsigned long long)(gm->ram_bytes / MIB), name);
	if (ret < 0)
		return vmm_errf(err, ret, "%s", dec_err.msg);
	/*
	 * arch/x86/boot/compressed/misc.c parse_elf(): the payload is an ELF
	 * vmlinux (plus vmlinux.relocs behind it when the kernel can be
	 * randomized; the program headers never point there).  At its link-time
	 * p_paddr (LOAD_PHYSICAL_ADDR) it needs no relocation: misc.c only
	 * relocates when it moved the kernel.
	 */
	if (vmlinux_len < SELFMAG || memcmp(vmlinux, ELFMAG, SELFMAG) != 0)
		ret = vmm_errf(err, -EINVAL,
			       "KERNEL: the bzImage's %s payload decompresses to %zu bytes that "
			       "are not an ELF vmlinux (%s)",
			       payload_format_name(*format), vmlinux_len, name);
	else
		ret = boot_elf_load_image(gm, vmlinux, vmlinux_len, name, elf, err);
	if (ret == 0)
		ret = boot_elf_check_entry(elf, elf->entry64, "64-bit", name, err);
	free(vmlinux);
	return ret;
}

static int load_bzimage(struct guest_mem *gm, const struct boot_request *req,
			struct boot_entry *out, struct vmm_err *err)
{
	struct bzimage bz;
	struct boot_elf_image elf;
	struct vmm_err host_err = {{0}};
	enum payload_format format;
	uint64_t ns = 0;
	int ret;

	if (req->decompress != MVM_DECOMPRESS_AUTO && req->decompress != MVM_DECOMPRESS_HOST &&
	    req->decompress != MVM_DECOMPRESS_GUEST)
		return vmm_errf(err, -EINVAL,
				"KERNEL: unknown decompress mode %d; use auto, host or guest",
				(int)req->decompress);
	ret = parse_bzimage(req, &bz, err);
	if (ret < 0)
		return ret;
	if (req->decompress == MVM_DECOMPRESS_GUEST)
		return load_bzimage_guest(gm, req, &bz, out, err);

	ret = decompress_bzimage(gm, req, &bz, &elf, &format, &ns, &host_err);
	if (ret < 0 && req->decompress == MVM_DECOMPRESS_HOST)
		return vmm_errf(err, ret,
				"%s; decompress=host cannot fall back (try auto or guest)",
				host_err.msg);
	/*
	 * No payload declared: an image that is not compressed at all (our test
	 * guests), nothing to decompress and nothing to warn about.
	 */
	if (ret < 0 && bz.bp.hdr.payload_length == 0)
		return load_bzimage_guest(gm, req, &bz, out, err);
	if (ret < 0) {
		snprintf(
		    out->note_buf, sizeof(out->note_buf),
		    "host-side decompression skipped (%.380s); the kernel decompresses itself, "
		    "which takes minutes where guest CPL0 code is emulated (PVM)",
		    host_err.msg);
		out->note = out->note_buf;
		return load_bzimage_guest(gm, req, &bz, out, err);
	}

	ret = finish_bzimage(gm, req, &bz, elf.end, out, err);
	if (ret < 0)
		return ret;
	out->entry = elf.entry64;
	out->kernel_start = elf.start;
	boot_entry_set_format(out, "bzImage (%s payload decompressed on the host in %llu.%llu ms)",
			      payload_format_name(format), (unsigned long long)(ns / 1000000),
			      (unsigned long long)(ns / 100000 % 10));
	return 0;
}

int boot_load_kernel(struct guest_mem *gm, const struct boot_request *req, struct boot_entry *out,
		     struct vmm_err *err)
{
	const uint8_t *img = req->kernel;
	size_t len = req->kernel_len;

	memset(out, 0, sizeof(*out));
	if (!img || len == 0)
		return vmm_errf(err, -EINVAL,
				"KERNEL: %s is empty (0 bytes); pass a bzImage or an ELF vmlinux",
				boot_kernel_name(req));
	if (len >= SELFMAG && memcmp(img, ELFMAG, SELFMAG) == 0)
		return boot_load_elf(gm, req, out, err);
	if (len >= SETUP_MAGIC_OFFSET + 4 && memcmp(img + SETUP_MAGIC_OFFSET, SETUP_MAGIC, 4) == 0)
		return load_bzimage(gm, req, out, err);
	return vmm_errf(err, -EINVAL,
			"KERNEL: not a Linux kernel image (no ELF header, no bzImage 'HdrS' "
			"signature): %s",
			boot_kernel_name(req));
}
