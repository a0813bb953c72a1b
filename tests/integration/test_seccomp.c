/* SPDX-License-Identifier: MIT */
/*
 * seccomp on a running VM (README "Confinement: seccomp"): every thread is
 * filtered while the guest runs, and a forbidden call on any thread role
 * ends minivmm by SIGSYS with one line naming the thread and the call.  The
 * forbidden calls come from build/minivmm-test (MINIVMM_TEST_HOOKS), which
 * build/minivmm does not contain.
 */
#include <check.h>
#include <dirent.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"

static const char *test_bin(void)
{
	const char *p = getenv("MINIVMM_TEST_BIN");
	return p ? p : "build/minivmm-test";
}

static const struct {
	const char *violate; /* MINIVMM_TEST_SECCOMP_VIOLATE */
	const char *thread;  /* as the line names it */
	long nr;
	const char *what;
} violations[] = {
    {"vcpu", "vcpu0", SYS_ptrace, "(ptrace)"},
    {"vcpu-ioctl", "vcpu0", SYS_ioctl, "(ioctl request 0x"},
    {"loop", "loop", SYS_ptrace, "(ptrace)"},
    {"loop-ioctl", "loop", SYS_ioctl, "(ioctl request 0x"},
};

/* Each role breaking its filter: killed by SIGSYS, after one line saying who and what. */
START_TEST(forbidden_call_kills_by_sigsys)
{
	struct run_result r;
	char line[160];

	ck_assert_msg(access(test_bin(), X_OK) == 0, "%s missing: make build/minivmm-test",
		      test_bin());
	setenv("MINIVMM_BIN", test_bin(), 1);
	setenv("MINIVMM_TEST_SECCOMP_VIOLATE", violations[_i].violate, 1);
	RUN(&r, NULL, "--kernel", guest_path("hang", 1), "--timeout", "30");
	snprintf(line, sizeof(line), "minivmm: seccomp: thread %s made forbidden syscall %ld %s",
		 violations[_i].thread, violations[_i].nr, violations[_i].what);
	ck_assert_stderr_has(&r, line);
	ck_assert_status(&r, 128 + SIGSYS);
	ck_assert(!r.timed_out);
	run_result_free(&r);
}
END_TEST

/* The same test binary without the request runs the guest normally. */
START_TEST(test_binary_runs_normally_without_the_hook)
{
	struct run_result r;

	setenv("MINIVMM_BIN", test_bin(), 1);
	unsetenv("MINIVMM_TEST_SECCOMP_VIOLATE");
	RUN(&r, NULL, "--kernel", guest_path("poweroff", 1));
	ck_assert_status(&r, 0);
	ck_assert_ptr_null(strstr(r.err, "seccomp"));
	run_result_free(&r);
}
END_TEST

struct thread_probe {
	int threads;
	int filtered;	      /* "Seccomp:\t2" */
	int one_filter;	      /* "Seccomp_filters:\t1" (kernels >= 5.9) */
	int has_filter_count; /* threads whose status has the Seccomp_filters line */
	char names[256];
};

static void read_threads(pid_t pid, struct thread_probe *p)
{
	char dir[64];
	DIR *d;
	struct dirent *e;

	memset(p, 0, sizeof(*p));
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[384], line[256], name[32] = "?";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/status", dir, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		p->threads++;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "Name:\t%31s", name) == 1)
				continue;
			if (strcmp(line, "Seccomp:\t2\n") == 0)
				p->filtered++;
			if (strncmp(line, "Seccomp_filters:", 16) == 0) {
				p->has_filter_count++;
				p->one_filter += strcmp(line, "Seccomp_filters:\t1\n") == 0;
			}
		}
		fclose(f);
		snprintf(p->names + strlen(p->names), sizeof(p->names) - strlen(p->names), "%s ",
			 name);
	}
	closedir(d);
}

/*
 * Polls for up to 5 s: the guest's first line comes from vCPU 0 once it is
 * confined, while vCPU 1 and the loop thread may still be loading theirs.
 */
static void probe_threads(pid_t pid, void *arg)
{
	struct thread_probe *p = arg;
	int expect_filtered = p->threads; /* in: how many filtered threads make "done" */

	for (int i = 0; i < 100; i++) {
		read_threads(pid, p);
		if (p->threads >= 3 && p->filtered == expect_filtered)
			return;
		usleep(50 * 1000);
	}
}

/*
 * Every thread of a running 2-vCPU VM (loop, vcpu0, vcpu1) shows
 * `Seccomp: 2`, each with exactly one filter: the vCPU threads did not
 * inherit the loop's (it loads last).  The run then ends on SIGTERM, under
 * the filters, as it would without them.
 */
START_TEST(every_thread_is_filtered)
{
	struct thread_probe p = {.threads = 3};
	struct run_opts o = {.limit_s = 60,
			     .send_signal = SIGTERM,
			     .signal_after = "hang",
			     .while_running = probe_threads,
			     .while_running_arg = &p};
	struct run_result r;

	RUN(&r, &o, "--kernel", guest_path("hang", 1), "--cpus", "2", "--timeout", "50");
	ck_assert_status(&r, 128 + SIGTERM);
	ck_assert_msg(p.threads == 3, "%d threads (%s), expected loop + 2 vCPUs", p.threads,
		      p.names);
	ck_assert_msg(p.filtered == 3, "only %d of %d threads (%s) show Seccomp: 2", p.filtered,
		      p.threads, p.names);
	if (p.has_filter_count)
		ck_assert_msg(p.one_filter == p.threads,
			      "%d of %d threads (%s) have exactly one filter", p.one_filter,
			      p.threads, p.names);
	run_result_free(&r);
}
END_TEST

/* The control: the probe does see unfiltered threads. */
START_TEST(seccomp_off_leaves_threads_unfiltered)
{
	struct thread_probe p = {.threads = 0};
	struct run_opts o = {.limit_s = 60,
			     .send_signal = SIGTERM,
			     .signal_after = "hang",
			     .while_running = probe_threads,
			     .while_running_arg = &p};
	struct run_result r;

	RUN(&r, &o, "--kernel", guest_path("hang", 1), "--cpus", "2", "--timeout", "50",
	    "--seccomp", "off");
	ck_assert_status(&r, 128 + SIGTERM);
	ck_assert_int_eq(p.threads, 3);
	ck_assert_int_eq(p.filtered, 0);
	run_result_free(&r);
}
END_TEST

Suite *seccomp_integration_suite(void)
{
	Suite *s = suite_create("seccomp");
	TCase *tc = tcase_create("seccomp");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, forbidden_call_kills_by_sigsys, 0,
			    (int)(sizeof(violations) / sizeof(violations[0])));
	tcase_add_test(tc, test_binary_runs_normally_without_the_hook);
	tcase_add_test(tc, every_thread_is_filtered);
	tcase_add_test(tc, seccomp_off_leaves_threads_unfiltered);
	suite_add_tcase(s, tc);
	return s;
}
