/* SPDX-License-Identifier: MIT */
/*
 * What the library checks (pause_check.c, disk_swap_check.c) share: TAP-like check
 * lines, the console split into lines, and the VM every check boots.  They
 * are built against the installed library only (tests/linux/library-checks.sh
 * compiles each with this file and pkg-config's flags), so nothing here may
 * reach into the tree's internals.
 */
#ifndef TESTS_LIBRARY_COMMON_H
#define TESTS_LIBRARY_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <minivmm.h>

/* Prints "ok N - ..." or "not ok N - ..." and counts a failure. */
void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "N passed, N failed"; the exit code: 0 when all passed. */
int check_summary(void);

/*
 * Console bytes -> whole lines ('\r' dropped; an overlong line is cut at
 * the buffer's size).  The callers hold their own lock: the console
 * callback runs on a VMM thread.
 */
struct console_lines {
	char line[256];
	size_t len;
};
void console_lines_feed(struct console_lines *cl, const uint8_t *buf, size_t len,
			void (*on_line)(const char *line, size_t len));

/*
 * A config for the guest every check boots: kernel, initrd, cmdline, a
 * 600 s run timeout (TCG is slow), no stdin.  Exits 2 when refused.
 */
struct mvm_config *check_config(const char *kernel, const char *initrd, const char *cmdline);

/* Creates the VM from cfg (which it frees) with the console callback; exits 2 on failure. */
struct mvm_vm *check_create(struct mvm_config *cfg, mvm_console_fn on_console);

/* Starts vm; exits 2 on failure. */
void check_start(struct mvm_vm *vm);

#endif
