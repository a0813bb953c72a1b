/* SPDX-License-Identifier: MIT */
/* Shared by the library checks; see common.h. */
#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* One check program per process: plain counters are enough. */
static int failures, checks;

void check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", ok ? "ok" : "not ok", ++checks);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	/* library-checks.sh reads the log after a timeout too: each line out at once. */
	fflush(stdout);
	if (!ok)
		failures++;
}

int check_summary(void)
{
	printf("%d passed, %d failed\n", checks - failures, failures);
	return failures ? 1 : 0;
}

void console_lines_feed(struct console_lines *cl, const uint8_t *buf, size_t len,
			void (*on_line)(const char *line, size_t len))
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n' && cl->len + 1 < sizeof(cl->line)) {
			if (buf[i] != '\r')
				cl->line[cl->len++] = (char)buf[i];
			continue;
		}
		cl->line[cl->len] = '\0';
		on_line(cl->line, cl->len);
		cl->len = 0;
	}
}

struct mvm_config *check_config(const char *kernel, const char *initrd, const char *cmdline)
{
	struct mvm_config *cfg = mvm_config_new();
	char err[512];

	if (!cfg || mvm_config_set_kernel(cfg, kernel) || mvm_config_set_initrd(cfg, initrd) ||
	    mvm_config_set_cmdline(cfg, cmdline) ||
	    mvm_config_set(cfg, "run", "timeout", "600", err, sizeof(err)) ||
	    mvm_config_set(cfg, "console", "stdin", "false", err, sizeof(err))) {
		fprintf(stderr, "config failed\n");
		exit(2);
	}
	return cfg;
}

struct mvm_vm *check_create(struct mvm_config *cfg, mvm_console_fn on_console)
{
	struct mvm_vm *vm;
	char err[512];

	mvm_config_set_console_callback(cfg, on_console, NULL);
	if (mvm_vm_create(cfg, &vm, err, sizeof(err)) < 0) {
		fprintf(stderr, "mvm_vm_create: %s\n", err);
		exit(2);
	}
	mvm_config_free(cfg);
	return vm;
}

void check_start(struct mvm_vm *vm)
{
	char err[512];

	if (mvm_vm_start(vm, err, sizeof(err)) < 0) {
		fprintf(stderr, "mvm_vm_start: %s\n", err);
		exit(2);
	}
}
