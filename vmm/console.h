/* SPDX-License-Identifier: MIT */
/*
 * The serial console's host side: guest output to stdout and/or a log file,
 * host input (a terminal, a pipe, a file or nothing) into the UART.
 *
 * Input runs on the event-loop thread.  When the UART's receive buffer is
 * full we stop reading input until the UART says it has room again
 * (serial8250 rx_ready -> eventfd -> event loop), so a fast pipe cannot make
 * the VMM buffer without bound.  On a terminal, Ctrl-A x stops the VM and
 * Ctrl-A Ctrl-A sends one Ctrl-A (QEMU's escape); pipes are passed through
 * unchanged.
 */
#ifndef MINIVMM_CONSOLE_H
#define MINIVMM_CONSOLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/eventloop.h"
#include "vmm/log.h"
#include "vmm/minivmm.h"

struct serial8250;

#define CONSOLE_ESCAPE_CHAR 0x01 /* Ctrl-A */

struct console {
	const struct logger *log;
	int out_fd;	     /* -1: guest output not shown */
	int log_fd;	     /* -1: no console log */
	int in_fd;	     /* -1: no input */
	bool owns_fds;	     /* out_fd/in_fd are dup()s of the embedder's (console_redirect) */
	mvm_console_fn sink; /* the embedder's callback: guest output, in order */
	void *sink_opaque;
	bool in_is_tty;
	bool in_is_pollable; /* false for regular files and /dev/null: read on demand */
	bool in_eof;
	bool in_paused; /* UART full: input fd out of the loop */
	bool escape_pending;
	int kick_fd; /* eventfd: UART has room again */
	struct ev_loop *loop;
	struct serial8250 *uart;
	void (*on_escape_quit)(void *opaque);
	void *opaque;
	uint8_t pending[256]; /* read from input, not yet accepted by the UART */
	size_t pending_len, pending_off;
	_Atomic uint64_t first_output_ns; /* clock_ns() of the guest's first byte; 0: none yet */
	/* The guest's last output, for diagnoses after the run (vmm/diagnose.h). */
	char recent[4096];
	size_t recent_len;
};

/* Opens the log file (truncating it); nothing is read or written yet. */
int console_init(struct console *con, const struct logger *log, bool use_stdout,
		 const char *log_path, bool use_stdin, struct vmm_err *err);
/*
 * The embedder's choices (mvm_config_set_console_callback/_fds): a callback
 * instead of stdout, and/or its own fds instead of stdout/stdin (dup()ed
 * here; -1: none).  After console_init().
 */
int console_redirect(struct console *con, mvm_console_fn fn, void *opaque, bool use_fds, int out_fd,
		     int in_fd, struct vmm_err *err);
/* Connects to the UART and the loop; input starts flowing. */
int console_attach(struct console *con, struct serial8250 *uart, struct ev_loop *loop,
		   void (*on_escape_quit)(void *), void *opaque);
void console_destroy(struct console *con);

/* serial_tx_fn: guest output. */
void console_output(void *opaque, const uint8_t *buf, size_t len);
/* The last output (up to sizeof(con->recent) - 1 bytes), NUL-terminated, into out[cap]. */
void console_recent(const struct console *con, char *out, size_t cap);
/* serial_rx_ready_fn: the UART can take input again (any thread). */
void console_rx_ready(void *opaque);

#endif
