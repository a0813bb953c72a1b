# Test guests (tests/guests/README.md): freestanding programs, each built as
# $(BUILD)/guests/NAME.elf (PVH entry) and $(BUILD)/guests/NAME.bzImage
# (bzImage, 64-bit boot protocol), plus the host tool that packs the latter.
# Included by the top-level Makefile; `make guests` builds them all.

GUEST_CC      ?= gcc
GUEST_LD      ?= ld
GUEST_OBJCOPY ?= objcopy
GUEST_SRC     := tests/guests
GUEST_OUT     := $(BUILD)/guests
# Every tests/guests/NAME.c except the host-side packer is a guest.
GUEST_NAMES   := $(filter-out mkbzimage,$(basename $(notdir $(wildcard $(GUEST_SRC)/*.c))))

# Freestanding kernel-mode code: no SSE (nobody enables it), no red zone
# (exceptions push onto the stack), absolute addresses (linked at 1 MiB).
# No -nostdinc: <stdint.h>/<stdarg.h> come from gcc and <asm/bootparam.h>
# from the UAPI headers.  No loop-to-memset rewriting inside memset itself.
GUEST_CFLAGS := -std=gnu11 -O2 -g -ffreestanding -nostdlib -mgeneral-regs-only -mno-red-zone \
	-fno-pic -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables \
	-fno-tree-loop-distribute-patterns -fno-strict-aliasing \
	-Wall -Wextra -Werror -Wmissing-prototypes -Wstrict-prototypes -I. -MMD -MP
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,$(GUEST_OUT)/guest.ld -Wl,--build-id=none \
	-Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments

GUEST_LIB_OBJS := $(patsubst $(GUEST_SRC)/%,$(GUEST_OUT)/obj/%.o, \
	$(sort $(wildcard $(GUEST_SRC)/lib/*.c $(GUEST_SRC)/lib/*.S)))
GUEST_MAIN_OBJS := $(GUEST_NAMES:%=$(GUEST_OUT)/obj/%.c.o)
GUEST_IMAGES := $(GUEST_NAMES:%=$(GUEST_OUT)/%.elf) $(GUEST_NAMES:%=$(GUEST_OUT)/%.bzImage)

guests: $(GUEST_IMAGES)

# Objects reached only through pattern rules would count as intermediate.
.SECONDARY: $(GUEST_LIB_OBJS) $(GUEST_MAIN_OBJS) $(GUEST_OUT)/obj/rmstub.S.o

$(GUEST_OUT)/obj/%.c.o: $(GUEST_SRC)/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_OUT)/obj/%.S.o: $(GUEST_SRC)/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

# The linker script takes KERNEL_LOAD_ADDR from boot/layout.h; ld does not
# know C's integer suffixes (0x100000ull), so they are stripped.
$(GUEST_OUT)/guest.ld: $(GUEST_SRC)/guest.ld boot/layout.h
	@mkdir -p $(dir $@)
	$(GUEST_CC) -E -P -undef -x c -I. $< | \
		sed -E 's/\b(0x[0-9a-fA-F]+|[0-9]+)[uU]?[lL]{0,2}\b/\1/g' > $@

$(GUEST_OUT)/%.elf: $(GUEST_OUT)/obj/%.c.o $(GUEST_LIB_OBJS) $(GUEST_OUT)/guest.ld
	$(GUEST_CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ $< $(GUEST_LIB_OBJS)

# The real-mode setup stub, linked at 0 so its addresses are setup-segment offsets.
$(GUEST_OUT)/rmstub.bin: $(GUEST_OUT)/obj/rmstub.S.o
	$(GUEST_LD) -static -Ttext=0 -e stub_start --no-warn-rwx-segments \
		-o $(GUEST_OUT)/obj/rmstub.elf $<
	$(GUEST_OBJCOPY) -O binary -j .text $(GUEST_OUT)/obj/rmstub.elf $@

$(GUEST_OUT)/mkbzimage: $(GUEST_SRC)/mkbzimage.c $(GUEST_SRC)/bzimage.h boot/layout.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wmissing-prototypes -Wstrict-prototypes \
		-D_GNU_SOURCE -I. -o $@ $<

$(GUEST_OUT)/%.bzImage: $(GUEST_OUT)/%.elf $(GUEST_OUT)/rmstub.bin $(GUEST_OUT)/mkbzimage
	$(GUEST_OUT)/mkbzimage $(GUEST_OUT)/rmstub.bin $< $@

-include $(GUEST_LIB_OBJS:.o=.d) $(GUEST_MAIN_OBJS:.o=.d) $(GUEST_OUT)/obj/rmstub.S.d
