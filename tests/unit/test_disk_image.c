/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/disk_image.h"

static const struct logger quiet = {LOG_ERROR, -1, "test"};
static char path[64];

/* A temp image of `size` bytes filled with a position-dependent pattern. */
static void make_image(uint64_t size)
{
	int fd;

	strcpy(path, "/tmp/mvm-disk-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	uint8_t *buf = malloc(size + 4);
	for (uint64_t off = 0; off < size; off += 4) {
		uint32_t v = (uint32_t)(off * 2654435761u);
		memcpy(buf + off, &v, 4);
	}
	ck_assert_int_eq(pwrite(fd, buf, size, 0), (ssize_t)size);
	free(buf);
	close(fd);
}

static uint32_t pattern_at(uint64_t off)
{
	return (uint32_t)(off * 2654435761u);
}

static void teardown(void)
{
	if (path[0])
		unlink(path);
	path[0] = '\0';
}

static void read_file(uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

START_TEST(missing_file_is_a_clear_error)
{
	struct disk_image img;
	struct vmm_err err = {{0}};

	ck_assert_int_eq(
	    disk_image_open(&img, "/tmp/mvm-no-such-disk.img", false, false, &quiet, &err),
	    -ENOENT);
	ck_assert_str_eq(err.msg,
			 "cannot open disk /tmp/mvm-no-such-disk.img: No such file or directory");
	ck_assert_int_eq(img.fd, -1);
}
END_TEST

START_TEST(no_permission_is_a_clear_error)
{
	struct disk_image img;
	struct vmm_err err = {{0}};
	char want[128];

	if (geteuid() == 0)
		return; /* root opens mode-000 files: nothing to test */
	make_image(4096);
	ck_assert_int_eq(chmod(path, 0), 0);
	ck_assert_int_eq(disk_image_open(&img, path, false, false, &quiet, &err), -EACCES);
	snprintf(want, sizeof(want), "cannot open disk %s: Permission denied", path);
	ck_assert_str_eq(err.msg, want);
}
END_TEST

START_TEST(size_must_be_whole_sectors)
{
	struct disk_image img;
	struct vmm_err err = {{0}};

	make_image(1000);
	ck_assert_int_eq(disk_image_open(&img, path, true, false, &quiet, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "size 1000 bytes is not a multiple of 512"));
	ck_assert_ptr_nonnull(strstr(err.msg, path));
}
END_TEST

START_TEST(not_a_file_or_block_device)
{
	struct disk_image img;
	struct vmm_err err = {{0}};

	ck_assert_int_eq(disk_image_open(&img, "/dev/null", true, false, &quiet, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "disk /dev/null is not a regular file or block device");
}
END_TEST

START_TEST(open_reports_size_and_block_size)
{
	struct disk_image img;
	struct vmm_err err = {{0}};

	make_image(1 << 20);
	ck_assert_int_eq(disk_image_open(&img, path, false, false, &quiet, &err), 0);
	ck_assert_uint_eq(img.size, 1 << 20);
	ck_assert_uint_eq(img.block_size, 512);
	ck_assert(!img.is_blockdev);
	ck_assert(!img.read_only);
	disk_image_close(&img);

	/* An empty image is a valid (zero-sector) disk. */
	ck_assert_int_eq(truncate(path, 0), 0);
	ck_assert_int_eq(disk_image_open(&img, path, false, false, &quiet, &err), 0);
	ck_assert_uint_eq(img.size, 0);
	disk_image_close(&img);
}
END_TEST

/* OFD locks belong to the open file description: two opens in one process conflict. */
START_TEST(rw_lock_conflicts_in_one_process)
{
	struct disk_image a, b;
	struct vmm_err err = {{0}};
	char want[256];

	make_image(8192);
	ck_assert_int_eq(disk_image_open(&a, path, false, false, &quiet, &err), 0);
	ck_assert_int_eq(disk_image_open(&b, path, false, false, &quiet, &err), -EBUSY);
	snprintf(want, sizeof(want),
		 "disk %s is in use by another process (locked); stop the other VMM or use ,ro "
		 "on both",
		 path);
	ck_assert_str_eq(err.msg, want);
	ck_assert_int_eq(b.fd, -1);

	/* ro against rw, both ways. */
	err.msg[0] = '\0';
	ck_assert_int_eq(disk_image_open(&b, path, true, false, &quiet, &err), -EBUSY);
	disk_image_close(&a);
	ck_assert_int_eq(disk_image_open(&a, path, true, false, &quiet, &err), 0);
	ck_assert_int_eq(disk_image_open(&b, path, false, false, &quiet, &err), -EBUSY);

	/* ro + ro share. */
	ck_assert_int_eq(disk_image_open(&b, path, true, false, &quiet, &err), 0);
	disk_image_close(&a);
	disk_image_close(&b);

	/* Closing released the lock. */
	ck_assert_int_eq(disk_image_open(&a, path, false, false, &quiet, &err), 0);
	disk_image_close(&a);
}
END_TEST

/*
 * QEMU's file-posix locks single bytes with OFD F_RDLCK: 100 + perm for
 * the permissions it holds (CONSISTENT_READ = 0, WRITE = 1), 200 + perm
 * for those it does not share, and tests the other side's bytes with F_WRLCK.
 */
static int qemu_byte(int fd, short type, int cmd, off_t byte)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1};
	int ret = fcntl(fd, cmd, &fl);

	if (cmd == F_OFD_GETLK)
		return ret < 0 ? -errno : fl.l_type != F_UNLCK;
	return ret < 0 ? -errno : 0;
}

START_TEST(lock_conflicts_with_qemu_style_byte_locks)
{
	struct disk_image img, img2;
	struct vmm_err err = {{0}};
	int qemu_fd;

	make_image(4096);

	/* A QEMU reader (holds CONSISTENT_READ, byte 100). */
	qemu_fd = open(path, O_RDONLY);
	ck_assert_int_ge(qemu_fd, 0);
	ck_assert_int_eq(qemu_byte(qemu_fd, F_RDLCK, F_OFD_SETLK, 100), 0);
	ck_assert_int_eq(disk_image_open(&img, path, false, false, &quiet, &err), -EBUSY);
	ck_assert_int_eq(disk_image_open(&img, path, true, false, &quiet, &err), 0);
	disk_image_close(&img);
	close(qemu_fd);

	/* A QEMU writer (holds WRITE, byte 101): even a read-only minivmm is refused. */
	qemu_fd = open(path, O_RDWR);
	ck_assert_int_ge(qemu_fd, 0);
	ck_assert_int_eq(qemu_byte(qemu_fd, F_RDLCK, F_OFD_SETLK, 101), 0);
	ck_assert_int_eq(disk_image_open(&img, path, true, false, &quiet, &err), -EBUSY);
	ck_assert_int_eq(disk_image_open(&img, path, false, false, &quiet, &err), -EBUSY);
	close(qemu_fd);

	/* We hold it read-only: a QEMU that wants to write finds our lock on 201... */
	qemu_fd = open(path, O_RDWR);
	ck_assert_int_ge(qemu_fd, 0);
	ck_assert_int_eq(disk_image_open(&img, path, true, false, &quiet, &err), 0);
	ck_assert_int_eq(qemu_byte(qemu_fd, F_WRLCK, F_OFD_GETLK, 201), 1);
	/* ...and another read-only minivmm still shares. */
	ck_assert_int_eq(disk_image_open(&img2, path, true, false, &quiet, &err), 0);
	disk_image_close(&img2);
	disk_image_close(&img);

	/* We hold it writable: every QEMU byte is taken. */
	ck_assert_int_eq(disk_image_open(&img, path, false, false, &quiet, &err), 0);
	ck_assert_int_eq(qemu_byte(qemu_fd, F_RDLCK, F_OFD_SETLK, 100), -EAGAIN);
	ck_assert_int_eq(qemu_byte(qemu_fd, F_WRLCK, F_OFD_GETLK, 200), 1);
	disk_image_close(&img);
	close(qemu_fd);
}
END_TEST

START_TEST(readv_writev_round_trip)
{
	struct disk_image img;
	struct vmm_err err = {{0}};
	uint8_t a[512], b[1024], ra[512], rb[1024], file[1536];
	struct iovec w[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
	struct iovec r[2] = {{ra, sizeof(ra)}, {rb, sizeof(rb)}};
	uint32_t v;

	make_image(64 * 1024);
	ck_assert_int_eq(disk_image_open(&img, path, false, false, &quiet, &err), 0);
	memset(a, 0xa5, sizeof(a));
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)i;
	ck_assert_int_eq(disk_image_pwritev(&img, w, 2, 4096), 0);
	ck_assert_int_eq(disk_image_preadv(&img, r, 2, 4096), 0);
	ck_assert_mem_eq(ra, a, sizeof(a));
	ck_assert_mem_eq(rb, b, sizeof(b));
	read_file(4096, file, sizeof(file));
	ck_assert_mem_eq(file, a, sizeof(a));
	ck_assert_mem_eq(file + 512, b, sizeof(b));
	/* Neighbours untouched. */
	read_file(4092, &v, 4);
	ck_assert_uint_eq(v, pattern_at(4092));
	read_file(4096 + 1536, &v, 4);
	ck_assert_uint_eq(v, pattern_at(4096 + 1536));

	ck_assert_int_eq(disk_image_flush(&img), 0);

	/* The last sector is fine; one byte beyond, or a wrapping offset, is not. */
	ck_assert_int_eq(disk_image_preadv(&img, r, 1, 64 * 1024 - 512), 0);
	ck_assert_int_eq(disk_image_preadv(&img, r, 2, 64 * 1024 - 1024), -EINVAL);
	ck_assert_int_eq(disk_image_pwritev(&img, w, 1, UINT64_MAX - 100), -EINVAL);
	ck_assert_int_eq(disk_image_preadv(&img, r, -1, 0), -EINVAL);
	disk_image_close(&img);
}
END_TEST

START_TEST(read_only_image_cannot_be_written)
{
	struct disk_image img;
	struct vmm_err err = {{0}};
	uint8_t buf[512], before[512], after[512];
	struct iovec w = {buf, sizeof(buf)};

	make_image(8192);
	read_file(0, before, sizeof(before));
	ck_assert_int_eq(disk_image_open(&img, path, true, false, &quiet, &err), 0);
	ck_assert_int_eq(fcntl(img.fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(disk_image_pwritev(&img, &w, 1, 0), -EBADF);
	ck_assert_int_eq(disk_image_discard(&img, 0, 512), -EBADF);
	ck_assert_int_eq(disk_image_write_zeroes(&img, 0, 512, false), -EBADF);
	ck_assert(!img.can_discard);
	ck_assert_int_eq(disk_image_flush(&img), 0);
	disk_image_close(&img);
	read_file(0, after, sizeof(after));
	ck_assert_mem_eq(before, after, sizeof(before));
}
END_TEST

static bool fs_punches_holes(void)
{
	struct statfs sfs;

	ck_assert_int_eq(statfs("/tmp", &sfs), 0);
	return sfs.f_type == EXT4_SUPER_MAGIC || sfs.f_type == TMPFS_MAGIC ||
	       sfs.f_type == XFS_SUPER_MAGIC || sfs.f_type == BTRFS_SUPER_MAGIC;
}

static void assert_range(uint64_t off, uint64_t len, bool zero)
{
	uint8_t *buf = malloc(len);

	read_file(off, buf, len);
	for (uint64_t i = 0; i < len; i += 4) {
		uint32_t v;
		memcpy(&v, buf + i, 4);
		if (v != (zero ? 0 : pattern_at(off + i)))
			ck_abort_msg("byte %llu: %#x, want %#x", (unsigned long long)(off + i), v,
				     zero ? 0 : pattern_at(off + i));
	}
	free(buf);
}

START_TEST(discard_zeroes_the_range)
{
	struct disk_image img;
	struct vmm_err err = {{0}};
	struct stat st;

	make_image(256 * 1024);
	ck_assert_int_eq(disk_image_open(&img, path, false, false, &quiet, &err), 0);
	/* The probe must not have changed the size (it punches at EOF with KEEP_SIZE). */
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 256 * 1024);
	if (fs_punches_holes())
		ck_assert(img.can_discard);
	if (!img.can_discard) {
		ck_assert_int_eq(disk_image_discard(&img, 0, 4096), -EOPNOTSUPP);
		disk_image_close(&img);
		return;
	}
	ck_assert(img.discard_zeroes);
	ck_assert_uint_ge(img.discard_granularity, 512);
	ck_assert_int_eq(disk_image_discard(&img, 64 * 1024, 64 * 1024), 0);
	/* Unaligned to the fs block: still zeroes exactly the range. */
	ck_assert_int_eq(disk_image_discard(&img, 512, 1024), 0);
	ck_assert_int_eq(disk_image_discard(&img, 256 * 1024 - 512, 1024), -EINVAL);
	disk_image_close(&img);
	assert_range(0, 512, false);
	assert_range(512, 1024, true);
	assert_range(1536, 64 * 1024 - 1536, false);
	assert_range(64 * 1024, 64 * 1024, true);
	assert_range(128 * 1024, 128 * 1024, false);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 256 * 1024);
}
END_TEST

START_TEST(write_zeroes_every_path)
{
	struct disk_image img;
	struct vmm_err err = {{0}};

	make_image(3 * 1024 * 1024);
	ck_assert_int_eq(disk_image_open(&img, path, false, false, &quiet, &err), 0);
	/* FALLOC_FL_ZERO_RANGE (or its fallback where unsupported). */
	ck_assert_int_eq(disk_image_write_zeroes(&img, 4096, 8192, false), 0);
	/* Unmap allowed: punch hole. */
	ck_assert_int_eq(disk_image_write_zeroes(&img, 32768, 4096, true), 0);
	/* The write-zeroes fallback, larger than one bounce chunk. */
	img.zero_range_failed = true;
	ck_assert_int_eq(
	    disk_image_write_zeroes(&img, 1024 * 1024 + 512, DISK_IMAGE_BOUNCE_BYTES + 1024, false),
	    0);
	ck_assert_int_eq(disk_image_write_zeroes(&img, 3 * 1024 * 1024 - 512, 1024, false),
			 -EINVAL);
	disk_image_close(&img);
	assert_range(0, 4096, false);
	assert_range(4096, 8192, true);
	assert_range(12288, 32768 - 12288, false);
	assert_range(32768, 4096, true);
	assert_range(36864, 1024 * 1024 + 512 - 36864, false);
	assert_range(1024 * 1024 + 512, DISK_IMAGE_BOUNCE_BYTES + 1024, true);
	assert_range(2 * 1024 * 1024 + 1536, 1024 * 1024 - 1536, false);
}
END_TEST

START_TEST(direct_io_bounces_misaligned_buffers)
{
	struct disk_image img;
	struct vmm_err err = {{0}};
	uint8_t *raw = malloc(8192 + 1);
	uint8_t *odd = raw + 1; /* never 512-aligned */
	struct iovec iov = {odd, 4096};
	int ret;

	make_image(64 * 1024);
	ret = disk_image_open(&img, path, false, true, &quiet, &err);
	if (ret == -EINVAL) {
		/* A file system refusing O_DIRECT: the error says what to do. */
		ck_assert_ptr_nonnull(strstr(err.msg, "use cache=writeback"));
		free(raw);
		return;
	}
	ck_assert_int_eq(ret, 0);
	ck_assert(img.direct);
	ck_assert_int_eq(fcntl(img.fd, F_GETFL) & O_DIRECT, O_DIRECT);
	ck_assert_uint_ge(img.block_size, 512);
	ck_assert_int_eq(disk_image_preadv(&img, &iov, 1, 8192), 0);
	for (int i = 0; i < 4096; i += 4) {
		uint32_t v;
		memcpy(&v, odd + i, 4);
		ck_assert_uint_eq(v, pattern_at(8192 + (uint64_t)i));
	}
	memset(odd, 0x5a, 4096);
	ck_assert_int_eq(disk_image_pwritev(&img, &iov, 1, 16384), 0);
	/* File offsets must meet the logical block size. */
	if (img.block_size > 1)
		ck_assert_int_eq(disk_image_preadv(&img, &iov, 1, img.block_size / 2), -EINVAL);
	disk_image_close(&img);
	memset(raw, 0, 8193);
	read_file(16384, raw, 4096);
	for (int i = 0; i < 4096; i++)
		ck_assert_uint_eq(raw[i], 0x5a);
	free(raw);
}
END_TEST

Suite *disk_image_suite(void)
{
	Suite *s = suite_create("disk_image");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, missing_file_is_a_clear_error);
	tcase_add_test(tc, no_permission_is_a_clear_error);
	tcase_add_test(tc, size_must_be_whole_sectors);
	tcase_add_test(tc, not_a_file_or_block_device);
	tcase_add_test(tc, open_reports_size_and_block_size);
	tcase_add_test(tc, rw_lock_conflicts_in_one_process);
	tcase_add_test(tc, lock_conflicts_with_qemu_style_byte_locks);
	tcase_add_test(tc, readv_writev_round_trip);
	tcase_add_test(tc, read_only_image_cannot_be_written);
	tcase_add_test(tc, discard_zeroes_the_range);
	tcase_add_test(tc, write_zeroes_every_path);
	tcase_add_test(tc, direct_io_bounces_misaligned_buffers);
	suite_add_tcase(s, tc);
	return s;
}
