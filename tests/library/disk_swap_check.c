/* SPDX-License-Identifier: MIT */
/*
 * mvm_vm_replace_disk() through the installed library, against a real
 * guest (tests/linux/library-checks.sh).  The guest's /disk.sh prints the
 * size of vda and its first bytes, waits for the size to change, and prints
 * them again; the host swaps a 4 MiB image of 'A's for an 8 MiB image of
 * 'B's.
 *
 *   disk_swap_check KERNEL INITRD DIR      (INITRD with /disk.sh; images in DIR)
 *
 * Prints "ok"/"not ok" lines and "N passed, N failed"; exits 0 when all passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

/* The guest's "disk: ..." lines, in order. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct console_lines lines;
static char seen[8][128];
static int nseen;

static void on_line(const char *line, size_t len)
{
	(void)len;
	if (strncmp(line, "disk: ", 6) == 0 && nseen < 8)
		snprintf(seen[nseen++], sizeof(seen[0]), "%s", line);
	if (strstr(line, "new size") || strncmp(line, "disk: ", 6) == 0)
		printf("# guest: %s\n", line);
}

static void on_console(void *opaque, const uint8_t *buf, size_t len)
{
	(void)opaque;
	pthread_mutex_lock(&lock);
	console_lines_feed(&lines, buf, len, on_line);
	pthread_mutex_unlock(&lock);
}

/* Waits up to `ms` for the guest's n-th "disk:" line; copies it out. */
static int wait_line(int n, unsigned ms, char *out, size_t cap)
{
	for (unsigned t = 0; t < ms; t += 100) {
		pthread_mutex_lock(&lock);
		if (nseen > n) {
			snprintf(out, cap, "%s", seen[n]);
			pthread_mutex_unlock(&lock);
			return 0;
		}
		pthread_mutex_unlock(&lock);
		usleep(100000);
	}
	return -1;
}

static void make_image(const char *path, size_t bytes, char fill)
{
	char *buf = malloc(bytes);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	memset(buf, fill, bytes);
	if (fd < 0 || write(fd, buf, bytes) != (ssize_t)bytes) {
		perror(path);
		exit(2);
	}
	close(fd);
	free(buf);
}

static void sum_blk(void *opaque, const char *name, uint64_t value)
{
	if (strcmp(name, "blk0.read_bytes") == 0)
		*(uint64_t *)opaque = value;
}

int main(int argc, char **argv)
{
	char err[512], small[256], big[256], got[128];
	struct mvm_config *cfg;
	struct mvm_vm *vm;
	struct mvm_exit ex;
	uint64_t read_bytes = 0;
	int ret;

	if (argc != 4) {
		fprintf(stderr, "usage: %s KERNEL INITRD DIR\n", argv[0]);
		return 2;
	}
	snprintf(small, sizeof(small), "%s/small.img", argv[3]);
	snprintf(big, sizeof(big), "%s/big.img", argv[3]);
	make_image(small, 4u << 20, 'A');
	make_image(big, 8u << 20, 'B');

	cfg = check_config(argv[1], argv[2], "console=ttyS0 minivmm.action=none run=/disk.sh");
	if (mvm_config_add_disk(cfg, small, false) != 0) {
		fprintf(stderr, "config failed\n");
		return 2;
	}
	vm = check_create(cfg, on_console);
	check(mvm_vm_replace_disk(vm, 0, big, err, sizeof(err)) == -EINVAL,
	      "replace before start is refused (%s)", err);
	check_start(vm);
	check(wait_line(0, 240000, got, sizeof(got)) == 0 &&
		  strcmp(got, "disk: size=8192 data=AAAAAAAA") == 0,
	      "the guest sees the first image (%s)", got);

	/* Refusals leave the first image in place. */
	check(mvm_vm_replace_disk(vm, 1, big, err, sizeof(err)) == -EINVAL, "no disk 1 (%s)", err);
	ret = mvm_vm_replace_disk(vm, 0, "/nonexistent.img", err, sizeof(err));
	check(ret == -ENOENT, "a missing image: %d (%s)", ret, err);
	check(mvm_vm_pause(vm) == 0, "pause");
	check(mvm_vm_replace_disk(vm, 0, big, err, sizeof(err)) == -EINVAL,
	      "replace while paused is refused (%s)", err);
	check(mvm_vm_resume(vm) == 0, "resume");

	ret = mvm_vm_replace_disk(vm, 0, big, err, sizeof(err));
	check(ret == 0, "replace disk 0 with an 8 MiB image: %d %s", ret, ret ? err : "");
	check(wait_line(1, 60000, got, sizeof(got)) == 0 &&
		  strcmp(got, "disk: size=16384 data=BBBBBBBB") == 0,
	      "the guest sees the new size and data (%s)", got);
	/* The first image is no longer held: another writer may lock it. */
	{
		char err2[512];
		struct mvm_config *c2 = mvm_config_new();
		struct mvm_vm *vm2 = NULL;
		mvm_config_set_kernel(c2, argv[1]);
		mvm_config_add_disk(c2, small, false);
		mvm_config_set(c2, "console", "stdin", "false", err2, sizeof(err2));
		ret = mvm_vm_create(c2, &vm2, err2, sizeof(err2));
		check(ret == 0, "the old image is unlocked (a second VM opens it: %s)",
		      ret ? err2 : "yes");
		mvm_vm_destroy(vm2);
		mvm_config_free(c2);
	}
	mvm_vm_metrics(vm, sum_blk, &read_bytes);
	check(read_bytes > 0, "blk0.read_bytes %" PRIu64, read_bytes);

	mvm_vm_request_stop(vm);
	check(mvm_vm_wait(vm, &ex) == 0 && ex.reason == MVM_EXIT_STOPPED, "stopped");
	mvm_vm_destroy(vm);
	unlink(small);
	unlink(big);
	return check_summary();
}
