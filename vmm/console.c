/* SPDX-License-Identifier: MIT */
#include "vmm/console.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/serial8250.h"
#include "vmm/log.h"

int console_init(struct console *con, const struct logger *log, bool use_stdout,
		 const char *log_path, bool use_stdin, struct vmm_err *err)
{
	memset(con, 0, sizeof(*con));
	con->log = log;
	con->out_fd = use_stdout ? STDOUT_FILENO : -1;
	con->in_fd = use_stdin ? STDIN_FILENO : -1;
	con->log_fd = -1;
	con->kick_fd = -1;
	if (log_path && log_path[0]) {
		con->log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (con->log_fd < 0)
			return vmm_errf(err, -errno, "cannot open console log %s: %s", log_path,
					strerror(errno));
	}
	if (con->in_fd >= 0)
		con->in_is_tty = isatty(con->in_fd);
	return 0;
}

int console_redirect(struct console *con, mvm_console_fn fn, void *opaque, bool use_fds, int out_fd,
		     int in_fd, struct vmm_err *err)
{
	if (fn) {
		con->sink = fn;
		con->sink_opaque = opaque;
		con->out_fd = -1; /* instead of stdout */
	}
	if (!use_fds)
		return 0;
	/* Our own copies: the embedder may close its fds after mvm_vm_create(). */
	con->out_fd = con->in_fd = -1;
	con->owns_fds = true;
	if (out_fd >= 0 && (con->out_fd = fcntl(out_fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return vmm_errf(err, -errno, "console output fd %d: %s", out_fd, strerror(errno));
	if (in_fd >= 0 && (con->in_fd = fcntl(in_fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return vmm_errf(err, -errno, "console input fd %d: %s", in_fd, strerror(errno));
	con->in_is_tty = con->in_fd >= 0 && isatty(con->in_fd);
	return 0;
}

static void write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; /* a closed stdout must not stop the guest */
		}
		buf += n;
		len -= (size_t)n;
	}
}

void console_output(void *opaque, const uint8_t *buf, size_t len)
{
	struct console *con = opaque;
	uint64_t none = 0;

	/* For the run's timeline; relaxed is enough: read after the vCPUs are joined. */
	if (len && atomic_load_explicit(&con->first_output_ns, memory_order_relaxed) == 0)
		atomic_compare_exchange_strong_explicit(&con->first_output_ns, &none, clock_ns(),
							memory_order_relaxed, memory_order_relaxed);
	/*
	 * Keep the tail.  The UART's tx_lock serialises calls across vCPUs;
	 * it is read only after the vCPUs are joined.
	 */
	if (len >= sizeof(con->recent)) {
		memcpy(con->recent, buf + len - sizeof(con->recent), sizeof(con->recent));
		con->recent_len = sizeof(con->recent);
	} else {
		if (con->recent_len + len > sizeof(con->recent)) {
			size_t drop = con->recent_len + len - sizeof(con->recent);
			memmove(con->recent, con->recent + drop, con->recent_len - drop);
			con->recent_len -= drop;
		}
		memcpy(con->recent + con->recent_len, buf, len);
		con->recent_len += len;
	}
	if (con->sink)
		con->sink(con->sink_opaque, buf, len);
	if (con->out_fd >= 0)
		write_all(con->out_fd, buf, len);
	if (con->log_fd >= 0)
		write_all(con->log_fd, buf, len);
}

void console_recent(const struct console *con, char *out, size_t cap)
{
	size_t n = con->recent_len;

	if (cap == 0)
		return;
	if (n > cap - 1)
		n = cap - 1;
	memcpy(out, con->recent + con->recent_len - n, n);
	out[n] = '\0';
	/* Guest bytes: a NUL inside must not cut the search short. */
	for (size_t i = 0; i < n; i++)
		if (out[i] == '\0')
			out[i] = ' ';
}

void console_rx_ready(void *opaque)
{
	struct console *con = opaque;
	uint64_t one = 1;

	if (con->kick_fd >= 0 && write(con->kick_fd, &one, sizeof(one)) < 0)
		return;
}

/* Moves pending input into the UART; true when everything was taken. */
static bool console_flush_pending(struct console *con)
{
	while (con->pending_off < con->pending_len) {
		size_t n = serial8250_receive(con->uart, con->pending + con->pending_off,
					      con->pending_len - con->pending_off);
		if (n == 0)
			return false;
		con->pending_off += n;
	}
	con->pending_off = con->pending_len = 0;
	return true;
}

/* Applies the terminal escape; returns the number of bytes kept in buf. */
static size_t console_filter_escape(struct console *con, uint8_t *buf, size_t len)
{
	size_t out = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = buf[i];
		if (con->escape_pending) {
			con->escape_pending = false;
			if (c == 'x' || c == 'X') {
				if (con->on_escape_quit)
					con->on_escape_quit(con->opaque);
				return out;
			}
			if (c != CONSOLE_ESCAPE_CHAR)
				buf[out++] = CONSOLE_ESCAPE_CHAR;
			buf[out++] = c;
		} else if (c == CONSOLE_ESCAPE_CHAR) {
			con->escape_pending = true;
		} else {
			buf[out++] = c;
		}
	}
	return out;
}

/* Reads one chunk of input into `pending`; false on EOF or error. */
static bool console_read_input(struct console *con)
{
	ssize_t n;

	do {
		n = read(con->in_fd, con->pending, sizeof(con->pending));
	} while (n < 0 && errno == EINTR);
	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return true;
		con->in_eof = true;
		if (con->in_is_pollable)
			ev_del(con->loop, con->in_fd);
		return false;
	}
	con->pending_len = (size_t)n;
	con->pending_off = 0;
	if (con->in_is_tty)
		con->pending_len = console_filter_escape(con, con->pending, (size_t)n);
	return true;
}

static void console_on_input(struct ev_loop *loop, int fd, uint32_t events, void *opaque);

/*
 * Feeds as much input as the UART takes.  A pollable input is taken out of
 * the loop while the UART is full (not just masked: a hung-up pipe would
 * still report EPOLLHUP and spin) and put back from the kick eventfd.
 */
static void console_pump(struct console *con)
{
	for (;;) {
		if (!console_flush_pending(con)) {
			if (con->in_is_pollable && !con->in_eof && !con->in_paused) {
				ev_del(con->loop, con->in_fd);
				con->in_paused = true;
			}
			return;
		}
		if (con->in_eof)
			return;
		if (con->in_is_pollable) {
			if (con->in_paused &&
			    ev_add(con->loop, con->in_fd, EPOLLIN, console_on_input, con) == 0)
				con->in_paused = false;
			return; /* the next chunk comes with the next EPOLLIN */
		}
		if (!console_read_input(con))
			return;
	}
}

static void console_on_input(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct console *con = opaque;

	if (con->pending_off < con->pending_len) {
		console_pump(con);
		return;
	}
	if (!console_read_input(con))
		return;
	console_pump(con);
}

static void console_on_kick(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct console *con = opaque;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	console_pump(con);
}

int console_attach(struct console *con, struct serial8250 *uart, struct ev_loop *loop,
		   void (*on_escape_quit)(void *), void *opaque)
{
	int ret;

	con->uart = uart;
	con->loop = loop;
	con->on_escape_quit = on_escape_quit;
	con->opaque = opaque;
	if (con->in_fd < 0)
		return 0;
	con->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (con->kick_fd < 0)
		return -errno;
	ret = ev_add(loop, con->kick_fd, EPOLLIN, console_on_kick, con);
	if (ret < 0)
		return ret;
	ret = ev_add(loop, con->in_fd, EPOLLIN, console_on_input, con);
	if (ret == 0) {
		con->in_is_pollable = true;
		return 0;
	}
	if (ret != -EPERM)
		return ret;
	/* Regular files and /dev/null cannot be polled: read them on demand. */
	con->in_is_pollable = false;
	console_rx_ready(con);
	return 0;
}

void console_destroy(struct console *con)
{
	if (con->loop && con->in_fd >= 0 && con->in_is_pollable && !con->in_eof && !con->in_paused)
		ev_del(con->loop, con->in_fd);
	if (con->loop && con->kick_fd >= 0)
		ev_del(con->loop, con->kick_fd);
	if (con->kick_fd >= 0)
		close(con->kick_fd);
	if (con->log_fd >= 0)
		close(con->log_fd);
	con->kick_fd = con->log_fd = -1;
	if (con->owns_fds) {
		if (con->out_fd >= 0)
			close(con->out_fd);
		if (con->in_fd >= 0)
			close(con->in_fd);
		con->out_fd = con->in_fd = -1;
		con->owns_fds = false;
	}
}
