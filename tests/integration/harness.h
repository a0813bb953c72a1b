/* SPDX-License-Identifier: MIT */
/*
 * Integration-test harness: runs the real minivmm binary on real test guests
 * under /dev/kvm and captures what it did.  Paths come from the environment
 * (MINIVMM_BIN, GUESTS_DIR) with defaults for a `make` tree.
 */
#ifndef MINIVMM_TEST_HARNESS_H
#define MINIVMM_TEST_HARNESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct run_result {
	int status;	/* exit status, or 128 + signal if killed by one */
	bool timed_out; /* the harness had to kill it */
	char *out;	/* stdout, NUL-terminated */
	char *err;	/* stderr, NUL-terminated */
	double seconds;
	long maxrss_kb; /* peak RSS of the minivmm process (wait4's ru_maxrss) */
	double cpu_s;	/* its user + system CPU time */
};

struct run_opts {
	const char *stdin_data; /* NULL: stdin is /dev/null */
	int limit_s;		/* harness kill limit; default 60 */
	int send_signal;	/* after `signal_after` appears on stdout, send this signal */
	const char *signal_after;
	const char *run_as_user; /* drop privileges to this user (setpriv) */
	/*
	 * Called with minivmm's pid and its stdout so far after every chunk
	 * of output, until it returns true (it may sample /proc/PID, signal).
	 */
	bool (*watch)(pid_t pid, const char *out, void *arg);
	void *watch_arg;
	/* Called with minivmm's pid once `signal_after` appears, before the signal. */
	void (*while_running)(pid_t pid, void *arg);
	void *while_running_arg;
};

/* argv: NULL-terminated list of arguments after the program name. */
void run_vmm(struct run_result *r, const struct run_opts *opts, const char *const *argv);
void run_result_free(struct run_result *r);

/* Path of a test guest: format 0 = bzImage, 1 = PVH ELF. */
const char *guest_path(const char *name, int format);
const char *guest_format_name(int format);
const char *minivmm_bin(void);

/* Which KVM these tests run on, for the log. */
const char *kvm_kind(void);

/* Prints the run's output when an assertion is about to fail. */
void dump_result(const char *what, const struct run_result *r);

#define RUN(r, opts, ...)                                                                          \
	do {                                                                                       \
		const char *const argv_[] = {__VA_ARGS__, NULL};                                   \
		run_vmm((r), (opts), argv_);                                                       \
	} while (0)

#define ck_assert_status(r, expected)                                                              \
	do {                                                                                       \
		if ((r)->status != (expected))                                                     \
			dump_result(__func__, (r));                                                \
		ck_assert_int_eq((r)->status, (expected));                                         \
	} while (0)

#define ck_assert_output_has(r, text)                                                              \
	do {                                                                                       \
		if (!strstr((r)->out, (text)))                                                     \
			dump_result(__func__, (r));                                                \
		ck_assert_msg(strstr((r)->out, (text)), "stdout lacks \"%s\"", (text));            \
	} while (0)

#define ck_assert_stderr_has(r, text)                                                              \
	do {                                                                                       \
		if (!strstr((r)->err, (text)))                                                     \
			dump_result(__func__, (r));                                                \
		ck_assert_msg(strstr((r)->err, (text)), "stderr lacks \"%s\"", (text));            \
	} while (0)

/*
 * The UDP echo a guest talks to (user networking forwards 10.0.2.2:PORT to
 * 127.0.0.1:PORT), on its own thread while minivmm runs.
 */
struct echo {
	int fd;
	uint16_t port;
	char expect[64]; /* the payload the guest must send */
	pthread_t thread;
	volatile int stop;
	int good, bad; /* datagrams with and without the expected payload */
	char from[64]; /* address:port of the last good one */
};

/* Binds a UDP socket to addr:0 and echoes "minivmm-echo:TOKEN"; 0 or -errno. */
int echo_start(struct echo *e, const char *addr, const char *token);
void echo_stop(struct echo *e);

#endif
