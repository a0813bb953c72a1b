/* SPDX-License-Identifier: MIT */
/*
 * minivmm, the command-line program: a thin client of the library
 * (vmm/minivmm.h).  It turns argv into a struct mvm_config, runs one VM,
 * and turns the outcome into an exit status.  Being the program and not the
 * library, it may exit() and keep the little process-wide state that signal
 * handlers and terminal restoration need.
 *
 * stdout belongs to the guest's serial console: nothing but the guest's
 * output (and --help/--version) is written there.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "boot/layout.h"
#include "vmm/api_main.h"
#include "vmm/jail.h"
#include "vmm/config.h"
#include "vmm/snapfile_info.h"

/*
 * Exit statuses (also in --help and the README).  Distinct ranges so that a
 * script can tell the guest's own status from what happened to the VM:
 *   0        guest powered off (ACPI S5), or the guest wrote 0 to the exit port
 *   1..99    the status the guest wrote to the exit port (EXIT_PORT)
 *   100      guest rebooted (i8042 reset, ACPI reset register, triple fault)
 *   101      guest panicked (pvpanic)
 *   102      --timeout elapsed
 *   103      the guest faulted so that the VM cannot continue (emulation
 *            failure, KVM internal error)
 *   125      minivmm error: bad usage or configuration, missing/bad kernel,
 *            no /dev/kvm, host I/O error (125 as in `git bisect run`, env:
 *            above any status a guest can report, below the shell's 126/127)
 *   128+N    stopped by signal N (130 SIGINT, 143 SIGTERM, 129 SIGHUP); the
 *            console escape Ctrl-A x also gives 130, as if Ctrl-C had stopped
 *            the program
 */
enum exit_status {
	STATUS_POWEROFF = 0,
	STATUS_GUEST_MAX = GUEST_EXIT_STATUS_MAX,
	STATUS_REBOOT = 100,
	STATUS_PANIC = 101,
	STATUS_TIMEOUT = 102,
	STATUS_GUEST_FAULT = 103,
	STATUS_ERROR = 125,
	STATUS_SIGNAL_BASE = 128,
};

#define PROG "minivmm"

/* Set before the handlers can run; read by them. */
static struct mvm_vm *volatile running_vm;
static volatile sig_atomic_t stop_signal;

/* --jail's argument (vmm/jail.h), applied once the VM's configuration is known. */
static const char *jail_spec;

/* --api-sock, --id, --config-file, --no-api (vmm/api_main.h). */
static struct api_cli_opts api_opts;
static bool no_api;

static struct termios saved_termios;
static bool termios_saved;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " --kernel PATH [OPTION]...\n"
		"       " PROG " --config FILE [OPTION]...\n"
		"       " PROG " snapshot-info FILE\n"
		"Boots a Linux kernel in a KVM microVM; the guest's serial console is this\n"
		"program's stdin and stdout.\n"
		"\n"
		"Every option is also a vm.ini key (shown on the right); options override\n"
		"the --config file whatever their order.\n"
		"      --kernel PATH         bzImage or ELF vmlinux to boot      [boot] kernel\n"
		"      --initrd PATH         initial ramdisk                     [boot] initrd\n"
		"      --cmdline STR         kernel command line                 [boot] cmdline\n"
		"                              (default \"console=ttyS0\")\n"
		"      --mem SIZE            guest RAM in whole MiB, e.g. 2G     [vm] mem\n"
		"                              (default 256M; %lluM..%lluG)\n"
		"      --cpus N              vCPUs (default 1; %d..%d)            [vm] cpus\n"
		"      --cpu-template NAME   auto, host or baseline (CPUID the guest sees)\n"
		"                              (default auto: baseline on a PVM host) [vm] "
		"cpu_template\n"
		"      --decompress WHERE    auto, host or guest: who decompresses a\n"
		"                              bzImage's kernel (default auto = host) [boot] "
		"decompress\n"
		"      --disk PATH[,ro][,serial=ID][,cache=writeback|none|unsafe]\n"
		"                            a virtio-blk disk; repeatable: vda, vdb, ... [diskN]\n"
		"      --net tap=NAME[,mac=MAC] | user[,hostfwd=tcp:127.0.0.1:2222-:22]...\n"
		"                            a virtio-net NIC; repeatable: eth0, ...      [netN]\n"
		"      --rng on|off[,rate=BYTES_PER_SEC]\n"
		"                            virtio-rng (default on, unlimited)          [rng]\n"
		"      --vsock cid=N,uds=PATH\n"
		"                            virtio-vsock, host side on a Unix socket  [vsock]\n"
		"      --console-log FILE    copy guest output to FILE           [console] log\n"
		"                              (created or truncated)\n"
		"      --no-console-stdout   do not copy guest output to stdout  [console] stdout\n"
		"      --no-console-stdin    do not feed stdin to the guest      [console] stdin\n"
		"      --timeout SECONDS     stop the guest after SECONDS        [run] timeout\n"
		"                              (default 0: no limit)\n"
		"      --log-level LEVEL     error, warn, info or debug          [run] log_level\n"
		"                              (default info)\n"
		"      --seccomp MODE        on, log or off: per-thread syscall  [run] seccomp\n"
		"                              filters (default on; README)\n"
		"  -v, --verbose             same as --log-level debug\n"
		"      --set SECTION.KEY=VALUE\n"
		"                            set any vm.ini key, e.g. --set vm.mem=1G\n"
		"                              (repeatable)\n"
		"      --config FILE         read settings from an ini file (see vm.ini.example)\n"
		"      --api-sock PATH       serve the HTTP API (Firecracker's names) on a\n"
		"                              Unix socket; without --kernel, wait for\n"
		"                              configuration and InstanceStart (README)\n"
		"      --config-file FILE    Firecracker's JSON configuration; boots at once\n"
		"      --id ID               the instance id GET / reports\n"
		"      --no-api              with --config-file: no API socket\n"
		"      --jail DIR[,uid=U][,gid=G][,cgroup=PATH][,cpus=N][,mem=SIZE][,pids=N]\n"
		"             [,netns=PATH|new][,nofile=N][,fsize=SIZE]\n"
		"                            run the VM confined: namespaces, DIR as its root\n"
		"                              holding only the VM's files, cgroup limits, as\n"
		"                              U:G without capabilities (README \"Jail\")\n"
		"  -h, --help                print this help and exit\n"
		"  -V, --version             print the version and exit\n"
		"\n"
		"Console: on a terminal, stdin is switched to raw mode and every key,\n"
		"Ctrl-C included, goes to the guest.  Ctrl-A x quits; Ctrl-A Ctrl-A sends\n"
		"Ctrl-A.\n"
		"\n"
		"Exit status:\n"
		"  0        guest powered off, or wrote 0 to the exit port\n"
		"  1..%d    the status the guest wrote to the exit port (I/O port %#x)\n"
		"  100      guest rebooted (i8042 reset, ACPI reset, triple fault)\n"
		"  101      guest panicked (pvpanic)\n"
		"  102      --timeout elapsed\n"
		"  103      guest fault the VM cannot continue from (emulation failure, KVM\n"
		"           internal error)\n"
		"  125      minivmm error: bad usage or configuration, bad kernel, no\n"
		"           /dev/kvm, host I/O error\n"
		"  128+N    stopped by signal N (130 SIGINT, 143 SIGTERM); Ctrl-A x gives 130\n",
		(unsigned long long)(MVM_MIN_MEM_BYTES >> 20),
		(unsigned long long)(MVM_MAX_MEM_BYTES >> 30), MVM_MIN_CPUS, MVM_MAX_CPUS,
		GUEST_EXIT_STATUS_MAX, EXIT_PORT);
}

static void vdie(bool usage_hint, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0), noreturn));

/* One line on stderr and exit 125 (atexit restores the terminal). */
static void vdie(bool usage_hint, const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, PROG ": %s%s\n", line, usage_hint ? " (try '" PROG " --help')" : "");
	exit(STATUS_ERROR);
}

/* A configuration or host error. */
static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(false, fmt, ap);
}

/* A malformed command line. */
static void fail_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(true, fmt, ap);
}

static void restore_terminal(void)
{
	if (termios_saved) {
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_termios);
		termios_saved = false;
	}
}

/*
 * Raw mode so that every key reaches the guest: no line editing, no echo,
 * and no ISIG, so Ctrl-C interrupts the guest's program, not minivmm (the
 * console's Ctrl-A x escape stops the VM).  Output processing stays on, as
 * in QEMU: the guest already sends CR LF, and minivmm's own log lines on
 * stderr would otherwise staircase.
 */
static void enter_raw_mode(void)
{
	struct termios raw;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_termios) < 0)
		return;
	raw = saved_termios;
	cfmakeraw(&raw);
	raw.c_oflag |= OPOST;
	/* Whatever path exit() takes from here on, the terminal comes back. */
	atexit(restore_terminal);
	termios_saved = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
}

static void on_stop_signal(int signo)
{
	struct mvm_vm *vm = running_vm;

	if (!stop_signal)
		stop_signal = signo;
	if (vm)
		mvm_vm_request_stop(vm);
}

static void install_signal_handlers(void)
{
	static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		sigaction(stop_signals[i], &sa, NULL);
	/* A closed stdout (`minivmm | head`) must not kill us with the terminal raw. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/*
 * mvm_config_set() says `[vm] mem = "12Q": not a size ...`; for a flag we
 * say `--mem 12Q: not a size ...`.  Returns the part after the quoted value
 * (config.c escapes '"' inside it), or the whole message if it has another
 * shape (unknown key).
 */
static const char *setting_reason(const char *msg)
{
	const char *p = strstr(msg, " = \"");

	if (msg[0] != '[' || !p)
		return msg;
	for (p += 4; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1])
			p++;
	}
	if (strncmp(p, "\": ", 3) != 0)
		return msg;
	return p + 3;
}

struct pending {
	const char *flag;    /* "--mem", or NULL for --set */
	const char *section; /* for --set: the whole SECTION.KEY=VALUE argument */
	const char *key;
	const char *value;
};

static void apply_flag(struct mvm_config *cfg, const struct pending *p)
{
	char err[512];

	if (mvm_config_set(cfg, p->section, p->key, p->value, err, sizeof(err)) < 0)
		fail("%s %.*s%s: %s", p->flag, 64, p->value, strlen(p->value) > 64 ? "..." : "",
		     setting_reason(err));
}

static void apply_set(struct mvm_config *cfg, const char *arg)
{
	const char *dot = strchr(arg, '.'), *eq = strchr(arg, '=');
	char err[512], *section, *key;
	int ret;

	if (!dot || !eq || dot > eq || dot == arg || eq == dot + 1)
		fail_usage("--set %s: expected SECTION.KEY=VALUE, e.g. --set vm.mem=512M", arg);
	section = strndup(arg, (size_t)(dot - arg));
	key = strndup(dot + 1, (size_t)(eq - dot - 1));
	if (!section || !key)
		fail("out of memory");
	ret = mvm_config_set(cfg, section, key, eq + 1, err, sizeof(err));
	free(section);
	free(key);
	if (ret < 0)
		fail("--set %s: %s", arg, setting_reason(err));
}

/*
 * --disk PATH[,ro][,serial=ID][,cache=MODE]: the next [diskN] after those of
 * the --config file (flags add disks; they do not replace the file's).
 */
static void apply_disk(struct mvm_config *cfg, const char *spec)
{
	char section[16], err[512], *copy, *opt, *save = NULL;
	unsigned index = cfg->ndisks;

	if (index >= MVM_MAX_DISKS)
		fail("--disk %s: too many disks (at most %d)", spec, MVM_MAX_DISKS);
	snprintf(section, sizeof(section), "disk%u", index);
	copy = strdup(spec);
	if (!copy)
		fail("out of memory");
	opt = strtok_r(copy, ",", &save);
	if (!opt || mvm_config_set(cfg, section, "path", opt, err, sizeof(err)) < 0)
		fail_usage("--disk %s: expected PATH[,ro][,serial=ID][,cache=MODE]", spec);
	while ((opt = strtok_r(NULL, ",", &save))) {
		char *eq = strchr(opt, '=');
		const char *key = opt, *value = "true";
		if (eq) {
			*eq = '\0';
			value = eq + 1;
		}
		if (strcmp(key, "path") == 0 ||
		    mvm_config_set(cfg, section, key, value, err, sizeof(err)) < 0) {
			if (strstr(err, "unknown key") || strcmp(key, "path") == 0)
				fail_usage("--disk %s: unknown option \"%s\" (use ro, serial=ID, "
					   "cache=writeback|none|unsafe)",
					   spec, key);
			fail("--disk %s: %s", spec, setting_reason(err));
		}
	}
	free(copy);
}

/* Sets one key of a numbered section, or fails naming the flag. */
static void set_or_fail(struct mvm_config *cfg, const char *flag, const char *spec,
			const char *section, const char *key, const char *value)
{
	char err[512];

	if (mvm_config_set(cfg, section, key, value, err, sizeof(err)) < 0)
		fail("%s %s: %s", flag, spec, setting_reason(err));
}

/*
 * --net tap=NAME[,mac=MAC] | --net user[,hostfwd=RULE]...[,mac=MAC]: the next
 * [netN] after those of the --config file.
 */
static void apply_net(struct mvm_config *cfg, const char *spec)
{
	char section[16], *copy, *opt, *save = NULL, *fwd = NULL;
	unsigned index = cfg->nnets;

	if (index >= MVM_MAX_NICS)
		fail("--net %s: too many NICs (at most %d)", spec, MVM_MAX_NICS);
	snprintf(section, sizeof(section), "net%u", index);
	copy = strdup(spec);
	if (!copy)
		fail("out of memory");
	for (opt = strtok_r(copy, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(opt, '=');
		const char *value = eq ? eq + 1 : "";
		if (eq)
			*eq = '\0';
		if (strcmp(opt, "user") == 0 && !eq) {
			set_or_fail(cfg, "--net", spec, section, "backend", "user");
		} else if (strcmp(opt, "tap") == 0 && eq) {
			set_or_fail(cfg, "--net", spec, section, "backend", "tap");
			set_or_fail(cfg, "--net", spec, section, "tap", value);
		} else if (strcmp(opt, "mac") == 0 && eq) {
			set_or_fail(cfg, "--net", spec, section, "mac", value);
		} else if (strcmp(opt, "hostfwd") == 0 && eq) {
			/* Repeatable: the rules are joined with ',' as [netN] hostfwd has them. */
			char *joined;
			if (asprintf(&joined, "%s%s%s", fwd ? fwd : "", fwd ? "," : "", value) < 0)
				fail("out of memory");
			free(fwd);
			fwd = joined;
		} else {
			fail_usage("--net %s: expected tap=NAME[,mac=MAC] or "
				   "user[,hostfwd=tcp:HOSTADDR:PORT-:PORT]...[,mac=MAC]",
				   spec);
		}
	}
	if (cfg->nnets <= index)
		fail_usage("--net %s: say tap=NAME or user first", spec);
	if (fwd)
		set_or_fail(cfg, "--net", spec, section, "hostfwd", fwd);
	free(fwd);
	free(copy);
}

/* --rng on|off[,rate=BYTES_PER_SEC] (or just rate=...). */
static void apply_rng(struct mvm_config *cfg, const char *spec)
{
	char *copy = strdup(spec), *opt, *save = NULL;

	if (!copy)
		fail("out of memory");
	for (opt = strtok_r(copy, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		if (strcmp(opt, "on") == 0 || strcmp(opt, "off") == 0)
			set_or_fail(cfg, "--rng", spec, "rng", "enabled", opt);
		else if (strncmp(opt, "rate=", 5) == 0)
			set_or_fail(cfg, "--rng", spec, "rng", "rate", opt + 5);
		else
			fail_usage("--rng %s: expected on, off or rate=BYTES_PER_SEC", spec);
	}
	free(copy);
}

/* --vsock cid=N,uds=PATH. */
static void apply_vsock(struct mvm_config *cfg, const char *spec)
{
	char *copy = strdup(spec), *opt, *save = NULL;

	if (!copy)
		fail("out of memory");
	for (opt = strtok_r(copy, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		if (strncmp(opt, "cid=", 4) == 0)
			set_or_fail(cfg, "--vsock", spec, "vsock", "cid", opt + 4);
		else if (strncmp(opt, "uds=", 4) == 0)
			set_or_fail(cfg, "--vsock", spec, "vsock", "uds", opt + 4);
		else
			fail_usage("--vsock %s: expected cid=N,uds=PATH", spec);
	}
	free(copy);
}

enum long_only_option {
	OPT_KERNEL = 256,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_MEM,
	OPT_CPUS,
	OPT_CONFIG,
	OPT_CONSOLE_LOG,
	OPT_TIMEOUT,
	OPT_LOG_LEVEL,
	OPT_NO_CONSOLE_STDIN,
	OPT_NO_CONSOLE_STDOUT,
	OPT_SET,
	OPT_CPU_TEMPLATE,
	OPT_DECOMPRESS,
	OPT_DISK,
	OPT_NET,
	OPT_RNG,
	OPT_VSOCK,
	OPT_JAIL,
	OPT_SECCOMP,
	OPT_API_SOCK,
	OPT_ID,
	OPT_CONFIG_FILE,
	OPT_NO_API,
};

static const struct option long_options[] = {
    {"kernel", required_argument, NULL, OPT_KERNEL},
    {"initrd", required_argument, NULL, OPT_INITRD},
    {"cmdline", required_argument, NULL, OPT_CMDLINE},
    {"mem", required_argument, NULL, OPT_MEM},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"console-log", required_argument, NULL, OPT_CONSOLE_LOG},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"verbose", no_argument, NULL, 'v'},
    {"no-console-stdin", no_argument, NULL, OPT_NO_CONSOLE_STDIN},
    {"no-console-stdout", no_argument, NULL, OPT_NO_CONSOLE_STDOUT},
    {"set", required_argument, NULL, OPT_SET},
    {"cpu-template", required_argument, NULL, OPT_CPU_TEMPLATE},
    {"decompress", required_argument, NULL, OPT_DECOMPRESS},
    {"disk", required_argument, NULL, OPT_DISK},
    {"net", required_argument, NULL, OPT_NET},
    {"rng", required_argument, NULL, OPT_RNG},
    {"vsock", required_argument, NULL, OPT_VSOCK},
    {"jail", required_argument, NULL, OPT_JAIL},
    {"seccomp", required_argument, NULL, OPT_SECCOMP},
    {"api-sock", required_argument, NULL, OPT_API_SOCK},
    {"id", required_argument, NULL, OPT_ID},
    {"config-file", required_argument, NULL, OPT_CONFIG_FILE},
    {"no-api", no_argument, NULL, OPT_NO_API},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* Flags with a fixed vm.ini key: same validation, same messages. */
static const struct {
	int opt;
	const char *flag, *section, *key, *value; /* value NULL: the flag's argument */
} flag_keys[] = {
    {OPT_KERNEL, "--kernel", "boot", "kernel", NULL},
    {OPT_INITRD, "--initrd", "boot", "initrd", NULL},
    {OPT_CMDLINE, "--cmdline", "boot", "cmdline", NULL},
    {OPT_MEM, "--mem", "vm", "mem", NULL},
    {OPT_CPUS, "--cpus", "vm", "cpus", NULL},
    {OPT_CPU_TEMPLATE, "--cpu-template", "vm", "cpu_template", NULL},
    {OPT_DECOMPRESS, "--decompress", "boot", "decompress", NULL},
    {OPT_CONSOLE_LOG, "--console-log", "console", "log", NULL},
    {OPT_TIMEOUT, "--timeout", "run", "timeout", NULL},
    {OPT_LOG_LEVEL, "--log-level", "run", "log_level", NULL},
    {OPT_SECCOMP, "--seccomp", "run", "seccomp", NULL},
    {'v', "--verbose", "run", "log_level", "debug"},
    {OPT_NO_CONSOLE_STDIN, "--no-console-stdin", "console", "stdin", "false"},
    {OPT_NO_CONSOLE_STDOUT, "--no-console-stdout", "console", "stdout", "false"},
};

/* getopt_long takes unique prefixes ("--ker"); say so when one is not unique. */
static bool ambiguous(const char *arg)
{
	size_t len = strcspn(arg + 2, "=");
	int matches = 0;

	if (strncmp(arg, "--", 2) != 0 || len == 0)
		return false;
	for (const struct option *o = long_options; o->name; o++)
		matches += strncmp(o->name, arg + 2, len) == 0;
	return matches > 1;
}

/*
 * Two steps so that --config is read first and every flag overrides it,
 * whatever the order on the command line: collect, load the file, apply.
 */
/*
 * Installed as (or linked to) a file named "firecracker", minivmm answers
 * --version as Firecracker does, first line "Firecracker vX.Y.Z": Kata
 * Containers' Firecracker driver reads that line's second word and refuses
 * anything older than 0.21.1.  The version named is the Firecracker release
 * whose API names and JSON fields the supported subset follows (README
 * "HTTP API"); the second line says what really runs.
 */
#define FIRECRACKER_API_VERSION "1.4.1"

static void print_version(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	base = base ? base + 1 : argv0;
	if (strcmp(base, "firecracker") == 0)
		printf("Firecracker v" FIRECRACKER_API_VERSION "\n" PROG " " MINIVMM_VERSION
		       " (a Firecracker API subset: see its README, \"HTTP API\")\n");
	else
		printf(PROG " " MINIVMM_VERSION "\n");
}

static void parse_args(int argc, char **argv, struct mvm_config *cfg)
{
	struct pending *pending = calloc((size_t)argc + 1, sizeof(*pending));
	const char *config_path = NULL;
	size_t npending = 0;
	char err[1024];
	int opt;

	if (!pending)
		fail("out of memory");
	opterr = 0; /* our own one-line messages */
	while ((opt = getopt_long(argc, argv, ":hvV", long_options, NULL)) != -1) {
		const char *bad = argv[optind - 1];
		size_t i;

		switch (opt) {
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			print_version(argv[0]);
			exit(0);
		case OPT_CONFIG:
			if (config_path)
				fail_usage("--config given twice");
			config_path = optarg;
			continue;
		case OPT_SET:
			pending[npending++] = (struct pending){.section = optarg};
			continue;
		case OPT_DISK:
			pending[npending++] = (struct pending){.flag = "--disk", .value = optarg};
			continue;
		case OPT_NET:
			pending[npending++] = (struct pending){.flag = "--net", .value = optarg};
			continue;
		case OPT_RNG:
			pending[npending++] = (struct pending){.flag = "--rng", .value = optarg};
			continue;
		case OPT_VSOCK:
			pending[npending++] = (struct pending){.flag = "--vsock", .value = optarg};
			continue;
		case OPT_JAIL:
			if (jail_spec)
				fail_usage("--jail given twice");
			jail_spec = optarg;
			continue;
		case OPT_API_SOCK:
			api_opts.sock = optarg;
			continue;
		case OPT_ID:
			api_opts.id = optarg;
			continue;
		case OPT_CONFIG_FILE:
			api_opts.config_file = optarg;
			continue;
		case OPT_NO_API:
			no_api = true;
			continue;
		case ':':
			fail_usage("option '%s' needs an argument", bad);
		case '?':
			if (optopt >= 256 || optopt == 'h' || optopt == 'v' || optopt == 'V')
				fail_usage("option '%s' takes no argument", bad);
			if (optopt)
				fail_usage("unknown option '-%c'", optopt);
			if (ambiguous(bad))
				fail_usage("ambiguous option '%s'", bad);
			fail_usage("unknown option '%s'", bad);
		default:
			break;
		}
		for (i = 0; i < sizeof(flag_keys) / sizeof(flag_keys[0]); i++) {
			if (flag_keys[i].opt == opt)
				break;
		}
		if (i == sizeof(flag_keys) / sizeof(flag_keys[0]))
			fail("internal error: unhandled option %d", opt);
		pending[npending++] = (struct pending){
		    .flag = flag_keys[i].flag,
		    .section = flag_keys[i].section,
		    .key = flag_keys[i].key,
		    .value = flag_keys[i].value ? flag_keys[i].value : optarg,
		};
	}
	if (optind < argc)
		fail_usage("unexpected argument '%s'", argv[optind]);

	if (config_path && mvm_config_load_ini(cfg, config_path, err, sizeof(err)) < 0)
		fail("%s", err);
	for (size_t i = 0; i < npending; i++) {
		if (pending[i].flag && strcmp(pending[i].flag, "--disk") == 0)
			apply_disk(cfg, pending[i].value);
		else if (pending[i].flag && strcmp(pending[i].flag, "--net") == 0)
			apply_net(cfg, pending[i].value);
		else if (pending[i].flag && strcmp(pending[i].flag, "--rng") == 0)
			apply_rng(cfg, pending[i].value);
		else if (pending[i].flag && strcmp(pending[i].flag, "--vsock") == 0)
			apply_vsock(cfg, pending[i].value);
		else if (pending[i].flag)
			apply_flag(cfg, &pending[i]);
		else
			apply_set(cfg, pending[i].section);
	}
	free(pending);
}

static const char *signal_name(int signo)
{
	switch (signo) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	case SIGHUP:
		return "SIGHUP";
	default:
		return "a signal";
	}
}

/* Prints the one-line summary (if the level asks for it) and returns the exit status. */
static int report_exit(const struct mvm_config *cfg, const struct mvm_exit *ex)
{
	const char *msg = ex->message;
	const char *sep = msg[0] ? ": " : "";
	bool info = cfg->log_level >= MVM_LOG_INFO;
	bool warn = cfg->log_level >= MVM_LOG_WARN;

	switch (ex->reason) {
	case MVM_EXIT_POWEROFF:
		return STATUS_POWEROFF;
	case MVM_EXIT_GUEST_STATUS:
		if (ex->guest_status < 0)
			return STATUS_POWEROFF;
		return ex->guest_status > STATUS_GUEST_MAX ? STATUS_GUEST_MAX : ex->guest_status;
	case MVM_EXIT_REBOOT:
		if (info)
			fprintf(stderr, PROG ": guest rebooted%s%s\n", sep, msg);
		return STATUS_REBOOT;
	case MVM_EXIT_PANIC:
		if (warn)
			fprintf(stderr, PROG ": guest panicked%s%s\n", sep, msg);
		return STATUS_PANIC;
	case MVM_EXIT_TIMEOUT:
		if (info)
			fprintf(stderr, PROG ": timeout after %u s\n", cfg->timeout_s);
		return STATUS_TIMEOUT;
	case MVM_EXIT_STOPPED:
		if (stop_signal) {
			if (info)
				fprintf(stderr, PROG ": stopped by %s\n", signal_name(stop_signal));
			return STATUS_SIGNAL_BASE + stop_signal;
		}
		if (info)
			fprintf(stderr, PROG ": stopped%s%s\n", sep, msg);
		return STATUS_SIGNAL_BASE + SIGINT;
	case MVM_EXIT_GUEST_FAULT:
		fprintf(stderr, PROG ": guest fault%s%s\n", sep, msg);
		return STATUS_GUEST_FAULT;
	case MVM_EXIT_HOST_ERROR:
		fprintf(stderr, PROG ": %s\n", msg[0] ? msg : "host error");
		return STATUS_ERROR;
	}
	fprintf(stderr, PROG ": run ended for an unknown reason (%d)\n", (int)ex->reason);
	return STATUS_ERROR;
}

static void set_running_vm(struct mvm_vm *vm)
{
	running_vm = vm;
	/* A signal that came before the VM existed stops it now. */
	if (vm && stop_signal)
		mvm_vm_request_stop(vm);
}

/* Firecracker's way in: the API socket and/or its config file (vmm/api_main.c). */
static int api_main(struct mvm_config *cfg)
{
	struct mvm_exit ex;
	char err[1024];
	int ret;

	if (no_api && !api_opts.config_file)
		fail_usage("--no-api needs --config-file (nothing would configure the VM)");
	if (no_api)
		api_opts.sock = NULL;
	if (jail_spec)
		fail_usage("--jail does not combine with --api-sock or --config-file yet");
	api_opts.boot_now = cfg->kernel != NULL;
	if (api_opts.boot_now && mvm_config_validate(cfg, err, sizeof(err)) < 0)
		fail("%s", err);
	api_opts.stop = &stop_signal;
	api_opts.on_vm = set_running_vm;
	install_signal_handlers();
	ret = api_cli_run(cfg, &api_opts, &ex, err, sizeof(err));
	if (ret < 0)
		fail("%s", err[0] ? err : strerror(-ret));
	return report_exit(cfg, &ex);
}

int main(int argc, char **argv)
{
	struct mvm_config cfg;
	struct mvm_exit ex;
	struct mvm_vm *vm = NULL;
	char err[512];
	int ret, status;

	/* Subcommands: no VM, their own arguments and exit statuses. */
	if (argc >= 2 && strcmp(argv[1], "snapshot-info") == 0)
		return snapshot_info_main(argc - 1, argv + 1, stdout, stderr);
	config_init(&cfg);
	parse_args(argc, argv, &cfg);
	if (api_opts.sock || api_opts.config_file || no_api || api_opts.id) {
		status = api_main(&cfg);
		config_release(&cfg);
		return status;
	}
	if (mvm_config_validate(&cfg, err, sizeof(err)) < 0)
		fail("%s", err);

	/* Before create: a Ctrl-C while the kernel loads still stops us cleanly. */
	install_signal_handlers();
	if (jail_spec) {
		struct mvm_jail jail;
		int jail_status = STATUS_ERROR;

		if (mvm_jail_parse(&jail, jail_spec, err, sizeof(err)) < 0)
			fail_usage("--jail %s: %s", jail_spec, err);
		/* The parent returns 1 with the jailed child's status; the child goes on. */
		ret = mvm_jail_enter(&jail, &cfg, &jail_status, err, sizeof(err));
		mvm_jail_free(&jail);
		if (ret < 0)
			fail("%s", err);
		if (ret > 0) {
			config_release(&cfg);
			return jail_status;
		}
	}
	ret = mvm_vm_create(&cfg, &vm, err, sizeof(err));
	if (ret < 0)
		fail("%s", err[0] ? err : strerror(-ret));
	if (stop_signal) {
		mvm_vm_destroy(vm);
		config_release(&cfg);
		return STATUS_SIGNAL_BASE + stop_signal;
	}
	running_vm = vm;
	/* A signal between the check above and here is caught by request_stop. */
	if (stop_signal)
		mvm_vm_request_stop(vm);

	if (cfg.console_stdin)
		enter_raw_mode();
	memset(&ex, 0, sizeof(ex));
	ret = mvm_vm_run(vm, &ex);
	running_vm = NULL;
	mvm_vm_destroy(vm);
	restore_terminal();

	if (ret < 0) {
		fprintf(stderr, PROG ": cannot run the VM: %s\n",
			ex.message[0] ? ex.message : strerror(-ret));
		status = STATUS_ERROR;
	} else {
		status = report_exit(&cfg, &ex);
	}
	config_release(&cfg);
	return status;
}
