/* SPDX-License-Identifier: MIT */
/*
 * Layout of the test guests' bzImage setup area, shared by the real-mode
 * stub (rmstub.S) and the packer (mkbzimage.c).  Pure #defines; mkbzimage.c
 * checks each against <asm/bootparam.h> with _Static_assert.
 */
#ifndef GUEST_BZIMAGE_H
#define GUEST_BZIMAGE_H

/* boot.rst: the header ends at 0x202 + the jump's rel8; the stub starts there. */
#define SETUP_HEADER_START 0x1f1
#define SETUP_HEADER_END   0x26c
#define SETUP_JUMP_OFFSET  0x200

/* struct boot_params offsets the real-mode stub writes. */
#define BP_E820_ENTRIES	   0x1e8
#define BP_CODE32_START	   0x214
#define BP_E820_TABLE	   0x2d0
#define BP_E820_ENTRY_SIZE 20
#define BP_E820_MAX	   128
#define BP_SIZE		   0x1000

/*
 * Where the stub builds the boot_params it hands to startup_32, relative
 * to the setup segment: after the setup sectors, like Linux's setup code
 * it does not reuse the sectors themselves (the e820 table at 0x2d0 would
 * overwrite the stub).
 */
#define STUB_BOOT_PARAMS 0x1000

#define SETUP_SECTS_MIN 4 /* boot.rst: 0 means 4; stay compatible */

#endif
