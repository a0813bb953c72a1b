/* SPDX-License-Identifier: MIT */
/*
 * Resource bounds (issue 10 item 4): tests/guests/flood.c asks for as much
 * work as it can (console, boot markers, bad register writes, net TX over
 * the user-mode network, rng, disk) and then halts; this test reads what
 * that cost minivmm.
 *
 * - Memory: a flooded run against a run of one round of the same work,
 *   which touches every buffer and code path the flood does.  Anonymous
 *   RSS (RssAnon, guest RAM included) once the guest is idle may differ by
 *   FLOOD_ANON_MARGIN_KB (4 MiB): malloc arenas, slirp's state for the 64
 *   rotating source ports.  Peak RSS (wait4's ru_maxrss) may differ by
 *   FLOOD_PEAK_MARGIN_KB (8 MiB): it also counts file-backed pages, whose
 *   residency here varies by about 2 MiB from run to run (measured: 4.7 to
 *   6.4 MiB for 1 to 99 rounds, not growing with the rounds).  The flood
 *   must do at least FLOOD_MIN_ROUNDS rounds; each moves 8 KiB of frames,
 *   8 MiB of disk I/O, 128 KiB of rng and 1.5 K port accesses, so a leak
 *   of a fraction of any of them, or a queue that kept them, breaks the
 *   margins.
 * - CPU: once the guest has stopped asking (halted, interrupts off),
 *   minivmm must go quiet: at most FLOOD_IDLE_CPU_S of CPU in one second
 *   (a re-armed device, timer or fd that keeps firing would use far more).
 * - Logs: the boot-marker lines and the warnings stay within their rate
 *   limits (32 markers and 10 warnings per device per 5 s, plus one summary
 *   line per window), where an unlimited log had thousands per round.
 */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define FLOOD_SECONDS	     "10"
#define FLOOD_ANON_MARGIN_KB (4 * 1024)
#define FLOOD_PEAK_MARGIN_KB (8 * 1024)
#define FLOOD_MIN_ROUNDS     5
#define FLOOD_IDLE_CPU_S     0.2
/* Per 5 s window: 32 markers + 1 summary, 10 warnings + 1 summary for each of 4 limiters. */
#define FLOOD_LOG_LINES_PER_WINDOW 80
#define FLOOD_LOG_LINES_FIXED	   60 /* start-up, timeline and per-vCPU lines */

struct idle_sample {
	bool seen;
	double idle_cpu_s; /* CPU used in IDLE_WINDOW_S after the guest halted */
	long hwm_kb;	   /* VmHWM at that point */
	long anon_kb;	   /* RssAnon at that point */
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* utime + stime of every thread, from /proc/PID/stat (fields 14 and 15). */
static double proc_cpu_s(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long utime = 0, stime = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
			 &stime) != 2)
		return -1;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static long proc_status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			kb = strtol(line + strlen(key), NULL, 10);
	fclose(f);
	return kb;
}

/* Once the guest says it halted: one second of minivmm's CPU, then SIGTERM. */
static bool watch_idle(pid_t pid, const char *out, void *arg)
{
	struct idle_sample *s = arg;
	double cpu0, start;

	if (!strstr(out, "# flood: idle"))
		return false;
	cpu0 = proc_cpu_s(pid);
	start = now_s();
	while (now_s() - start < 1.0)
		usleep(100000);
	s->idle_cpu_s = proc_cpu_s(pid) - cpu0;
	s->hwm_kb = proc_status_kb(pid, "VmHWM:");
	s->anon_kb = proc_status_kb(pid, "RssAnon:");
	s->seen = cpu0 >= 0;
	kill(pid, SIGTERM);
	return true;
}

static unsigned count_lines(const char *text, const char *needle)
{
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void run_flood(struct run_result *r, struct idle_sample *s, const char *disk,
		      const char *seconds)
{
	char cmdline[64];
	struct run_opts opts = {.limit_s = 120, .watch = watch_idle, .watch_arg = s};

	memset(s, 0, sizeof(*s));
	snprintf(cmdline, sizeof(cmdline), "seconds=%s idle", seconds);
	RUN(r, &opts, "--kernel", guest_path("flood", 0), "--disk", disk, "--net", "user",
	    "--cmdline", cmdline, "--timeout", "100");
	if (!s->seen || r->status != 143 || strstr(r->out, "not ok"))
		dump_result(seconds, r);
	ck_assert_msg(s->seen, "the guest never reached its idle line");
	ck_assert_int_eq(r->status, 143); /* SIGTERM */
	ck_assert_msg(!strstr(r->out, "not ok"), "a flood check failed");
}

START_TEST(flood_stays_bounded)
{
	char disk[] = "/tmp/minivmm-flood-XXXXXX";
	struct idle_sample base_s, flood_s;
	struct run_result base, flood;
	unsigned long rounds = 0;
	const char *totals, *cycles;
	unsigned markers, warnings;
	int fd = mkstemp(disk);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 4 << 20), 0);
	close(fd);

	run_flood(&base, &base_s, disk, "0");
	run_flood(&flood, &flood_s, disk, FLOOD_SECONDS);
	unlink(disk);

	totals = strstr(flood.out, "# flood: rounds=");
	cycles = strstr(flood.out, "# flood: Mcycles");
	ck_assert_ptr_nonnull(totals);
	ck_assert_ptr_nonnull(cycles);
	sscanf(totals, "# flood: rounds=%lu", &rounds);
	markers = count_lines(flood.err, "boot marker 0x");
	warnings = count_lines(flood.err, ": warning: ");
	printf("%.*s\n%.*s\nbase: peak RSS %ld KiB, anon %ld KiB, CPU %.2f s, idle CPU %.3f s; "
	       "flood: peak RSS %ld KiB, anon %ld KiB (VmHWM at idle %ld KiB), CPU %.2f s in "
	       "%.1f s, idle CPU %.3f s; %u marker lines, %u warnings, %zu stderr bytes\n",
	       (int)strcspn(totals, "\n"), totals, (int)strcspn(cycles, "\n"), cycles,
	       base.maxrss_kb, base_s.anon_kb, base.cpu_s, base_s.idle_cpu_s, flood.maxrss_kb,
	       flood_s.anon_kb, flood_s.hwm_kb, flood.cpu_s, flood.seconds, flood_s.idle_cpu_s,
	       markers, warnings, strlen(flood.err));

	ck_assert_uint_ge(rounds, FLOOD_MIN_ROUNDS);
	ck_assert_int_gt(base.maxrss_kb, 0);
	ck_assert_int_gt(base_s.anon_kb, 0);
	ck_assert_int_le(flood_s.anon_kb, base_s.anon_kb + FLOOD_ANON_MARGIN_KB);
	ck_assert_int_le(flood.maxrss_kb, base.maxrss_kb + FLOOD_PEAK_MARGIN_KB);
	ck_assert_double_le(flood_s.idle_cpu_s, FLOOD_IDLE_CPU_S);
	ck_assert_double_le(base_s.idle_cpu_s, FLOOD_IDLE_CPU_S);
	/* 32 markers per 5 s window; the run (boot to SIGTERM) spans a few windows. */
	ck_assert_uint_le(markers, 32 * ((unsigned)(flood.seconds / 5) + 2));
	ck_assert_uint_le(count_lines(flood.err, "\n"),
			  FLOOD_LOG_LINES_PER_WINDOW * ((unsigned)(flood.seconds / 5) + 2) +
			      FLOOD_LOG_LINES_FIXED);
	run_result_free(&base);
	run_result_free(&flood);
}
END_TEST

Suite *flood_suite(void)
{
	Suite *s = suite_create("flood");
	TCase *tc = tcase_create("resource-bounds");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, flood_stays_bounded);
	suite_add_tcase(s, tc);
	return s;
}
