/* SPDX-License-Identifier: MIT */
/*
 * Pause/resume through the installed library, against a real guest
 * (tests/linux/library-checks.sh): the guest's init runs /tick.sh, a counter
 * that prints "tick=N UPTIME" every 100 ms; the console callback collects
 * them (other guest lines are echoed as "# guest: ...").
 *
 *   pause_check KERNEL INITRD     (INITRD with /tick.sh)
 *
 * Prints TAP-like "ok"/"not ok" lines (the checks below) and exits 0 when
 * all passed.  While paused for PAUSE_MS: no tick arrives, the vCPU
 * threads' utime+stime (/proc/self/task/TID/stat) stay still, the state is
 * "Paused"; after resume: ticks resume, and the guest's uptime advanced by
 * far less than the pause (its clock stopped); metrics are non-zero.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define PAUSE_MS 3000

/* The console: lines assembled, the last tick and its guest uptime kept. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct console_lines lines;
static long last_tick = -1;
static double last_uptime;
static atomic_long bytes_seen;

static void on_line(const char *line, size_t len)
{
	const char *p = strstr(line, "tick=");
	long t;
	double up;

	if (!p && len)
		printf("# guest: %s\n", line);
	if (p && sscanf(p, "tick=%ld %lf", &t, &up) == 2) {
		last_tick = t;
		last_uptime = up;
	}
}

static void on_console(void *opaque, const uint8_t *buf, size_t len)
{
	(void)opaque;
	atomic_fetch_add(&bytes_seen, (long)len);
	pthread_mutex_lock(&lock);
	console_lines_feed(&lines, buf, len, on_line);
	pthread_mutex_unlock(&lock);
}

static void snapshot(long *tick, double *uptime)
{
	pthread_mutex_lock(&lock);
	*tick = last_tick;
	*uptime = last_uptime;
	pthread_mutex_unlock(&lock);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* utime+stime (clock ticks) of every thread named vcpuN, summed; -1 if none. */
static long vcpu_cpu_ticks(int *nthreads)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	long sum = 0;

	*nthreads = 0;
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char path[300], buf[512];
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f)) {
			/* "TID (comm) S ppid ..." : utime and stime are fields 14 and 15. */
			char *open = strchr(buf, '('), *close = strrchr(buf, ')');
			unsigned long ut, st;
			if (open && close && strncmp(open + 1, "vcpu", 4) == 0 &&
			    sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
				   &ut, &st) == 2) {
				sum += (long)(ut + st);
				(*nthreads)++;
			}
		}
		fclose(f);
	}
	closedir(d);
	return sum;
}

static void print_metric(void *opaque, const char *name, uint64_t value)
{
	uint64_t *nonzero = opaque;

	if (strstr(name, "exits_") || strstr(name, "run_ns"))
		*nonzero += value != 0;
	printf("# metric %s = %" PRIu64 "\n", name, value);
}

int main(int argc, char **argv)
{
	/* The "counting guest process"; the kernel's own lines stay out (quiet). */
	const char *cmdline = "console=ttyS0 quiet minivmm.action=none run=/tick.sh";
	struct mvm_config *cfg;
	struct mvm_vm *vm;
	struct mvm_exit ex;
	char err[512];
	long tick0, tick1, tick2;
	double up0, up1, up2;
	int n0, n1, waited;
	long cpu0, cpu1;
	uint64_t nonzero = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s KERNEL INITRD\n", argv[0]);
		return 2;
	}
	cfg = check_config(argv[1], argv[2], cmdline);
	if (mvm_config_set_cpus(cfg, 2) || mvm_config_set_mem(cfg, 256ull << 20)) {
		fprintf(stderr, "config failed\n");
		return 2;
	}
	vm = check_create(cfg, on_console);
	check(mvm_vm_state(vm) == MVM_STATE_NOT_STARTED, "state before start: %s",
	      mvm_vm_state_name(mvm_vm_state(vm)));
	check(mvm_vm_pause(vm) == -EINVAL, "pause before start is refused");
	check_start(vm);
	check(mvm_vm_start(vm, err, sizeof(err)) == -EALREADY, "a second start: -EALREADY");
	check(mvm_vm_state(vm) == MVM_STATE_RUNNING, "state after start: %s",
	      mvm_vm_state_name(mvm_vm_state(vm)));

	/* Up to 240 s for the guest to boot and count to 20. */
	for (waited = 0; waited < 2400; waited++) {
		snapshot(&tick0, &up0);
		if (tick0 >= 20)
			break;
		sleep_ms(100);
	}
	check(tick0 >= 20, "the guest counts (tick %ld after %d ms)", tick0, waited * 100);
	if (tick0 < 20)
		goto stop;

	check(mvm_vm_resume(vm) == -EINVAL, "resume while running is refused");
	{
		uint64_t t = now_ns();
		int r = mvm_vm_pause(vm);
		check(r == 0, "pause (returned after %.2f ms)", (double)(now_ns() - t) / 1e6);
	}
	check(mvm_vm_state(vm) == MVM_STATE_PAUSED, "state: %s",
	      mvm_vm_state_name(mvm_vm_state(vm)));
	check(mvm_vm_pause(vm) == -EINVAL, "a second pause is refused");
	sleep_ms(200); /* the console's last bytes (already out of the vCPU) */
	snapshot(&tick0, &up0);
	cpu0 = vcpu_cpu_ticks(&n0);
	{
		long bytes0 = atomic_load(&bytes_seen);
		sleep_ms(PAUSE_MS);
		snapshot(&tick1, &up1);
		cpu1 = vcpu_cpu_ticks(&n1);
		check(tick1 == tick0 && atomic_load(&bytes_seen) == bytes0,
		      "no tick and no console byte while paused %d ms (tick %ld -> %ld)", PAUSE_MS,
		      tick0, tick1);
	}
	check(n0 == 2 && n1 == 2, "two vCPU threads found (%d, %d)", n0, n1);
	/* One clock tick (10 ms) of slack: the kick itself. */
	check(cpu1 - cpu0 <= 1, "vCPU threads idle while paused (%ld clock ticks of CPU)",
	      cpu1 - cpu0);
	check(mvm_vm_power_button(vm) == -EINVAL, "the power button is refused while paused");

	{
		uint64_t t = now_ns();
		int r = mvm_vm_resume(vm);
		check(r == 0, "resume (returned after %.2f ms)", (double)(now_ns() - t) / 1e6);
	}
	check(mvm_vm_state(vm) == MVM_STATE_RUNNING, "state: %s",
	      mvm_vm_state_name(mvm_vm_state(vm)));
	for (waited = 0; waited < 300; waited++) {
		snapshot(&tick2, &up2);
		if (tick2 >= tick0 + 5)
			break;
		sleep_ms(100);
	}
	check(tick2 >= tick0 + 5, "the guest counts again (tick %ld -> %ld)", tick0, tick2);
	/*
	 * 5 ticks take at least 0.5 s of guest time; had the clock jumped,
	 * the uptime would also include the 3 s paused.
	 */
	check(up2 - up0 < (PAUSE_MS / 1000.0) * 0.8 + 1.0,
	      "the guest's clock did not jump (uptime %.2f -> %.2f over a %d ms pause)", up0, up2,
	      PAUSE_MS);

	mvm_vm_metrics(vm, print_metric, &nonzero);
	check(nonzero > 0, "vCPU metrics count (%" PRIu64 " non-zero)", nonzero);
	check(mvm_vm_uptime_ns(vm) > (uint64_t)PAUSE_MS * 1000000, "uptime %.1f s",
	      (double)mvm_vm_uptime_ns(vm) / 1e9);

	/* A stop while paused ends the run promptly (parked vCPUs wake). */
	check(mvm_vm_pause(vm) == 0, "pause again");
stop : {
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	mvm_vm_request_stop(vm);
	check(mvm_vm_wait(vm, &ex) == 0, "wait");
	clock_gettime(CLOCK_MONOTONIC, &b);
	check(ex.reason == MVM_EXIT_STOPPED, "ended as %s", mvm_exit_reason_name(ex.reason));
	check((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < 2000,
	      "a stop while paused ends the run within 2 s");
}
	check(mvm_vm_state(vm) == MVM_STATE_ENDED, "state after the end: %s",
	      mvm_vm_state_name(mvm_vm_state(vm)));
	check(mvm_vm_exit_info(vm, &ex) == 0 && ex.reason == MVM_EXIT_STOPPED, "exit info");
	check(mvm_vm_resume(vm) == -EINVAL, "resume after the end is refused");
	mvm_vm_destroy(vm);
	return check_summary();
}
