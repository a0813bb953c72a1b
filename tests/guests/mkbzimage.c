/* SPDX-License-Identifier: MIT */
/*
 * mkbzimage: packs a test guest into a bzImage (Documentation/x86/boot.rst).
 *
 *   mkbzimage STUB.bin GUEST.elf OUT.bzImage
 *
 * STUB.bin is the real-mode setup area (rmstub.S, linked at 0 with its code
 * at SETUP_HEADER_END); this tool writes the setup header into it and
 * appends the guest's loadable segments as one flat image, which must start
 * at KERNEL_LOAD_ADDR.  The image is uncompressed, not relocatable, and
 * offers the 64-bit entry at load address + 0x200 (XLF_KERNEL_64).
 */
#include <elf.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <asm/bootparam.h>

#include "boot/layout.h"
#include "tests/guests/bzimage.h"

#define SECTOR_SIZE	      512
#define BOOT_FLAG	      0xaa55
#define HDRS_MAGIC	      0x53726448 /* "HdrS" */
#define BOOT_PROTOCOL	      0x020f
#define GUEST_CMDLINE_SIZE    4095 /* bytes without the NUL */
#define GUEST_INITRD_ADDR_MAX 0x7fffffff
#define GUEST_MIN_ALIGNMENT   12 /* log2: 4 KiB */
#define MAX_IMAGE_SIZE	      (64u << 20)
#define MAX_STUB_SIZE	      (SECTOR_SIZE * 64)

_Static_assert(SETUP_HEADER_START == offsetof(struct boot_params, hdr), "setup header offset");
_Static_assert(SETUP_HEADER_END == SETUP_HEADER_START + sizeof(struct setup_header),
	       "the stub must start right after the setup header");
_Static_assert(SETUP_JUMP_OFFSET == offsetof(struct boot_params, hdr.jump), "jump offset");
_Static_assert(BP_E820_ENTRIES == offsetof(struct boot_params, e820_entries), "e820_entries");
_Static_assert(BP_E820_TABLE == offsetof(struct boot_params, e820_table), "e820_table");
_Static_assert(BP_CODE32_START == offsetof(struct boot_params, hdr.code32_start), "code32");
_Static_assert(BP_E820_ENTRY_SIZE == sizeof(struct boot_e820_entry), "e820 entry size");
_Static_assert(BP_E820_MAX == E820_MAX_ENTRIES_ZEROPAGE, "e820 table size");
_Static_assert(BP_SIZE == sizeof(struct boot_params), "boot_params size");

struct image {
	unsigned char *data;
	size_t file_size; /* bytes to store */
	size_t mem_size;  /* bytes the image occupies once loaded, with .bss */
};

static int read_file(const char *path, unsigned char **data, size_t *size, size_t max)
{
	FILE *f = fopen(path, "rb");
	long len;

	if (!f) {
		fprintf(stderr, "mkbzimage: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "mkbzimage: cannot size %s: %s\n", path, strerror(errno));
		fclose(f);
		return -1;
	}
	if ((size_t)len > max) {
		fprintf(stderr, "mkbzimage: %s is %ld bytes, more than %zu\n", path, len, max);
		fclose(f);
		return -1;
	}
	*data = malloc(len ? (size_t)len : 1);
	if (!*data || fread(*data, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "mkbzimage: cannot read %s\n", path);
		free(*data);
		fclose(f);
		return -1;
	}
	fclose(f);
	*size = (size_t)len;
	return 0;
}

/* The ELF's PT_LOAD segments as one flat image based at KERNEL_LOAD_ADDR. */
static int flatten_elf(const char *path, const unsigned char *elf, size_t size, struct image *img)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)elf;
	uint64_t lowest = UINT64_MAX, file_end = 0, mem_end = 0;

	if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > size ||
	    (size - eh->e_phoff) / sizeof(Elf64_Phdr) < eh->e_phnum) {
		fprintf(stderr, "mkbzimage: %s is not an x86-64 ELF executable\n", path);
		return -1;
	}
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(elf + eh->e_phoff);

	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_filesz > ph[i].p_memsz || ph[i].p_offset > size ||
		    ph[i].p_filesz > size - ph[i].p_offset) {
			fprintf(stderr, "mkbzimage: %s: segment %u lies outside the file\n", path,
				i);
			return -1;
		}
		if (ph[i].p_paddr < lowest)
			lowest = ph[i].p_paddr;
		if (ph[i].p_paddr + ph[i].p_filesz > file_end)
			file_end = ph[i].p_paddr + ph[i].p_filesz;
		if (ph[i].p_paddr + ph[i].p_memsz > mem_end)
			mem_end = ph[i].p_paddr + ph[i].p_memsz;
	}
	if (lowest != KERNEL_LOAD_ADDR || mem_end - lowest > MAX_IMAGE_SIZE) {
		fprintf(
		    stderr,
		    "mkbzimage: %s must load at 0x%llx and be at most %u bytes (loads at 0x%llx, "
		    "%llu bytes); check the linker script\n",
		    path, KERNEL_LOAD_ADDR, MAX_IMAGE_SIZE, (unsigned long long)lowest,
		    (unsigned long long)(mem_end - lowest));
		return -1;
	}
	/* syssize counts 16-byte paragraphs: pad so a loader can read them all. */
	img->file_size = (file_end - lowest + 15) & ~(uint64_t)15;
	img->mem_size = mem_end - lowest;
	if (img->mem_size < img->file_size)
		img->mem_size = img->file_size;
	img->data = calloc(1, img->file_size ? img->file_size : 1);
	if (!img->data) {
		fprintf(stderr, "mkbzimage: out of memory\n");
		return -1;
	}
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD)
			memcpy(img->data + (ph[i].p_paddr - lowest), elf + ph[i].p_offset,
			       ph[i].p_filesz);
	}
	return 0;
}

static void fill_header(struct setup_header *hdr, unsigned int setup_sects, const struct image *img)
{
	hdr->setup_sects = (uint8_t)setup_sects;
	hdr->syssize = (uint32_t)(img->file_size / 16);
	hdr->boot_flag = BOOT_FLAG;
	/* jmp short: boot.rst derives the header's end from this rel8. */
	hdr->jump = 0xeb | ((SETUP_HEADER_END - (SETUP_JUMP_OFFSET + 2)) << 8);
	hdr->header = HDRS_MAGIC;
	hdr->version = BOOT_PROTOCOL;
	hdr->loadflags = LOADED_HIGH;
	hdr->code32_start = KERNEL_LOAD_ADDR;
	hdr->initrd_addr_max = GUEST_INITRD_ADDR_MAX;
	hdr->kernel_alignment = 1u << GUEST_MIN_ALIGNMENT;
	hdr->relocatable_kernel = 0;
	hdr->min_alignment = GUEST_MIN_ALIGNMENT;
	hdr->xloadflags = XLF_KERNEL_64;
	hdr->cmdline_size = GUEST_CMDLINE_SIZE;
	hdr->pref_address = KERNEL_LOAD_ADDR;
	/* Covers .bss and the page tables in it: a loader must keep it free. */
	hdr->init_size = (uint32_t)((img->mem_size + 0xfff) & ~(size_t)0xfff);
}

int main(int argc, char **argv)
{
	unsigned char *stub = NULL, *elf = NULL, *setup = NULL;
	size_t stub_size, elf_size, setup_size;
	struct image img = {0};
	unsigned int setup_sects;
	int ret = EXIT_FAILURE;
	FILE *out;

	if (argc != 4) {
		fprintf(stderr, "usage: mkbzimage STUB.bin GUEST.elf OUT.bzImage\n");
		return EXIT_FAILURE;
	}
	if (read_file(argv[1], &stub, &stub_size, MAX_STUB_SIZE) ||
	    read_file(argv[2], &elf, &elf_size, MAX_IMAGE_SIZE) ||
	    flatten_elf(argv[2], elf, elf_size, &img))
		goto out;
	if (stub_size <= SETUP_HEADER_END) {
		fprintf(stderr, "mkbzimage: %s has no code after the setup header\n", argv[1]);
		goto out;
	}
	for (size_t i = SETUP_HEADER_START; i < SETUP_HEADER_END; i++) {
		if (stub[i]) {
			fprintf(stderr, "mkbzimage: %s overlaps the setup header at 0x%zx\n",
				argv[1], i);
			goto out;
		}
	}
	setup_sects = (unsigned int)((stub_size + SECTOR_SIZE - 1) / SECTOR_SIZE) - 1;
	if (setup_sects < SETUP_SECTS_MIN)
		setup_sects = SETUP_SECTS_MIN;
	setup_size = (setup_sects + 1) * SECTOR_SIZE;
	setup = calloc(1, setup_size);
	if (!setup) {
		fprintf(stderr, "mkbzimage: out of memory\n");
		goto out;
	}
	memcpy(setup, stub, stub_size);
	fill_header((struct setup_header *)(setup + SETUP_HEADER_START), setup_sects, &img);

	out = fopen(argv[3], "wb");
	if (!out) {
		fprintf(stderr, "mkbzimage: cannot create %s: %s\n", argv[3], strerror(errno));
		goto out;
	}
	if (fwrite(setup, 1, setup_size, out) != setup_size ||
	    fwrite(img.data, 1, img.file_size, out) != img.file_size) {
		fprintf(stderr, "mkbzimage: cannot write %s: %s\n", argv[3], strerror(errno));
		fclose(out);
		remove(argv[3]);
		goto out;
	}
	if (fclose(out)) {
		fprintf(stderr, "mkbzimage: cannot write %s: %s\n", argv[3], strerror(errno));
		remove(argv[3]);
		goto out;
	}
	ret = EXIT_SUCCESS;
out:
	free(setup);
	free(img.data);
	free(elf);
	free(stub);
	return ret;
}
