/* SPDX-License-Identifier: MIT */
/*
 * bzImage loading (boot/linux_x86.c) and the e820 map (boot/e820.c), against
 * synthetic images with chosen setup-header fields and 64 MiB of calloc'd
 * guest memory.
 */
#include <asm/e820.h>
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "boot/layout.h"
#include "tests/unit/fake_ram.h"

#define RAM_SIZE     (64ull << 20)
#define SETUP_SECTS  1
#define PAYLOAD_SIZE 0x2000u
#define PREF_ADDR    0x1000000ull
#define INIT_SIZE    0x200000u

static struct guest_mem gm;
static uint8_t *ram;

struct bz {
	uint8_t *buf;
	size_t len;
	struct setup_header hdr;
};

static void setup(void)
{
	ram = fake_ram_new(&gm, RAM_SIZE);
}

static void teardown(void)
{
	free(ram);
}

/* A modern 64-bit relocatable kernel's header (protocol 2.15). */
static struct setup_header default_header(void)
{
	struct setup_header h;

	memset(&h, 0, sizeof(h));
	h.setup_sects = SETUP_SECTS;
	h.syssize = PAYLOAD_SIZE / 16;
	h.vid_mode = 0xffff;
	h.boot_flag = 0xaa55;
	h.jump = 0x6aeb; /* jmp short to 0x26c: the header is all of struct setup_header */
	memcpy(&h.header, "HdrS", 4);
	h.version = 0x020f;
	h.type_of_loader = 0;
	h.loadflags = LOADED_HIGH | QUIET_FLAG | KEEP_SEGMENTS;
	h.code32_start = 0x100000;
	h.initrd_addr_max = 0x7fffffff;
	h.kernel_alignment = 0x200000;
	h.relocatable_kernel = 1;
	h.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h.cmdline_size = 2047;
	h.setup_data = 0x12345678; /* must not be forwarded */
	h.pref_address = PREF_ADDR;
	h.init_size = INIT_SIZE;
	return h;
}

/* Builds setup area + payload; the payload is a byte pattern that tests can check. */
static void bz_build(struct bz *bz)
{
	unsigned sects = bz->hdr.setup_sects ? bz->hdr.setup_sects : 4;
	size_t setup_size = (sects + 1) * 512u;
	size_t payload = (size_t)bz->hdr.syssize * 16;

	bz->len = setup_size + payload;
	bz->buf = calloc(1, bz->len);
	ck_assert_ptr_nonnull(bz->buf);
	memcpy(bz->buf + 0x1f1, &bz->hdr, sizeof(bz->hdr));
	for (size_t i = 0; i < payload; i++)
		bz->buf[setup_size + i] = (uint8_t)(i * 7 + 3);
}

static struct boot_request request(const struct bz *bz)
{
	struct boot_request req = {
	    .kernel = bz->buf,
	    .kernel_len = bz->len,
	    .kernel_path = "test-bzImage",
	    .cmdline = "console=ttyS0 panic=-1",
	    .acpi_rsdp_addr = 0xe0000,
	    .prefer_pvh = true,
	};
	return req;
}

static const struct boot_params *zero_page(void)
{
	return (const struct boot_params *)(ram + ZERO_PAGE_ADDR);
}

START_TEST(bzimage_loads_at_pref_address)
{
	struct bz bz = {.hdr = default_header()};
	struct boot_entry out;
	struct vmm_err err = {{0}};
	uint8_t initrd[10000];
	struct boot_e820_entry e820[E820_MAX_ENTRIES_ZEROPAGE];
	unsigned ne;

	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i ^ 0x5a);
	bz_build(&bz);
	struct boot_request req = request(&bz);
	req.initrd = initrd;
	req.initrd_len = sizeof(initrd);

	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), 0);
	ck_assert_str_eq(err.msg, "");
	ck_assert_int_eq(out.mode, BOOT_ENTRY_LINUX64);
	ck_assert_str_eq(out.format, "bzImage");
	ck_assert_uint_eq(out.entry, PREF_ADDR + 0x200);
	ck_assert_uint_eq(out.boot_info, ZERO_PAGE_ADDR);
	ck_assert_uint_eq(out.kernel_start, PREF_ADDR);
	ck_assert_uint_eq(out.kernel_end, PREF_ADDR + INIT_SIZE);
	/* The protected-mode kernel (not the setup area) sits at the load address. */
	ck_assert_mem_eq(ram + PREF_ADDR, bz.buf + 2 * 512, PAYLOAD_SIZE);

	const struct boot_params *bp = zero_page();
	ck_assert_uint_eq(bp->hdr.boot_flag, 0xaa55);
	ck_assert_mem_eq(&bp->hdr.header, "HdrS", 4);
	ck_assert_uint_eq(bp->hdr.version, 0x020f);
	ck_assert_uint_eq(bp->hdr.setup_sects, SETUP_SECTS);
	ck_assert_uint_eq(bp->hdr.init_size, INIT_SIZE);
	ck_assert_uint_eq(bp->hdr.type_of_loader, 0xff);
	ck_assert_uint_eq(bp->hdr.loadflags, LOADED_HIGH | CAN_USE_HEAP); /* QUIET, KEEP cleared */
	ck_assert_uint_eq(bp->hdr.heap_end_ptr, 0xfe00);
	ck_assert_uint_eq(bp->hdr.setup_data, 0);
	ck_assert_uint_eq(bp->hdr.cmd_line_ptr, CMDLINE_ADDR);
	ck_assert_uint_eq(bp->ext_cmd_line_ptr, 0);
	ck_assert_str_eq((const char *)ram + CMDLINE_ADDR, "console=ttyS0 panic=-1");
	ck_assert_uint_eq(bp->acpi_rsdp_addr, 0xe0000);

	/* initrd: page aligned, as high as possible in the 64 MiB, bytes copied. */
	ck_assert_uint_eq(out.initrd_size, sizeof(initrd));
	ck_assert_uint_eq(out.initrd_start, (RAM_SIZE - sizeof(initrd)) & ~0xfffull);
	ck_assert_uint_eq(out.initrd_start % 4096, 0);
	ck_assert_uint_le(out.initrd_start + out.initrd_size, RAM_SIZE);
	ck_assert_uint_eq(bp->hdr.ramdisk_image, out.initrd_start);
	ck_assert_uint_eq(bp->hdr.ramdisk_size, sizeof(initrd));
	ck_assert_uint_eq(bp->ext_ramdisk_image, 0);
	ck_assert_uint_eq(bp->ext_ramdisk_size, 0);
	ck_assert_mem_eq(ram + out.initrd_start, initrd, sizeof(initrd));
	ck_assert_uint_eq(out.initrd_start, bp->hdr.ramdisk_image);

	ne = boot_build_e820(&gm, e820, E820_MAX_ENTRIES_ZEROPAGE);
	ck_assert_uint_eq(ne, 3);
	ck_assert_uint_eq(bp->e820_entries, ne);
	ck_assert_mem_eq(bp->e820_table, e820, ne * sizeof(e820[0]));
	free(bz.buf);
}
END_TEST

START_TEST(bzimage_initrd_respects_initrd_addr_max)
{
	struct bz bz = {.hdr = default_header()};
	struct boot_entry out;
	struct vmm_err err = {{0}};
	uint8_t initrd[5000] = {1};

	bz.hdr.initrd_addr_max = 0x37fffff; /* 56 MiB - 1 */
	bz_build(&bz);
	struct boot_request req = request(&bz);
	req.initrd = initrd;
	req.initrd_len = sizeof(initrd);
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), 0);
	ck_assert_uint_eq(out.initrd_start, (0x3800000 - sizeof(initrd)) & ~0xfffull);
	ck_assert_uint_le(out.initrd_start + out.initrd_size, 0x3800000);
	ck_assert_uint_ge(out.initrd_start, out.kernel_end);
	free(bz.buf);
}
END_TEST

START_TEST(bzimage_non_relocatable_uses_code32_start)
{
	struct bz bz = {.hdr = default_header()};
	struct boot_entry out;
	struct vmm_err err = {{0}};

	bz.hdr.relocatable_kernel = 0;
	bz.hdr.code32_start = 0x200000;
	bz_build(&bz);
	struct boot_request req = request(&bz);
	req.cmdline = NULL;
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), 0);
	ck_assert_uint_eq(out.kernel_start, 0x200000);
	ck_assert_uint_eq(out.entry, 0x200200);
	ck_assert_mem_eq(ram + 0x200000, bz.buf + 1024, PAYLOAD_SIZE);
	ck_assert_str_eq((const char *)ram + CMDLINE_ADDR, "");
	ck_assert_uint_eq(out.initrd_start, 0);
	ck_assert_uint_eq(zero_page()->hdr.ramdisk_image, 0);
	ck_assert_uint_eq(zero_page()->hdr.ramdisk_size, 0);
	free(bz.buf);

	/* code32_start 0 falls back to 1 MiB. */
	bz.hdr.code32_start = 0;
	bz_build(&bz);
	req = request(&bz);
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), 0);
	ck_assert_uint_eq(out.kernel_start, KERNEL_LOAD_ADDR);
	free(bz.buf);
}
END_TEST

START_TEST(bzimage_setup_sects_zero_means_four)
{
	struct bz bz = {.hdr = default_header()};
	struct boot_entry out;
	struct vmm_err err = {{0}};

	bz.hdr.setup_sects = 0;
	bz_build(&bz);
	ck_assert_uint_eq(bz.len, 5 * 512 + PAYLOAD_SIZE);
	struct boot_request req = request(&bz);
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), 0);
	ck_assert_mem_eq(ram + PREF_ADDR, bz.buf + 5 * 512, PAYLOAD_SIZE);
	free(bz.buf);
}
END_TEST

START_TEST(bzimage_quiet_and_old_rsdp)
{
	struct bz bz = {.hdr = default_header()};
	struct boot_entry out;
	struct vmm_err err = {{0}};

	bz.hdr.version = 0x020d; /* 2.13: no acpi_rsdp_addr yet */
	bz.hdr.loadflags = LOADED_HIGH;
	bz_build(&bz);
	struct boot_request req = request(&bz);
	req.cmdline = "console=ttyS0 quiet";
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), 0);
	ck_assert_uint_eq(zero_page()->hdr.loadflags, LOADED_HIGH | CAN_USE_HEAP | QUIET_FLAG);
	ck_assert_uint_eq(zero_page()->acpi_rsdp_addr, 0);
	free(bz.buf);

	/* "quietly" is not "quiet". */
	bz.hdr = default_header();
	bz_build(&bz);
	req = request(&bz);
	req.cmdline = "quietly";
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), 0);
	ck_assert_uint_eq(zero_page()->hdr.loadflags & QUIET_FLAG, 0);
	free(bz.buf);
}
END_TEST

START_TEST(bzimage_cmdline_size_is_enforced)
{
	struct bz bz = {.hdr = default_header()};
	struct boot_entry out;
	struct vmm_err err = {{0}};

	bz.hdr.cmdline_size = 16;
	bz_build(&bz);
	struct boot_request req = request(&bz);
	req.cmdline = "0123456789abcdef"; /* exactly 16: fine */
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), 0);
	ck_assert_str_eq((const char *)ram + CMDLINE_ADDR, "0123456789abcdef");
	req.cmdline = "0123456789abcdefg";
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), -E2BIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "17 characters"));
	ck_assert_ptr_nonnull(strstr(err.msg, "at most 16"));
	free(bz.buf);
}
END_TEST

START_TEST(bzimage_cmdline_capped_by_buffer)
{
	struct bz bz = {.hdr = default_header()};
	struct boot_entry out;
	struct vmm_err err = {{0}};
	char *line = malloc(CMDLINE_MAX + 1);

	bz.hdr.cmdline_size = 0xffffffff; /* hostile: would overrun the cmdline buffer */
	bz_build(&bz);
	memset(line, 'a', CMDLINE_MAX);
	line[CMDLINE_MAX] = '\0';
	struct boot_request req = request(&bz);
	req.cmdline = line;
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), -E2BIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "minivmm's command line buffer"));
	line[CMDLINE_MAX - 1] = '\0';
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), 0);
	free(line);
	free(bz.buf);
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

static int load_expect_error(const struct bz *bz, struct vmm_err *err)
{
	struct boot_entry out;
	struct boot_request req = request(bz);

	memset(err, 0, sizeof(*err));
	return boot_load_kernel(&gm, &req, &out, err);
}

START_TEST(error_empty_file)
{
	struct bz bz = {.buf = NULL, .len = 0};
	struct vmm_err err;
	uint8_t one = 0;

	ck_assert_int_eq(load_expect_error(&bz, &err), -EINVAL);
	ck_assert_str_eq(
	    err.msg, "KERNEL: test-bzImage is empty (0 bytes); pass a bzImage or an ELF vmlinux");
	bz.buf = &one; /* non-NULL, zero length */
	ck_assert_int_eq(load_expect_error(&bz, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "empty"));
}
END_TEST

START_TEST(error_random_bytes)
{
	struct bz bz;
	struct vmm_err err;
	unsigned seed = 1;

	bz.len = 4096;
	bz.buf = malloc(bz.len);
	for (size_t i = 0; i < bz.len; i++)
		bz.buf[i] = (uint8_t)rand_r(&seed);
	bz.buf[0x202] = 'x';
	ck_assert_int_eq(load_expect_error(&bz, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "KERNEL: not a Linux kernel image (no ELF header, no "
					      "bzImage 'HdrS' signature)"));
	/* Too short to even hold the signature. */
	bz.len = 0x205;
	memcpy(bz.buf + 0x202, "HdrS", 3);
	ck_assert_int_eq(load_expect_error(&bz, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a Linux kernel image"));
	free(bz.buf);
}
END_TEST

START_TEST(error_missing_hdrs)
{
	struct bz bz = {.hdr = default_header()};
	struct vmm_err err;

	memcpy(&bz.hdr.header, "HdrT", 4);
	bz_build(&bz);
	ck_assert_int_eq(load_expect_error(&bz, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a Linux kernel image"));
	free(bz.buf);
}
END_TEST

START_TEST(error_bad_boot_flag)
{
	struct bz bz = {.hdr = default_header()};
	struct vmm_err err;

	bz.hdr.boot_flag = 0x55aa;
	bz_build(&bz);
	ck_assert_int_eq(load_expect_error(&bz, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "boot_flag is 0x55aa, not 0xAA55"));
	free(bz.buf);
}
END_TEST

START_TEST(error_old_protocol)
{
	struct bz bz = {.hdr = default_header()};
	struct vmm_err err;

	bz.hdr.version = 0x020b;
	bz_build(&bz);
	ck_assert_int_eq(load_expect_error(&bz, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "boot protocol 2.11 is too old"));
	ck_assert_ptr_nonnull(strstr(err.msg, "2.12"));
	free(bz.buf);
}
END_TEST

START_TEST(error_short_header_reads_as_old)
{
	struct bz bz = {.hdr = default_header()};
	struct vmm_err err;

	/* The header claims to end at 0x202: version etc. are not part of it. */
	bz.hdr.jump = 0x00eb;
	bz_build(&bz);
	ck_assert_int_eq(load_expect_error(&bz, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "boot protocol 0.00 is too old"));
	free(bz.buf);
}
END_TEST

START_TEST(error_no_kernel_64)
{
	struct bz bz = {.hdr = default_header()};
	struct vmm_err err;

	bz.hdr.xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G;
	bz_build(&bz);
	ck_assert_int_eq(load_expect_error(&bz, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "XLF_KERNEL_64"));
	free(bz.buf);
}
END_TEST

START_TEST(error_truncated_payload)
{
	struct bz bz = {.hdr = default_header()};
	struct vmm_err err;
	char want[128];

	bz_build(&bz);
	bz.len -= 1;
	ck_assert_int_eq(load_expect_error(&bz, &err), -EINVAL);
	snprintf(want, sizeof(want), "KERNEL: truncated bzImage: header says %u bytes, file has %u",
		 1024 + PAYLOAD_SIZE, 1024 + PAYLOAD_SIZE - 1);
	ck_assert_ptr_nonnull(strstr(err.msg, want));
	free(bz.buf);

	/* Hostile syssize: 2^32 - 1 paragraphs. */
	bz.hdr = default_header();
	bz_build(&bz);
	memset(bz.buf + 0x1f4, 0xff, 4);
	ck_assert_int_eq(load_expect_error(&bz, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "header says 68719477744 bytes"));
	free(bz.buf);
}
END_TEST

START_TEST(error_setup_sects_past_file)
{
	struct bz bz = {.hdr = default_header()};
	struct vmm_err err;

	bz_build(&bz);
	bz.buf[0x1f1] = 200; /* (200 + 1) * 512 bytes of setup: past the 9 KiB file */
	ck_assert_int_eq(load_expect_error(&bz, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "KERNEL: truncated bzImage"));
	ck_assert_ptr_nonnull(strstr(err.msg, "setup 102912"));
	free(bz.buf);
}
END_TEST

START_TEST(error_empty_payload)
{
	struct bz bz = {.hdr = default_header()};
	struct vmm_err err;

	bz.hdr.syssize = 0;
	bz_build(&bz);
	ck_assert_int_eq(load_expect_error(&bz, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "syssize 0"));
	free(bz.buf);
}
END_TEST

START_TEST(error_load_address_not_ram)
{
	struct bz bz = {.hdr = default_header()};
	struct vmm_err err;

	bz.hdr.pref_address = 0x10000000; /* 256 MiB: beyond our 64 MiB */
	bz_build(&bz);
	ck_assert_int_eq(load_expect_error(&bz, &err), -ENOMEM);
	ck_assert_ptr_nonnull(strstr(err.msg, "[0x10000000, 0x10200000)"));
	ck_assert_ptr_nonnull(strstr(err.msg, "--mem"));
	free(bz.buf);

	bz.hdr = default_header();
	bz.hdr.init_size = 0xffffffff; /* needs 4 GiB */
	bz_build(&bz);
	ck_assert_int_eq(load_expect_error(&bz, &err), -ENOMEM);
	free(bz.buf);

	bz.hdr = default_header();
	bz.hdr.pref_address = UINT64_MAX - 0x1000; /* wraps */
	bz_build(&bz);
	ck_assert_int_eq(load_expect_error(&bz, &err), -ENOMEM);
	free(bz.buf);

	bz.hdr = default_header();
	bz.hdr.pref_address = 0x7000; /* would overwrite the zero page */
	bz_build(&bz);
	ck_assert_int_eq(load_expect_error(&bz, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "below 1 MiB"));
	free(bz.buf);
}
END_TEST

START_TEST(error_initrd_too_big)
{
	struct bz bz = {.hdr = default_header()};
	struct boot_entry out;
	struct vmm_err err = {{0}};
	size_t size = 15u << 20;
	uint8_t *initrd = calloc(1, size);

	/* Kernel occupies [16 MiB, 18 MiB); initrd must end below 32 MiB: 15 MiB do not fit. */
	bz.hdr.initrd_addr_max = 0x1ffffff;
	bz_build(&bz);
	struct boot_request req = request(&bz);
	req.initrd = initrd;
	req.initrd_len = size;
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), -ENOMEM);
	ck_assert_str_eq(err.msg, "INITRD (15 MiB) does not fit in guest RAM below 0x2000000; give "
				  "the VM more memory (--mem)");

	/* 14 MiB do. */
	memset(&err, 0, sizeof(err));
	req.initrd_len = 14u << 20;
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), 0);
	ck_assert_uint_eq(out.initrd_start, 0x2000000 - (14u << 20));

	/* Larger than all of RAM. */
	bz.hdr.initrd_addr_max = 0xffffffff;
	free(bz.buf);
	bz_build(&bz);
	req = request(&bz);
	req.initrd = initrd;
	req.initrd_len = RAM_SIZE + 1;
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), -ENOMEM);
	ck_assert_ptr_nonnull(strstr(err.msg, "INITRD (65 MiB) does not fit in guest RAM below "
					      "0x4000000"));
	free(initrd);
	free(bz.buf);
}
END_TEST

START_TEST(error_no_low_memory_for_zero_page)
{
	struct guest_mem high_only = {0};
	struct bz bz = {.hdr = default_header()};
	struct boot_entry out;
	struct vmm_err err = {{0}};

	/* RAM only from 1 MiB: the kernel fits, the command line does not. */
	ck_assert_int_eq(
	    gm_add_region(&high_only, HIMEM_START, RAM_SIZE - HIMEM_START, ram + HIMEM_START), 0);
	bz_build(&bz);
	struct boot_request req = request(&bz);
	ck_assert_int_eq(boot_load_kernel(&high_only, &req, &out, &err), -EFAULT);
	ck_assert_ptr_nonnull(strstr(err.msg, "command line"));
	free(bz.buf);
}
END_TEST

/* ---- e820 --------------------------------------------------------------- */

START_TEST(e820_low_region)
{
	struct boot_e820_entry e[8];

	ck_assert_uint_eq(boot_build_e820(&gm, e, 8), 3);
	ck_assert_uint_eq(e[0].addr, 0);
	ck_assert_uint_eq(e[0].size, EBDA_START);
	ck_assert_uint_eq(e[0].type, E820_RAM);
	ck_assert_uint_eq(e[1].addr, EBDA_START);
	ck_assert_uint_eq(e[1].size, 0x100000 - EBDA_START);
	ck_assert_uint_eq(e[1].type, E820_RESERVED);
	ck_assert_uint_eq(e[2].addr, 0x100000);
	ck_assert_uint_eq(e[2].size, RAM_SIZE - 0x100000);
	ck_assert_uint_eq(e[2].type, E820_RAM);
	/* The ACPI tables are inside the reserved range. */
	ck_assert_uint_le(e[1].addr, ACPI_TABLES_ADDR);
	ck_assert_uint_ge(e[1].addr + e[1].size, ACPI_TABLES_END);
}
END_TEST

START_TEST(e820_high_region_sorted_and_capped)
{
	struct guest_mem two = {0};
	struct boot_e820_entry e[8];
	uint8_t page[4096];

	/* High region added first: the map must still come out ascending. */
	ck_assert_int_eq(gm_add_region(&two, HIGH_RAM_START, sizeof(page), page), 0);
	ck_assert_int_eq(gm_add_region(&two, 0, RAM_SIZE, ram), 0);
	ck_assert_uint_eq(boot_build_e820(&two, e, 8), 4);
	ck_assert_uint_eq(e[0].addr, 0);
	ck_assert_uint_eq(e[2].addr, 0x100000);
	ck_assert_uint_eq(e[3].addr, HIGH_RAM_START);
	ck_assert_uint_eq(e[3].size, sizeof(page));
	ck_assert_uint_eq(e[3].type, E820_RAM);

	memset(e, 0xee, sizeof(e));
	ck_assert_uint_eq(boot_build_e820(&two, e, 2), 2);
	ck_assert_uint_eq(e[1].type, E820_RESERVED);
	ck_assert_uint_eq(e[2].type, 0xeeeeeeee); /* untouched past max */
	ck_assert_uint_eq(boot_build_e820(&two, e, 0), 0);

	struct guest_mem none = {0};
	ck_assert_uint_eq(boot_build_e820(&none, e, 8), 0);
}
END_TEST

Suite *linux_x86_suite(void)
{
	Suite *s = suite_create("linux_x86");
	TCase *tc = tcase_create("bzimage");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, bzimage_loads_at_pref_address);
	tcase_add_test(tc, bzimage_initrd_respects_initrd_addr_max);
	tcase_add_test(tc, bzimage_non_relocatable_uses_code32_start);
	tcase_add_test(tc, bzimage_setup_sects_zero_means_four);
	tcase_add_test(tc, bzimage_quiet_and_old_rsdp);
	tcase_add_test(tc, bzimage_cmdline_size_is_enforced);
	tcase_add_test(tc, bzimage_cmdline_capped_by_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("bzimage_errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, error_empty_file);
	tcase_add_test(tc, error_random_bytes);
	tcase_add_test(tc, error_missing_hdrs);
	tcase_add_test(tc, error_bad_boot_flag);
	tcase_add_test(tc, error_old_protocol);
	tcase_add_test(tc, error_short_header_reads_as_old);
	tcase_add_test(tc, error_no_kernel_64);
	tcase_add_test(tc, error_truncated_payload);
	tcase_add_test(tc, error_setup_sects_past_file);
	tcase_add_test(tc, error_empty_payload);
	tcase_add_test(tc, error_load_address_not_ram);
	tcase_add_test(tc, error_initrd_too_big);
	tcase_add_test(tc, error_no_low_memory_for_zero_page);
	suite_add_tcase(s, tc);

	tc = tcase_create("e820");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, e820_low_region);
	tcase_add_test(tc, e820_high_region_sorted_and_capped);
	suite_add_tcase(s, tc);
	return s;
}
