/* SPDX-License-Identifier: MIT */
/*
 * Per-thread seccomp filters: the allow-list tables, the filters libseccomp
 * generates from them, their loading, and the SIGSYS line (vmm/seccomp.h).
 *
 * Reading the tables: every row is a call some code path of that thread role
 * makes after the filter is loaded, with the reason next to it.  The whole
 * integration suite runs with the filters on (a missing row kills the VMM)
 * and once more in log mode, asserting that the kernel logged nothing
 * (tests/hostvm/seccomp-audit); a new call on a vCPU or the loop thread needs
 * its row here.
 */
#include "vmm/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1 /* siginfo si_code of a SECCOMP_RET_TRAP (linux/signal.h) */
#endif

#define ALLOW(call, why)                                                                           \
	{                                                                                          \
		SCMP_SYS(call), SC_ANY, 0, 0, 0, 0, #call                                          \
	}
#define ALLOW_IF(call, arg_, val, need, label)                                                     \
	{                                                                                          \
		SCMP_SYS(call), SC_ARG_EQ32, arg_, val, need, 0, label                             \
	}
/* ioctl request numbers compared on 32 bits: musl sign-extends them (FC #1206). */
#define IOCTL(req)                                                                                 \
	{                                                                                          \
		SCMP_SYS(ioctl), SC_ARG_EQ32, 1, req, 0, 0, "ioctl " #req                          \
	}
#define IOCTL_IF(req, need)                                                                        \
	{                                                                                          \
		SCMP_SYS(ioctl), SC_ARG_EQ32, 1, req, need, 0, "ioctl " #req                       \
	}

/*
 * glibc opens files lazily, on the first use of some features: the time
 * zone (even gmtime_r; sc_filters_build() loads it first) and
 * /proc/sys/vm/overcommit_memory the first time a thread's malloc heap
 * shrinks (check_may_shrink_heap).  It copes with a failed open, and
 * minivmm itself opens nothing after setup, so openat fails with EACCES
 * instead of killing the VM an hour into its run.  Not with libslirp, whose
 * read-only opens are allowed instead (libseccomp takes one action per
 * syscall and argument set).
 */
#define OPENAT_FAILS(unless_)                                                                      \
	{                                                                                          \
		SCMP_SYS(openat), SC_ARG_ERRNO, 0, EACCES, 0, unless_, "openat -> EACCES"          \
	}
#define OPEN_WRITE_FLAGS (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND | __O_TMPFILE)

/*
 * Every thread that runs under a filter: glibc's allocator, locks, clocks,
 * signal return, thread exit, logging.
 */
static const struct sc_rule common_rules[] = {
    /* Log lines, console output, irqfd/eventfd kicks, ev_stop(): one write() each. */
    ALLOW(write, "logging, console, eventfds"),
    /* pthread mutexes and joins. */
    ALLOW(futex, "locks"),
    /* clock_ns() and time(): the vDSO, unless the host clocksource forces a syscall. */
    ALLOW(clock_gettime, "clock"),
    ALLOW(gettimeofday, "clock"),
    ALLOW(time, "clock"),
    /* The kick signal's handler returns through rt_sigreturn; glibc masks signals. */
    ALLOW(rt_sigreturn, "signal return"),
    ALLOW(rt_sigprocmask, "signal masks"),
    ALLOW(restart_syscall, "interrupted calls"),
    /* malloc: arenas and large blocks.  Never executable memory. */
    {SCMP_SYS(mmap), SC_ARG_CLEAR, 2, PROT_EXEC, 0, 0, "mmap without PROT_EXEC"},
    {SCMP_SYS(mprotect), SC_ARG_CLEAR, 2, PROT_EXEC, 0, 0, "mprotect without PROT_EXEC"},
    ALLOW(munmap, "free"),
    ALLOW(mremap, "realloc"),
    ALLOW(brk, "malloc's main arena"),
    /* free() trimming and glibc's thread exit (advise_stack_range). */
    ALLOW_IF(madvise, 2, MADV_DONTNEED, 0, "madvise MADV_DONTNEED"),
    ALLOW(sched_yield, "lock back-off"),
    /* glibc 2.35+ registers rseq per thread (CH #4004); allowed in case it re-registers. */
    ALLOW(rseq, "glibc rseq"),
    ALLOW(getpid, "pthread_kill"),
    ALLOW(gettid, "pthread_kill"),
    ALLOW(exit, "thread exit"),
    ALLOW(exit_group, "process exit"),
    /*
     * Nothing creates threads after the filters; glibc treats EPERM from
     * clone3 as fatal but falls back to clone on ENOSYS (moby #42680).
     */
    {SCMP_SYS(clone3), SC_ARG_ERRNO, 0, ENOSYS, 0, 0, "clone3 -> ENOSYS"},
};

/* vCPU threads (vmm/vcpu.c): KVM_RUN and the exits it returns. */
static const struct sc_rule vcpu_rules[] = {
    IOCTL(KVM_RUN),
    /* Emulation completion (vmm/emulate.c via vcpu.c) and fault reports. */
    IOCTL(KVM_GET_REGS),
    IOCTL(KVM_SET_REGS),
    IOCTL(KVM_GET_SREGS),
    /* A #PF raised by a completed ldmxcsr/stmxcsr delivers CR2 (vmm/pagewalk.c). */
    IOCTL(KVM_SET_SREGS),
    IOCTL(KVM_GET_VCPU_EVENTS),
    IOCTL(KVM_SET_VCPU_EVENTS),
    IOCTL(KVM_GET_FPU),
    IOCTL(KVM_CHECK_EXTENSION),
    IOCTL(KVM_GET_XSAVE),
    IOCTL(KVM_GET_XSAVE2),
    IOCTL(KVM_SET_XSAVE),
    /* The UART's interrupt line (KVM_IRQ_LINE on the VM fd). */
    IOCTL(KVM_IRQ_LINE),
    /*
     * A DriverOK or reset written to virtio-mmio runs the device's
     * activate/reset on the writing vCPU: a TAP's offloads, the TAP fd and
     * rng timer joining or leaving the loop's epoll set (ev_add/ev_del close
     * timer fds).
     */
    IOCTL(TUNSETOFFLOAD),
    ALLOW(epoll_ctl, "device activation"),
    ALLOW(close, "device reset: timer fds"),
    OPENAT_FAILS(0),
};

/*
 * The event-loop thread (vmm/eventloop.c and every device backend), and
 * what runs on it after the loop ends: joins, device and VM teardown, the
 * CLI's terminal restore and exit.
 */
static const struct sc_rule loop_rules[] = {
    ALLOW(epoll_wait, "ev_run"),
    ALLOW(epoll_pwait, "ev_run"),
    ALLOW(epoll_ctl, "ev_add/ev_mod/ev_del"),
    ALLOW(read, "console input, eventfds, timerfds, TAP RX"),
    ALLOW(readv, "backends"),
    ALLOW(writev, "TAP TX"),
    /* virtio-blk (devices/disk_image.c). */
    ALLOW(preadv, "disk read"),
    ALLOW(pwritev, "disk write"),
    ALLOW(pread64, "disk read"),
    ALLOW(pwrite64, "disk write"),
    ALLOW(fdatasync, "disk flush"),
    ALLOW(fsync, "disk flush"),
    ALLOW(fallocate, "disk discard / write zeroes"),
    IOCTL(BLKDISCARD),
    IOCTL(BLKZEROOUT),
    /* Timers: --timeout, the rng rate limit, slirp's timers. */
    ALLOW(timerfd_create, "timers"),
    ALLOW(timerfd_settime, "timers"),
    ALLOW(eventfd2, "eventfds"),
    ALLOW(close, "ev_del of timers, teardown"),
    /* virtio-rng. */
    ALLOW(getrandom, "virtio-rng"),
    /* The UART's interrupt after console input; device activation/reset (see vCPU). */
    IOCTL(KVM_IRQ_LINE),
    IOCTL(TUNSETOFFLOAD),
    /* Teardown: ioeventfds and irqfds deassigned; the PVM diagnosis reads LSTAR. */
    IOCTL(KVM_IOEVENTFD),
    IOCTL(KVM_IRQFD),
    IOCTL(KVM_GET_MSRS),
    /* Pause/resume (vmm/vm.c): the guest's clock stopped and continued. */
    IOCTL(KVM_GET_CLOCK),
    IOCTL(KVM_SET_CLOCK),
    /* Kicking vCPUs out of KVM_RUN: pthread_kill = tgkill(getpid(), tid), own process only. */
    {SCMP_SYS(tgkill), SC_ARG_EQ_SELF, 0, 0, 0, 0, "tgkill own process"},
    /* The CLI puts its terminal back (tcsetattr TCSADRAIN) after the run. */
    IOCTL(TCGETS),
    IOCTL(TCSETS),
    IOCTL(TCSETSW),
    /* libslirp (devices/net_slirp.c): guest connections become host sockets. */
    ALLOW_IF(socket, 0, AF_INET, SC_NEED_SLIRP, "socket AF_INET"),
    ALLOW_IF(socket, 0, AF_INET6, SC_NEED_SLIRP, "socket AF_INET6"),
    {SCMP_SYS(connect), SC_ANY, 0, 0, SC_NEED_SLIRP, 0, "connect"},
    {SCMP_SYS(accept), SC_ANY, 0, 0, SC_NEED_SLIRP, 0, "accept (hostfwd)"},
    {SCMP_SYS(accept4), SC_ANY, 0, 0, SC_NEED_SLIRP, 0, "accept4 (hostfwd)"},
    {SCMP_SYS(bind), SC_ANY, 0, 0, SC_NEED_SLIRP, 0, "bind"},
    {SCMP_SYS(listen), SC_ANY, 0, 0, SC_NEED_SLIRP, 0, "listen"},
    {SCMP_SYS(getsockname), SC_ANY, 0, 0, SC_NEED_SLIRP, 0, "getsockname"},
    {SCMP_SYS(getpeername), SC_ANY, 0, 0, SC_NEED_SLIRP, 0, "getpeername"},
    {SCMP_SYS(setsockopt), SC_ANY, 0, 0, SC_NEED_SLIRP, 0, "setsockopt"},
    {SCMP_SYS(getsockopt), SC_ANY, 0, 0, SC_NEED_SLIRP, 0, "getsockopt"},
    {SCMP_SYS(sendto), SC_ANY, 0, 0, SC_NEED_SLIRP, 0, "sendto"},
    {SCMP_SYS(recvfrom), SC_ANY, 0, 0, SC_NEED_SLIRP, 0, "recvfrom"},
    {SCMP_SYS(sendmsg), SC_ANY, 0, 0, SC_NEED_SLIRP, 0, "sendmsg"},
    {SCMP_SYS(recvmsg), SC_ANY, 0, 0, SC_NEED_SLIRP, 0, "recvmsg"},
    {SCMP_SYS(shutdown), SC_ANY, 0, 0, SC_NEED_SLIRP, 0, "shutdown"},
    ALLOW_IF(fcntl, 1, F_GETFL, SC_NEED_SLIRP, "fcntl F_GETFL"),
    ALLOW_IF(fcntl, 1, F_SETFL, SC_NEED_SLIRP, "fcntl F_SETFL"),
    ALLOW_IF(fcntl, 1, F_GETFD, SC_NEED_SLIRP, "fcntl F_GETFD"),
    ALLOW_IF(fcntl, 1, F_SETFD, SC_NEED_SLIRP, "fcntl F_SETFD"),
    IOCTL_IF(FIONREAD, SC_NEED_SLIRP),
    IOCTL_IF(FIONBIO, SC_NEED_SLIRP),
    /* libslirp reads /etc/resolv.conf (and stats it) for the DNS it forwards to: read-only. */
    {SCMP_SYS(openat), SC_ARG_CLEAR, 2, OPEN_WRITE_FLAGS, SC_NEED_SLIRP, 0, "openat read-only"},
    {SCMP_SYS(newfstatat), SC_ANY, 0, 0, SC_NEED_SLIRP, 0, "newfstatat"},
    {SCMP_SYS(fstat), SC_ANY, 0, 0, SC_NEED_SLIRP, 0, "fstat"},
    OPENAT_FAILS(SC_NEED_SLIRP),
    /*
     * virtio-vsock (devices/vsock_muxer.c): host programs connect to the
     * device's Unix socket (accept4), guest connects become nonblocking
     * connects to PATH_<port> (socket AF_UNIX only), data moves with
     * read/readv (above) and send/sendmsg, SHUTDOWN becomes shutdown(2),
     * and the listening socket's file is removed at teardown (unlink).
     * With --net user too, libslirp's identical rows above already apply.
     */
    ALLOW_IF(socket, 0, AF_UNIX, SC_NEED_VSOCK, "socket AF_UNIX (vsock)"),
    {SCMP_SYS(connect), SC_ANY, 0, 0, SC_NEED_VSOCK, SC_NEED_SLIRP, "connect (vsock)"},
    {SCMP_SYS(accept4), SC_ANY, 0, 0, SC_NEED_VSOCK, SC_NEED_SLIRP, "accept4 (vsock)"},
    {SCMP_SYS(sendto), SC_ANY, 0, 0, SC_NEED_VSOCK, SC_NEED_SLIRP, "sendto (vsock)"},
    {SCMP_SYS(sendmsg), SC_ANY, 0, 0, SC_NEED_VSOCK, SC_NEED_SLIRP, "sendmsg (vsock)"},
    {SCMP_SYS(shutdown), SC_ANY, 0, 0, SC_NEED_VSOCK, SC_NEED_SLIRP, "shutdown (vsock)"},
    {SCMP_SYS(unlink), SC_ANY, 0, 0, SC_NEED_VSOCK, 0, "unlink (vsock socket at teardown)"},
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

const char *sc_role_name(enum sc_role role)
{
	return role == SC_ROLE_VCPU ? "vcpu" : role == SC_ROLE_LOOP ? "loop" : "?";
}

const struct sc_rule *sc_common_table(size_t *n)
{
	*n = ARRAY_SIZE(common_rules);
	return common_rules;
}

const struct sc_rule *sc_table(enum sc_role role, size_t *n)
{
	if (role == SC_ROLE_VCPU) {
		*n = ARRAY_SIZE(vcpu_rules);
		return vcpu_rules;
	}
	*n = ARRAY_SIZE(loop_rules);
	return loop_rules;
}

/* ---- Generating the filters ----------------------------------------------------- */

static int add_rule(scmp_filter_ctx ctx, const struct sc_rule *r)
{
	switch (r->match) {
	case SC_ANY:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 0);
	case SC_ARG_EQ32:
		return seccomp_rule_add(
		    ctx, SCMP_ACT_ALLOW, r->nr, 1,
		    SCMP_CMP(r->arg, SCMP_CMP_MASKED_EQ, 0xffffffffu, r->value));
	case SC_ARG_CLEAR:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_CMP(r->arg, SCMP_CMP_MASKED_EQ, r->value, 0));
	case SC_ARG_EQ_SELF:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_CMP(r->arg, SCMP_CMP_EQ, (uint64_t)getpid()));
	case SC_ARG_ERRNO:
		return seccomp_rule_add(ctx, SCMP_ACT_ERRNO((uint32_t)r->value), r->nr, 0);
	}
	return -EINVAL;
}

static int add_rules(scmp_filter_ctx ctx, const struct sc_rule *rules, size_t n, unsigned needs,
		     struct vmm_err *err)
{
	for (size_t i = 0; i < n; i++) {
		int ret;

		if ((rules[i].needs & ~needs) || (rules[i].unless & needs))
			continue;
		ret = add_rule(ctx, &rules[i]);
		if (ret < 0)
			return vmm_errf(err, ret, "seccomp: cannot add the rule \"%s\": %s",
					rules[i].name, strerror(-ret));
	}
	return 0;
}

/* libseccomp 2.5 exports BPF only to an fd: a memfd, read back into memory. */
static int export_bpf(scmp_filter_ctx ctx, struct sock_fprog *prog, struct vmm_err *err)
{
	int fd = memfd_create("minivmm-seccomp", MFD_CLOEXEC);
	struct sock_filter *insns = NULL;
	off_t size;
	int ret;

	if (fd < 0)
		return vmm_errf(err, -errno, "seccomp: memfd_create: %s", strerror(errno));
	ret = seccomp_export_bpf(ctx, fd);
	if (ret < 0) {
		vmm_errf(err, ret, "seccomp: cannot generate the filter: %s", strerror(-ret));
		goto out;
	}
	size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % sizeof(struct sock_filter) ||
	    size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		ret =
		    vmm_errf(err, -EINVAL, "seccomp: generated filter has a bad size (%lld bytes)",
			     (long long)size);
		goto out;
	}
	insns = malloc((size_t)size);
	if (!insns) {
		ret = vmm_errf(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (pread(fd, insns, (size_t)size, 0) != size) {
		ret = vmm_errf(err, -EIO, "seccomp: cannot read the generated filter back");
		free(insns);
		goto out;
	}
	prog->filter = insns;
	prog->len = (unsigned short)(size / sizeof(struct sock_filter));
	ret = 0;
out:
	close(fd);
	return ret;
}

int sc_filters_build(struct sc_filters *f, enum mvm_seccomp mode, unsigned needs,
		     struct vmm_err *err)
{
	memset(f, 0, sizeof(*f));
	f->mode = mode;
	/*
	 * glibc reads the time zone (/etc/localtime) on the first time
	 * conversion, gmtime_r included (the CMOS RTC on a vCPU thread): now,
	 * while opening files is still allowed (CH #2111).
	 */
	tzset();
	if (mode == MVM_SECCOMP_OFF)
		return 0;
	for (int role = 0; role < SC_ROLE_COUNT; role++) {
		/* on: trap, so that the SIGSYS handler can name the call before dying. */
		scmp_filter_ctx ctx =
		    seccomp_init(mode == MVM_SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP);
		const struct sc_rule *rules;
		size_t n;
		int ret;

		if (!ctx) {
			sc_filters_free(f);
			return vmm_errf(err, -ENOMEM, "seccomp: libseccomp cannot start a filter");
		}
		rules = sc_table((enum sc_role)role, &n);
		/*
		 * The hot call of each role first (KVM_RUN once per exit; the
		 * loop's epoll_wait and eventfd reads), the rest as a binary tree
		 * instead of one long list of comparisons.
		 */
		seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
		if (role == SC_ROLE_VCPU) {
			seccomp_syscall_priority(ctx, SCMP_SYS(ioctl), 255);
		} else {
			seccomp_syscall_priority(ctx, SCMP_SYS(epoll_wait), 255);
			seccomp_syscall_priority(ctx, SCMP_SYS(read), 254);
			seccomp_syscall_priority(ctx, SCMP_SYS(write), 253);
		}
		ret = add_rules(ctx, common_rules, ARRAY_SIZE(common_rules), needs, err);
		if (ret == 0)
			ret = add_rules(ctx, rules, n, needs, err);
		if (ret == 0)
			ret = export_bpf(ctx, &f->prog[role], err);
		seccomp_release(ctx);
		if (ret < 0) {
			sc_filters_free(f);
			return ret;
		}
	}
	return 0;
}

void sc_filters_free(struct sc_filters *f)
{
	for (int role = 0; role < SC_ROLE_COUNT; role++) {
		free(f->prog[role].filter);
		f->prog[role].filter = NULL;
		f->prog[role].len = 0;
	}
}

/* ---- The SIGSYS line ------------------------------------------------------------ */

/*
 * Per-thread, not process-wide: the label of the thread that loaded a filter,
 * read by the SIGSYS handler, which runs on the offending thread and has no
 * other way to know which VM thread it is.  initial-exec: no allocation on
 * first access from a signal handler.
 */
static __thread char thread_label[16] __attribute__((tls_model("initial-exec")));

/* Generated from <sys/syscall.h> by the Makefile: [nr] = "name". */
static const char *const syscall_names[] = {
#include "syscall_names.h"
};

static size_t put_str(char *buf, size_t n, size_t cap, const char *s)
{
	while (*s && n < cap)
		buf[n++] = *s++;
	return n;
}

static size_t put_num(char *buf, size_t n, size_t cap, unsigned long v, unsigned base)
{
	char digits[24];
	size_t k = 0;

	do {
		digits[k++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v && k < sizeof(digits));
	while (k && n < cap)
		buf[n++] = digits[--k];
	return n;
}

/*
 * Async-signal-safe: formats by hand and write(2)s one line, then dies by
 * SIGSYS.  SA_RESETHAND has already put the default action back and SIGSYS
 * is blocked while the handler runs, so issuing the same forbidden call
 * again makes the kernel force SIGSYS with its default action: the process
 * ends "killed by SIGSYS" and its parent sees the cause in its wait status.
 */
static void sigsys_handler(int sig, siginfo_t *si, void *uctx)
{
	const greg_t *g = ((ucontext_t *)uctx)->uc_mcontext.gregs;
	long nr = si->si_code == SYS_SECCOMP ? si->si_syscall : -1;
	char line[256];
	size_t n = 0, cap = sizeof(line) - 1;

	n = put_str(line, n, cap, "minivmm: seccomp: thread ");
	n = put_str(line, n, cap, thread_label[0] ? thread_label : "?");
	if (nr < 0) {
		n = put_str(line, n, cap, " received SIGSYS not sent by its seccomp filter");
	} else {
		n = put_str(line, n, cap, " made forbidden syscall ");
		n = put_num(line, n, cap, (unsigned long)nr, 10);
		n = put_str(line, n, cap, " (");
		n = put_str(line, n, cap,
			    (size_t)nr < ARRAY_SIZE(syscall_names) && syscall_names[nr]
				? syscall_names[nr]
				: "unknown");
		if (nr == SYS_ioctl) {
			n = put_str(line, n, cap, " request 0x");
			n = put_num(line, n, cap, (unsigned long)g[REG_RSI] & 0xffffffffu, 16);
		}
		n = put_str(line, n, cap, ")");
	}
	n = put_str(line, n, cap, "; the process dies by SIGSYS (README: Confinement: seccomp)\n");
	if (write(STDERR_FILENO, line, n) < 0) {
		/* Nothing left to tell it to. */
	}
	(void)sig;
	if (nr >= 0)
		syscall(nr, g[REG_RDI], g[REG_RSI], g[REG_RDX], g[REG_R10], g[REG_R8], g[REG_R9]);
	/* A SIGSYS from kill(2), or the call went through after all: still die by SIGSYS. */
	syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), SIGSYS);
	syscall(SYS_exit_group, 128 + SIGSYS);
}

static void install_sigsys_handler(void)
{
	struct sigaction sa;
	sigset_t set;

	/*
	 * Process-wide like MVM_KICK_SIGNAL's: the same handler for every VM,
	 * so installing it again is harmless.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSYS, &sa, NULL);
	/* A thread that blocks SIGSYS would die without the line. */
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

#ifdef MINIVMM_TEST_HOOKS
/*
 * Test builds only (build/minivmm-test): MINIVMM_TEST_SECCOMP_VIOLATE=ROLE
 * makes every thread of that role ("vcpu", "loop") make a forbidden call
 * right after loading its filter; ROLE-ioctl makes it a forbidden ioctl
 * request instead (the request filter, not the syscall filter, stops it).
 */
static void test_hook_violate(enum sc_role role)
{
	const char *want = getenv("MINIVMM_TEST_SECCOMP_VIOLATE");
	const char *name = sc_role_name(role);
	size_t len = strlen(name);

	if (!want || strncmp(want, name, len) != 0)
		return;
	if (strcmp(want + len, "-ioctl") == 0)
		syscall(SYS_ioctl, -1, (unsigned long)KVM_CREATE_VM, 0);
	else if (want[len] == '\0')
		syscall(SYS_ptrace, -1L, 0, 0, 0); /* harmless if it ever ran: EIO */
}
#endif

int sc_filters_apply(const struct sc_filters *f, enum sc_role role, const char *label,
		     struct vmm_err *err)
{
	if (f->mode == MVM_SECCOMP_OFF || !f->prog[role].filter)
		return 0;
	if (thread_label[0])
		return vmm_errf(err, -EBUSY,
				"seccomp: thread %s already runs under minivmm's filter; run each "
				"VM on a thread of its own",
				thread_label);
	if (f->mode == MVM_SECCOMP_ON)
		install_sigsys_handler();
	/* Without CAP_SYS_ADMIN the kernel takes a filter only with no_new_privs. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return vmm_errf(err, -errno, "seccomp: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &f->prog[role]) < 0)
		return vmm_errf(err, -errno,
				"seccomp: the kernel refused the %s filter: %s (--seccomp off runs "
				"without)",
				sc_role_name(role), strerror(errno));
	strncpy(thread_label, label, sizeof(thread_label) - 1);
#ifdef MINIVMM_TEST_HOOKS
	test_hook_violate(role);
#endif
	return 0;
}
