/* SPDX-License-Identifier: MIT */
/*
 * Linux is the oracle: boot Debian's stock cloud kernel (fetched by
 * guest-images/fetch-debian-kernel.sh cloud) and the microVM kernel
 * (guest-images/build-microvm-kernel.sh, as bzImage and as PVH vmlinux) and
 * check, in the kernel's own early log, that it saw the machine minivmm
 * built: the e820 map, the ACPI tables with minivmm's OEM ID, the CPU count
 * from the MADT, the command line.  Each run is stopped (SIGTERM) as soon as
 * those lines are out, so on a PVM host, where guest kernel code is emulated,
 * this takes seconds rather than the minutes a full boot would.  A kernel
 * that is not cached is skipped, saying how to make it.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* $MINIVMM_CACHE (default ~/.cache/minivmm) / rel, if readable. */
static const char *cached(const char *rel, char *path, size_t len)
{
	const char *cache = getenv("MINIVMM_CACHE");
	const char *home = getenv("HOME");

	if (cache)
		snprintf(path, len, "%s/%s", cache, rel);
	else
		snprintf(path, len, "%s/.cache/minivmm/%s", home ? home : "/root", rel);
	return access(path, R_OK) == 0 ? path : NULL;
}

/*
 * The kernels: Debian's stock cloud kernel (a bzImage minivmm decompresses
 * on the host), and guest-images' microVM kernel both as a bzImage and as the
 * ELF vmlinux entered through its PVH note.
 */
static const struct early_kernel {
	const char *name;
	const char *cache_path; /* under $MINIVMM_CACHE */
	const char *env;	/* overrides the path */
	const char *how;	/* in minivmm's log: how it was loaded */
	const char *prepare;	/* what makes it */
} early_kernels[] = {
    {"debian-cloud", "debian-kernel/cloud/vmlinuz", "MINIVMM_LINUX_KERNEL",
     "decompressed on the host", "guest-images/fetch-debian-kernel.sh cloud"},
    {"microvm-bzImage", "microvm-kernel/bzImage", NULL, "decompressed on the host",
     "guest-images/build-microvm-kernel.sh"},
    {"microvm-vmlinux-pvh", "microvm-kernel/vmlinux", NULL, "PVH",
     "guest-images/build-microvm-kernel.sh"},
};

/* Few instructions for the emulated kernel: HOST-KVM.md's list, minus `quiet`. */
#define EARLY_CMDLINE                                                                              \
	"console=ttyS0 earlyprintk=serial,ttyS0 lpj=5000000 tsc=reliable no_timer_check "          \
	"nokaslr 8250.nr_uarts=1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd "               \
	"random.trust_cpu=on mitigations=off panic=-1 minivmm.check=early"

START_TEST(linux_sees_our_machine)
{
	const struct early_kernel *k = &early_kernels[_i];
	char path[512];
	const char *kernel =
	    k->env && getenv(k->env) ? getenv(k->env) : cached(k->cache_path, path, sizeof(path));
	struct run_opts o = {
	    .limit_s = 600, .send_signal = SIGTERM, .signal_after = "hotplug CPUs"};
	struct run_result r;

	if (!kernel || access(kernel, R_OK) != 0) {
		printf("linux early boot (%s): skipped (no cached kernel; run %s)\n", k->name,
		       k->prepare);
		return;
	}
	RUN(&r, &o, "--kernel", kernel, "--cpus", "2", "--mem", "512M", "--cmdline", EARLY_CMDLINE,
	    "--timeout", "540", "--no-console-stdin", "--rng", "off");
	printf("linux early boot (%s, %s) reached smpboot in %.1f s on %s\n", k->name, kernel,
	       r.seconds, kvm_kind());
	/* Stopped by our SIGTERM once the lines were out, or powered off (fast hosts). */
	if (r.status != 143 && r.status != 0)
		dump_result(__func__, &r);
	ck_assert(r.status == 143 || r.status == 0);
	ck_assert_output_has(&r, "Linux version 6.");
	ck_assert_output_has(&r, "Command line: " EARLY_CMDLINE);
	/* boot/e820.c's map for 512 MiB. */
	ck_assert_output_has(&r, "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable");
	ck_assert_output_has(&r, "BIOS-e820: [mem 0x000000000009fc00-0x00000000000fffff] reserved");
	ck_assert_output_has(&r, "BIOS-e820: [mem 0x0000000000100000-0x000000001fffffff] usable");
	ck_assert_output_has(&r, "ACPI: RSDP 0x00000000000E0000 000024 (v02 MINVMM)");
	ck_assert_output_has(&r, "ACPI: XSDT 0x00000000000E0030");
	ck_assert_output_has(&r, "ACPI: FACP 0x");
	ck_assert_output_has(&r, "ACPI: APIC 0x");
	ck_assert_output_has(&r, "ACPI: DSDT 0x");
	ck_assert_output_has(&r, "(v06 MINVMM MINIVMM ");
	ck_assert_output_has(&r, "smpboot: Allowing 2 CPUs, 0 hotplug CPUs");
	/* bzImage: decompressed on the host, the guest never ran its decompressor. */
	ck_assert_stderr_has(&r, k->how);
	run_result_free(&r);
}
END_TEST

Suite *linux_early_suite(void)
{
	Suite *s = suite_create("linux-early-boot");
	TCase *tc = tcase_create("kernels");
	tcase_set_timeout(tc, 620);
	tcase_add_loop_test(tc, linux_sees_our_machine, 0,
			    (int)(sizeof(early_kernels) / sizeof(early_kernels[0])));
	suite_add_tcase(s, tc);
	return s;
}
