/* SPDX-License-Identifier: MIT */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *minivmm_bin(void)
{
	const char *p = getenv("MINIVMM_BIN");
	return p ? p : "build/minivmm";
}

const char *guest_format_name(int format)
{
	return format == 0 ? "bzImage" : "pvh-elf";
}

const char *guest_path(const char *name, int format)
{
	static __thread char buf[512];
	const char *dir = getenv("GUESTS_DIR");
	snprintf(buf, sizeof(buf), "%s/%s.%s", dir ? dir : "build/guests", name,
		 format == 0 ? "bzImage" : "elf");
	return buf;
}

const char *kvm_kind(void)
{
	return access("/sys/module/kvm_pvm", F_OK) == 0 ? "direct /dev/kvm (PVM, emulated CPL0)"
							: "direct /dev/kvm (hardware-style)";
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct buf {
	char *data;
	size_t len, cap;
};

static void buf_append(struct buf *b, const char *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->data = realloc(b->data, b->cap);
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void run_vmm(struct run_result *r, const struct run_opts *opts, const char *const *argv)
{
	static const struct run_opts defaults = {.limit_s = 60};
	int out_pipe[2], err_pipe[2], in_pipe[2];
	struct buf out = {0}, err = {0};
	const char *args[64];
	size_t nargs = 0;
	double start = now_s();
	bool signalled = false, watched = false;
	struct rusage ru;
	int wstatus = 0;
	pid_t pid;

	if (!opts)
		opts = &defaults;
	memset(r, 0, sizeof(*r));
	if (opts->run_as_user) {
		args[nargs++] = "setpriv";
		args[nargs++] = "--reuid";
		args[nargs++] = opts->run_as_user;
		args[nargs++] = "--regid";
		args[nargs++] = opts->run_as_user;
		args[nargs++] = "--clear-groups";
	}
	args[nargs++] = minivmm_bin();
	for (size_t i = 0; argv[i] && nargs < 63; i++)
		args[nargs++] = argv[i];
	args[nargs] = NULL;

	if (pipe(out_pipe) || pipe(err_pipe) || pipe(in_pipe))
		abort();
	pid = fork();
	if (pid == 0) {
		dup2(out_pipe[1], 1);
		dup2(err_pipe[1], 2);
		if (opts->stdin_data) {
			dup2(in_pipe[0], 0);
		} else {
			int fd = open("/dev/null", O_RDONLY);
			dup2(fd, 0);
		}
		for (int fd = 3; fd < 64; fd++)
			close(fd);
		execvp(args[0], (char *const *)args);
		_exit(127);
	}
	close(out_pipe[1]);
	close(err_pipe[1]);
	close(in_pipe[0]);
	if (opts->stdin_data) {
		/* Small inputs only: they fit in the pipe buffer. */
		if (write(in_pipe[1], opts->stdin_data, strlen(opts->stdin_data)) < 0)
			abort();
	}
	close(in_pipe[1]);

	buf_append(&out, "", 0);
	buf_append(&err, "", 0);
	for (int open_fds = 2; open_fds > 0;) {
		struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
		double left = opts->limit_s - (now_s() - start);
		char chunk[4096];
		int n;

		if (left <= 0 && !r->timed_out) {
			kill(pid, SIGKILL);
			r->timed_out = true;
		}
		n = poll(fds, 2, 200);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP)))
				continue;
			ssize_t got = read(fds[i].fd, chunk, sizeof(chunk));
			if (got <= 0) {
				close(fds[i].fd);
				if (i == 0)
					out_pipe[0] = -1;
				else
					err_pipe[0] = -1;
				open_fds--;
				continue;
			}
			buf_append(i == 0 ? &out : &err, chunk, (size_t)got);
		}
		if (opts->send_signal && !signalled && opts->signal_after &&
		    strstr(out.data, opts->signal_after)) {
			if (opts->while_running)
				opts->while_running(pid, opts->while_running_arg);
			kill(pid, opts->send_signal);
			signalled = true;
		}
		if (opts->watch && !watched)
			watched = opts->watch(pid, out.data, opts->watch_arg);
		if (out_pipe[0] < 0 && err_pipe[0] < 0)
			break;
	}
	memset(&ru, 0, sizeof(ru));
	wait4(pid, &wstatus, 0, &ru);
	r->seconds = now_s() - start;
	r->maxrss_kb = ru.ru_maxrss;
	r->cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		   (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	r->out = out.data;
	r->err = err.data;
}

void run_result_free(struct run_result *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

void dump_result(const char *what, const struct run_result *r)
{
	fprintf(stderr,
		"---- %s: status %d%s after %.2f s\n---- stdout:\n%s\n---- stderr:\n%s\n----\n",
		what, r->status, r->timed_out ? " (killed by the harness)" : "", r->seconds,
		r->out ? r->out : "", r->err ? r->err : "");
}

static void *echo_main(void *arg)
{
	struct echo *e = arg;

	while (!__atomic_load_n(&e->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd pfd = {e->fd, POLLIN, 0};
		struct sockaddr_in from;
		socklen_t fromlen = sizeof(from);
		char buf[2048], addr[INET_ADDRSTRLEN];
		ssize_t n;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = recvfrom(e->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);
		if (n < 0)
			continue;
		if ((size_t)n != strlen(e->expect) || memcmp(buf, e->expect, (size_t)n)) {
			e->bad++;
			continue;
		}
		e->good++;
		inet_ntop(AF_INET, &from.sin_addr, addr, sizeof(addr));
		snprintf(e->from, sizeof(e->from), "%s:%u", addr, ntohs(from.sin_port));
		sendto(e->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fromlen);
	}
	return NULL;
}

int echo_start(struct echo *e, const char *addr, const char *token)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);

	memset(e, 0, sizeof(*e));
	snprintf(e->expect, sizeof(e->expect), "minivmm-echo:%s", token);
	inet_pton(AF_INET, addr, &sa.sin_addr);
	e->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (e->fd < 0)
		return -errno;
	if (bind(e->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(e->fd, (struct sockaddr *)&sa, &len) < 0) {
		int ret = -errno;
		close(e->fd);
		return ret;
	}
	e->port = ntohs(sa.sin_port);
	if (pthread_create(&e->thread, NULL, echo_main, e)) {
		close(e->fd);
		return -EAGAIN;
	}
	return 0;
}

void echo_stop(struct echo *e)
{
	__atomic_store_n(&e->stop, 1, __ATOMIC_RELEASE);
	pthread_join(e->thread, NULL);
	close(e->fd);
}
