/* SPDX-License-Identifier: MIT */
/*
 * ELF vmlinux loader.  Two entries:
 *  - PVH (Xen's "HVM direct boot" ABI, also what QEMU and Firecracker use):
 *    the image carries a Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY with a 32-bit
 *    physical entry, entered in 32-bit protected mode with EBX pointing at a
 *    struct hvm_start_info;
 *  - otherwise the 64-bit Linux entry at e_entry (vmlinux's phys_startup_64)
 *    with a synthesised zero page, as Firecracker does for vmlinux.
 *
 * The image is hostile input: every header field is bounds-checked against
 * the file and every segment against guest RAM before a byte is copied.
 * The image buffer may be unaligned, so headers are memcpy'd, never cast.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "boot/boot.h"
#include "boot/layout.h"

#define HDRS_MAGIC	    0x53726448u /* "HdrS" */
#define BOOT_FLAG_MAGIC	    0xaa55
#define ZERO_PAGE_VERSION   0x020f /* boot protocol 2.15, what Firecracker writes */
#define LOADER_TYPE_UNKNOWN 0xff
#define KERNEL_ALIGNMENT    0x1000000u	/* x86_64 CONFIG_PHYSICAL_ALIGN default */
#define ELF_INITRD_ADDR_MAX 0x7fffffffu /* x86_64 kernels' initrd_addr_max */
#define XEN_NOTE_NAME	    "Xen"

_Static_assert(PVH_MEMMAP_ADDR + PVH_MEMMAP_MAX * sizeof(struct hvm_memmap_table_entry) <=
		   PVH_START_ADDR + 0x1000,
	       "hvm_start_info, modlist and memmap must fit in their page");
_Static_assert(PVH_START_ADDR + sizeof(struct hvm_start_info) <= PVH_MODLIST_ADDR,
	       "hvm_start_info overlaps its module list");

static int read_ehdr(const uint8_t *img, size_t len, const char *name, Elf64_Ehdr *eh,
		     struct vmm_err *err)
{
	uint64_t ph_bytes, ph_end;

	if (len < EI_NIDENT || memcmp(img, ELFMAG, SELFMAG) != 0)
		return vmm_errf(err, -EINVAL, "KERNEL: not an ELF file (%s)", name);
	if (img[EI_CLASS] != ELFCLASS64)
		return vmm_errf(
		    err, -EINVAL,
		    "KERNEL: %s ELF: minivmm boots 64-bit x86 kernels only; use an x86_64 "
		    "vmlinux (%s)",
		    img[EI_CLASS] == ELFCLASS32 ? "32-bit" : "unknown-class", name);
	if (img[EI_DATA] != ELFDATA2LSB)
		return vmm_errf(
		    err, -EINVAL,
		    "KERNEL: big-endian or unknown-endian ELF: not an x86-64 kernel (%s)", name);
	if (len < sizeof(*eh))
		return vmm_errf(
		    err, -EINVAL,
		    "KERNEL: truncated ELF: the header needs %zu bytes, file has %zu (%s)",
		    sizeof(*eh), len, name);
	memcpy(eh, img, sizeof(*eh));
	if (eh->e_machine != EM_X86_64)
		return vmm_errf(
		    err, -EINVAL,
		    "KERNEL: ELF for machine %u, not x86-64 (%u); use an x86_64 vmlinux (%s)",
		    eh->e_machine, EM_X86_64, name);
	if (eh->e_type != ET_EXEC)
		return vmm_errf(
		    err, -EINVAL,
		    "KERNEL: ELF type %u is not an executable (ET_EXEC): link the kernel "
		    "statically at a fixed address (%s)",
		    eh->e_type, name);
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 || eh->e_phnum == PN_XNUM)
		return vmm_errf(
		    err, -EINVAL,
		    "KERNEL: ELF has %u program headers of %u bytes (expected 1..%u of %zu): "
		    "corrupt image (%s)",
		    eh->e_phnum, eh->e_phentsize, PN_XNUM - 1, sizeof(Elf64_Phdr), name);
	ph_bytes = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr); /* < 2^22 */
	if (__builtin_add_overflow(eh->e_phoff, ph_bytes, &ph_end) || ph_end > len)
		return vmm_errf(
		    err, -EINVAL,
		    "KERNEL: truncated ELF: program headers at 0x%llx + %llu bytes, file has "
		    "%zu (%s)",
		    (unsigned long long)eh->e_phoff, (unsigned long long)ph_bytes, len, name);
	return 0;
}

static void read_phdr(const uint8_t *img, const Elf64_Ehdr *eh, unsigned i, Elf64_Phdr *ph)
{
	/* read_ehdr() checked that all e_phnum headers lie inside the file. */
	memcpy(ph, img + eh->e_phoff + (uint64_t)i * sizeof(*ph), sizeof(*ph));
}

/* The file bytes [p_offset, p_offset + p_filesz) must lie inside the image. */
static bool segment_in_file(const Elf64_Phdr *ph, size_t len)
{
	return ph->p_offset <= len && ph->p_filesz <= len - ph->p_offset;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1); /* v < 2^33 here: no overflow */
}

/*
 * Scans one PT_NOTE segment.  Notes are (namesz, descsz, type) followed by
 * the name and the descriptor, each padded to the segment's alignment (4,
 * or 8 for 8-aligned note segments).
 */
static int scan_notes(const uint8_t *notes, uint64_t size, uint64_t align, const char *name,
		      uint64_t *entry, struct vmm_err *err)
{
	uint64_t pos = 0;

	while (size - pos >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t name_len, desc_len;
		const uint8_t *note_name, *desc;

		memcpy(&nh, notes + pos, sizeof(nh));
		pos += sizeof(nh);
		name_len = align_up(nh.n_namesz, align);
		if (name_len > size - pos)
			return vmm_errf(
			    err, -EINVAL,
			    "KERNEL: ELF note name (%u bytes) runs past its PT_NOTE segment: "
			    "corrupt image (%s)",
			    nh.n_namesz, name);
		note_name = notes + pos;
		pos += name_len;
		desc_len = align_up(nh.n_descsz, align);
		if (desc_len > size - pos)
			return vmm_errf(
			    err, -EINVAL,
			    "KERNEL: ELF note descriptor (%u bytes) runs past its PT_NOTE "
			    "segment: corrupt image (%s)",
			    nh.n_descsz, name);
		desc = notes + pos;
		pos += desc_len;

		if (nh.n_type != XEN_ELFNOTE_PHYS32_ENTRY || nh.n_namesz != sizeof(XEN_NOTE_NAME) ||
		    memcmp(note_name, XEN_NOTE_NAME, sizeof(XEN_NOTE_NAME)) != 0)
			continue;
		/* Linux writes it with _ASM_PTR (8 bytes on x86_64); Xen's own docs use 4. */
		if (nh.n_descsz == 4) {
			uint32_t v;
			memcpy(&v, desc, 4);
			*entry = v;
		} else if (nh.n_descsz == 8) {
			uint64_t v;
			memcpy(&v, desc, 8);
			if (v > UINT32_MAX)
				return vmm_errf(
				    err, -EINVAL,
				    "KERNEL: the PVH entry 0x%llx in the Xen PHYS32_ENTRY "
				    "note is not a 32-bit address: corrupt image (%s)",
				    (unsigned long long)v, name);
			*entry = v;
		} else {
			return vmm_errf(
			    err, -EINVAL,
			    "KERNEL: the Xen PHYS32_ENTRY note holds %u bytes, expected 4 "
			    "or 8: corrupt image (%s)",
			    nh.n_descsz, name);
		}
		return 1;
	}
	return 0;
}

int boot_elf_find_pvh_entry(const uint8_t *image, size_t len, const char *name, uint64_t *entry,
			    struct vmm_err *err)
{
	Elf64_Ehdr eh;
	int ret = read_ehdr(image, len, name, &eh, err);

	if (ret < 0)
		return ret;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		read_phdr(image, &eh, i, &ph);
		if (ph.p_type != PT_NOTE)
			continue;
		if (!segment_in_file(&ph, len))
			return vmm_errf(
			    err, -EINVAL,
			    "KERNEL: truncated ELF: PT_NOTE segment %u at 0x%llx + %llu "
			    "bytes, file has %zu (%s)",
			    i, (unsigned long long)ph.p_offset, (unsigned long long)ph.p_filesz,
			    len, name);
		ret = scan_notes(image + ph.p_offset, ph.p_filesz, ph.p_align == 8 ? 8 : 4, name,
				 entry, err);
		if (ret != 0)
			return ret;
	}
	return 0;
}

/* Copies every PT_LOAD to its p_paddr; returns the span [*lo, *hi) they occupy. */
static int load_segments(struct guest_mem *gm, const uint8_t *img, size_t len, const Elf64_Ehdr *eh,
			 const char *name, uint64_t *lo, uint64_t *hi, struct vmm_err *err)
{
	unsigned nload = 0;

	*lo = UINT64_MAX;
	*hi = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;
		uint64_t end;
		uint8_t *dst;

		read_phdr(img, eh, i, &ph);
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz || !segment_in_file(&ph, len))
			return vmm_errf(
			    err, -EINVAL,
			    "KERNEL: truncated or corrupt ELF: segment %u has %llu file "
			    "bytes at 0x%llx (memsz %llu), file has %zu (%s)",
			    i, (unsigned long long)ph.p_filesz, (unsigned long long)ph.p_offset,
			    (unsigned long long)ph.p_memsz, len, name);
		if (__builtin_add_overflow(ph.p_paddr, ph.p_memsz, &end))
			return vmm_errf(
			    err, -EINVAL,
			    "KERNEL: ELF segment %u at 0x%llx + 0x%llx wraps around the "
			    "address space: corrupt image (%s)",
			    i, (unsigned long long)ph.p_paddr, (unsigned long long)ph.p_memsz,
			    name);
		/* Below 1 MiB live the zero page, page tables, command line and ACPI tables. */
		if (ph.p_paddr < HIMEM_START)
			return vmm_errf(
			    err, -EINVAL,
			    "KERNEL: ELF segment %u at 0x%llx overlaps minivmm's boot area "
			    "below 1 MiB; link the kernel at or above 0x%llx (%s)",
			    i, (unsigned long long)ph.p_paddr, (unsigned long long)HIMEM_START,
			    name);
		dst = gm_ptr(gm, ph.p_paddr, ph.p_memsz);
		if (!dst)
			return vmm_errf(
			    err, -ENOMEM,
			    "KERNEL: ELF segment %u [0x%llx, 0x%llx) is outside guest RAM "
			    "(low RAM ends at 0x%llx); give the VM more memory (--mem) or "
			    "link the kernel lower (%s)",
			    i, (unsigned long long)ph.p_paddr, (unsigned long long)end,
			    (unsigned long long)gm_region_end(gm, 0), name);
		memcpy(dst, img + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		if (ph.p_paddr < *lo)
			*lo = ph.p_paddr;
		if (end > *hi)
			*hi = end;
		nload++;
	}
	if (nload == 0)
		return vmm_errf(err, -EINVAL, "KERNEL: ELF has no loadable (PT_LOAD) segment (%s)",
				name);
	return 0;
}

static int write_pvh_start_info(struct guest_mem *gm, const struct boot_request *req,
				const struct boot_entry *out)
{
	struct boot_e820_entry e820[PVH_MEMMAP_MAX];
	struct hvm_memmap_table_entry memmap[PVH_MEMMAP_MAX];
	struct hvm_modlist_entry mod = {
	    .paddr = out->initrd_start,
	    .size = out->initrd_size,
	};
	struct hvm_start_info si = {
	    .magic = HVM_START_MAGIC_VALUE,
	    .version = HVM_START_VERSION,
	    .cmdline_paddr = CMDLINE_ADDR,
	    .rsdp_paddr = req->acpi_rsdp_addr,
	    .memmap_paddr = PVH_MEMMAP_ADDR,
	};
	unsigned n = boot_build_e820(gm, e820, PVH_MEMMAP_MAX);

	memset(memmap, 0, sizeof(memmap));
	for (unsigned i = 0; i < n; i++) {
		memmap[i].addr = e820[i].addr;
		memmap[i].size = e820[i].size;
		memmap[i].type = e820[i].type; /* e820 and hvm memmap types are both ACPI's */
	}
	si.memmap_entries = n;
	if (out->initrd_size) {
		si.nr_modules = 1;
		si.modlist_paddr = PVH_MODLIST_ADDR;
	}
	if (gm_write(gm, PVH_START_ADDR, &si, sizeof(si)) < 0 ||
	    gm_write(gm, PVH_MODLIST_ADDR, &mod, sizeof(mod)) < 0 ||
	    gm_write(gm, PVH_MEMMAP_ADDR, memmap, n * sizeof(memmap[0])) < 0)
		return -EFAULT;
	return 0;
}

static int write_elf_zero_page(struct guest_mem *gm, const struct boot_request *req,
			       const struct boot_entry *out)
{
	struct boot_params bp;
	struct setup_header *hdr = &bp.hdr;

	/*
	 * vmlinux carries no setup header, so we write the fields the kernel's
	 * 64-bit entry reads (Firecracker's configure_system() does the same).
	 */
	memset(&bp, 0, sizeof(bp));
	hdr->boot_flag = BOOT_FLAG_MAGIC;
	hdr->header = HDRS_MAGIC;
	hdr->version = ZERO_PAGE_VERSION;
	hdr->type_of_loader = LOADER_TYPE_UNKNOWN;
	hdr->kernel_alignment = KERNEL_ALIGNMENT;
	hdr->cmdline_size = LINUX_X86_COMMAND_LINE_SIZE - 1;
	hdr->cmd_line_ptr = (uint32_t)CMDLINE_ADDR;
	bp.ext_cmd_line_ptr = (uint32_t)(CMDLINE_ADDR >> 32);
	hdr->initrd_addr_max = ELF_INITRD_ADDR_MAX;
	hdr->ramdisk_image = (uint32_t)out->initrd_start;
	hdr->ramdisk_size = (uint32_t)out->initrd_size;
	bp.ext_ramdisk_image = (uint32_t)(out->initrd_start >> 32);
	bp.ext_ramdisk_size = (uint32_t)(out->initrd_size >> 32);
	bp.acpi_rsdp_addr = req->acpi_rsdp_addr;
	boot_fill_zero_page_e820(gm, &bp);
	return gm_write(gm, ZERO_PAGE_ADDR, &bp, sizeof(bp));
}

int boot_elf_load_image(struct guest_mem *gm, const uint8_t *image, size_t len, const char *name,
			struct boot_elf_image *info, struct vmm_err *err)
{
	Elf64_Ehdr eh;
	int ret;

	memset(info, 0, sizeof(*info));
	ret = read_ehdr(image, len, name, &eh, err);
	if (ret < 0)
		return ret;
	ret = boot_elf_find_pvh_entry(image, len, name, &info->pvh_entry, err);
	if (ret < 0)
		return ret;
	info->has_pvh = ret == 1;
	info->entry64 = eh.e_entry;
	return load_segments(gm, image, len, &eh, name, &info->start, &info->end, err);
}

int boot_elf_check_entry(const struct boot_elf_image *info, uint64_t entry, const char *what,
			 const char *name, struct vmm_err *err)
{
	if (entry < info->start || entry >= info->end)
		return vmm_errf(
		    err, -EINVAL,
		    "KERNEL: the ELF's %s entry point 0x%llx is outside its loaded segments "
		    "[0x%llx, 0x%llx): corrupt image (%s)",
		    what, (unsigned long long)entry, (unsigned long long)info->start,
		    (unsigned long long)info->end, name);
	return 0;
}

int boot_load_elf(struct guest_mem *gm, const struct boot_request *req, struct boot_entry *out,
		  struct vmm_err *err)
{
	const char *name = boot_kernel_name(req);
	struct boot_elf_image elf;
	uint64_t initrd_limit;
	bool pvh;
	int ret;

	ret = boot_elf_load_image(gm, req->kernel, req->kernel_len, name, &elf, err);
	if (ret < 0)
		return ret;
	pvh = elf.has_pvh && req->prefer_pvh;
	out->entry = pvh ? elf.pvh_entry : elf.entry64;
	ret = boot_elf_check_entry(&elf, out->entry, pvh ? "PVH" : "64-bit", name, err);
	if (ret < 0)
		return ret;

	ret = boot_write_cmdline(gm, req->cmdline, LINUX_X86_COMMAND_LINE_SIZE - 1,
				 "Linux's COMMAND_LINE_SIZE", err);
	if (ret < 0)
		return ret;
	/* PVH has no initrd_addr_max; the 64-bit entry honours what we advertise. */
	initrd_limit = pvh ? UINT64_MAX : (uint64_t)ELF_INITRD_ADDR_MAX + 1;
	ret = boot_place_initrd(gm, req, initrd_limit, elf.end, out, err);
	if (ret < 0)
		return ret;

	out->kernel_start = elf.start;
	out->kernel_end = elf.end;
	if (pvh) {
		out->mode = BOOT_ENTRY_PVH32;
		out->boot_info = PVH_START_ADDR;
		out->format = BOOT_FORMAT_ELF_PVH;
		ret = write_pvh_start_info(gm, req, out);
	} else {
		out->mode = BOOT_ENTRY_LINUX64;
		out->boot_info = ZERO_PAGE_ADDR;
		out->format = BOOT_FORMAT_ELF64;
		ret = write_elf_zero_page(gm, req, out);
	}
	if (ret < 0)
		return vmm_errf(err, -EFAULT,
				"KERNEL: guest RAM has no room for the boot information at 0x%llx",
				(unsigned long long)out->boot_info);
	return 0;
}
