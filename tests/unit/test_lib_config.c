/* SPDX-License-Identifier: MIT */
/*
 * The C API's ways into a config besides mvm_config_set(): mvm_config_get()
 * (every value reads back in the form mvm_config_set() takes), the typed
 * setters (same checks as the text ones), mvm_config_add_disk(), and the
 * console/exit callbacks and fds.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "vmm/config.h"

/* section.key reads back as want. */
static void expect_value(struct mvm_config *cfg, const char *section, const char *key,
			 const char *want)
{
	char buf[64]; /* values here are short: a longer one fails (-ENOSPC) */

	ck_assert_int_eq(mvm_config_get(cfg, section, key, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, want);
}

START_TEST(get_reads_back_what_set_took)
{
	struct mvm_config *cfg = mvm_config_new();
	char buf[64], err[256];

	ck_assert_ptr_nonnull(cfg);
	/* Defaults: "" when unset. */
	expect_value(cfg, "vm", "cpus", "1");
	expect_value(cfg, "vm", "mem", "256M");
	expect_value(cfg, "boot", "kernel", "");
	expect_value(cfg, "rng", "enabled", "true");
	expect_value(cfg, "run", "seccomp", "on");
	expect_value(cfg, "run", "log_level", "info");

	/* Every value set as text reads back as text mvm_config_set() takes again. */
	ck_assert_int_eq(mvm_config_set(cfg, "vm", "mem", "2G", err, sizeof(err)), 0);
	expect_value(cfg, "vm", "mem", "2G");
	ck_assert_int_eq(mvm_config_set(cfg, "disk0", "cache", "unsafe", err, sizeof(err)), 0);
	expect_value(cfg, "disk0", "cache", "unsafe");
	ck_assert_int_eq(mvm_config_set(cfg, "rng", "rate", "1M", err, sizeof(err)), 0);
	expect_value(cfg, "rng", "rate", "1M");
	ck_assert_int_eq(mvm_config_set(cfg, "vm", "mem", buf, err, sizeof(err)), -EINVAL);

	/* Unknown names, a buffer too small. */
	ck_assert_int_eq(mvm_config_get(cfg, "vm", "nope", buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(mvm_config_get(cfg, "nope", "cpus", buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(mvm_config_get(cfg, "vm", "mem", buf, 2), -ENOSPC);
	mvm_config_free(cfg);
}
END_TEST

START_TEST(typed_setters_check_like_text)
{
	struct mvm_config *cfg = mvm_config_new();

	ck_assert_int_eq(mvm_config_set_cpus(cfg, 4), 0);
	ck_assert_int_eq(mvm_config_set_cpus(cfg, 0), -EINVAL);
	ck_assert_int_eq(mvm_config_set_cpus(cfg, MVM_MAX_CPUS + 1), -EINVAL);
	expect_value(cfg, "vm", "cpus", "4");
	ck_assert_int_eq(mvm_config_set_mem(cfg, 512ull << 20), 0);
	ck_assert_int_eq(mvm_config_set_mem(cfg, (512ull << 20) + 1), -EINVAL);
	ck_assert_int_eq(mvm_config_set_mem(cfg, MVM_MAX_MEM_BYTES * 2), -EINVAL);
	ck_assert_int_eq(mvm_config_set_kernel(cfg, "/k"), 0);
	ck_assert_int_eq(mvm_config_set_initrd(cfg, "/i"), 0);
	ck_assert_int_eq(mvm_config_set_cmdline(cfg, "console=ttyS0 quiet"), 0);
	expect_value(cfg, "boot", "cmdline", "console=ttyS0 quiet");
	ck_assert_int_eq(mvm_config_set_kernel(cfg, NULL), -EINVAL);

	/* Disks in order; the ninth does not fit. */
	for (int i = 0; i < MVM_MAX_DISKS; i++)
		ck_assert_int_eq(mvm_config_add_disk(cfg, "/d.img", i == 1), i);
	ck_assert_int_eq(mvm_config_add_disk(cfg, "/d.img", false), -ENOSPC);
	expect_value(cfg, "disk1", "ro", "true");
	expect_value(cfg, "disk0", "ro", "false");
	ck_assert_int_eq(mvm_config_add_disk(cfg, "", false), -EINVAL);
	mvm_config_free(cfg);
}
END_TEST

static void console_fn(void *opaque, const uint8_t *buf, size_t len)
{
}

static void exit_fn(void *opaque, const struct mvm_exit *exit)
{
}

START_TEST(callbacks_and_fds)
{
	struct mvm_config *cfg = mvm_config_new();
	int token;

	ck_assert_int_eq(cfg->console_out_fd, -1);
	ck_assert_int_eq(cfg->console_in_fd, -1);
	ck_assert(!cfg->console_fds_set);
	ck_assert_int_eq(mvm_config_set_console_fds(cfg, -2, 0), -EINVAL);
	ck_assert(!cfg->console_fds_set);
	ck_assert_int_eq(mvm_config_set_console_fds(cfg, 1, -1), 0);
	ck_assert(cfg->console_fds_set);
	ck_assert_int_eq(cfg->console_out_fd, 1);
	mvm_config_set_console_callback(cfg, console_fn, &token);
	ck_assert_ptr_eq(cfg->console_opaque, &token);
	mvm_config_set_console_callback(cfg, NULL, &token); /* back to [console] */
	ck_assert_ptr_null(cfg->console_fn);
	ck_assert_ptr_null(cfg->console_opaque);
	mvm_config_set_exit_callback(cfg, exit_fn, &token);
	ck_assert_ptr_eq(cfg->exit_opaque, &token);
	mvm_config_free(cfg);
}
END_TEST

Suite *lib_config_suite(void)
{
	Suite *s = suite_create("lib_config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, get_reads_back_what_set_took);
	tcase_add_test(tc, typed_setters_check_like_text);
	tcase_add_test(tc, callbacks_and_fds);
	suite_add_tcase(s, tc);
	return s;
}
