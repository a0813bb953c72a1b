/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk through real KVM, driven by the test guests' polled virtio
 * driver (tests/guests/virtio_blk.c, virtio_hostile.c).  Images carry the
 * pattern tests/guests/README.md defines: sector i holds 64 copies of the
 * little-endian word (i * 0x0101010101010101) ^ 0x5a5a5a5a5a5a5a5a; the
 * guest writes the same with 0xa5a5... to sectors 16..31.
 */
#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define SECTORS 128

static uint64_t pattern_word(uint64_t sector, uint64_t xor)
{
	return (sector * 0x0101010101010101ull) ^ xor;
}

static void make_image(char *path, size_t sectors)
{
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	for (size_t i = 0; i < sectors; i++) {
		uint64_t words[64];
		for (int w = 0; w < 64; w++)
			words[w] = pattern_word(i, 0x5a5a5a5a5a5a5a5aull);
		ck_assert_int_eq(write(fd, words, sizeof(words)), (ssize_t)sizeof(words));
	}
	close(fd);
}

/* 1 if sector i of the image holds the word pattern with `xor`, 0 if all zero, -1 otherwise. */
static int sector_state(const char *path, uint64_t i, uint64_t xor)
{
	uint64_t words[64];
	bool all_zero = true, all_pattern = true;
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, words, sizeof(words), (off_t)(i * 512)), (ssize_t)sizeof(words));
	close(fd);
	for (int w = 0; w < 64; w++) {
		all_zero &= words[w] == 0;
		all_pattern &= words[w] == pattern_word(i, xor);
	}
	return all_pattern ? 1 : all_zero ? 0 : -1;
}

static uint64_t file_checksum(const char *path)
{
	uint64_t sum = 1469598103934665603ull, v;
	int fd = open(path, O_RDONLY);
	unsigned char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++) {
			v = buf[i];
			sum = (sum ^ v) * 1099511628211ull;
		}
	close(fd);
	return sum;
}

START_TEST(guest_reads_writes_flushes)
{
	static const char *const discover[] = {"acpi", "cmdline"};
	char img[] = "/tmp/minivmm-blk-XXXXXX", disk[128], cmdline[160];
	struct run_result r;

	make_image(img, SECTORS);
	snprintf(disk, sizeof(disk), "%s,serial=minivmm-serial-1", img);
	snprintf(cmdline, sizeof(cmdline),
		 "expect_sectors=%d serial=minivmm-serial-1 ro=0 discover=%s", SECTORS,
		 discover[_i % 2]);
	RUN(&r, NULL, "--kernel", guest_path("virtio_blk", _i / 2), "--disk", disk, "--cmdline",
	    cmdline);
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, "# minivmm-test: PASS");
	/* What the guest wrote and flushed is on the host's disk. */
	for (uint64_t i = 16; i < 32; i++)
		ck_assert_int_eq(sector_state(img, i, 0xa5a5a5a5a5a5a5a5ull), 1);
	for (uint64_t i = 0; i < 16; i++)
		ck_assert_int_eq(sector_state(img, i, 0x5a5a5a5a5a5a5a5aull), 1);
	for (uint64_t i = 48; i < SECTORS; i++)
		ck_assert_int_eq(sector_state(img, i, 0x5a5a5a5a5a5a5a5aull), 1);
	/* WRITE_ZEROES of sectors 40..47. */
	for (uint64_t i = 40; i < 48; i++)
		ck_assert_int_eq(sector_state(img, i, 0), 0);
	run_result_free(&r);
	unlink(img);
}
END_TEST

START_TEST(read_only_disk_is_untouched)
{
	char img[] = "/tmp/minivmm-blk-XXXXXX", disk[128], cmdline[128];
	struct run_result r;
	uint64_t before;

	make_image(img, SECTORS);
	before = file_checksum(img);
	snprintf(disk, sizeof(disk), "%s,ro,serial=ro-disk", img);
	snprintf(cmdline, sizeof(cmdline), "expect_sectors=%d serial=ro-disk ro=1 discover=acpi",
		 SECTORS);
	RUN(&r, NULL, "--kernel", guest_path("virtio_blk", _i), "--disk", disk, "--cmdline",
	    cmdline);
	ck_assert_status(&r, 0);
	ck_assert_uint_eq(file_checksum(img), before);
	run_result_free(&r);
	unlink(img);
}
END_TEST

START_TEST(hostile_rings_are_survived)
{
	char a[] = "/tmp/minivmm-blk-XXXXXX", b[] = "/tmp/minivmm-blk-XXXXXX";
	struct run_result r;
	uint64_t sum_a, sum_b;

	make_image(a, SECTORS);
	make_image(b, SECTORS);
	sum_a = file_checksum(a);
	sum_b = file_checksum(b);
	RUN(&r, NULL, "--kernel", guest_path("virtio_hostile", _i), "--disk", a, "--disk", b,
	    "--cmdline", "strict=1");
	/* Every case: DEVICE_NEEDS_RESET on vda, vdb still serving, minivmm alive. */
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, "# minivmm-test: PASS");
	ck_assert_uint_eq(file_checksum(a), sum_a);
	ck_assert_uint_eq(file_checksum(b), sum_b);
	run_result_free(&r);
	unlink(a);
	unlink(b);
}
END_TEST

/*
 * Issue 10, defect 2: a guest that keeps vda's ring full of the largest
 * requests the device allows must not keep minivmm's event loop: vdb keeps
 * answering and --timeout ends the run on time.  Before per-wake-up budgets
 * the loop never got back from vda's queue handler: vdb timed out in the
 * guest and the harness had to kill minivmm.
 */
START_TEST(flooding_guest_does_not_hold_the_loop)
{
	char a[] = "/tmp/minivmm-blk-XXXXXX", b[] = "/tmp/minivmm-blk-XXXXXX", da[64], db[64];
	struct run_opts opts = {.limit_s = 30};
	struct run_result r;
	int fd = mkstemp(a);

	/* Sparse: room for one request of seg_max (254) x size_max (1 MiB). */
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 256 << 20), 0);
	close(fd);
	make_image(b, SECTORS);
	snprintf(da, sizeof(da), "%s,ro", a);
	snprintf(db, sizeof(db), "%s,ro", b);
	/*
	 * 8 s: the guest's own output is slow while the host is busy with the
	 * flood (each byte is a port exit; under TCG on one CPU the flood takes
	 * half of it), and it must get through its vdb reads first.
	 */
	RUN(&r, &opts, "--kernel", guest_path("blk_flood", _i), "--disk", da, "--disk", db,
	    "--timeout", "8");
	fprintf(stderr, "blk_flood (%s): run ended after %.2f s with --timeout 8\n",
		guest_format_name(_i), r.seconds);
	ck_assert_msg(!r.timed_out, "minivmm ignored --timeout for %.0f s", r.seconds);
	ck_assert_status(&r, 102);
	ck_assert_output_has(&r, "blk_flood: flooding until the end");
	if (strstr(r.out, "not ok"))
		dump_result(__func__, &r);
	ck_assert_ptr_null(strstr(r.out, "not ok"));
	ck_assert_double_lt(r.seconds, 8.0 + 3.0);
	run_result_free(&r);
	unlink(a);
	unlink(b);
}
END_TEST

/* Starts minivmm in the background on the hang guest with `disk`; returns its pid. */
static pid_t start_holder(const char *disk)
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execl(minivmm_bin(), "minivmm", "--kernel", guest_path("hang", 1), "--disk", disk,
		      "--timeout", "30", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/*
 * Waits until some process holds an OFD lock on `path` (the holder VMM is
 * up).  Probing with another VMM instead would race: the probe could take
 * the lock first and make the holder fail.
 */
static bool wait_for_lock(const char *path)
{
	for (int tries = 0; tries < 200; tries++) {
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
		int fd = open(path, O_RDONLY);
		bool locked = fd >= 0 && fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
		if (fd >= 0)
			close(fd);
		if (locked)
			return true;
		usleep(50 * 1000);
	}
	return false;
}

static void run_until_refused(struct run_result *r, const char *img, const char *disk)
{
	ck_assert_msg(wait_for_lock(img), "the holder VMM never locked %s", img);
	RUN(r, NULL, "--kernel", guest_path("boot_info", 1), "--disk", disk);
}

START_TEST(second_vmm_on_same_image_is_refused)
{
	char img[] = "/tmp/minivmm-blk-XXXXXX", ro[128];
	struct run_result r;
	int status;
	pid_t holder;

	make_image(img, SECTORS);
	snprintf(ro, sizeof(ro), "%s,ro", img);

	holder = start_holder(img);
	run_until_refused(&r, img, img);
	ck_assert_status(&r, 125);
	ck_assert_stderr_has(&r, "in use");
	run_result_free(&r);
	/* A read-only user is refused too while a writer holds it. */
	RUN(&r, NULL, "--kernel", guest_path("boot_info", 1), "--disk", ro);
	ck_assert_status(&r, 125);
	run_result_free(&r);
	kill(holder, SIGTERM);
	waitpid(holder, &status, 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 143);

	/* Two read-only users share the image. */
	holder = start_holder(ro);
	ck_assert(wait_for_lock(img));
	RUN(&r, NULL, "--kernel", guest_path("boot_info", 1), "--disk", ro);
	ck_assert_status(&r, 0);
	run_result_free(&r);
	kill(holder, SIGTERM);
	waitpid(holder, &status, 0);
	unlink(img);
}
END_TEST

START_TEST(bad_disks_fail_at_start)
{
	char img[] = "/tmp/minivmm-blk-XXXXXX";
	struct run_result r;
	int fd;

	RUN(&r, NULL, "--kernel", guest_path("boot_info", 1), "--disk", "/nonexistent/disk.img");
	ck_assert_status(&r, 125);
	ck_assert_stderr_has(&r, "/nonexistent/disk.img");
	run_result_free(&r);

	fd = mkstemp(img);
	ck_assert_int_eq(write(fd, "12345", 5), 5);
	close(fd);
	RUN(&r, NULL, "--kernel", guest_path("boot_info", 1), "--disk", img);
	ck_assert_status(&r, 125);
	ck_assert_stderr_has(&r, "512");
	run_result_free(&r);
	unlink(img);
}
END_TEST

/*
 * Without --cmdline, a disk and no initrd make the first disk the root
 * (README's `--kernel bzImage --disk root.img`); with an initrd, or a
 * read-only disk, the default says so.  boot_info prints what it got.
 */
START_TEST(default_cmdline_roots_on_the_first_disk)
{
	char img[] = "/tmp/minivmm-blk-XXXXXX", ro[128];
	struct run_result r;

	make_image(img, SECTORS);
	RUN(&r, NULL, "--kernel", guest_path("boot_info", 0), "--disk", img, "--rng", "off",
	    "--cpu-template", "host");
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, "cmdline=console=ttyS0 root=/dev/vda rw virtio_mmio.device=");
	run_result_free(&r);
	snprintf(ro, sizeof(ro), "%s,ro", img);
	RUN(&r, NULL, "--kernel", guest_path("boot_info", 0), "--disk", ro, "--rng", "off",
	    "--cpu-template", "host");
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, "cmdline=console=ttyS0 root=/dev/vda ro virtio_mmio.device=");
	run_result_free(&r);
	/* An initrd decides the root itself: no root= then. */
	RUN(&r, NULL, "--kernel", guest_path("boot_info", 0), "--disk", img, "--initrd", img,
	    "--rng", "off", "--cpu-template", "host");
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, "cmdline=console=ttyS0 virtio_mmio.device=");
	run_result_free(&r);
	unlink(img);
}
END_TEST

Suite *virtio_blk_suite(void)
{
	Suite *s = suite_create("virtio-blk");
	TCase *tc = tcase_create("guest-driver");
	tcase_set_timeout(tc, 120);
	/* _i: bit 1 = format (bzImage, PVH ELF), bit 0 = discovery (ACPI, cmdline). */
	tcase_add_loop_test(tc, guest_reads_writes_flushes, 0, 4);
	tcase_add_loop_test(tc, read_only_disk_is_untouched, 0, 2);
	tcase_add_loop_test(tc, hostile_rings_are_survived, 0, 2);
	tcase_add_loop_test(tc, flooding_guest_does_not_hold_the_loop, 0, 2);
	tcase_add_test(tc, second_vmm_on_same_image_is_refused);
	tcase_add_test(tc, bad_disks_fail_at_start);
	tcase_add_test(tc, default_cmdline_roots_on_the_first_disk);
	suite_add_tcase(s, tc);
	return s;
}
