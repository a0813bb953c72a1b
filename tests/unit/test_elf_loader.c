/* SPDX-License-Identifier: MIT */
/*
 * ELF vmlinux loading (boot/elf_loader.c): the 64-bit entry with a zero page
 * and the PVH entry with hvm_start_info, against small synthetic ELF images
 * (one PT_LOAD with a .bss tail, one PT_NOTE) and 64 MiB of guest memory.
 */
#include <asm/e820.h>
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "boot/layout.h"

#define RAM_SIZE   (64ull << 20)
#define LOAD_ADDR  0x1000000ull
#define ENTRY64	   (LOAD_ADDR + 0x100)
#define ENTRY_PVH  (LOAD_ADDR + 0x40)
#define SEG_FILESZ 0x1000u
#define SEG_MEMSZ  0x3000u
#define PHDR_OFF   64u
#define NOTE_OFF   (PHDR_OFF + 2 * sizeof(Elf64_Phdr))
#define SEG_OFF	   0x200u
#define IMAGE_LEN  (SEG_OFF + SEG_FILESZ)

static struct guest_mem gm;
static uint8_t *ram;

struct elf_opts {
	unsigned note_desc_size; /* 0: no Xen note; 4 or 8 (or anything, for errors) */
	uint64_t note_value;
	unsigned note_align; /* p_align of the PT_NOTE: 4 (default) or 8 */
};

struct elf_image {
	uint8_t buf[IMAGE_LEN];
	Elf64_Ehdr eh;
	Elf64_Phdr load, note;
};

static void setup(void)
{
	memset(&gm, 0, sizeof(gm));
	ram = malloc(RAM_SIZE);
	ck_assert_ptr_nonnull(ram);
	memset(ram, 0xcc, RAM_SIZE); /* so that .bss zeroing is visible */
	ck_assert_int_eq(gm_add_region(&gm, 0, RAM_SIZE, ram), 0);
}

static void teardown(void)
{
	free(ram);
}

static void elf_init(struct elf_image *img, const struct elf_opts *o)
{
	unsigned align = o->note_align ? o->note_align : 4;
	unsigned name_len = (4 + align - 1) / align * align;
	unsigned desc_len = (o->note_desc_size + align - 1) / align * align;
	Elf64_Nhdr nh = {.n_namesz = 4, .n_descsz = o->note_desc_size, .n_type = 18};

	memset(img, 0, sizeof(*img));
	memcpy(img->eh.e_ident, ELFMAG, SELFMAG);
	img->eh.e_ident[EI_CLASS] = ELFCLASS64;
	img->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	img->eh.e_ident[EI_VERSION] = EV_CURRENT;
	img->eh.e_type = ET_EXEC;
	img->eh.e_machine = EM_X86_64;
	img->eh.e_version = EV_CURRENT;
	img->eh.e_entry = ENTRY64;
	img->eh.e_phoff = PHDR_OFF;
	img->eh.e_ehsize = sizeof(Elf64_Ehdr);
	img->eh.e_phentsize = sizeof(Elf64_Phdr);
	img->eh.e_phnum = o->note_desc_size ? 2 : 1;

	img->load.p_type = PT_LOAD;
	img->load.p_flags = PF_R | PF_X | PF_W;
	img->load.p_offset = SEG_OFF;
	img->load.p_vaddr = 0xffffffff81000000ull;
	img->load.p_paddr = LOAD_ADDR;
	img->load.p_filesz = SEG_FILESZ;
	img->load.p_memsz = SEG_MEMSZ;
	img->load.p_align = 0x1000;

	img->note.p_type = PT_NOTE;
	img->note.p_offset = NOTE_OFF;
	img->note.p_filesz = sizeof(nh) + name_len + desc_len;
	img->note.p_align = align;

	for (unsigned i = 0; i < SEG_FILESZ; i++)
		img->buf[SEG_OFF + i] = (uint8_t)(i * 13 + 1);
	/* A note for someone else first, then Xen's. */
	if (o->note_desc_size) {
		uint8_t *p = img->buf + NOTE_OFF;
		memcpy(p, &nh, sizeof(nh));
		memcpy(p + sizeof(nh), "Xen", 4);
		memcpy(p + sizeof(nh) + name_len, &o->note_value,
		       o->note_desc_size < 8 ? o->note_desc_size : 8);
	}
}

/* Writes the headers into the buffer (after tests have modified them). */
static void elf_finish(struct elf_image *img)
{
	memcpy(img->buf, &img->eh, sizeof(img->eh));
	memcpy(img->buf + PHDR_OFF, &img->load, sizeof(img->load));
	if (img->eh.e_phnum > 1)
		memcpy(img->buf + PHDR_OFF + sizeof(Elf64_Phdr), &img->note, sizeof(img->note));
}

static struct boot_request request(const struct elf_image *img, size_t len)
{
	struct boot_request req = {
	    .kernel = img->buf,
	    .kernel_len = len,
	    .kernel_path = "test-vmlinux",
	    .cmdline = "console=ttyS0 root=/dev/vda",
	    .acpi_rsdp_addr = 0xe0000,
	    .prefer_pvh = true,
	};
	return req;
}

static void check_segment_loaded(const struct elf_image *img)
{
	const uint8_t zeros[SEG_MEMSZ - SEG_FILESZ] = {0};

	ck_assert_mem_eq(ram + LOAD_ADDR, img->buf + SEG_OFF, SEG_FILESZ);
	ck_assert_mem_eq(ram + LOAD_ADDR + SEG_FILESZ, zeros, sizeof(zeros));
	ck_assert_uint_eq(ram[LOAD_ADDR + SEG_MEMSZ], 0xcc); /* nothing past memsz */
}

START_TEST(elf_64bit_entry_zero_page)
{
	struct elf_image img;
	struct elf_opts o = {0};
	struct boot_entry out;
	struct vmm_err err = {{0}};
	uint8_t initrd[3000];
	struct boot_e820_entry e820[E820_MAX_ENTRIES_ZEROPAGE];

	memset(initrd, 0x42, sizeof(initrd));
	elf_init(&img, &o);
	elf_finish(&img);
	struct boot_request req = request(&img, IMAGE_LEN);
	req.initrd = initrd;
	req.initrd_len = sizeof(initrd);
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), 0);
	ck_assert_str_eq(err.msg, "");
	ck_assert_int_eq(out.mode, BOOT_ENTRY_LINUX64);
	ck_assert_str_eq(out.format, "ELF vmlinux (64-bit entry)");
	ck_assert_uint_eq(out.entry, ENTRY64);
	ck_assert_uint_eq(out.boot_info, ZERO_PAGE_ADDR);
	ck_assert_uint_eq(out.kernel_start, LOAD_ADDR);
	ck_assert_uint_eq(out.kernel_end, LOAD_ADDR + SEG_MEMSZ);
	check_segment_loaded(&img);

	struct boot_params bp;
	memcpy(&bp, ram + ZERO_PAGE_ADDR, sizeof(bp));
	ck_assert_uint_eq(bp.hdr.boot_flag, 0xaa55);
	ck_assert_mem_eq(&bp.hdr.header, "HdrS", 4);
	ck_assert_uint_eq(bp.hdr.version, 0x020f);
	ck_assert_uint_eq(bp.hdr.type_of_loader, 0xff);
	ck_assert_uint_eq(bp.hdr.kernel_alignment, 0x1000000);
	ck_assert_uint_eq(bp.hdr.cmdline_size, 2047);
	ck_assert_uint_eq(bp.hdr.cmd_line_ptr, CMDLINE_ADDR);
	ck_assert_str_eq((const char *)ram + CMDLINE_ADDR, "console=ttyS0 root=/dev/vda");
	ck_assert_uint_eq(bp.acpi_rsdp_addr, 0xe0000);
	ck_assert_uint_eq(bp.hdr.ramdisk_image, (RAM_SIZE - sizeof(initrd)) & ~0xfffull);
	ck_assert_uint_eq(bp.hdr.ramdisk_size, sizeof(initrd));
	ck_assert_uint_eq(out.initrd_start, bp.hdr.ramdisk_image);
	ck_assert_mem_eq(ram + out.initrd_start, initrd, sizeof(initrd));
	ck_assert_uint_eq(bp.e820_entries, boot_build_e820(&gm, e820, E820_MAX_ENTRIES_ZEROPAGE));
	ck_assert_mem_eq(bp.e820_table, e820, bp.e820_entries * sizeof(e820[0]));
	ck_assert_uint_eq(bp.e820_entries, 3);
}
END_TEST

static void check_pvh(const struct elf_image *img, const struct boot_entry *out, bool with_initrd)
{
	struct hvm_start_info si;
	struct boot_e820_entry e820[8];
	unsigned n = boot_build_e820(&gm, e820, 8);

	ck_assert_int_eq(out->mode, BOOT_ENTRY_PVH32);
	ck_assert_str_eq(out->format, "ELF (PVH entry)");
	ck_assert_uint_eq(out->entry, ENTRY_PVH);
	ck_assert_uint_eq(out->boot_info, PVH_START_ADDR);
	check_segment_loaded(img);

	memcpy(&si, ram + PVH_START_ADDR, sizeof(si));
	ck_assert_uint_eq(si.magic, 0x336ec578);
	ck_assert_uint_eq(si.version, 1);
	ck_assert_uint_eq(si.flags, 0);
	ck_assert_uint_eq(si.cmdline_paddr, CMDLINE_ADDR);
	ck_assert_str_eq((const char *)ram + si.cmdline_paddr, "console=ttyS0 root=/dev/vda");
	ck_assert_uint_eq(si.rsdp_paddr, 0xe0000);
	ck_assert_uint_eq(si.reserved, 0);
	ck_assert_uint_eq(si.memmap_entries, n);
	ck_assert_uint_eq(n, 3);
	for (unsigned i = 0; i < n; i++) {
		struct hvm_memmap_table_entry m;
		memcpy(&m, ram + si.memmap_paddr + i * sizeof(m), sizeof(m));
		ck_assert_uint_eq(m.addr, e820[i].addr);
		ck_assert_uint_eq(m.size, e820[i].size);
		ck_assert_uint_eq(m.type, e820[i].type);
		ck_assert_uint_eq(m.reserved, 0);
	}
	/* Everything the start info points at lies in its own page. */
	ck_assert_uint_le(si.memmap_paddr + n * sizeof(struct hvm_memmap_table_entry),
			  PVH_START_ADDR + 0x1000);
	if (with_initrd) {
		struct hvm_modlist_entry mod;
		ck_assert_uint_eq(si.nr_modules, 1);
		memcpy(&mod, ram + si.modlist_paddr, sizeof(mod));
		ck_assert_uint_eq(mod.paddr, out->initrd_start);
		ck_assert_uint_eq(mod.size, out->initrd_size);
		ck_assert_uint_eq(mod.cmdline_paddr, 0);
		ck_assert_uint_eq(mod.paddr % 4096, 0);
		ck_assert_uint_le(mod.paddr + mod.size, RAM_SIZE);
		ck_assert_uint_ge(mod.paddr, out->kernel_end);
	} else {
		ck_assert_uint_eq(si.nr_modules, 0);
		ck_assert_uint_eq(si.modlist_paddr, 0);
	}
}

START_TEST(elf_pvh_note_8_bytes)
{
	struct elf_image img;
	struct elf_opts o = {.note_desc_size = 8, .note_value = ENTRY_PVH};
	struct boot_entry out;
	struct vmm_err err = {{0}};
	uint8_t initrd[8192 + 5];

	memset(initrd, 0x17, sizeof(initrd));
	elf_init(&img, &o);
	elf_finish(&img);
	struct boot_request req = request(&img, IMAGE_LEN);
	req.initrd = initrd;
	req.initrd_len = sizeof(initrd);
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), 0);
	check_pvh(&img, &out, true);
	ck_assert_uint_eq(out.initrd_start, (RAM_SIZE - sizeof(initrd)) & ~0xfffull);
	ck_assert_mem_eq(ram + out.initrd_start, initrd, sizeof(initrd));
}
END_TEST

START_TEST(elf_pvh_note_4_bytes)
{
	struct elf_image img;
	struct elf_opts o = {.note_desc_size = 4, .note_value = ENTRY_PVH};
	struct boot_entry out;
	struct vmm_err err = {{0}};

	elf_init(&img, &o);
	elf_finish(&img);
	struct boot_request req = request(&img, IMAGE_LEN);
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), 0);
	check_pvh(&img, &out, false);
}
END_TEST

START_TEST(elf_pvh_note_8_aligned)
{
	struct elf_image img;
	struct elf_opts o = {.note_desc_size = 4, .note_value = ENTRY_PVH, .note_align = 8};
	struct boot_entry out;
	struct vmm_err err = {{0}};

	elf_init(&img, &o);
	elf_finish(&img);
	struct boot_request req = request(&img, IMAGE_LEN);
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), 0);
	check_pvh(&img, &out, false);
}
END_TEST

START_TEST(elf_pvh_note_ignored_unless_preferred)
{
	struct elf_image img;
	struct elf_opts o = {.note_desc_size = 8, .note_value = ENTRY_PVH};
	struct boot_entry out;
	struct vmm_err err = {{0}};
	uint64_t entry = 0;

	elf_init(&img, &o);
	elf_finish(&img);
	ck_assert_int_eq(boot_elf_find_pvh_entry(img.buf, IMAGE_LEN, "x", &entry, &err), 1);
	ck_assert_uint_eq(entry, ENTRY_PVH);
	struct boot_request req = request(&img, IMAGE_LEN);
	req.prefer_pvh = false;
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), 0);
	ck_assert_int_eq(out.mode, BOOT_ENTRY_LINUX64);
	ck_assert_uint_eq(out.entry, ENTRY64);
}
END_TEST

START_TEST(elf_other_notes_skipped)
{
	struct elf_image img;
	struct elf_opts o = {.note_desc_size = 8, .note_value = ENTRY_PVH};
	struct boot_entry out;
	struct vmm_err err = {{0}};
	uint64_t entry = 0;

	elf_init(&img, &o);
	/* Same type 18 but from "Linux": not the Xen note. */
	memcpy(img.buf + NOTE_OFF + sizeof(Elf64_Nhdr), "Lin", 4);
	elf_finish(&img);
	ck_assert_int_eq(boot_elf_find_pvh_entry(img.buf, IMAGE_LEN, "x", &entry, &err), 0);
	struct boot_request req = request(&img, IMAGE_LEN);
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), 0);
	ck_assert_int_eq(out.mode, BOOT_ENTRY_LINUX64);
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

static int load(const struct elf_image *img, size_t len, struct vmm_err *err)
{
	struct boot_entry out;
	struct boot_request req = request(img, len);

	memset(err, 0, sizeof(*err));
	return boot_load_kernel(&gm, &req, &out, err);
}

#define ASSERT_LOAD_FAILS(img, len, ret, text)                                                     \
	do {                                                                                       \
		struct vmm_err e_;                                                                 \
		ck_assert_int_eq(load((img), (len), &e_), (ret));                                  \
		ck_assert_msg(strstr(e_.msg, (text)) != NULL, "message '%s' lacks '%s'", e_.msg,   \
			      (text));                                                             \
	} while (0)

START_TEST(error_phoff_past_end)
{
	struct elf_image img;
	struct elf_opts o = {0};

	elf_init(&img, &o);
	img.eh.e_phoff = IMAGE_LEN - 10;
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -EINVAL, "truncated ELF: program headers");
	img.eh.e_phoff = UINT64_MAX - 8; /* phoff + size wraps */
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -EINVAL, "truncated ELF: program headers");
	img.eh.e_phoff = PHDR_OFF;
	img.eh.e_phnum = 0xfffe; /* 3.6 MB of program headers in a 4.6 KB file */
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -EINVAL, "truncated ELF: program headers");
	img.eh.e_phnum = 0;
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -EINVAL, "program headers of 56 bytes");
	img.eh.e_phnum = 1;
	img.eh.e_phentsize = 32;
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -EINVAL, "program headers of 32 bytes");
}
END_TEST

START_TEST(error_truncated_header)
{
	struct elf_image img;
	struct elf_opts o = {0};

	elf_init(&img, &o);
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, 40, -EINVAL,
			  "truncated ELF: the header needs 64 bytes, file has 40");
	ASSERT_LOAD_FAILS(&img, 4, -EINVAL, "not an ELF file");
}
END_TEST

START_TEST(error_segment_outside_ram)
{
	struct elf_image img;
	struct elf_opts o = {0};

	elf_init(&img, &o);
	img.load.p_paddr = 0x10000000; /* 256 MiB of a 64 MiB guest */
	img.eh.e_entry = 0x10000000;
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -ENOMEM,
			  "ELF segment 0 [0x10000000, 0x10003000) is outside guest RAM");
	img.load.p_paddr = RAM_SIZE - 0x2000; /* straddles the end of RAM via .bss */
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -ENOMEM, "is outside guest RAM");
	img.load.p_paddr = UINT64_MAX - 0x1000; /* wraps */
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -EINVAL, "wraps around");
	img.load.p_paddr = 0x8000; /* over the boot structures */
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -EINVAL, "below 1 MiB");
}
END_TEST

START_TEST(error_segment_outside_file)
{
	struct elf_image img;
	struct elf_opts o = {0};

	elf_init(&img, &o);
	img.load.p_offset = SEG_OFF + 1;
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -EINVAL, "truncated or corrupt ELF: segment 0");
	img.load.p_offset = UINT64_MAX; /* offset + filesz wraps */
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -EINVAL, "truncated or corrupt ELF");
	img.load.p_offset = SEG_OFF;
	img.load.p_filesz = SEG_MEMSZ + 1; /* filesz > memsz */
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -EINVAL, "truncated or corrupt ELF");
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN - 1, -EINVAL, "truncated or corrupt ELF");
}
END_TEST

START_TEST(error_no_load_segment_or_bad_entry)
{
	struct elf_image img;
	struct elf_opts o = {0};

	elf_init(&img, &o);
	img.load.p_type = PT_DYNAMIC;
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -EINVAL, "no loadable (PT_LOAD) segment");
	img.load.p_type = PT_LOAD;
	img.eh.e_entry = LOAD_ADDR + SEG_MEMSZ;
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -EINVAL, "64-bit entry point 0x1003000 is outside");
}
END_TEST

START_TEST(error_wrong_class_machine_type)
{
	struct elf_image img;
	struct elf_opts o = {0};

	elf_init(&img, &o);
	img.eh.e_ident[EI_CLASS] = ELFCLASS32;
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -EINVAL, "32-bit ELF: minivmm boots 64-bit");
	img.eh.e_ident[EI_CLASS] = ELFCLASS64;
	img.eh.e_ident[EI_DATA] = ELFDATA2MSB;
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -EINVAL, "big-endian");
	img.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	img.eh.e_machine = EM_AARCH64;
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -EINVAL, "ELF for machine 183, not x86-64");
	img.eh.e_machine = EM_386;
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -EINVAL, "ELF for machine 3");
	img.eh.e_machine = EM_X86_64;
	img.eh.e_type = ET_DYN;
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -EINVAL, "not an executable");
}
END_TEST

START_TEST(error_bad_pvh_notes)
{
	struct elf_image img;
	struct elf_opts o = {.note_desc_size = 2, .note_value = ENTRY_PVH};

	elf_init(&img, &o);
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -EINVAL, "holds 2 bytes, expected 4 or 8");

	o.note_desc_size = 8;
	o.note_value = 0x100000000ull + ENTRY_PVH;
	elf_init(&img, &o);
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -EINVAL, "not a 32-bit address");

	/* Entry outside the loaded image. */
	o.note_value = 0x200000;
	elf_init(&img, &o);
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -EINVAL, "PVH entry point 0x200000 is outside");

	/* Hostile sizes: name and descriptor lengths that run past the segment. */
	o.note_value = ENTRY_PVH;
	elf_init(&img, &o);
	Elf64_Nhdr nh = {.n_namesz = 0xfffffff0u, .n_descsz = 8, .n_type = 18};
	memcpy(img.buf + NOTE_OFF, &nh, sizeof(nh));
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -EINVAL, "note name");
	nh.n_namesz = 4;
	nh.n_descsz = 0xffffffffu;
	memcpy(img.buf + NOTE_OFF, &nh, sizeof(nh));
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -EINVAL, "note descriptor");

	/* The PT_NOTE segment itself outside the file. */
	elf_init(&img, &o);
	img.note.p_offset = IMAGE_LEN - 4;
	elf_finish(&img);
	ASSERT_LOAD_FAILS(&img, IMAGE_LEN, -EINVAL, "PT_NOTE segment 1");
}
END_TEST

START_TEST(error_cmdline_too_long)
{
	struct elf_image img;
	struct elf_opts o = {.note_desc_size = 8, .note_value = ENTRY_PVH};
	struct boot_entry out;
	struct vmm_err err = {{0}};
	char line[2049];

	elf_init(&img, &o);
	elf_finish(&img);
	memset(line, 'x', sizeof(line) - 1);
	line[2048] = '\0';
	struct boot_request req = request(&img, IMAGE_LEN);
	req.cmdline = line;
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), -E2BIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "2048 characters"));
	ck_assert_ptr_nonnull(strstr(err.msg, "COMMAND_LINE_SIZE"));
	line[2047] = '\0';
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), 0);
	ck_assert_uint_eq(strlen((const char *)ram + CMDLINE_ADDR), 2047);
}
END_TEST

START_TEST(error_initrd_too_big)
{
	struct elf_image img;
	struct elf_opts o = {0};
	struct boot_entry out;
	struct vmm_err err = {{0}};
	uint8_t byte = 1;

	elf_init(&img, &o);
	elf_finish(&img);
	struct boot_request req = request(&img, IMAGE_LEN);
	req.initrd = &byte; /* never read: the size check comes first */
	req.initrd_len = RAM_SIZE - LOAD_ADDR;
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), -ENOMEM);
	ck_assert_str_eq(err.msg, "INITRD (48 MiB) does not fit in guest RAM below 0x4000000; give "
				  "the VM more memory (--mem)");
}
END_TEST

Suite *elf_loader_suite(void)
{
	Suite *s = suite_create("elf_loader");
	TCase *tc = tcase_create("load");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, elf_64bit_entry_zero_page);
	tcase_add_test(tc, elf_pvh_note_8_bytes);
	tcase_add_test(tc, elf_pvh_note_4_bytes);
	tcase_add_test(tc, elf_pvh_note_8_aligned);
	tcase_add_test(tc, elf_pvh_note_ignored_unless_preferred);
	tcase_add_test(tc, elf_other_notes_skipped);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, error_phoff_past_end);
	tcase_add_test(tc, error_truncated_header);
	tcase_add_test(tc, error_segment_outside_ram);
	tcase_add_test(tc, error_segment_outside_file);
	tcase_add_test(tc, error_no_load_segment_or_bad_entry);
	tcase_add_test(tc, error_wrong_class_machine_type);
	tcase_add_test(tc, error_bad_pvh_notes);
	tcase_add_test(tc, error_cmdline_too_long);
	tcase_add_test(tc, error_initrd_too_big);
	suite_add_tcase(s, tc);
	return s;
}
