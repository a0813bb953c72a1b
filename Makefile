# minivmm — see README.md.  `make run` installs what is missing, builds and
# boots an example guest; `make` builds the CLI and the library; `make test`
# installs what is missing and runs every test (tests/run); `make check` only
# the unit tests.

CC      ?= gcc
BUILD   ?= build
# -fPIC everywhere: the same objects make libminivmm.a and libminivmm.so
# (one build, not two; -fno-semantic-interposition keeps intra-library
# calls direct, as in the PIE the CLI was built as before).
V_CFLAGS := -std=gnu11 -O2 -g -fPIC -fno-semantic-interposition -Wall -Wextra -Werror -Wno-unused-parameter \
	    -Wmissing-prototypes -Wstrict-prototypes -fno-strict-aliasing \
	    -D_GNU_SOURCE -DMINIVMM_HAVE_SLIRP -I. -I/usr/include/iniparser -MMD -MP
CFLAGS  ?=
# Libraries linked statically (Debian ships their .a): every shared library
# is mapped and relocated at each start, and a jailed minivmm must need no
# file of them inside its root.  Kernel payload decompressors
# (boot/decompress.c): zlib, liblzma, liblz4, libzstd, libbz2; the per-thread
# seccomp filters generated from vmm/seccomp.c's tables: libseccomp.  Add to
# this list only what has a .a (`dpkg -L libX-dev | grep '\.a$$'`).  The HTTP
# API's request and reply bodies (vmm/api_json.c): json-c.
STATIC_LIBS := -liniparser -lz -llzma -llz4 -lzstd -lbz2 -lseccomp -ljson-c
# Shared: glibc only.  libslirp (no .a in Debian; it pulls in glib) is
# dlopen()ed by devices/net_slirp.c when --net user asks for it: its header
# is needed to build, libslirp0 only to run --net user.
# libmicrohttpd (the HTTP API's transport, vmm/api_http.c) is linked shared:
# Debian's .a would drag gnutls and its dependencies in statically.
SHARED_LIBS := -lmicrohttpd -lpthread -ldl
LIBS    := -Wl,-Bstatic $(STATIC_LIBS) -Wl,-Bdynamic $(SHARED_LIBS)
# Everything bound at start (full RELRO): nothing is resolved lazily later,
# after a jail's pivot_root or under a seccomp filter.
V_LDFLAGS := -Wl,-z,now -Wl,-z,relro
# libminivmm.so.1 (ABI: README "The library"); the file name's version.
SO_VERSION := 1.0.0
SO_NAME    := libminivmm.so.1

LIB_SRCS  := $(sort $(filter-out vmm/main.c,$(wildcard vmm/*.c devices/*.c boot/*.c)))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(sort $(wildcard tests/unit/*.c))
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/%.o)
INTEG_SRCS := $(sort $(wildcard tests/integration/*.c))
INTEG_OBJS := $(INTEG_SRCS:%.c=$(BUILD)/%.o)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt -lpthread)

FORCE:
.PHONY: all install check test asan FORCE guests clean format bench hostvm-test pvm-linux-boot fuzz fuzz-build
all: $(BUILD)/minivmm $(BUILD)/libminivmm.a $(BUILD)/libminivmm.so $(BUILD)/$(SO_NAME) $(BUILD)/minivmm.pc

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(V_CFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/libminivmm.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

# The shared library: the same objects; exports exactly vmm/minivmm.h's
# functions (vmm/libminivmm.map; tests/library/check-exports.sh), everything
# else local.  Its dependencies are linked shared: Debian's libiniparser.a,
# libz.a, libzstd.a and libbz2.a are PIE code whose PC32 references to
# glibc's data (stderr, stdout) cannot go into a shared object ("recompile
# with -fPIC"; liblzma, liblz4 and libseccomp's would), and a shared library
# pulling in shared ones is what its users' package managers expect.  The
# CLI keeps linking them statically (jail: no library files inside).  -z defs:
# nothing left unresolved.
$(BUILD)/libminivmm.so.$(SO_VERSION): $(LIB_OBJS) vmm/libminivmm.map
	$(CC) $(CFLAGS) -shared -Wl,-soname,$(SO_NAME) -Wl,--version-script=vmm/libminivmm.map \
		-Wl,-z,defs $(V_LDFLAGS) -o $@ $(LIB_OBJS) $(STATIC_LIBS) $(SHARED_LIBS)

$(BUILD)/$(SO_NAME) $(BUILD)/libminivmm.so: $(BUILD)/libminivmm.so.$(SO_VERSION)
	ln -sf libminivmm.so.$(SO_VERSION) $@

# pkg-config: Libs.private lists the static dependencies for `--static`
# links against libminivmm.a; a shared link needs only -lminivmm.  Written
# by every `make install` (and `make`, for a look), so the paths in it are
# always those of the PREFIX given.
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
$(BUILD)/minivmm.pc: vmm/minivmm.h Makefile FORCE
	@mkdir -p $(BUILD)
	@{ echo 'prefix=$(PREFIX)'; echo 'libdir=$(LIBDIR)'; echo 'includedir=$(INCLUDEDIR)'; echo; \
	  echo 'Name: minivmm'; echo 'Description: KVM-based lightweight VMM (C library)'; \
	  echo "Version: $$(sed -n 's/^#define MINIVMM_VERSION "\(.*\)"/\1/p' vmm/minivmm.h)"; \
	  echo 'Libs: -L$${libdir} -lminivmm'; \
	  echo 'Libs.private: $(STATIC_LIBS) $(SHARED_LIBS)'; \
	  echo 'Cflags: -I$${includedir}'; } > $@

# `make install PREFIX=/usr DESTDIR=/tmp/stage`: the CLI, both libraries, the
# one public header and the .pc.
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)
	install -m 755 $(BUILD)/minivmm $(DESTDIR)$(PREFIX)/bin/minivmm
	install -m 644 $(BUILD)/libminivmm.a $(DESTDIR)$(LIBDIR)/libminivmm.a
	install -m 755 $(BUILD)/libminivmm.so.$(SO_VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libminivmm.so.$(SO_VERSION) $(DESTDIR)$(LIBDIR)/$(SO_NAME)
	ln -sf $(SO_NAME) $(DESTDIR)$(LIBDIR)/libminivmm.so
	install -m 644 vmm/minivmm.h $(DESTDIR)$(INCLUDEDIR)/minivmm.h
	install -m 644 $(BUILD)/minivmm.pc $(DESTDIR)$(LIBDIR)/pkgconfig/minivmm.pc

$(BUILD)/minivmm: $(BUILD)/vmm/main.o $(BUILD)/libminivmm.a
	$(CC) $(CFLAGS) $(V_LDFLAGS) -o $@ $^ $(LIBS)

# Syscall names for the SIGSYS line (vmm/seccomp.c): the C library's own
# list, so that a signal handler can name a number without calling anything.
$(BUILD)/syscall_names.h:
	@mkdir -p $(BUILD)
	echo '#include <sys/syscall.h>' | $(CC) -dM -E - | sed -n 's/^#define __NR_\([a-z0-9_]*\) \([0-9][0-9]*\)$$/[\2] = "\1",/p' > $@
$(BUILD)/vmm/seccomp.o: $(BUILD)/syscall_names.h
$(BUILD)/vmm/seccomp.o: V_CFLAGS += -I$(BUILD)

# build/minivmm-test: the CLI plus test-only hooks (files built with
# MINIVMM_TEST_HOOKS: vmm/seccomp.c makes a thread role break its filter on
# request, vmm/vm.c presses the power button on a timer), for the
# integration tests; build/minivmm never contains them.
TEST_HOOK_OBJS := $(BUILD)/test-hooks/vmm/seccomp.o $(BUILD)/test-hooks/vmm/vm.o
$(BUILD)/test-hooks/vmm/seccomp.o: $(BUILD)/syscall_names.h
$(BUILD)/test-hooks/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(V_CFLAGS) -I$(BUILD) -DMINIVMM_TEST_HOOKS $(CFLAGS) -c $< -o $@

$(BUILD)/minivmm-test: $(BUILD)/vmm/main.o $(TEST_HOOK_OBJS) $(BUILD)/libminivmm.a
	$(CC) $(CFLAGS) $(V_LDFLAGS) -o $@ $^ $(LIBS)

# Unit tests: every `Suite *NAME_suite(void)` in tests/unit/*.c is collected
# into one Check runner; no list to keep by hand.
$(BUILD)/unit_suites.h: $(UNIT_SRCS)
	@mkdir -p $(BUILD)
	@grep -ho '^Suite \*[a-z0-9_]*_suite(void)' $(UNIT_SRCS) | sed 's/^Suite \*\(.*\)(void)/SUITE(\1)/' > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp

$(BUILD)/tests/%.o: V_CFLAGS += -Wno-missing-prototypes
$(BUILD)/tests/unit/main.o: $(BUILD)/unit_suites.h
$(BUILD)/tests/unit/main.o: V_CFLAGS += -I$(BUILD)

$(BUILD)/unit-tests: $(UNIT_OBJS) $(BUILD)/libminivmm.a
	$(CC) $(CFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS)

$(BUILD)/integration_suites.h: $(INTEG_SRCS)
	@mkdir -p $(BUILD)
	@grep -ho '^Suite \*[a-z0-9_]*_suite(void)' $(INTEG_SRCS) | sed 's/^Suite \*\(.*\)(void)/SUITE(\1)/' > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp

$(BUILD)/tests/integration/main.o: $(BUILD)/integration_suites.h
$(BUILD)/tests/integration/main.o: V_CFLAGS += -I$(BUILD)

$(BUILD)/integration-tests: $(INTEG_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(CHECK_LIBS) -lpthread

# The guest side of tests/linux/vsock-checks.sh: static, for the test initramfs.
all: $(BUILD)/vsock_tool
$(BUILD)/vsock_tool: tests/linux/vsock_tool.c
	@mkdir -p $(BUILD)
	$(CC) -static -O2 -Wall -Wextra -Werror -o $@ $<

# Small test tools linked against the library (e.g. the ACPI table dumper).
$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libminivmm.a
	@mkdir -p $(dir $@)
	$(CC) $(V_CFLAGS) $(CFLAGS) -o $@ $^ $(LIBS)

include tests/guests/guests.mk

check: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

# The unit tests again under AddressSanitizer and UndefinedBehaviorSanitizer.
asan:
	$(MAKE) BUILD=build/asan CFLAGS="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" build/asan/unit-tests

test-only: all $(BUILD)/minivmm-test $(BUILD)/unit-tests $(BUILD)/integration-tests $(BUILD)/tools/acpi_dump $(BUILD)/tools/vsock_connect guests fuzz-build
	$(MAKE) asan
	tests/run

# libFuzzer harnesses (tests/fuzz/README.md): the library again, built with
# clang's fuzzer instrumentation, ASan and UBSan, one binary per
# tests/fuzz/fuzz_*.c.  `make fuzz` runs each for FUZZ_TIME seconds.
FUZZ_CC	    ?= clang-14
FUZZ_BUILD  := build/fuzz
FUZZ_TIME   ?= 60
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Wno-unused-parameter -fno-strict-aliasing \
	       -D_GNU_SOURCE -DMINIVMM_HAVE_SLIRP -I. -I/usr/include/iniparser -Wno-gnu-variable-sized-type-not-at-end -MMD -MP -I$(BUILD) $(FUZZ_SAN)
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS   := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_HELPER_OBJS := $(FUZZ_BUILD)/obj/tests/unit/virtio_driver.o $(FUZZ_BUILD)/obj/tests/unit/fake_machine.o \
		    $(FUZZ_BUILD)/obj/tests/unit/fake_api_backend.o \
		    $(FUZZ_BUILD)/obj/tests/fuzz/virtio_fuzz.o $(FUZZ_BUILD)/obj/tests/fuzz/check_shim.o

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/obj/vmm/seccomp.o: $(BUILD)/syscall_names.h

$(FUZZ_BUILD)/libminivmm.a: $(FUZZ_LIB_OBJS) $(FUZZ_HELPER_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o $(FUZZ_BUILD)/libminivmm.a
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(LIBS)

.SECONDARY: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	tests/fuzz/run $(FUZZ_TIME) $(FUZZ_TARGETS)

# --- A fresh machine: `make run` and `make test` do their own set-up. ---
# Packages first (tools/deps: the one list; apt-get, through sudo when not
# root), then what needs them: building must wait for the compiler, so the
# rest runs in a second make.  `make run GUEST_SHELL=1` (or `make shell`) gives
# the guest's shell: not SHELL=1, which is make's own variable (the shell that
# runs every recipe) and would break them all.
.PHONY: run shell test-only
run:
	tools/deps run
	$(MAKE) all
	tools/run $(if $(GUEST_SHELL),--shell)

shell:
	$(MAKE) run GUEST_SHELL=1

# Kernels and guest images the tests boot (downloads and builds, cached in
# ~/.cache/minivmm), then every test.
test:
	tools/deps all
	tests/setup
	$(MAKE) test-only
# --- end of fresh-machine set-up ---

bench: all guests $(BUILD)/tools/seccomp_cost
	bench/run

# The integration tests and real-Linux boots inside the SVM test host
# (tests/hostvm/README.md): a hardware-style KVM under QEMU's emulator.
hostvm-test: all $(BUILD)/minivmm-test $(BUILD)/integration-tests $(BUILD)/tools/vsock_connect guests
	tests/hostvm/suite

# A full Linux boot on this machine's PVM /dev/kvm (guest kernel code
# emulated), minivmm and QEMU microvm, bounded (PVM_BOOT_LIMIT seconds per
# boot, default 900): how far each gets, and when.  Not part of `make test`.
pvm-linux-boot: all
	tests/linux/prepare >/dev/null
	python3 bench/linux_boot.py --pvm --limit $(or $(PVM_BOOT_LIMIT),900)

format:
	clang-format -i $(wildcard vmm/*.[ch] devices/*.[ch] boot/*.[ch] tests/unit/*.[ch] tests/integration/*.[ch] tests/guests/*.[ch] tests/guests/lib/*.[ch] tests/fuzz/*.[ch] tests/library/*.c examples/*.c)

clean:
	rm -rf build

-include $(LIB_OBJS:.o=.d) $(UNIT_OBJS:.o=.d) $(INTEG_OBJS:.o=.d) $(BUILD)/vmm/main.d \
	 $(TEST_HOOK_OBJS:.o=.d)
-include $(wildcard $(FUZZ_BUILD)/obj/*/*.d $(FUZZ_BUILD)/obj/*/*/*.d)
