/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/config.h"

static struct mvm_config cfg;
static char err[512];
static char tmpdir[64];
static char ini_path[128];

static void setup(void)
{
	config_init(&cfg);
	memset(err, 0, sizeof(err));
	strcpy(tmpdir, "/tmp/minivmm-config-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(ini_path, sizeof(ini_path), "%s/vm.ini", tmpdir);
}

static void teardown(void)
{
	config_release(&cfg);
	unlink(ini_path);
	rmdir(tmpdir);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

/* Loads `text` as <tmpdir>/vm.ini. */
static int load(const char *text)
{
	write_file(ini_path, text);
	return mvm_config_load_ini(&cfg, ini_path, err, sizeof(err));
}

static int set(const char *section, const char *key, const char *value)
{
	err[0] = '\0';
	return mvm_config_set(&cfg, section, key, value, err, sizeof(err));
}

START_TEST(defaults)
{
	ck_assert_uint_eq(cfg.cpus, 1);
	ck_assert_uint_eq(cfg.mem_bytes, 256ull << 20);
	ck_assert_ptr_null(cfg.kernel);
	ck_assert_ptr_null(cfg.initrd);
	ck_assert_ptr_null(cfg.cmdline);
	ck_assert_ptr_null(cfg.console_log);
	ck_assert(cfg.console_stdout);
	ck_assert(cfg.console_stdin);
	ck_assert_uint_eq(cfg.timeout_s, 0);
	ck_assert_int_eq(cfg.log_level, MVM_LOG_INFO);
}
END_TEST

START_TEST(set_every_key)
{
	ck_assert_int_eq(set("vm", "cpus", "4"), 0);
	ck_assert_uint_eq(cfg.cpus, 4);
	ck_assert_int_eq(set("vm", "cpus", "64"), 0);
	ck_assert_uint_eq(cfg.cpus, 64);
	ck_assert_int_eq(set("vm", "mem", "512M"), 0);
	ck_assert_uint_eq(cfg.mem_bytes, 512ull << 20);
	ck_assert_int_eq(set("vm", "mem", "16G"), 0);
	ck_assert_uint_eq(cfg.mem_bytes, 16ull << 30);
	ck_assert_int_eq(set("vm", "mem", "64M"), 0);
	ck_assert_uint_eq(cfg.mem_bytes, 64ull << 20);
	ck_assert_int_eq(set("boot", "kernel", "images/bzImage"), 0);
	ck_assert_str_eq(cfg.kernel, "images/bzImage"); /* CLI paths are used as given */
	ck_assert_int_eq(set("boot", "kernel", "/k2"), 0);
	ck_assert_str_eq(cfg.kernel, "/k2");
	ck_assert_int_eq(set("boot", "initrd", "/i"), 0);
	ck_assert_str_eq(cfg.initrd, "/i");
	ck_assert_int_eq(set("boot", "initrd", ""), 0);
	ck_assert_ptr_null(cfg.initrd); /* empty path: unset */
	ck_assert_int_eq(set("boot", "cmdline", "console=ttyS0 quiet"), 0);
	ck_assert_str_eq(cfg.cmdline, "console=ttyS0 quiet");
	ck_assert_int_eq(set("boot", "cmdline", ""), 0);
	ck_assert_str_eq(cfg.cmdline, ""); /* empty command line, not the default */
	ck_assert_int_eq(set("console", "log", "/tmp/x.log"), 0);
	ck_assert_str_eq(cfg.console_log, "/tmp/x.log");
	ck_assert_int_eq(set("console", "stdout", "false"), 0);
	ck_assert(!cfg.console_stdout);
	ck_assert_int_eq(set("console", "stdin", "no"), 0);
	ck_assert(!cfg.console_stdin);
	ck_assert_int_eq(set("run", "timeout", "10"), 0);
	ck_assert_uint_eq(cfg.timeout_s, 10);
	ck_assert_int_eq(set("run", "timeout", "4294967295"), 0);
	ck_assert_uint_eq(cfg.timeout_s, UINT32_MAX);
	ck_assert_int_eq(set("run", "timeout", "0"), 0);
	ck_assert_uint_eq(cfg.timeout_s, 0);
	ck_assert_int_eq(set("run", "log_level", "debug"), 0);
	ck_assert_int_eq(cfg.log_level, MVM_LOG_DEBUG);
	ck_assert_int_eq(set("run", "log_level", "error"), 0);
	ck_assert_int_eq(cfg.log_level, MVM_LOG_ERROR);
	ck_assert_int_eq(set("run", "log_level", "warn"), 0);
	ck_assert_int_eq(cfg.log_level, MVM_LOG_WARN);
	ck_assert_int_eq(set("run", "log_level", "info"), 0);
	ck_assert_int_eq(cfg.log_level, MVM_LOG_INFO);
	/* Names are case-insensitive, as iniparser lower-cases them in files. */
	ck_assert_int_eq(set("VM", "CPUS", "2"), 0);
	ck_assert_uint_eq(cfg.cpus, 2);
}
END_TEST

START_TEST(bad_values_keep_old_value)
{
	static const struct {
		const char *section, *key, *value, *msg;
	} cases[] = {
	    {"vm", "cpus", "0", "[vm] cpus = \"0\": out of range (use 1..64)"},
	    {"vm", "cpus", "65", "[vm] cpus = \"65\": out of range (use 1..64)"},
	    {"vm", "cpus", "99999999999999999999999",
	     "[vm] cpus = \"99999999999999999999999\": out of range (use 1..64)"},
	    {"vm", "cpus", "", "[vm] cpus = \"\": not a number (use 1..64)"},
	    {"vm", "cpus", "-1", "[vm] cpus = \"-1\": not a number (use 1..64)"},
	    {"vm", "cpus", "2x", "[vm] cpus = \"2x\": not a number (use 1..64)"},
	    {"vm", "cpus", " 2", "[vm] cpus = \" 2\": not a number (use 1..64)"},
	    {"vm", "mem", "12Q",
	     "[vm] mem = \"12Q\": not a size (use a number with an optional K, M, G or T suffix, "
	     "e.g. 512M)"},
	    {"vm", "mem", "0", "[vm] mem = \"0\": out of range (use 64M..16G)"},
	    {"vm", "mem", "63M", "[vm] mem = \"63M\": out of range (use 64M..16G)"},
	    {"vm", "mem", "16385M", "[vm] mem = \"16385M\": out of range (use 64M..16G)"},
	    {"vm", "mem", "99999999999T",
	     "[vm] mem = \"99999999999T\": out of range (use 64M..16G)"},
	    {"vm", "mem", "67108865",
	     "[vm] mem = \"67108865\": not a whole number of MiB (use e.g. 512M or 2G)"},
	    {"vm", "mem", "65540K",
	     "[vm] mem = \"65540K\": not a whole number of MiB (use e.g. 512M or 2G)"},
	    {"console", "stdout", "maybe",
	     "[console] stdout = \"maybe\": not a boolean (use true/false, yes/no, on/off or 1/0)"},
	    {"console", "stdin", "",
	     "[console] stdin = \"\": not a boolean (use true/false, yes/no, on/off or 1/0)"},
	    {"run", "timeout", "-1",
	     "[run] timeout = \"-1\": not a number of seconds (use 0 for no limit, or "
	     "1..4294967295)"},
	    {"run", "timeout", "4294967296",
	     "[run] timeout = \"4294967296\": not a number of seconds (use 0 for no limit, or "
	     "1..4294967295)"},
	    {"run", "timeout", "10s",
	     "[run] timeout = \"10s\": not a number of seconds (use 0 for no limit, or "
	     "1..4294967295)"},
	    {"run", "log_level", "loud",
	     "[run] log_level = \"loud\": not a log level (use error, warn, info or debug)"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(set(cases[i].section, cases[i].key, cases[i].value), -EINVAL);
		ck_assert_str_eq(err, cases[i].msg);
	}
	ck_assert_uint_eq(cfg.cpus, 1);
	ck_assert_uint_eq(cfg.mem_bytes, 256ull << 20);
	ck_assert(cfg.console_stdout && cfg.console_stdin);
	ck_assert_uint_eq(cfg.timeout_s, 0);
	ck_assert_int_eq(cfg.log_level, MVM_LOG_INFO);
}
END_TEST

START_TEST(cmdline_length_limit)
{
	char *line = malloc(MVM_MAX_CMDLINE + 1);

	memset(line, 'a', MVM_MAX_CMDLINE - 1);
	line[MVM_MAX_CMDLINE - 1] = '\0';
	ck_assert_int_eq(set("boot", "cmdline", line), 0);
	ck_assert_uint_eq(strlen(cfg.cmdline), MVM_MAX_CMDLINE - 1);
	line[MVM_MAX_CMDLINE - 1] = 'a';
	line[MVM_MAX_CMDLINE] = '\0';
	ck_assert_int_eq(set("boot", "cmdline", line), -EINVAL);
	/* The value shown is cut short so the message stays a readable line. */
	ck_assert_str_eq(err,
			 "[boot] cmdline = "
			 "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\": "
			 "too long (4096 bytes, at most 4095)");
	ck_assert_uint_eq(strlen(cfg.cmdline), MVM_MAX_CMDLINE - 1);
	free(line);
}
END_TEST

START_TEST(value_in_message_is_escaped)
{
	ck_assert_int_eq(set("vm", "cpus", "1\"\n\\"), -EINVAL);
	ck_assert_str_eq(err, "[vm] cpus = \"1\\\"\\x0a\\\\\": not a number (use 1..64)");
	ck_assert_ptr_null(strchr(err, '\n'));
}
END_TEST

START_TEST(unknown_section_and_key)
{
	ck_assert_int_eq(set("vm", "memory", "1G"), -EINVAL);
	ck_assert_str_eq(err,
			 "unknown key \"memory\" in section [vm] (known: cpus, mem, cpu_template)");
	ck_assert_int_eq(set("foo", "cpus", "1"), -EINVAL);
	ck_assert_str_eq(err, "unknown section [foo] (known: vm, boot, console, run, rng, vsock, "
			      "disk0..disk7, net0..net3)");
	ck_assert_int_eq(set("console", "", "1"), -EINVAL);
	ck_assert_str_eq(err, "unknown key \"\" in section [console] (known: log, stdout, stdin)");
	ck_assert_int_eq(set("run", "cpus", "1"), -EINVAL);
	ck_assert_str_eq(
	    err, "unknown key \"cpus\" in section [run] (known: timeout, log_level, seccomp)");
	ck_assert_int_eq(mvm_config_set(&cfg, "vm", "cpus", NULL, err, sizeof(err)), -EINVAL);
	/* A NULL or tiny error buffer is allowed. */
	ck_assert_int_eq(mvm_config_set(&cfg, "vm", "cpus", "x", NULL, 0), -EINVAL);
	ck_assert_int_eq(mvm_config_set(&cfg, "vm", "cpus", "x", err, 4), -EINVAL);
	ck_assert_str_eq(err, "[vm");
}
END_TEST

START_TEST(booleans)
{
	static const char *const yes[] = {"true", "yes", "on", "1", "TRUE", "Yes", "ON"};
	static const char *const no[] = {"false", "no", "off", "0", "False", "NO", "Off"};
	static const char *const bad[] = {"", "2", "y", "n", "tru", "true ", "enable", "01"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		cfg.console_stdin = false;
		ck_assert_int_eq(set("console", "stdin", yes[i]), 0);
		ck_assert_msg(cfg.console_stdin, "%s", yes[i]);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		cfg.console_stdin = true;
		ck_assert_int_eq(set("console", "stdin", no[i]), 0);
		ck_assert_msg(!cfg.console_stdin, "%s", no[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(set("console", "stdout", bad[i]) == -EINVAL, "%s", bad[i]);
	ck_assert(cfg.console_stdout);
}
END_TEST

START_TEST(parse_sizes)
{
	static const struct {
		const char *s;
		int ret;
		uint64_t bytes;
	} cases[] = {
	    {"0", 0, 0},
	    {"4096", 0, 4096},
	    {"4096B", 0, 4096},
	    {"4096b", 0, 4096},
	    {"1K", 0, 1024},
	    {"1k", 0, 1024},
	    {"512M", 0, 512ull << 20},
	    {"512m", 0, 512ull << 20},
	    {"512MiB", 0, 512ull << 20},
	    {"512mib", 0, 512ull << 20},
	    {"512MB", 0, 512ull << 20},
	    {"2G", 0, 2ull << 30},
	    {"2GiB", 0, 2ull << 30},
	    {"3T", 0, 3ull << 40},
	    {"0512M", 0, 512ull << 20},
	    {"65536K", 0, 64ull << 20},
	    {"18446744073709551615", 0, UINT64_MAX},
	    {"16777215T", 0, 16777215ull << 40},
	    {"18446744073709551616", -ERANGE, 0},
	    {"99999999999999999999999999", -ERANGE, 0},
	    {"16777216T", -ERANGE, 0},
	    {"17179869184G", -ERANGE, 0},
	    {"", -EINVAL, 0},
	    {"M", -EINVAL, 0},
	    {"-1", -EINVAL, 0},
	    {"-1M", -EINVAL, 0},
	    {"+1M", -EINVAL, 0},
	    {" 1M", -EINVAL, 0},
	    {"1M ", -EINVAL, 0},
	    {"1 M", -EINVAL, 0},
	    {"1.5G", -EINVAL, 0},
	    {"0x1000", -EINVAL, 0},
	    {"12Q", -EINVAL, 0},
	    {"1MM", -EINVAL, 0},
	    {"1iB", -EINVAL, 0},
	    {"1Mi", -EINVAL, 0},
	    {"1MiBs", -EINVAL, 0},
	    {"1P", -EINVAL, 0},
	    {"99999999999999999999999x", -EINVAL, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t out = 0xabcd;
		int ret = mvm_parse_size(cases[i].s, &out);
		ck_assert_msg(ret == cases[i].ret, "\"%s\": got %d, want %d", cases[i].s, ret,
			      cases[i].ret);
		if (ret == 0)
			ck_assert_msg(out == cases[i].bytes, "\"%s\": got %llu", cases[i].s,
				      (unsigned long long)out);
		else
			ck_assert_uint_eq(out, 0xabcd); /* untouched on error */
	}
	ck_assert_int_eq(mvm_parse_size(NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(exit_reason_names)
{
	ck_assert_str_eq(mvm_exit_reason_name(MVM_EXIT_POWEROFF), "poweroff");
	ck_assert_str_eq(mvm_exit_reason_name(MVM_EXIT_GUEST_STATUS), "guest-exit-status");
	ck_assert_str_eq(mvm_exit_reason_name(MVM_EXIT_REBOOT), "reboot");
	ck_assert_str_eq(mvm_exit_reason_name(MVM_EXIT_PANIC), "panic");
	ck_assert_str_eq(mvm_exit_reason_name(MVM_EXIT_TIMEOUT), "timeout");
	ck_assert_str_eq(mvm_exit_reason_name(MVM_EXIT_STOPPED), "stopped");
	ck_assert_str_eq(mvm_exit_reason_name(MVM_EXIT_GUEST_FAULT), "guest-fault");
	ck_assert_str_eq(mvm_exit_reason_name(MVM_EXIT_HOST_ERROR), "host-error");
	ck_assert_str_eq(mvm_exit_reason_name((enum mvm_exit_reason)8), "unknown");
	ck_assert_str_eq(mvm_exit_reason_name((enum mvm_exit_reason) - 1), "unknown");
}
END_TEST

START_TEST(validate)
{
	ck_assert_int_eq(mvm_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "no kernel: pass --kernel PATH or set [boot] kernel in vm.ini");
	ck_assert_int_eq(set("boot", "kernel", "/boot/vmlinuz"), 0);
	ck_assert_int_eq(mvm_config_validate(&cfg, err, sizeof(err)), 0);

	/* A struct filled by hand gets the same range checks as mvm_config_set(). */
	cfg.cpus = 0;
	ck_assert_int_eq(mvm_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "[vm] cpus = 0: out of range (use 1..64)");
	cfg.cpus = 65;
	ck_assert_int_eq(mvm_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	cfg.cpus = 2;
	cfg.mem_bytes = 32ull << 20;
	ck_assert_int_eq(mvm_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "[vm] mem = 32M: out of range (use 64M..16G)");
	cfg.mem_bytes = (17ull << 30);
	ck_assert_int_eq(mvm_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	cfg.mem_bytes = (64ull << 20) + 4096;
	ck_assert_int_eq(mvm_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "[vm] mem = 65540K: not a whole number of MiB");
	cfg.mem_bytes = 64ull << 20;
	cfg.log_level = (enum mvm_log_level)4;
	ck_assert_int_eq(mvm_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	cfg.log_level = MVM_LOG_DEBUG;
	cfg.cmdline = calloc(1, MVM_MAX_CMDLINE + 1);
	memset(cfg.cmdline, 'x', MVM_MAX_CMDLINE);
	ck_assert_int_eq(mvm_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "[boot] cmdline: too long (4096 bytes, at most 4095)");
	cfg.cmdline[MVM_MAX_CMDLINE - 1] = '\0';
	ck_assert_int_eq(mvm_config_validate(&cfg, err, sizeof(err)), 0);
	free(cfg.kernel);
	cfg.kernel = strdup("");
	ck_assert_int_eq(mvm_config_validate(&cfg, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(ini_every_key)
{
	ck_assert_int_eq(load("; a comment\n"
			      "# another\n"
			      "\n"
			      "[vm]\n"
			      "cpus = 3\n"
			      "  MEM=1G   ; inline comment\n"
			      "[Boot]\n"
			      "kernel = /abs/bzImage\n"
			      "initrd = initrd.img\n"
			      "cmdline = \"console=ttyS0 init=/bin/sh -c 'a;b#c'\"\n"
			      "[console]\n"
			      "log = logs/console.log\n"
			      "stdout = off\n"
			      "stdin = no\n"
			      "[run]\n"
			      "timeout = 30\n"
			      "log_level = debug\n"),
			 0);
	ck_assert_uint_eq(cfg.cpus, 3);
	ck_assert_uint_eq(cfg.mem_bytes, 1ull << 30);
	ck_assert_str_eq(cfg.kernel, "/abs/bzImage");
	{
		char want[256];
		snprintf(want, sizeof(want), "%s/initrd.img", tmpdir);
		ck_assert_str_eq(cfg.initrd, want);
		snprintf(want, sizeof(want), "%s/logs/console.log", tmpdir);
		ck_assert_str_eq(cfg.console_log, want);
	}
	ck_assert_str_eq(cfg.cmdline, "console=ttyS0 init=/bin/sh -c 'a;b#c'");
	ck_assert(!cfg.console_stdout);
	ck_assert(!cfg.console_stdin);
	ck_assert_uint_eq(cfg.timeout_s, 30);
	ck_assert_int_eq(cfg.log_level, MVM_LOG_DEBUG);
}
END_TEST

START_TEST(ini_keys_not_given_keep_their_value)
{
	cfg.cpus = 7;
	ck_assert_int_eq(load("[vm]\nmem = 128M\n[boot]\nkernel =\ninitrd =\n[run]\n"), 0);
	ck_assert_uint_eq(cfg.cpus, 7);
	ck_assert_uint_eq(cfg.mem_bytes, 128ull << 20);
	ck_assert_ptr_null(cfg.kernel); /* empty path: not set, not "<dir>/" */
	ck_assert_ptr_null(cfg.initrd);
}
END_TEST

START_TEST(ini_continuation_line)
{
	ck_assert_int_eq(load("[boot]\ncmdline = console=ttyS0 \\\n   quiet\n"), 0);
	ck_assert_ptr_nonnull(strstr(cfg.cmdline, "console=ttyS0"));
	ck_assert_ptr_nonnull(strstr(cfg.cmdline, "quiet"));
}
END_TEST

START_TEST(ini_path_in_current_directory)
{
	char cwd[4096];

	/* An ini file named without a directory: its paths stay as written. */
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(tmpdir), 0);
	write_file("vm.ini", "[boot]\nkernel = bzImage\n");
	ck_assert_int_eq(mvm_config_load_ini(&cfg, "vm.ini", err, sizeof(err)), 0);
	ck_assert_int_eq(chdir(cwd), 0);
	ck_assert_str_eq(cfg.kernel, "bzImage");
}
END_TEST

START_TEST(ini_mkstemp_file)
{
	char path[] = "/tmp/minivmm-vm-XXXXXX";
	int fd = mkstemp(path);
	static const char text[] = "[vm]\ncpus = 5\n[boot]\nkernel = k\n";

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	ck_assert_int_eq(mvm_config_load_ini(&cfg, path, err, sizeof(err)), 0);
	unlink(path);
	ck_assert_uint_eq(cfg.cpus, 5);
	ck_assert_str_eq(cfg.kernel, "/tmp/k");
}
END_TEST

/* Error messages: file name first, then what vm.ini says. */
static void expect_ini_error(const char *text, int ret, const char *msg_after_path)
{
	char want[512];

	snprintf(want, sizeof(want), "%s%s", ini_path, msg_after_path);
	ck_assert_int_eq(load(text), ret);
	ck_assert_str_eq(err, want);
}

START_TEST(ini_errors)
{
	expect_ini_error("[vm]\nmem = 12Q\n", -EINVAL,
			 ": [vm] mem = \"12Q\": not a size (use a number with an optional K, M, G "
			 "or T suffix, e.g. 512M)");
	expect_ini_error(
	    "[vm]\nmemory = 1G\n", -EINVAL,
	    ": unknown key \"memory\" in section [vm] (known: cpus, mem, cpu_template)");
	expect_ini_error("[vm]\ncpus = 1\n[foo]\nbar = 1\n", -EINVAL,
			 ": unknown section [foo] (known: vm, boot, console, run, rng, vsock, "
			 "disk0..disk7, net0..net3)");
	expect_ini_error("[vm]\n[empty]\n", -EINVAL,
			 ": unknown section [empty] (known: vm, boot, console, run, rng, vsock, "
			 "disk0..disk7, net0..net3)");
	expect_ini_error("cpus = 2\n[vm]\n", -EINVAL,
			 ":1: key \"cpus\" is outside any section (put it under [vm], [boot], "
			 "[console] or [run])");
	expect_ini_error("[vm]\ncpus = 2\njunk line\n", -EINVAL,
			 ":3: syntax error: expected \"key = value\", \"[section]\" or a comment");
	expect_ini_error("[vm]\n= 2\n", -EINVAL,
			 ":2: syntax error: expected \"key = value\", \"[section]\" or a comment");
	expect_ini_error("[vm\ncpus = 2\n", -EINVAL,
			 ":1: syntax error: a section header is \"[name]\" alone on its line");
	expect_ini_error("[vm] ; comment\n", -EINVAL,
			 ":1: syntax error: a section header is \"[name]\" alone on its line");
	expect_ini_error("[]\ncpus = 2\n", -EINVAL, ":1: bad section name \"[]\"");
	expect_ini_error("[a:b]\n", -EINVAL, ":1: bad section name \"[a:b]\"");
	expect_ini_error("[vm]\ncpus = 2\n\n[VM]\nCpus = 3\n", -EINVAL,
			 ":5: [vm] Cpus is set twice (first on line 2)");
}
END_TEST

START_TEST(ini_long_line)
{
	char *text = malloc(2048);

	strcpy(text, "[boot]\ncmdline = ");
	memset(text + strlen(text), 'x', 1200);
	strcpy(text + strlen("[boot]\ncmdline = ") + 1200, "\n");
	ck_assert_int_eq(load(text), -EINVAL);
	free(text);
	{
		char want[256];
		snprintf(want, sizeof(want), "%s:2: line too long (at most 999 characters)",
			 ini_path);
		ck_assert_str_eq(err, want);
	}
}
END_TEST

START_TEST(ini_missing_file)
{
	char want[256];

	ck_assert_int_eq(mvm_config_load_ini(&cfg, "/nonexistent/vm.ini", err, sizeof(err)),
			 -ENOENT);
	ck_assert_str_eq(err,
			 "cannot open config file /nonexistent/vm.ini: No such file or directory");
	ck_assert_int_eq(mvm_config_load_ini(&cfg, tmpdir, err, sizeof(err)), -EISDIR);
	snprintf(want, sizeof(want), "cannot read config file %s: Is a directory", tmpdir);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(ini_unreadable_file)
{
	if (geteuid() == 0)
		return; /* root reads anything; nothing to test */
	write_file(ini_path, "[vm]\n");
	ck_assert_int_eq(chmod(ini_path, 0), 0);
	ck_assert_int_eq(mvm_config_load_ini(&cfg, ini_path, err, sizeof(err)), -EACCES);
	ck_assert_ptr_nonnull(strstr(err, "Permission denied"));
}
END_TEST

START_TEST(example_file_loads_to_defaults)
{
	struct mvm_config defaults;

	/* The unit tests run from the repository root (make check). */
	ck_assert_msg(access("vm.ini.example", R_OK) == 0, "run from the repository root");
	ck_assert_int_eq(mvm_config_load_ini(&cfg, "vm.ini.example", err, sizeof(err)), 0);
	config_init(&defaults);
	ck_assert_uint_eq(cfg.cpus, defaults.cpus);
	ck_assert_uint_eq(cfg.mem_bytes, defaults.mem_bytes);
	ck_assert_ptr_null(cfg.kernel);
	ck_assert_ptr_null(cfg.initrd);
	ck_assert_str_eq(cfg.cmdline, "console=ttyS0");
	ck_assert_ptr_null(cfg.console_log);
	ck_assert_int_eq(cfg.console_stdout, defaults.console_stdout);
	ck_assert_int_eq(cfg.console_stdin, defaults.console_stdin);
	ck_assert_uint_eq(cfg.timeout_s, defaults.timeout_s);
	ck_assert_int_eq(cfg.log_level, defaults.log_level);
	ck_assert_int_eq(cfg.cpu_template, MVM_CPU_TEMPLATE_AUTO);
	ck_assert_int_eq(cfg.decompress, MVM_DECOMPRESS_AUTO);
	ck_assert_uint_eq(cfg.ndisks, 0);
}
END_TEST

START_TEST(enum_settings)
{
	ck_assert_int_eq(mvm_config_set(&cfg, "vm", "cpu_template", "baseline", err, sizeof(err)),
			 0);
	ck_assert_int_eq(cfg.cpu_template, MVM_CPU_TEMPLATE_BASELINE);
	ck_assert_int_eq(mvm_config_set(&cfg, "vm", "cpu_template", "HOST", err, sizeof(err)), 0);
	ck_assert_int_eq(cfg.cpu_template, MVM_CPU_TEMPLATE_HOST);
	ck_assert_int_eq(mvm_config_set(&cfg, "vm", "cpu_template", "fast", err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "[vm] cpu_template = \"fast\": not one of auto, host, baseline");
	ck_assert_int_eq(mvm_config_set(&cfg, "boot", "decompress", "guest", err, sizeof(err)), 0);
	ck_assert_int_eq(cfg.decompress, MVM_DECOMPRESS_GUEST);
	ck_assert_int_eq(mvm_config_set(&cfg, "boot", "decompress", "", err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(disk_sections)
{
	ck_assert_int_eq(mvm_config_set(&cfg, "disk0", "path", "/tmp/a.img", err, sizeof(err)), 0);
	ck_assert_int_eq(mvm_config_set(&cfg, "disk0", "ro", "yes", err, sizeof(err)), 0);
	ck_assert_int_eq(
	    mvm_config_set(&cfg, "disk0", "serial", "12345678901234567890", err, sizeof(err)), 0);
	ck_assert_int_eq(
	    mvm_config_set(&cfg, "disk0", "serial", "123456789012345678901", err, sizeof(err)),
	    -EINVAL);
	ck_assert_int_eq(mvm_config_set(&cfg, "disk0", "cache", "none", err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.ndisks, 1);
	ck_assert_str_eq(cfg.disks[0].path, "/tmp/a.img");
	ck_assert(cfg.disks[0].read_only);
	ck_assert_str_eq(cfg.disks[0].serial, "12345678901234567890");
	ck_assert_int_eq(cfg.disks[0].cache, MVM_DISK_CACHE_NONE);
	ck_assert_int_eq(mvm_config_set(&cfg, "disk8", "path", "x", err, sizeof(err)), -EINVAL);
	/* A gap (disk2 without disk1) is caught by validate. */
	ck_assert_int_eq(mvm_config_set(&cfg, "disk2", "path", "/tmp/c.img", err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.ndisks, 3);
	ck_assert_int_eq(mvm_config_set(&cfg, "boot", "kernel", "/k", err, sizeof(err)), 0);
	ck_assert_int_eq(mvm_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "[disk1] has no path"));
	ck_assert_int_eq(mvm_config_set(&cfg, "disk1", "path", "/tmp/b.img", err, sizeof(err)), 0);
	ck_assert_int_eq(mvm_config_validate(&cfg, err, sizeof(err)), 0);
}
END_TEST

START_TEST(vsock_section)
{
	char path[200];

	ck_assert_int_eq(mvm_config_set(&cfg, "boot", "kernel", "/k", err, sizeof(err)), 0);
	/* CIDs 0..2 are reserved (0 = no device), 0xffffffff is VMADDR_CID_ANY. */
	ck_assert_int_eq(mvm_config_set(&cfg, "vsock", "cid", "2", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "[vsock] cid = \"2\": not a guest CID (use 3..4294967294; 0 = no "
			      "vsock device)");
	ck_assert_int_eq(mvm_config_set(&cfg, "vsock", "cid", "4294967295", err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(mvm_config_set(&cfg, "vsock", "cid", "x", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(mvm_config_set(&cfg, "vsock", "cid", "3", err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.vsock_cid, 3);
	/* A CID needs a socket path, and the other way round. */
	ck_assert_int_eq(mvm_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "[vsock] cid = 3 needs uds = PATH");
	ck_assert_int_eq(mvm_config_set(&cfg, "vsock", "uds", "/run/v.sock", err, sizeof(err)), 0);
	ck_assert_int_eq(mvm_config_validate(&cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(mvm_config_set(&cfg, "vsock", "cid", "0", err, sizeof(err)), 0);
	ck_assert_int_eq(mvm_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	/* PATH_4294967295 must still fit sun_path. */
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[97] = '\0';
	ck_assert_int_eq(mvm_config_set_vsock(&cfg, 4294967294u, path), 0);
	ck_assert_int_eq(mvm_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "too long for a Unix socket"));
	path[96] = '\0';
	ck_assert_int_eq(mvm_config_set_vsock(&cfg, 4294967294u, path), 0);
	ck_assert_int_eq(mvm_config_validate(&cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.vsock_cid, 4294967294u);
	ck_assert_int_eq(mvm_config_set_vsock(&cfg, 2, "/x"), -EINVAL);
}
END_TEST

Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, set_every_key);
	tcase_add_test(tc, bad_values_keep_old_value);
	tcase_add_test(tc, cmdline_length_limit);
	tcase_add_test(tc, value_in_message_is_escaped);
	tcase_add_test(tc, unknown_section_and_key);
	tcase_add_test(tc, booleans);
	tcase_add_test(tc, parse_sizes);
	tcase_add_test(tc, exit_reason_names);
	tcase_add_test(tc, validate);
	tcase_add_test(tc, ini_every_key);
	tcase_add_test(tc, ini_keys_not_given_keep_their_value);
	tcase_add_test(tc, ini_continuation_line);
	tcase_add_test(tc, ini_path_in_current_directory);
	tcase_add_test(tc, ini_mkstemp_file);
	tcase_add_test(tc, ini_errors);
	tcase_add_test(tc, ini_long_line);
	tcase_add_test(tc, ini_missing_file);
	tcase_add_test(tc, ini_unreadable_file);
	tcase_add_test(tc, example_file_loads_to_defaults);
	tcase_add_test(tc, enum_settings);
	tcase_add_test(tc, disk_sections);
	tcase_add_test(tc, vsock_section);
	suite_add_tcase(s, tc);
	return s;
}
