/* SPDX-License-Identifier: MIT */
/*
 * Logging and the error-reporting conventions of minivmm.
 *
 * There is no process-wide logger: each VM owns a `struct logger` and hands a
 * const pointer to every device it builds, so two VMs in one process can log
 * at different levels to different sinks.
 *
 * Two error classes (docs/ARCHITECTURE.md):
 *  - host errors (open failed, ENOMEM, EIO) are returned as -errno, with a
 *    one-line explanation in a `struct vmm_err` filled by vmm_errf();
 *  - guest errors (bad register write, bad descriptor) are logged through a
 *    per-device `struct ratelimit` and never abort the VMM.
 */
#ifndef MINIVMM_LOG_H
#define MINIVMM_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
};

struct logger {
	enum log_level level;
	int fd;		    /* where lines go; -1 discards everything */
	const char *prefix; /* e.g. "minivmm" */
};

void log_msg(const struct logger *log, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(l, ...) log_msg((l), LOG_ERROR, __VA_ARGS__)
#define log_warn(l, ...)  log_msg((l), LOG_WARN, __VA_ARGS__)
#define log_info(l, ...)  log_msg((l), LOG_INFO, __VA_ARGS__)
#define log_debug(l, ...) log_msg((l), LOG_DEBUG, __VA_ARGS__)

/* Parses "error", "warn", "info", "debug". Returns -EINVAL on anything else. */
int log_level_parse(const char *s, enum log_level *out);

/*
 * Guest-triggered warnings go through a rate limiter so that a hostile guest
 * cannot flood the host's log: at most `burst` lines per `interval_ms`, the
 * rest are counted and reported once the window reopens.  Not thread-safe:
 * embed one per device, used under the device's own lock.
 */
struct ratelimit {
	uint64_t window_start_ns;
	uint32_t interval_ms;
	uint32_t burst;
	uint32_t printed;
	uint32_t suppressed;
};

#define RATELIMIT_INIT                                                                             \
	{                                                                                          \
		0, 5000, 10, 0, 0                                                                  \
	}

void log_guest_error(const struct logger *log, struct ratelimit *rl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The limiter alone, for guest-triggered lines that are not warnings (boot
 * markers): true if one more event at now_ns (clock_ns()) may be logged.
 * When a window closes that had suppressed events, *suppressed gets their
 * number (0 otherwise) for the caller's own summary line.
 */
bool ratelimit_allow(struct ratelimit *rl, uint64_t now_ns, uint32_t *suppressed);

/* Host-error reporting: one line, filled once, deepest cause first wins. */
struct vmm_err {
	char msg[512];
};

/*
 * Formats the message into err (if err->msg is still empty) and returns
 * `ret`, which must be a negative errno; lets callers write
 * `return vmm_errf(err, -EINVAL, "kernel %s: not a bzImage", path);`.
 */
int vmm_errf(struct vmm_err *err, int ret, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The same for the public API's (char *err, size_t errlen) buffers: formats
 * into err unless it is NULL or empty (the caller may not want the text),
 * overwriting what is there, and returns `ret`.
 */
int errbuf(char *err, size_t errlen, int ret, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Monotonic clock in nanoseconds. */
uint64_t clock_ns(void);

/* Now + ms on CLOCK_MONOTONIC: a deadline for a condvar set to that clock. */
struct timespec monotonic_after_ms(unsigned ms);

#endif
