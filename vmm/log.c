/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const level_names[] = {"error", "warning", "info", "debug"};

uint64_t clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct timespec monotonic_after_ms(unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static void log_vmsg(const struct logger *log, enum log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	if (!log || log->fd < 0 || level > log->level)
		return;
	n = snprintf(line, sizeof(line), "%s: %s: ", log->prefix ? log->prefix : "minivmm",
		     level_names[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	n = (int)strnlen(line, sizeof(line) - 2);
	line[n++] = '\n';
	/* One write() per line keeps lines from different threads whole. */
	if (write(log->fd, line, (size_t)n) < 0)
		return;
}

void log_msg(const struct logger *log, enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(log, level, fmt, ap);
	va_end(ap);
}

int log_level_parse(const char *s, enum log_level *out)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {{"error", LOG_ERROR},
		     {"warn", LOG_WARN},
		     {"warning", LOG_WARN},
		     {"info", LOG_INFO},
		     {"debug", LOG_DEBUG}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].name) == 0) {
			*out = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

bool ratelimit_allow(struct ratelimit *rl, uint64_t now_ns, uint32_t *suppressed)
{
	*suppressed = 0;
	if (rl->window_start_ns == 0 ||
	    now_ns - rl->window_start_ns >= (uint64_t)rl->interval_ms * 1000000ull) {
		*suppressed = rl->suppressed;
		rl->window_start_ns = now_ns;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed >= rl->burst) {
		if (rl->suppressed < UINT32_MAX)
			rl->suppressed++;
		return false;
	}
	rl->printed++;
	return true;
}

void log_guest_error(const struct logger *log, struct ratelimit *rl, const char *fmt, ...)
{
	uint32_t suppressed;
	bool allow = ratelimit_allow(rl, clock_ns(), &suppressed);
	va_list ap;

	if (suppressed)
		log_warn(log, "guest error: %u similar messages suppressed", suppressed);
	if (!allow)
		return;
	va_start(ap, fmt);
	log_vmsg(log, LOG_WARN, fmt, ap);
	va_end(ap);
}

int errbuf(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

int vmm_errf(struct vmm_err *err, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && err->msg[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return ret;
}
