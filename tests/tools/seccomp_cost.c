/* SPDX-License-Identifier: MIT */
/*
 * What a filter adds to one system call, natively (no KVM needed): the
 * time of ioctl(-1, KVM_RUN) (EBADF, the cheapest path through the vCPU
 * filter's most frequent call) and of the loop's epoll_wait with a zero
 * timeout, without a filter and then with the role's filter loaded.  Each
 * measurement runs in a forked child, since a filter cannot be unloaded.
 * Used by bench/seccomp.py.  Usage: seccomp_cost [CALLS]
 */
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmm/seccomp.h"

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double per_call(enum sc_role role, int epfd, long calls)
{
	struct epoll_event ev;
	double t0 = now_ns();

	for (long i = 0; i < calls; i++) {
		if (role == SC_ROLE_VCPU)
			syscall(SYS_ioctl, -1, (unsigned long)KVM_RUN, 0);
		else
			syscall(SYS_epoll_wait, epfd, &ev, 1, 0);
	}
	return (now_ns() - t0) / (double)calls;
}

/* Prints "ROLE off NS on NS" from a child: both measured in the same process. */
static int measure(enum sc_role role, long calls)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct sc_filters f;
		struct vmm_err err = {{0}};
		int epfd = epoll_create1(0);
		double off, on;
		char line[96];
		int n;

		if (sc_filters_build(&f, MVM_SECCOMP_ON, 0, &err) < 0)
			_exit(2);
		per_call(role, epfd, calls / 10); /* warm up */
		off = per_call(role, epfd, calls);
		if (sc_filters_apply(&f, role, sc_role_name(role), &err) < 0)
			_exit(3);
		on = per_call(role, epfd, calls);
		/* write(2): stdio's first use of stdout would fstat it, which no table allows. */
		n = snprintf(line, sizeof(line), "%s off %.1f on %.1f\n", sc_role_name(role), off,
			     on);
		if (write(STDOUT_FILENO, line, (size_t)n) < 0)
			syscall(SYS_exit_group, 4);
		syscall(SYS_exit_group, 0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return 1;
	return 0;
}

int main(int argc, char **argv)
{
	long calls = argc > 1 ? atol(argv[1]) : 1000000;

	return measure(SC_ROLE_VCPU, calls) | measure(SC_ROLE_LOOP, calls);
}
