/* SPDX-License-Identifier: MIT */
/*
 * mvm_vm_vsock_connect() end to end, through the library only (for
 * tests/linux/vsock-checks.sh): builds a VM with mvm_config_set_vsock(),
 * runs it on a thread of its own, waits for the guest's echo server on
 * PORT (retrying while it is not up: -ECONNREFUSED), sends a line through
 * the returned fd and expects it back, then stops the VM.
 *
 * Usage: vsock_connect KERNEL INITRD CMDLINE UDS PORT CONSOLE_LOG
 * Prints "vsock-connect: ok fd=N tries=T" and exits 0, or one line and 1.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm/minivmm.h"

static struct mvm_exit vm_exit;

static void *run(void *vm)
{
	mvm_vm_run(vm, &vm_exit);
	return NULL;
}

int main(int argc, char **argv)
{
	static const char msg[] = "hello through mvm_vm_vsock_connect\n";
	struct mvm_config *cfg = mvm_config_new();
	struct mvm_vm *vm;
	char err[512] = "", buf[sizeof(msg)] = "";
	pthread_t thread;
	int fd = -1, tries = 0, ret = 1;
	size_t got = 0;

	if (argc != 7 || !cfg) {
		fprintf(stderr,
			"usage: vsock_connect KERNEL INITRD CMDLINE UDS PORT CONSOLE_LOG\n");
		return 2;
	}
	if (mvm_config_set(cfg, "boot", "kernel", argv[1], err, sizeof(err)) < 0 ||
	    mvm_config_set(cfg, "boot", "initrd", argv[2], err, sizeof(err)) < 0 ||
	    mvm_config_set(cfg, "boot", "cmdline", argv[3], err, sizeof(err)) < 0 ||
	    mvm_config_set(cfg, "vm", "mem", "256M", err, sizeof(err)) < 0 ||
	    mvm_config_set(cfg, "console", "stdout", "false", err, sizeof(err)) < 0 ||
	    mvm_config_set(cfg, "console", "stdin", "false", err, sizeof(err)) < 0 ||
	    mvm_config_set(cfg, "console", "log", argv[6], err, sizeof(err)) < 0 ||
	    mvm_config_set(cfg, "run", "timeout", "200", err, sizeof(err)) < 0 ||
	    mvm_config_set_vsock(cfg, 3, argv[4]) < 0) {
		fprintf(stderr, "vsock-connect: config: %s\n", err);
		return 1;
	}
	if (mvm_vm_create(cfg, &vm, err, sizeof(err)) < 0) {
		fprintf(stderr, "vsock-connect: %s\n", err);
		return 1;
	}
	mvm_config_free(cfg);
	if (pthread_create(&thread, NULL, run, vm) != 0)
		return 1;
	/* The guest's listener comes up some time into the boot: refused until then. */
	for (time_t end = time(NULL) + 180; time(NULL) < end; sleep(1)) {
		tries++;
		fd =
		    mvm_vm_vsock_connect(vm, (uint32_t)strtoul(argv[5], NULL, 0), err, sizeof(err));
		if (fd >= 0 || (fd != -ECONNREFUSED && fd != -ETIMEDOUT))
			break;
	}
	if (fd < 0) {
		fprintf(stderr, "vsock-connect: %s (%s) after %d tries\n", err, strerror(-fd),
			tries);
		goto out;
	}
	if (write(fd, msg, sizeof(msg) - 1) != (ssize_t)sizeof(msg) - 1) {
		fprintf(stderr, "vsock-connect: write: %s\n", strerror(errno));
		goto out;
	}
	while (got < sizeof(msg) - 1) {
		ssize_t n = read(fd, buf + got, sizeof(msg) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != sizeof(msg) - 1 || memcmp(buf, msg, got) != 0) {
		fprintf(stderr, "vsock-connect: echo came back as %zu bytes \"%.*s\"\n", got,
			(int)got, buf);
		goto out;
	}
	printf("vsock-connect: ok fd=%d tries=%d\n", fd, tries);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	mvm_vm_request_stop(vm);
	pthread_join(thread, NULL);
	mvm_vm_destroy(vm);
	/* With no vsock device: -ENODEV and a message. */
	return ret;
}
