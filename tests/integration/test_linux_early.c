/* SPDX-License-Identifier: MIT */
/*
 * Linux is the oracle: boot Debian's stock cloud kernel (fetched by
 * guest-images/fetch-debian-kernel.sh cloud) and check, in the kernel's own
 * early log, that it saw the machine minivmm built: the e820 map, the ACPI
 * tables with minivmm's OEM ID, the CPU count from the MADT, the command
 * line.  The run is stopped (SIGTERM) as soon as those lines are out, so on
 * a PVM host, where guest kernel code is emulated, this takes seconds rather
 * than the minutes a full boot would.  Skipped when no kernel is cached.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static const char *cloud_kernel(void)
{
	static __thread char path[512];
	const char *env = getenv("MINIVMM_LINUX_KERNEL");
	const char *cache = getenv("MINIVMM_CACHE");
	const char *home = getenv("HOME");

	if (env)
		return access(env, R_OK) == 0 ? env : NULL;
	if (cache)
		snprintf(path, sizeof(path), "%s/debian-kernel/cloud/vmlinuz", cache);
	else
		snprintf(path, sizeof(path), "%s/.cache/minivmm/debian-kernel/cloud/vmlinuz",
			 home ? home : "/root");
	return access(path, R_OK) == 0 ? path : NULL;
}

/* Few instructions for the emulated kernel: HOST-KVM.md's list, minus `quiet`. */
#define EARLY_CMDLINE                                                                              \
	"console=ttyS0 earlyprintk=serial,ttyS0 lpj=5000000 tsc=reliable no_timer_check "          \
	"nokaslr 8250.nr_uarts=1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd "               \
	"random.trust_cpu=on mitigations=off panic=-1 minivmm.check=early"

START_TEST(stock_kernel_sees_our_machine)
{
	const char *kernel = cloud_kernel();
	struct run_opts o = {
	    .limit_s = 600, .send_signal = SIGTERM, .signal_after = "hotplug CPUs"};
	struct run_result r;

	if (!kernel) {
		printf("linux early boot: skipped (no cached cloud kernel; run "
		       "guest-images/fetch-debian-kernel.sh cloud)\n");
		return;
	}
	RUN(&r, &o, "--kernel", kernel, "--cpus", "2", "--mem", "512M", "--cmdline", EARLY_CMDLINE,
	    "--timeout", "540", "--no-console-stdin");
	printf("linux early boot (%s) reached smpboot in %.1f s on %s\n", kernel, r.seconds,
	       kvm_kind());
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
	/* Decompressed on the host: the guest never ran its decompressor. */
	ck_assert_stderr_has(&r, "decompressed on the host");
	run_result_free(&r);
}
END_TEST

Suite *linux_early_suite(void)
{
	Suite *s = suite_create("linux-early-boot");
	TCase *tc = tcase_create("stock-kernel");
	tcase_set_timeout(tc, 620);
	tcase_add_test(tc, stock_kernel_sees_our_machine);
	suite_add_tcase(s, tc);
	return s;
}
