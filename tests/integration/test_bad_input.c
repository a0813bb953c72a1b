/* SPDX-License-Identifier: MIT */
/*
 * Bad input: one clear line on stderr, exit status 125, nothing written.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define VMM_ERROR 125

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Runs minivmm expecting a usage/config error whose one line contains `text`. */
static void expect_error(const char *text, const char *const *argv)
{
	struct run_result r;
	run_vmm(&r, NULL, argv);
	if (r.status != VMM_ERROR || !strstr(r.err, text) || count_lines(r.err) != 1)
		dump_result(text, &r);
	ck_assert_int_eq(r.status, VMM_ERROR);
	ck_assert_msg(strstr(r.err, text), "stderr lacks \"%s\"", text);
	ck_assert_int_eq(count_lines(r.err), 1);
	ck_assert_str_eq(r.out, "");
	run_result_free(&r);
}

#define EXPECT_ERROR(text, ...)                                                                    \
	do {                                                                                       \
		const char *const argv_[] = {__VA_ARGS__, NULL};                                   \
		expect_error((text), argv_);                                                       \
	} while (0)

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

START_TEST(missing_kernel)
{
	EXPECT_ERROR("/nonexistent/bzImage", "--kernel", "/nonexistent/bzImage");
	EXPECT_ERROR("kernel", "--mem", "128M");
}
END_TEST

START_TEST(not_a_kernel)
{
	char path[] = "/tmp/minivmm-junk-XXXXXX";
	char junk[8192];
	int fd = mkstemp(path);
	close(fd);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 7 + 3);
	write_file(path, junk, sizeof(junk));
	EXPECT_ERROR("not a Linux kernel", "--kernel", path);
	write_file(path, "", 0);
	EXPECT_ERROR("empty", "--kernel", path);
	unlink(path);
	EXPECT_ERROR("not a regular file", "--kernel", "/tmp");
}
END_TEST

START_TEST(truncated_bzimage)
{
	char path[] = "/tmp/minivmm-trunc-XXXXXX";
	char buf[2048];
	FILE *f = fopen(guest_path("boot_info", 0), "rb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(buf, 1, sizeof(buf), f), sizeof(buf));
	fclose(f);
	int fd = mkstemp(path);
	close(fd);
	write_file(path, buf, sizeof(buf));
	EXPECT_ERROR("truncated", "--kernel", path);
	unlink(path);
}
END_TEST

START_TEST(truncated_elf)
{
	char path[] = "/tmp/minivmm-trunc-XXXXXX";
	char buf[200];
	FILE *f = fopen(guest_path("boot_info", 1), "rb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(buf, 1, sizeof(buf), f), sizeof(buf));
	fclose(f);
	int fd = mkstemp(path);
	close(fd);
	write_file(path, buf, sizeof(buf));
	struct run_result r;
	RUN(&r, NULL, "--kernel", path);
	ck_assert_status(&r, VMM_ERROR);
	ck_assert_int_eq(count_lines(r.err), 1);
	run_result_free(&r);
	unlink(path);
}
END_TEST

START_TEST(initrd_that_does_not_fit)
{
	char path[] = "/tmp/minivmm-initrd-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_eq(ftruncate(fd, 100 << 20), 0);
	close(fd);
	EXPECT_ERROR("does not fit", "--kernel", guest_path("boot_info", 0), "--initrd", path,
		     "--mem", "64M");
	unlink(path);
}
END_TEST

START_TEST(bad_sizes_and_counts)
{
	const char *k = guest_path("boot_info", 0);
	EXPECT_ERROR("--mem", "--kernel", k, "--mem", "12Q");
	EXPECT_ERROR("--mem", "--kernel", k, "--mem", "32M");
	EXPECT_ERROR("--mem", "--kernel", k, "--mem", "17G");
	EXPECT_ERROR("--cpus", "--kernel", k, "--cpus", "0");
	EXPECT_ERROR("--cpus", "--kernel", k, "--cpus", "1000");
	EXPECT_ERROR("--cpus", "--kernel", k, "--cpus", "two");
	EXPECT_ERROR("--timeout", "--kernel", k, "--timeout", "-3");
	EXPECT_ERROR("--help", "--kernel", k, "--bogus-flag");
}
END_TEST

START_TEST(bad_ini)
{
	char dir[] = "/tmp/minivmm-ini-XXXXXX";
	char ini[128];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(ini, sizeof(ini), "%s/vm.ini", dir);
	write_file(ini, "[vm]\nmemory = 1G\n", 17);
	EXPECT_ERROR("vm.ini", "--config", ini);
	EXPECT_ERROR("memory", "--config", ini);
	write_file(ini, "[vmm]\nmem = 1G\n", 15);
	EXPECT_ERROR("[vmm]", "--config", ini);
	write_file(ini, "[vm]\nmem = lots\n", 16);
	EXPECT_ERROR("mem", "--config", ini);
	unlink(ini);
	rmdir(dir);
	EXPECT_ERROR("/nonexistent.ini", "--config", "/nonexistent.ini");
}
END_TEST

START_TEST(nothing_written_on_error)
{
	char path[] = "/tmp/minivmm-log-XXXXXX";
	struct stat st;
	int fd = mkstemp(path);
	close(fd);
	unlink(path);
	EXPECT_ERROR("/nonexistent/kernel", "--kernel", "/nonexistent/kernel", "--console-log",
		     path);
	ck_assert_int_ne(stat(path, &st), 0);
	/* An initrd that fails late (after KVM is set up) must not create it either. */
	char initrd[] = "/tmp/minivmm-initrd-XXXXXX";
	fd = mkstemp(initrd);
	ck_assert_int_eq(ftruncate(fd, 100 << 20), 0);
	close(fd);
	EXPECT_ERROR("does not fit", "--kernel", guest_path("boot_info", 0), "--initrd", initrd,
		     "--mem", "64M", "--console-log", path);
	ck_assert_int_ne(stat(path, &st), 0);
	unlink(initrd);
}
END_TEST

START_TEST(no_kvm_permission)
{
	struct stat st;
	if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0 || stat("/dev/kvm", &st) != 0 ||
	    (st.st_mode & 0006)) {
		printf(
		    "no_kvm_permission: skipped (needs root, setpriv and a non-world /dev/kvm)\n");
		return;
	}
	struct run_result r;
	struct run_opts o = {.limit_s = 30, .run_as_user = "65534" /* nobody */};
	/*
	 * Relative, as minivmm itself is started: an absolute path would have
	 * to be searchable by nobody all the way down (a clone under a 0700
	 * mktemp -d directory is not), and the error would be the kernel's.
	 */
	RUN(&r, &o, "--kernel", guest_path("boot_info", 0));
	ck_assert_status(&r, VMM_ERROR);
	ck_assert_stderr_has(&r, "no permission to open /dev/kvm");
	ck_assert_int_eq(count_lines(r.err), 1);
	run_result_free(&r);
}
END_TEST

START_TEST(bad_vsock)
{
	char dir[] = "/tmp/minivmm-vsock-XXXXXX", path[64];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/taken", dir);
	write_file(path, "", 0);
	EXPECT_ERROR("--vsock cid=2,uds=/tmp/v: not a guest CID", "--kernel",
		     guest_path("boot_info", 0), "--vsock", "cid=2,uds=/tmp/v");
	EXPECT_ERROR("expected cid=N,uds=PATH", "--kernel", guest_path("boot_info", 0), "--vsock",
		     "port=3");
	EXPECT_ERROR("needs uds = PATH", "--kernel", guest_path("boot_info", 0), "--vsock",
		     "cid=3");
	/* A file where the socket would go: refused, and left alone. */
	snprintf(path, sizeof(path), "%s/taken", dir);
	{
		char spec[96];
		snprintf(spec, sizeof(spec), "cid=3,uds=%s", path);
		EXPECT_ERROR("already exists", "--kernel", guest_path("boot_info", 0), "--vsock",
			     spec);
	}
	ck_assert_int_eq(access(path, F_OK), 0);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(help_and_version)
{
	struct run_result r;
	RUN(&r, NULL, "--version");
	ck_assert_status(&r, 0);
	ck_assert(strstr(r.out, "minivmm 0.1.0") != NULL);
	run_result_free(&r);
	RUN(&r, NULL, "--help");
	ck_assert_status(&r, 0);
	ck_assert(strstr(r.out, "--kernel") != NULL);
	run_result_free(&r);
}
END_TEST

Suite *bad_input_suite(void)
{
	Suite *s = suite_create("bad-input");
	TCase *tc = tcase_create("errors");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, missing_kernel);
	tcase_add_test(tc, not_a_kernel);
	tcase_add_test(tc, truncated_bzimage);
	tcase_add_test(tc, truncated_elf);
	tcase_add_test(tc, initrd_that_does_not_fit);
	tcase_add_test(tc, bad_sizes_and_counts);
	tcase_add_test(tc, bad_ini);
	tcase_add_test(tc, nothing_written_on_error);
	tcase_add_test(tc, no_kvm_permission);
	tcase_add_test(tc, bad_vsock);
	tcase_add_test(tc, help_and_version);
	suite_add_tcase(s, tc);
	return s;
}
