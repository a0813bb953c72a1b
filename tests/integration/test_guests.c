/* SPDX-License-Identifier: MIT */
/*
 * Test guests (tests/guests/) under real KVM: every test runs once with the
 * guest packaged as a bzImage (64-bit boot protocol) and once as a PVH ELF.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

/* Returns the number after `key` in the output, or -1. */
static long long output_value(const char *out, const char *key)
{
	const char *p = strstr(out, key);
	return p ? strtoll(p + strlen(key), NULL, 0) : -1;
}

static long long e820_ram_kib(const char *out)
{
	return output_value(out, "mem_kib=");
}

START_TEST(boot_info_default_machine)
{
	struct run_result r;
	RUN(&r, NULL, "--kernel", guest_path("boot_info", _i), "--cmdline",
	    "console=ttyS0 expect_cpus=1 expect_mem_mib=256", "--timeout", "60");
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, "# minivmm-test: PASS");
	ck_assert_output_has(&r, _i == 0 ? "entry=linux64" : "entry=pvh");
	ck_assert_output_has(&r, "cpus=1\n");
	/* 256 MiB less the reserved EBDA..1 MiB hole. */
	ck_assert_int_le(e820_ram_kib(r.out), 256 * 1024);
	ck_assert_int_ge(e820_ram_kib(r.out), 256 * 1024 - 1024);
	run_result_free(&r);
}
END_TEST

START_TEST(boot_info_smp_and_high_memory)
{
	struct run_result r;
	RUN(&r, NULL, "--kernel", guest_path("boot_info", _i), "--cpus", "4", "--mem", "5G",
	    "--cmdline", "expect_cpus=4 expect_mem_mib=5120", "--timeout", "60");
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, "# minivmm-test: PASS");
	ck_assert_output_has(&r, "cpus=4\n");
	/* RAM above the 32-bit hole starts at 4 GiB. */
	ck_assert_output_has(&r, "e820: 0x100000000-0x17fffffff usable");
	ck_assert_int_ge(e820_ram_kib(r.out), 5 * 1024 * 1024 - 1024);
	run_result_free(&r);
}
END_TEST

START_TEST(boot_info_sixteen_cpus)
{
	struct run_result r;
	RUN(&r, NULL, "--kernel", guest_path("boot_info", _i), "--cpus", "16", "--mem", "64M",
	    "--cmdline", "expect_cpus=16 expect_mem_mib=64", "--timeout", "60");
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, "cpus=16\n");
	run_result_free(&r);
}
END_TEST

/* The guest's CPUID leaf 1 ECX as boot_info printed it. */
static unsigned long cpuid1_ecx(const char *out)
{
	const char *p = strstr(out, "cpuid.1: ");
	p = p ? strstr(p, "ecx=") : NULL;
	return p ? strtoul(p + 4, NULL, 16) : ~0ul;
}

START_TEST(baseline_template_hides_cx16)
{
	struct run_result r;
	RUN(&r, NULL, "--kernel", guest_path("boot_info", _i), "--cpu-template", "baseline");
	ck_assert_status(&r, 0);
	ck_assert_stderr_has(&r, "CPU template baseline");
	/* CX16 (leaf 1 ECX bit 13): cmpxchg16b, which KVM's emulator lacks. */
	ck_assert_uint_eq(cpuid1_ecx(r.out) & (1ul << 13), 0);
	/* The hypervisor bit stays. */
	ck_assert_uint_ne(cpuid1_ecx(r.out) & (1ul << 31), 0);
	run_result_free(&r);
}
END_TEST

START_TEST(cmdline_round_trips)
{
	struct run_result r;
	const char *cmdline = "console=ttyS0 quiet minivmm.test=\"a b\" x=1";
	char expect[256];

	/*
	 * Exactly the user's command line when there are no virtio devices (and
	 * the host template adds no parameters, see pvm_baseline_adds_linux_params)...
	 */
	RUN(&r, NULL, "--kernel", guest_path("boot_info", _i), "--cmdline", cmdline, "--rng", "off",
	    "--cpu-template", "host");
	snprintf(expect, sizeof(expect), "cmdline=%s\n", cmdline);
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, expect);
	run_result_free(&r);
	/* ...and one virtio_mmio.device= entry per device, from the slot table. */
	RUN(&r, NULL, "--kernel", guest_path("boot_info", _i), "--cmdline", cmdline,
	    "--cpu-template", "host");
	snprintf(expect, sizeof(expect), "cmdline=%s virtio_mmio.device=4K@0xd0000000:5\n",
		 cmdline);
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, expect);
	run_result_free(&r);
}
END_TEST

/*
 * On a PVM host the baseline template is also passed to the kernel as
 * parameters (PVM ignores most of KVM_SET_CPUID2), after the user's own and
 * before the virtio entries; a hardware KVM host needs and gets none.
 */
START_TEST(pvm_baseline_adds_linux_params)
{
	struct run_result r;
	const char *cmdline = "console=ttyS0 x=1";
	char expect[256];

	RUN(&r, NULL, "--kernel", guest_path("boot_info", 0), "--cmdline", cmdline, "--rng", "off",
	    "--cpu-template", "baseline");
	ck_assert_status(&r, 0);
	if (access("/sys/module/kvm_pvm", F_OK) == 0) {
		snprintf(expect, sizeof(expect), "cmdline=%s noxsave clearcpuid=cx16,popcnt,",
			 cmdline);
		ck_assert_output_has(&r, expect);
		ck_assert_stderr_has(&r, "added \"noxsave clearcpuid=");
	} else {
		snprintf(expect, sizeof(expect), "cmdline=%s\n", cmdline);
		ck_assert_output_has(&r, expect);
	}
	run_result_free(&r);
}
END_TEST

/*
 * A gzip'd cpio initramfs reaches the guest inflated (the host did it), and
 * as the file itself with --decompress guest; boot_info prints the size and
 * first bytes it finds where the boot protocol / PVH module list says.  The
 * run's timeline is logged at the end.
 */
START_TEST(gzip_initrd_is_inflated_on_the_host)
{
	char raw[] = "/tmp/minivmm-initrd-XXXXXX", gz[64], cmd[160], expect[96];
	struct run_result r;
	struct stat st;
	FILE *f;
	int fd = mkstemp(raw);

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs("070701", f);
	for (int i = 0; i < 20000; i++)
		fputc('a' + i % 26, f);
	fclose(f);
	snprintf(gz, sizeof(gz), "%s.gz", raw);
	snprintf(cmd, sizeof(cmd), "gzip -n -c %s > %s", raw, gz);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(stat(gz, &st), 0);

	RUN(&r, NULL, "--kernel", guest_path("boot_info", _i), "--initrd", gz, "--rng", "off");
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, "initrd size=20006 head=303730373031\n");
	ck_assert_stderr_has(&r, "gzip decompressed on the host");
	ck_assert_stderr_has(&r, "timeline: VM built in ");
	ck_assert_stderr_has(&r, "vCPU 0: ");
	run_result_free(&r);

	RUN(&r, NULL, "--kernel", guest_path("boot_info", _i), "--initrd", gz, "--rng", "off",
	    "--decompress", "guest");
	ck_assert_status(&r, 0);
	snprintf(expect, sizeof(expect), "initrd size=%lld head=1f8b08", (long long)st.st_size);
	ck_assert_output_has(&r, expect);
	run_result_free(&r);

	/* Not compressed: passed as it is. */
	RUN(&r, NULL, "--kernel", guest_path("boot_info", _i), "--initrd", raw, "--rng", "off");
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, "initrd size=20006 head=303730373031\n");
	run_result_free(&r);
	unlink(raw);
	unlink(gz);
}
END_TEST

START_TEST(acpi_poweroff_exits_zero)
{
	struct run_result r;
	RUN(&r, NULL, "--kernel", guest_path("poweroff", _i));
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, "poweroff");
	run_result_free(&r);
}
END_TEST

static void expect_reboot(const char *method, int format)
{
	struct run_result r;
	char cmdline[64];
	snprintf(cmdline, sizeof(cmdline), "method=%s", method);
	RUN(&r, NULL, "--kernel", guest_path("reset", format), "--cmdline", cmdline);
	ck_assert_status(&r, 100);
	run_result_free(&r);
}

START_TEST(i8042_reset_is_reboot)
{
	expect_reboot("i8042", _i);
}
END_TEST

START_TEST(acpi_reset_register_is_reboot)
{
	expect_reboot("acpi", _i);
}
END_TEST

START_TEST(triple_fault_is_reboot)
{
	/* A page fault with no IDT: #PF -> #DF -> triple fault. */
	expect_reboot("triple_pf", _i);
	expect_reboot("triple_ud2", _i);
	/* int3 with no IDT: on PVM this also exercises minivmm's int3 completion. */
	expect_reboot("triple", _i);
}
END_TEST

START_TEST(emulation_failures_are_completed)
{
	/* int3, int $3, ud2, fwait: completed by minivmm where KVM's emulator lacks them. */
	struct run_result r;
	/* Natively the CPU decides about ldmxcsr's #GP; under TCG (L1) it may not raise it. */
	bool pvm = access("/sys/module/kvm_pvm", F_OK) == 0;
	RUN(&r, NULL, "--kernel", guest_path("emulation", _i), "--cmdline",
	    pvm ? "console=ttyS0" : "console=ttyS0 mxcsr_gp=native");
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, "# minivmm-test: PASS");
	if (pvm)
		ck_assert_output_has(&r, "ldmxcsr of a reserved bit raises #GP(0) at it");
	run_result_free(&r);
}
END_TEST

/*
 * An instruction KVM's emulator lacks and minivmm does not complete (fldz at
 * CPL0 on a PVM host) ends the run with status 103 naming the RIP and the
 * instruction bytes, instead of hanging; natively the guest just runs it.
 */
START_TEST(unemulatable_instruction_is_reported)
{
	struct run_result r;
	RUN(&r, NULL, "--kernel", guest_path("emulation", _i), "--cmdline", "case=unsupported");
	if (access("/sys/module/kvm_pvm", F_OK) != 0) {
		ck_assert_status(&r, 0);
	} else {
		ck_assert_status(&r, 103);
		ck_assert_stderr_has(&r, "at RIP 0x");
		ck_assert_stderr_has(&r, "bytes [d9 ee ");
	}
	run_result_free(&r);
}
END_TEST

START_TEST(guest_exit_status_passes_through)
{
	struct run_result r;
	RUN(&r, NULL, "--kernel", guest_path("exit_status", _i), "--cmdline", "status=42");
	ck_assert_status(&r, 42);
	run_result_free(&r);
	RUN(&r, NULL, "--kernel", guest_path("exit_status", _i), "--cmdline", "status=0");
	ck_assert_status(&r, 0);
	run_result_free(&r);
	RUN(&r, NULL, "--kernel", guest_path("exit_status", _i), "--cmdline", "status=200");
	ck_assert_status(&r, 99); /* clamped: 100+ belong to minivmm */
	run_result_free(&r);
}
END_TEST

START_TEST(pvpanic_is_panic)
{
	struct run_result r;
	RUN(&r, NULL, "--kernel", guest_path("panic", _i));
	ck_assert_status(&r, 101);
	run_result_free(&r);
}
END_TEST

START_TEST(timeout_bounds_a_hung_guest)
{
	struct run_result r;
	RUN(&r, NULL, "--kernel", guest_path("hang", _i), "--timeout", "2");
	ck_assert_status(&r, 102);
	ck_assert_stderr_has(&r, "timeout");
	ck_assert(!r.timed_out);
	ck_assert(r.seconds >= 1.9);
	run_result_free(&r);
}
END_TEST

START_TEST(stdin_pipe_reaches_guest)
{
	struct run_result r;
	struct run_opts o = {.stdin_data = "hello world\nquit\n", .limit_s = 60};
	RUN(&r, &o, "--kernel", guest_path("echo", _i), "--timeout", "60");
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, "echo: hello world");
	run_result_free(&r);
}
END_TEST

START_TEST(unknown_io_is_survived)
{
	struct run_result r;
	RUN(&r, NULL, "--kernel", guest_path("bad_io", _i), "--log-level", "info");
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, "# minivmm-test: PASS");
	/* Boot markers are logged with the time since minivmm started. */
	ck_assert_stderr_has(&r, "boot marker 0x01 at ");
	ck_assert_stderr_has(&r, "boot marker 0x02 at ");
	run_result_free(&r);
}
END_TEST

START_TEST(console_log_captures_output)
{
	struct run_result r;
	char path[] = "/tmp/minivmm-console-XXXXXX";
	char buf[8192] = {0};
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	RUN(&r, NULL, "--kernel", guest_path("boot_info", _i), "--console-log", path);
	ck_assert_status(&r, 0);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	unlink(path);
	ck_assert_uint_gt(n, 0);
	ck_assert_str_eq(buf, r.out);
	run_result_free(&r);

	/* And with stdout off, the log still gets everything. */
	fd = mkstemp(path);
	close(fd);
	RUN(&r, NULL, "--kernel", guest_path("boot_info", _i), "--console-log", path,
	    "--no-console-stdout");
	ck_assert_status(&r, 0);
	ck_assert_str_eq(r.out, "");
	f = fopen(path, "r");
	memset(buf, 0, sizeof(buf));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	unlink(path);
	ck_assert(strstr(buf, "# minivmm-test: PASS") != NULL);
	run_result_free(&r);
}
END_TEST

static void expect_signal_stop(int sig, int format)
{
	struct run_result r;
	struct run_opts o = {.limit_s = 60, .send_signal = sig, .signal_after = "hang"};
	RUN(&r, &o, "--kernel", guest_path("hang", format), "--timeout", "50");
	ck_assert_status(&r, 128 + sig);
	ck_assert(!r.timed_out);
	run_result_free(&r);
}

START_TEST(sigterm_stops_cleanly)
{
	expect_signal_stop(SIGTERM, _i);
}
END_TEST

START_TEST(sigint_stops_cleanly)
{
	expect_signal_stop(SIGINT, _i);
}
END_TEST

START_TEST(vm_ini_settings_and_overrides)
{
	struct run_result r;
	char dir[] = "/tmp/minivmm-ini-XXXXXX";
	char ini[600], kernel[512];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(ini, sizeof(ini), "%s/vm.ini", dir);
	if (guest_path("boot_info", _i)[0] == '/')
		snprintf(kernel, sizeof(kernel), "%s", guest_path("boot_info", _i));
	else
		snprintf(kernel, sizeof(kernel), "%s/%s", getcwd((char[400]){0}, 400),
			 guest_path("boot_info", _i));
	FILE *f = fopen(ini, "w");
	fprintf(f,
		"[vm]\ncpus = 2\nmem = 128M\n[boot]\nkernel = %s\ncmdline = expect_cpus=2\n"
		"[run]\ntimeout = 60\n",
		kernel);
	fclose(f);
	RUN(&r, NULL, "--config", ini);
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, "cpus=2\n");
	run_result_free(&r);
	/* Flags override the file, whatever their order. */
	RUN(&r, NULL, "--cpus", "3", "--config", ini, "--cmdline", "expect_cpus=3");
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, "cpus=3\n");
	run_result_free(&r);
	unlink(ini);
	rmdir(dir);
}
END_TEST

Suite *guests_suite(void)
{
	Suite *s = suite_create("guests");
	TCase *tc = tcase_create("boot-and-exit");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, boot_info_default_machine, 0, 2);
	tcase_add_loop_test(tc, boot_info_smp_and_high_memory, 0, 2);
	tcase_add_loop_test(tc, boot_info_sixteen_cpus, 0, 1);
	tcase_add_loop_test(tc, cmdline_round_trips, 0, 2);
	tcase_add_test(tc, pvm_baseline_adds_linux_params);
	tcase_add_loop_test(tc, gzip_initrd_is_inflated_on_the_host, 0, 2);
	tcase_add_loop_test(tc, baseline_template_hides_cx16, 0, 1);
	tcase_add_loop_test(tc, acpi_poweroff_exits_zero, 0, 2);
	tcase_add_loop_test(tc, i8042_reset_is_reboot, 0, 2);
	tcase_add_loop_test(tc, acpi_reset_register_is_reboot, 0, 1);
	tcase_add_loop_test(tc, triple_fault_is_reboot, 0, 2);
	tcase_add_loop_test(tc, emulation_failures_are_completed, 0, 2);
	tcase_add_loop_test(tc, unemulatable_instruction_is_reported, 0, 1);
	tcase_add_loop_test(tc, guest_exit_status_passes_through, 0, 2);
	tcase_add_loop_test(tc, pvpanic_is_panic, 0, 1);
	tcase_add_loop_test(tc, timeout_bounds_a_hung_guest, 0, 1);
	tcase_add_loop_test(tc, stdin_pipe_reaches_guest, 0, 2);
	tcase_add_loop_test(tc, unknown_io_is_survived, 0, 2);
	tcase_add_loop_test(tc, console_log_captures_output, 0, 1);
	tcase_add_loop_test(tc, sigterm_stops_cleanly, 0, 1);
	tcase_add_loop_test(tc, sigint_stops_cleanly, 1, 2);
	tcase_add_loop_test(tc, vm_ini_settings_and_overrides, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
