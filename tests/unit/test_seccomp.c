/* SPDX-License-Identifier: MIT */
/*
 * The seccomp tables and the filters generated from them (vmm/seccomp.c),
 * without KVM: filters are loaded in forked children, which then make
 * allowed and forbidden calls.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmm/seccomp.h"

static void check_table(const char *what, const struct sc_rule *rules, size_t n)
{
	ck_assert_msg(n > 0, "%s: empty table", what);
	for (size_t i = 0; i < n; i++) {
		char *name;

		ck_assert_msg(rules[i].nr >= 0, "%s row %zu (%s): not a syscall of this arch", what,
			      i, rules[i].name);
		name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, rules[i].nr);
		ck_assert_msg(name != NULL, "%s row %zu: syscall %d has no name", what, i,
			      rules[i].nr);
		/* The row's label starts with the call it allows. */
		ck_assert_msg(strncmp(rules[i].name, name, strlen(name)) == 0,
			      "%s row %zu: label \"%s\" does not name %s", what, i, rules[i].name,
			      name);
		free(name);
		ck_assert_msg(rules[i].match != SC_ARG_EQ32 || rules[i].arg < 6,
			      "%s row %zu: argument index", what, i);
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(
			    !(rules[j].nr == rules[i].nr && rules[j].match == rules[i].match &&
			      rules[j].arg == rules[i].arg && rules[j].value == rules[i].value &&
			      /* rows that exclude each other (needs vs unless) never meet */
			      ((rules[j].needs | rules[i].needs) &
			       (rules[j].unless | rules[i].unless)) == 0),
			    "%s rows %zu and %zu are the same rule (%s)", what, j, i,
			    rules[i].name);
	}
}

START_TEST(tables_are_well_formed)
{
	const struct sc_rule *rules;
	size_t n;

	rules = sc_common_table(&n);
	check_table("common", rules, n);
	for (int role = 0; role < SC_ROLE_COUNT; role++) {
		rules = sc_table((enum sc_role)role, &n);
		check_table(sc_role_name((enum sc_role)role), rules, n);
	}
}
END_TEST

/* Calls that would undo the confinement are in no table, whatever the VM has. */
START_TEST(no_table_allows_escape_hatches)
{
	static const int never[] = {
	    SCMP_SYS(execve),
	    SCMP_SYS(execveat),
	    SCMP_SYS(fork),
	    SCMP_SYS(vfork),
	    SCMP_SYS(clone),
	    SCMP_SYS(ptrace),
	    SCMP_SYS(process_vm_writev),
	    SCMP_SYS(mount),
	    SCMP_SYS(pivot_root),
	    SCMP_SYS(bpf),
	    SCMP_SYS(seccomp),
	    SCMP_SYS(prctl),
	    SCMP_SYS(kexec_load),
	    SCMP_SYS(init_module),
	    SCMP_SYS(setuid),
	    SCMP_SYS(unshare),
	    SCMP_SYS(setns),
	    SCMP_SYS(rt_sigaction),
	    SCMP_SYS(open),
	    SCMP_SYS(kill),
	};
	const struct sc_rule *tables[3];
	size_t ns[3];

	tables[0] = sc_common_table(&ns[0]);
	tables[1] = sc_table(SC_ROLE_VCPU, &ns[1]);
	tables[2] = sc_table(SC_ROLE_LOOP, &ns[2]);
	for (int t = 0; t < 3; t++)
		for (size_t i = 0; i < ns[t]; i++)
			for (size_t k = 0; k < sizeof(never) / sizeof(never[0]); k++)
				ck_assert_msg(tables[t][i].nr != never[k] ||
						  tables[t][i].match == SC_ARG_ERRNO,
					      "a table allows %s", tables[t][i].name);
}
END_TEST

/* Every mode and need compiles to a loadable-sized BPF program (seccomp_export_bpf). */
START_TEST(filters_build_for_every_mode)
{
	static const enum mvm_seccomp modes[] = {MVM_SECCOMP_ON, MVM_SECCOMP_LOG};

	for (size_t m = 0; m < 2; m++) {
		for (unsigned needs = 0; needs <= (SC_NEED_SLIRP | SC_NEED_VSOCK); needs++) {
			struct sc_filters f;
			struct vmm_err err = {{0}};

			ck_assert_int_eq(sc_filters_build(&f, modes[m], needs, &err), 0);
			for (int role = 0; role < SC_ROLE_COUNT; role++) {
				ck_assert_ptr_nonnull(f.prog[role].filter);
				ck_assert_uint_gt(f.prog[role].len, 10);
				ck_assert_uint_le(f.prog[role].len, 4096);
				/* The last instruction returns (BPF_RET), whatever the path. */
				ck_assert_uint_eq(
				    BPF_CLASS(f.prog[role].filter[f.prog[role].len - 1].code),
				    BPF_RET);
			}
			sc_filters_free(&f);
		}
	}
}
END_TEST

START_TEST(mode_off_builds_nothing)
{
	struct sc_filters f;
	struct vmm_err err = {{0}};

	ck_assert_int_eq(sc_filters_build(&f, MVM_SECCOMP_OFF, 0, &err), 0);
	ck_assert_ptr_null(f.prog[SC_ROLE_VCPU].filter);
	ck_assert_int_eq(sc_filters_apply(&f, SC_ROLE_VCPU, "vcpu0", &err), 0);
	sc_filters_free(&f);
}
END_TEST

enum action {
	DO_PTRACE,	  /* in no table */
	DO_IOCTL_KVM_RUN, /* an allowed request on a bad fd: EBADF */
	DO_IOCTL_CREATE_VM,
	DO_CLONE3,
	DO_APPLY_TWICE,
	DO_TGKILL_OTHER,
	DO_OPEN,
	DO_GMTIME,
};

struct child_result {
	int wstatus;
	char err[1024];
};

/*
 * The raw exit_group: ASan's _exit() interceptor calls sigaltstack, which no
 * table allows (and minivmm never calls).
 */
static void child_exit(int status) __attribute__((noreturn));
static void child_exit(int status)
{
	syscall(SYS_exit_group, status);
	__builtin_unreachable();
}

/*
 * Forks; the child loads the role's filter, writes "loaded", does `what`,
 * reports the result as "ret=R errno=E" and exits 0.
 */
static void run_child(enum mvm_seccomp mode, enum sc_role role, enum action what,
		      struct child_result *res)
{
	int p[2];
	pid_t pid;
	ssize_t got, total = 0;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct sc_filters f;
		struct vmm_err err = {{0}};
		char line[64];
		long ret = 0;
		int n;

		dup2(p[1], STDERR_FILENO);
		if (sc_filters_build(&f, mode, 0, &err) < 0 ||
		    sc_filters_apply(&f, role, role == SC_ROLE_VCPU ? "vcpu0" : "loop", &err) < 0) {
			dprintf(STDERR_FILENO, "setup failed: %s\n", err.msg);
			_exit(2);
		}
		if (write(STDERR_FILENO, "loaded\n", 7) < 0)
			child_exit(3);
		switch (what) {
		case DO_PTRACE:
			ret = syscall(SYS_ptrace, -1L, 0, 0, 0);
			break;
		case DO_IOCTL_KVM_RUN:
			ret = syscall(SYS_ioctl, -1, (unsigned long)KVM_RUN, 0);
			break;
		case DO_IOCTL_CREATE_VM:
			ret = syscall(SYS_ioctl, -1, (unsigned long)KVM_CREATE_VM, 0);
			break;
		case DO_CLONE3:
			ret = syscall(SYS_clone3, NULL, 0);
			break;
		case DO_APPLY_TWICE:
			memset(&err, 0, sizeof(err));
			ret = sc_filters_apply(&f, role, "again", &err);
			break;
		case DO_TGKILL_OTHER:
			ret = syscall(SYS_tgkill, 1, 1, 0);
			break;
		case DO_OPEN:
			ret = open("/dev/null", O_RDONLY);
			break;
		case DO_GMTIME: {
			/* The CMOS RTC's conversion, on a vCPU thread. */
			time_t t = 86400;
			struct tm tm;
			ret = gmtime_r(&t, &tm) ? tm.tm_mday : -1;
			break;
		}
		}
		n = snprintf(line, sizeof(line), "ret=%ld errno=%d\n", ret, ret < 0 ? errno : 0);
		if (write(STDERR_FILENO, line, (size_t)n) < 0)
			child_exit(3);
		child_exit(0);
	}
	close(p[1]);
	while ((got = read(p[0], res->err + total, sizeof(res->err) - 1 - (size_t)total)) > 0)
		total += got;
	res->err[total] = '\0';
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &res->wstatus, 0), pid);
}

static void assert_killed(const struct child_result *r, const char *line)
{
	ck_assert_msg(WIFSIGNALED(r->wstatus) && WTERMSIG(r->wstatus) == SIGSYS,
		      "child not killed by SIGSYS (status 0x%x): %s", r->wstatus, r->err);
	ck_assert_msg(strstr(r->err, line), "stderr lacks \"%s\": %s", line, r->err);
}

static void assert_ran(const struct child_result *r, const char *result)
{
	ck_assert_msg(WIFEXITED(r->wstatus) && WEXITSTATUS(r->wstatus) == 0,
		      "child did not exit 0 (status 0x%x): %s", r->wstatus, r->err);
	ck_assert_msg(strstr(r->err, result), "stderr lacks \"%s\": %s", result, r->err);
}

START_TEST(forbidden_call_kills_with_one_line)
{
	struct child_result r;
	char line[128];

	snprintf(line, sizeof(line),
		 "minivmm: seccomp: thread vcpu0 made forbidden syscall %d (ptrace)", SYS_ptrace);
	run_child(MVM_SECCOMP_ON, SC_ROLE_VCPU, DO_PTRACE, &r);
	assert_killed(&r, line);
	snprintf(line, sizeof(line),
		 "minivmm: seccomp: thread loop made forbidden syscall %d (ptrace)", SYS_ptrace);
	run_child(MVM_SECCOMP_ON, SC_ROLE_LOOP, DO_PTRACE, &r);
	assert_killed(&r, line);
}
END_TEST

START_TEST(ioctl_requests_are_filtered)
{
	struct child_result r;
	char line[128];

	run_child(MVM_SECCOMP_ON, SC_ROLE_VCPU, DO_IOCTL_KVM_RUN, &r);
	assert_ran(&r, "ret=-1 errno=9"); /* EBADF: the kernel saw it */
	snprintf(line, sizeof(line), "thread vcpu0 made forbidden syscall %d (ioctl request 0x%x)",
		 SYS_ioctl, (unsigned)KVM_CREATE_VM);
	run_child(MVM_SECCOMP_ON, SC_ROLE_VCPU, DO_IOCTL_CREATE_VM, &r);
	assert_killed(&r, line);
	/* KVM_RUN is a vCPU's request, not the loop's. */
	run_child(MVM_SECCOMP_ON, SC_ROLE_LOOP, DO_IOCTL_KVM_RUN, &r);
	assert_killed(&r, "thread loop made forbidden syscall");
}
END_TEST

START_TEST(log_mode_lets_the_call_run)
{
	struct child_result r;

	run_child(MVM_SECCOMP_LOG, SC_ROLE_VCPU, DO_PTRACE, &r);
	assert_ran(&r, "ret=-1");
	ck_assert_ptr_null(strstr(r.err, "forbidden"));
}
END_TEST

START_TEST(clone3_fails_with_enosys)
{
	struct child_result r;
	char want[32];

	snprintf(want, sizeof(want), "ret=-1 errno=%d", ENOSYS);
	run_child(MVM_SECCOMP_ON, SC_ROLE_LOOP, DO_CLONE3, &r);
	assert_ran(&r, want);
}
END_TEST

START_TEST(second_filter_on_one_thread_is_refused)
{
	struct child_result r;
	char want[32];

	snprintf(want, sizeof(want), "ret=%d", -EBUSY);
	run_child(MVM_SECCOMP_ON, SC_ROLE_LOOP, DO_APPLY_TWICE, &r);
	assert_ran(&r, want);
}
END_TEST

START_TEST(tgkill_only_within_the_process)
{
	struct child_result r;

	run_child(MVM_SECCOMP_ON, SC_ROLE_LOOP, DO_TGKILL_OTHER, &r);
	assert_killed(&r, "thread loop made forbidden syscall");
}
END_TEST

/* glibc's lazy opens (time zone, heap shrink) get EACCES instead of a SIGSYS. */
START_TEST(open_fails_with_eacces)
{
	struct child_result r;
	char want[32];

	snprintf(want, sizeof(want), "ret=-1 errno=%d", EACCES);
	run_child(MVM_SECCOMP_ON, SC_ROLE_VCPU, DO_OPEN, &r);
	assert_ran(&r, want);
	run_child(MVM_SECCOMP_ON, SC_ROLE_LOOP, DO_OPEN, &r);
	assert_ran(&r, want);
}
END_TEST

/* The first gmtime_r after the filter would open /etc/localtime; the build loads it first. */
START_TEST(time_conversion_needs_no_file)
{
	struct child_result r;

	run_child(MVM_SECCOMP_ON, SC_ROLE_VCPU, DO_GMTIME, &r);
	assert_ran(&r, "ret=2 ");
}
END_TEST

Suite *seccomp_suite(void)
{
	Suite *s = suite_create("seccomp");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, tables_are_well_formed);
	tcase_add_test(tc, no_table_allows_escape_hatches);
	tcase_add_test(tc, filters_build_for_every_mode);
	tcase_add_test(tc, mode_off_builds_nothing);
	tcase_add_test(tc, forbidden_call_kills_with_one_line);
	tcase_add_test(tc, ioctl_requests_are_filtered);
	tcase_add_test(tc, log_mode_lets_the_call_run);
	tcase_add_test(tc, clone3_fails_with_enosys);
	tcase_add_test(tc, second_filter_on_one_thread_is_refused);
	tcase_add_test(tc, tgkill_only_within_the_process);
	tcase_add_test(tc, open_fails_with_eacces);
	tcase_add_test(tc, time_conversion_needs_no_file);
	suite_add_tcase(s, tc);
	return s;
}
