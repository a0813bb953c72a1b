/* SPDX-License-Identifier: MIT */
/*
 * The kernel loaders (boot/linux_x86.c bzImage, boot/elf_loader.c ELF and
 * PVH) and the entry state they lead to (boot/x86_entry.c), on hostile
 * kernel images loaded into 16 MiB of fake guest RAM.
 *
 * Input: two control bytes, then the image.  The first control byte picks
 * the request (decompress mode, PVH preference, initrd, command line) and
 * whether to repair the few fields that gate everything else (bzImage:
 * "HdrS", boot_flag, protocol version, XLF_KERNEL_64, a syssize that fits
 * the file; ELF: magic, class, machine, type, e_phentsize): mostly-valid
 * images get past the header checks to the segment, payload and initrd
 * logic.  The seed corpus holds small real images (tests/fuzz/make-seeds.py).
 */
#include <asm/bootparam.h>
#include <elf.h>
#include <stdlib.h>

#include "boot/boot.h"
#include "boot/x86_entry.h"
#include "tests/fuzz/fuzz.h"

#define RAM_BYTES  (16u << 20)
#define INITRD_MAX (RAM_BYTES + (64u << 10)) /* a bit more than fits */
#define HDR_OFF	   0x1f1
#define MAX_IMAGE  (1u << 20)

static uint8_t *ram, *initrd, *image;

static void fix_bzimage(uint8_t *img, size_t len)
{
	struct setup_header h;
	uint64_t setup_size, pm;

	if (len < HDR_OFF + sizeof(h))
		return;
	memcpy(&h, img + HDR_OFF, sizeof(h));
	memcpy(&h.header, "HdrS", 4);
	h.boot_flag = 0xaa55;
	if (h.version < 0x020c)
		h.version = 0x020f;
	h.xloadflags |= XLF_KERNEL_64;
	/* 0x201, the jump's offset byte, says where the header ends: all of it */
	h.jump = (uint16_t)((h.jump & 0xff) | ((HDR_OFF + sizeof(h) - 0x202) << 8));
	setup_size = ((h.setup_sects ? h.setup_sects : 4) + 1) * 512ull;
	if (setup_size >= len) {
		h.setup_sects = 1;
		setup_size = 1024;
	}
	if (setup_size < len) {
		pm = len - setup_size;
		if ((uint64_t)h.syssize * 16 > pm || h.syssize == 0)
			h.syssize = (uint32_t)(pm / 16);
		pm = (uint64_t)h.syssize * 16;
		if (h.payload_offset > pm)
			h.payload_offset = (uint32_t)(h.payload_offset % (pm + 1));
		if (h.payload_length > pm - h.payload_offset)
			h.payload_length = (uint32_t)(pm - h.payload_offset);
	}
	memcpy(img + HDR_OFF, &h, sizeof(h));
}

static void fix_elf(uint8_t *img, size_t len)
{
	Elf64_Ehdr eh;

	if (len < sizeof(eh))
		return;
	memcpy(&eh, img, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_machine = EM_X86_64;
	eh.e_type = ET_EXEC;
	eh.e_phentsize = sizeof(Elf64_Phdr);
	if (eh.e_phoff > len)
		eh.e_phoff = sizeof(eh);
	if (eh.e_phnum == 0 || eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
		eh.e_phnum = (uint16_t)((len - eh.e_phoff) / sizeof(Elf64_Phdr));
	memcpy(img, &eh, sizeof(eh));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);
	uint8_t ctl = fuzz_u8(&in), sizes = fuzz_u8(&in);
	static const enum mvm_kernel_decompress modes[] = {MVM_DECOMPRESS_AUTO, MVM_DECOMPRESS_HOST,
							   MVM_DECOMPRESS_GUEST,
							   (enum mvm_kernel_decompress)7};
	static char cmdline[15 * 280 + 1];
	struct guest_mem gm = {0};
	struct boot_request req = {0};
	struct boot_entry entry;
	struct vmm_err err = {{0}};
	size_t len = in.n < MAX_IMAGE ? in.n : MAX_IMAGE;
	int ret;

	if (!ram) {
		/* Never cleared between inputs: the loaders only write guest RAM, never read it. */
		ram = malloc(RAM_BYTES);
		initrd = calloc(1, INITRD_MAX);
		image = malloc(MAX_IMAGE);
		if (!ram || !initrd || !image)
			abort();
	}
	if (gm_add_region(&gm, 0, RAM_BYTES, ram))
		abort();
	memcpy(image, in.p, len);
	if ((ctl & 3) == 1)
		fix_bzimage(image, len);
	else if ((ctl & 3) == 2)
		fix_elf(image, len);

	req.kernel = image;
	req.kernel_len = len;
	req.prefer_pvh = ctl & 4;
	req.decompress = modes[ctl >> 3 & 3];
	if (ctl & 0x20) {
		/* 0..255 pages, or (top bit) up to all of RAM and beyond */
		req.initrd_len = sizes & 0x80 ? (size_t)(sizes & 0x7f) << 17 : (size_t)sizes << 12;
		if (req.initrd_len > INITRD_MAX)
			req.initrd_len = INITRD_MAX;
		req.initrd = initrd;
	}
	if (ctl & 0x40) {
		size_t n =
		    (size_t)(sizes & 0x0f) * 280; /* across 2048 and the bzImage's cmdline_size */

		memset(cmdline, 'q', n);
		memcpy(cmdline, "quiet ", n < 6 ? n : 6);
		cmdline[n] = 0;
		req.cmdline = cmdline;
	}
	req.acpi_rsdp_addr = ctl & 0x80 ? ACPI_TABLES_ADDR : 0;

	ret = boot_load_kernel(&gm, &req, &entry, &err);
	if (ret < 0) {
		if (!err.msg[0])
			abort(); /* every refusal says why, in one line */
		return 0;
	}
	if (!entry.format || entry.kernel_end < entry.kernel_start)
		abort();
	if (entry.initrd_size && (!gm_ptr(&gm, entry.initrd_start, entry.initrd_size) ||
				  entry.initrd_start < entry.kernel_end))
		abort(); /* the initrd lies in RAM, above the kernel */
	{
		struct kvm_regs regs = {0};
		struct kvm_sregs sregs = {0};

		if (x86_setup_entry(&gm, &entry, &regs, &sregs) < 0 ||
		    x86_write_reset_stub(&gm) < 0)
			abort(); /* 16 MiB of RAM holds every low page */
	}
	return 0;
}
