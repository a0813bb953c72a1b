/* SPDX-License-Identifier: MIT */
/*
 * minivmm as a library: boot a guest, talk to it over vsock, pause and
 * resume it, press its power button, wait for the end.
 *
 *   embed KERNEL INITRD [CMDLINE]
 *
 * The guest is expected to listen on vsock port 1234 and answer one line
 * (tests/linux/library-checks.sh gives it a small echo server); without a
 * listener the example says so and carries on.  Build: examples/Makefile
 * (pkg-config minivmm).  Exit status 0 when every step worked.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <minivmm.h>

#define GUEST_CID  3
#define GUEST_PORT 1234

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Runs on a library thread as the run ends: keep it short, never block. */
static void on_exit_cb(void *opaque, const struct mvm_exit *exit)
{
	(void)opaque;
	fprintf(stderr, "embed: the run ends: %s\n", mvm_exit_reason_name(exit->reason));
}

static void on_metric(void *opaque, const char *name, uint64_t value)
{
	(void)opaque;
	if (strstr(name, "exits_io") || strstr(name, "uptime") || strstr(name, "vsock.rx"))
		printf("embed: metric %s = %" PRIu64 "\n", name, value);
}

/* One line to the guest's vsock listener and its answer back. */
static int vsock_hello(struct mvm_vm *vm)
{
	char err[256], reply[128];
	const char msg[] = "hello from the host\n";
	ssize_t n;
	int fd = -1;

	/* The guest needs a while to boot and listen: retry for up to 5 minutes. */
	for (int i = 0; i < 600 && fd < 0; i++) {
		fd = mvm_vm_vsock_connect(vm, GUEST_PORT, err, sizeof(err));
		if (fd < 0 && fd != -ECONNREFUSED && fd != -ETIMEDOUT && fd != -ECONNRESET)
			break;
		if (fd < 0)
			sleep_ms(500);
	}
	if (fd < 0) {
		printf("embed: no vsock listener on port %d: %s\n", GUEST_PORT, err);
		return -1;
	}
	if (write(fd, msg, sizeof(msg) - 1) != (ssize_t)sizeof(msg) - 1) {
		close(fd);
		return -1;
	}
	n = read(fd, reply, sizeof(reply) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	reply[n] = '\0';
	printf("embed: the guest answered over vsock: %s", reply);
	return 0;
}

int main(int argc, char **argv)
{
	char err[512], uds[] = "/tmp/embed-vsock-XXXXXX", path[64];
	struct mvm_config *cfg;
	struct mvm_vm *vm;
	struct mvm_exit ex;
	int failures = 0, ret;

	if (argc < 3) {
		fprintf(stderr, "usage: %s KERNEL INITRD [CMDLINE]\n", argv[0]);
		return 2;
	}
	/* The device's Unix socket lives in a directory of our own. */
	if (!mkdtemp(uds))
		return 1;
	snprintf(path, sizeof(path), "%s/v.sock", uds);

	/* 1. A configuration: typed setters, or mvm_config_set() with vm.ini's names. */
	cfg = mvm_config_new();
	if (!cfg || mvm_config_set_kernel(cfg, argv[1]) < 0 ||
	    mvm_config_set_initrd(cfg, argv[2]) < 0 ||
	    mvm_config_set_cmdline(cfg, argc > 3 ? argv[3] : "console=ttyS0") < 0 ||
	    mvm_config_set_mem(cfg, 256ull << 20) < 0 ||
	    mvm_config_set_vsock(cfg, GUEST_CID, path) < 0 ||
	    mvm_config_set(cfg, "run", "timeout", "900", err, sizeof(err)) < 0) {
		fprintf(stderr, "embed: bad configuration\n");
		return 1;
	}
	mvm_config_set_console_fds(cfg, STDOUT_FILENO, -1); /* guest output to our stdout */
	mvm_config_set_exit_callback(cfg, on_exit_cb, NULL);

	/* 2. The VM: built now, running after start (vCPU threads + an event-loop thread). */
	ret = mvm_vm_create(cfg, &vm, err, sizeof(err));
	mvm_config_free(cfg); /* the VM keeps its own copy */
	if (ret < 0) {
		fprintf(stderr, "embed: %s\n", err);
		return 1;
	}
	if (mvm_vm_start(vm, err, sizeof(err)) < 0) {
		fprintf(stderr, "embed: %s\n", err);
		mvm_vm_destroy(vm);
		return 1;
	}

	/* 3. Talk to the guest. */
	if (vsock_hello(vm) < 0)
		failures++;

	/* 4. Pause: every vCPU parked, the guest's clock stopped; resume continues it. */
	if (mvm_vm_pause(vm) < 0)
		failures++;
	printf("embed: state %s\n", mvm_vm_state_name(mvm_vm_state(vm)));
	sleep_ms(1000);
	if (mvm_vm_resume(vm) < 0)
		failures++;
	printf("embed: state %s\n", mvm_vm_state_name(mvm_vm_state(vm)));
	mvm_vm_metrics(vm, on_metric, NULL);

	/* 5. The power button: an ACPI guest shuts down; give it 60 s, then stop it. */
	ret = mvm_vm_power_button(vm);
	if (ret < 0)
		printf("embed: power button: %s\n", strerror(-ret));
	for (int i = 0; ret == 0 && i < 600 && mvm_vm_state(vm) != MVM_STATE_ENDED; i++)
		sleep_ms(100);
	if (mvm_vm_state(vm) != MVM_STATE_ENDED) {
		printf("embed: the guest did not power off; stopping it\n");
		mvm_vm_request_stop(vm);
	}

	/* 6. The end: joins the library's threads. */
	mvm_vm_wait(vm, &ex);
	printf("embed: ended: %s after %.1f s%s%s\n", mvm_exit_reason_name(ex.reason),
	       (double)mvm_vm_uptime_ns(vm) / 1e9, ex.message[0] ? ": " : "", ex.message);
	mvm_vm_destroy(vm);
	unlink(path);
	rmdir(uds);
	printf("embed: %s\n", failures ? "FAILED" : "done");
	return failures ? 1 : 0;
}
