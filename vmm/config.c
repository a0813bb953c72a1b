/* SPDX-License-Identifier: MIT */
/*
 * Configuration: one table of settings (section, key, type, field) that both
 * vm.ini and the CLI go through, so a value is checked, and a mistake is
 * reported, the same way whichever way it was given.  See vm.ini.example for
 * what each key means.
 *
 * Error messages name the setting as vm.ini spells it and quote the value:
 *   [vm] mem = "12Q": not a size (use a number with an optional K, M, G or T suffix, e.g. 512M)
 * The CLI relies on that shape (`[SECTION] KEY = "VALUE": REASON`) to re-word
 * the message with the flag's name, so keep it.
 */
#include "vmm/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <iniparser.h>

#include "vmm/log.h"

#define DEFAULT_CPUS	  1
#define DEFAULT_MEM_BYTES (256ull << 20)
/* Whole MiB: every "M"/"G" value passes, e820 and log lines stay in MiB. */
#define MEM_ALIGN_BYTES (1ull << 20)

/*
 * iniparser 4.1 reads a line into a 1024-byte buffer (ASCIILINESZ) and fails
 * the whole file, printing to stderr, if a line does not fit.  We check first
 * with a little margin so the user gets a line number instead.
 */
#define INI_MAX_LINE 1000

enum setting_type {
	SET_CPUS,
	SET_SIZE,
	SET_PATH, /* relative paths in an ini file are resolved against its directory */
	SET_CMDLINE,
	SET_BOOL,
	SET_SECONDS,
	SET_LOG_LEVEL,
	SET_ENUM,	 /* one of `names`, stored as an int-sized enum */
	SET_DISK_PATH,	 /* a SET_PATH that also makes the disk count cover this disk */
	SET_SERIAL,	 /* a disk serial: at most VIRTIO_BLK_ID_BYTES (20) bytes */
	SET_NET_BACKEND, /* a SET_ENUM that also makes the NIC count cover this NIC */
	SET_MAC,	 /* "xx:xx:xx:xx:xx:xx", unicast */
	SET_STRING,	 /* free text, empty = unset */
	SET_RATE,	 /* bytes per second with an optional K/M/G suffix; 0 = unlimited */
	SET_VSOCK_CID,	 /* 0 (none) or 3..0xfffffffe: 0-2 are reserved, -1 is VMADDR_CID_ANY */
};

struct setting {
	const char *section;
	const char *key;
	enum setting_type type;
	size_t offset;		  /* of the field in struct mvm_config */
	const char *const *names; /* SET_ENUM: value i is names[i]; NULL-terminated */
};

#define DISK_SERIAL_MAX 20

static const char *const cpu_template_names[] = {"auto", "host", "baseline", NULL};
static const char *const decompress_names[] = {"auto", "host", "guest", NULL};
static const char *const disk_cache_names[] = {"writeback", "none", "unsafe", NULL};
static const char *const net_backend_names[] = {"none", "tap", "user", NULL};
static const char *const seccomp_names[] = {"on", "log", "off", NULL};

#define FIELD(name) offsetof(struct mvm_config, name)

/* Keep in the order of vm.ini.example; sections appear in this order in messages. */
static const struct setting settings[] = {
    {"vm", "cpus", SET_CPUS, FIELD(cpus), NULL},
    {"vm", "mem", SET_SIZE, FIELD(mem_bytes), NULL},
    {"vm", "cpu_template", SET_ENUM, FIELD(cpu_template), cpu_template_names},
    {"boot", "kernel", SET_PATH, FIELD(kernel), NULL},
    {"boot", "initrd", SET_PATH, FIELD(initrd), NULL},
    {"boot", "cmdline", SET_CMDLINE, FIELD(cmdline), NULL},
    {"boot", "decompress", SET_ENUM, FIELD(decompress), decompress_names},
    {"console", "log", SET_PATH, FIELD(console_log), NULL},
    {"console", "stdout", SET_BOOL, FIELD(console_stdout), NULL},
    {"console", "stdin", SET_BOOL, FIELD(console_stdin), NULL},
    {"run", "timeout", SET_SECONDS, FIELD(timeout_s), NULL},
    {"run", "log_level", SET_LOG_LEVEL, FIELD(log_level), NULL},
    {"run", "seccomp", SET_ENUM, FIELD(seccomp), seccomp_names},
#define DISK_SETTINGS(i)                                                                           \
	{"disk" #i, "path", SET_DISK_PATH, FIELD(disks[i].path), NULL},                            \
	    {"disk" #i, "ro", SET_BOOL, FIELD(disks[i].read_only), NULL},                          \
	    {"disk" #i, "serial", SET_SERIAL, FIELD(disks[i].serial), NULL},                       \
	{                                                                                          \
		"disk" #i, "cache", SET_ENUM, FIELD(disks[i].cache), disk_cache_names              \
	}
    DISK_SETTINGS(0),
    DISK_SETTINGS(1),
    DISK_SETTINGS(2),
    DISK_SETTINGS(3),
    DISK_SETTINGS(4),
    DISK_SETTINGS(5),
    DISK_SETTINGS(6),
    DISK_SETTINGS(7),
#undef DISK_SETTINGS
#define NET_SETTINGS(i)                                                                            \
	{"net" #i, "backend", SET_NET_BACKEND, FIELD(nets[i].backend), net_backend_names},         \
	    {"net" #i, "tap", SET_STRING, FIELD(nets[i].tap), NULL},                               \
	    {"net" #i, "mac", SET_MAC, FIELD(nets[i].mac), NULL},                                  \
	{                                                                                          \
		"net" #i, "hostfwd", SET_STRING, FIELD(nets[i].hostfwd), NULL                      \
	}
    NET_SETTINGS(0),
    NET_SETTINGS(1),
    NET_SETTINGS(2),
    NET_SETTINGS(3),
#undef NET_SETTINGS
    {"rng", "enabled", SET_BOOL, FIELD(rng), NULL},
    {"rng", "rate", SET_RATE, FIELD(rng_rate), NULL},
    {"vsock", "cid", SET_VSOCK_CID, FIELD(vsock_cid), NULL},
    {"vsock", "uds", SET_PATH, FIELD(vsock_uds), NULL},
};
_Static_assert(MVM_MAX_NICS == 4, "one NET_SETTINGS line per NIC");
_Static_assert(MVM_MAX_DISKS == 8, "one DISK_SETTINGS line per disk");

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static void errorf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void errorf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void config_init(struct mvm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus = DEFAULT_CPUS;
	cfg->mem_bytes = DEFAULT_MEM_BYTES;
	cfg->console_stdout = true;
	cfg->console_stdin = true;
	cfg->timeout_s = 0;
	cfg->log_level = MVM_LOG_INFO;
	cfg->rng = true;
	cfg->seccomp = MVM_SECCOMP_ON;
	cfg->console_out_fd = cfg->console_in_fd = -1;
}

void config_release(struct mvm_config *cfg)
{
	for (size_t i = 0; i < NSETTINGS; i++) {
		if (settings[i].type == SET_PATH || settings[i].type == SET_CMDLINE ||
		    settings[i].type == SET_DISK_PATH || settings[i].type == SET_SERIAL ||
		    settings[i].type == SET_MAC || settings[i].type == SET_STRING) {
			char **field = (char **)((char *)cfg + settings[i].offset);
			free(*field);
			*field = NULL;
		}
	}
}

struct mvm_config *mvm_config_new(void)
{
	struct mvm_config *cfg = malloc(sizeof(*cfg));

	if (cfg)
		config_init(cfg);
	return cfg;
}

void mvm_config_free(struct mvm_config *cfg)
{
	if (!cfg)
		return;
	config_release(cfg);
	free(cfg);
}

int mvm_parse_size(const char *s, uint64_t *out)
{
	uint64_t value = 0, mult = 1;
	bool overflow = false;
	const char *p = s;

	if (!s || !isdigit((unsigned char)*p))
		return -EINVAL; /* empty, sign, space or junk first */
	for (; isdigit((unsigned char)*p); p++) {
		/* Keep scanning: "99999999999999999999x" is junk, not merely too big. */
		if (__builtin_mul_overflow(value, 10, &value) ||
		    __builtin_add_overflow(value, (uint64_t)(*p - '0'), &value))
			overflow = true;
	}
	switch (tolower((unsigned char)*p)) {
	case 'k':
		mult = 1ull << 10;
		break;
	case 'm':
		mult = 1ull << 20;
		break;
	case 'g':
		mult = 1ull << 30;
		break;
	case 't':
		mult = 1ull << 40;
		break;
	default:
		mult = 1;
		break;
	}
	if (mult != 1) {
		p++;
		if (tolower((unsigned char)p[0]) == 'i' && tolower((unsigned char)p[1]) == 'b')
			p += 2; /* "MiB" */
		else if (tolower((unsigned char)p[0]) == 'b')
			p++; /* "MB": binary too, as in QEMU */
	} else if (tolower((unsigned char)*p) == 'b') {
		p++; /* "4096B" */
	}
	if (*p != '\0')
		return -EINVAL;
	if (overflow || __builtin_mul_overflow(value, mult, &value))
		return -ERANGE;
	*out = value;
	return 0;
}

/* Parses a plain decimal number into [0, max]; -EINVAL for junk, -ERANGE above max. */
static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t value = 0;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		if (__builtin_mul_overflow(value, 10, &value) ||
		    __builtin_add_overflow(value, (uint64_t)(*s - '0'), &value))
			value = UINT64_MAX; /* saturate; junk after it is still junk */
	}
	if (*s != '\0')
		return -EINVAL;
	if (value > max)
		return -ERANGE;
	*out = value;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* "64M", "16G", "4096": the shortest exact spelling of a byte count. */
static void format_size(char *buf, size_t len, uint64_t bytes)
{
	static const char suffixes[] = "KMGT";
	int i = -1;

	while (i < 3 && bytes != 0 && (bytes & 1023) == 0) {
		bytes >>= 10;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)bytes, suffixes[i]);
}

/*
 * The value as it appears in a message: quoted by the caller, with '"', '\'
 * and control characters escaped so the message stays one line and the CLI
 * can find the closing quote, and long values (a command line) shortened.
 */
static void describe_value(char *buf, size_t len, const char *value)
{
	static const size_t max_shown = 64;
	size_t n = 0, shown = 0;
	const char *p;

	for (p = value; *p && n + 8 < len; p++, shown++) {
		unsigned char c = (unsigned char)*p;
		if (shown == max_shown)
			break;
		if (c == '"' || c == '\\')
			n += (size_t)snprintf(buf + n, len - n, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(buf + n, len - n, "\\x%02x", c);
		else
			buf[n++] = (char)c;
	}
	if (*p)
		n += (size_t)snprintf(buf + n, len - n, "...");
	buf[n] = '\0';
}

static bool section_known(const char *section)
{
	for (size_t i = 0; i < NSETTINGS; i++) {
		if (strcasecmp(settings[i].section, section) == 0)
			return true;
	}
	return false;
}

static void unknown_section_error(const char *section, char *err, size_t errlen)
{
	char known[128] = "";
	size_t n = 0;

	for (size_t i = 0; i < NSETTINGS; i++) {
		if (i > 0 && strcmp(settings[i].section, settings[i - 1].section) == 0)
			continue;
		if (strncmp(settings[i].section, "disk", 4) == 0 ||
		    strncmp(settings[i].section, "net", 3) == 0)
			continue; /* listed once below as ranges */
		n += (size_t)snprintf(known + n, sizeof(known) - n, "%s%s", n ? ", " : "",
				      settings[i].section);
	}
	errorf(err, errlen, "unknown section [%s] (known: %s, disk0..disk%d, net0..net%d)", section,
	       known, MVM_MAX_DISKS - 1, MVM_MAX_NICS - 1);
}

static const struct setting *find_setting(const char *section, const char *key, char *err,
					  size_t errlen)
{
	char known[256] = "";
	size_t n = 0;

	if (!section_known(section)) {
		unknown_section_error(section, err, errlen);
		return NULL;
	}
	for (size_t i = 0; i < NSETTINGS; i++) {
		if (strcasecmp(settings[i].section, section) != 0)
			continue;
		if (strcasecmp(settings[i].key, key) == 0)
			return &settings[i];
		n += (size_t)snprintf(known + n, sizeof(known) - n, "%s%s", n ? ", " : "",
				      settings[i].key);
	}
	errorf(err, errlen, "unknown key \"%s\" in section [%s] (known: %s)", key, section, known);
	return NULL;
}

static int set_string(char **field, const char *value, bool empty_is_unset)
{
	char *copy = NULL;

	if (!(empty_is_unset && value[0] == '\0')) {
		copy = strdup(value);
		if (!copy)
			return -ENOMEM;
	}
	free(*field);
	*field = copy;
	return 0;
}

/* Sets one setting; on a bad value returns -EINVAL and the reason alone in why. */
static int apply_setting(struct mvm_config *cfg, const struct setting *s, const char *value,
			 char *why, size_t whylen)
{
	void *field = (char *)cfg + s->offset;
	char lo[32], hi[32];
	uint64_t n;
	int ret;

	switch (s->type) {
	case SET_CPUS:
		ret = parse_uint(value, UINT64_MAX, &n);
		if (ret == 0 && (n < MVM_MIN_CPUS || n > MVM_MAX_CPUS))
			ret = -ERANGE;
		if (ret < 0) {
			snprintf(why, whylen, "%s (use %d..%d)",
				 ret == -ERANGE ? "out of range" : "not a number", MVM_MIN_CPUS,
				 MVM_MAX_CPUS);
			return -EINVAL;
		}
		*(uint32_t *)field = (uint32_t)n;
		return 0;
	case SET_SIZE:
		format_size(lo, sizeof(lo), MVM_MIN_MEM_BYTES);
		format_size(hi, sizeof(hi), MVM_MAX_MEM_BYTES);
		ret = mvm_parse_size(value, &n);
		if (ret == -EINVAL) {
			snprintf(why, whylen,
				 "not a size (use a number with an optional K, M, G or T suffix, "
				 "e.g. 512M)");
			return -EINVAL;
		}
		if (ret == -ERANGE || n < MVM_MIN_MEM_BYTES || n > MVM_MAX_MEM_BYTES) {
			snprintf(why, whylen, "out of range (use %s..%s)", lo, hi);
			return -EINVAL;
		}
		if (n % MEM_ALIGN_BYTES) {
			snprintf(why, whylen, "not a whole number of MiB (use e.g. 512M or 2G)");
			return -EINVAL;
		}
		*(uint64_t *)field = n;
		return 0;
	case SET_PATH:
		return set_string(field, value, true);
	case SET_DISK_PATH: {
		unsigned index =
		    (unsigned)((s->offset - FIELD(disks[0].path)) / sizeof(struct mvm_disk_config));
		ret = set_string(field, value, true);
		if (ret == 0 && cfg->ndisks < index + 1)
			cfg->ndisks = index + 1;
		return ret;
	}
	case SET_SERIAL:
		if (strlen(value) > DISK_SERIAL_MAX) {
			snprintf(why, whylen, "too long (%zu bytes, at most %d)", strlen(value),
				 DISK_SERIAL_MAX);
			return -EINVAL;
		}
		return set_string(field, value, true);
	case SET_STRING:
		return set_string(field, value, true);
	case SET_MAC: {
		unsigned b[6];
		char tail;
		if (value[0] && (sscanf(value, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2],
					&b[3], &b[4], &b[5], &tail) != 6 ||
				 strlen(value) != 17 || (b[0] & 1))) {
			snprintf(why, whylen,
				 "not a unicast MAC address (use six hex bytes, e.g. "
				 "52:54:00:12:34:56)");
			return -EINVAL;
		}
		return set_string(field, value, true);
	}
	case SET_RATE:
		ret = mvm_parse_size(value, &n);
		if (ret < 0) {
			snprintf(why, whylen,
				 "not a rate (bytes per second with an optional K, M or G suffix; "
				 "0 = unlimited)");
			return -EINVAL;
		}
		*(uint64_t *)field = n;
		return 0;
	case SET_VSOCK_CID:
		ret = parse_uint(value, UINT32_MAX, &n);
		if (ret < 0 || (n != 0 && (n < 3 || n == UINT32_MAX))) {
			snprintf(why, whylen,
				 "not a guest CID (use 3..4294967294; 0 = no vsock device)");
			return -EINVAL;
		}
		*(uint32_t *)field = (uint32_t)n;
		return 0;
	case SET_NET_BACKEND:
	case SET_ENUM: {
		char known[128] = "";
		for (int i = 0; s->names[i]; i++) {
			if (strcasecmp(value, s->names[i]) == 0) {
				*(int *)field = i;
				if (s->type == SET_NET_BACKEND) {
					unsigned index =
					    (unsigned)((s->offset - FIELD(nets[0].backend)) /
						       sizeof(struct mvm_net_config));
					if (i != MVM_NET_NONE && cfg->nnets < index + 1)
						cfg->nnets = index + 1;
				}
				return 0;
			}
			snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
				 i ? ", " : "", s->names[i]);
		}
		snprintf(why, whylen, "not one of %s", known);
		return -EINVAL;
	}
	case SET_CMDLINE:
		if (strlen(value) >= MVM_MAX_CMDLINE) {
			snprintf(why, whylen, "too long (%zu bytes, at most %d)", strlen(value),
				 MVM_MAX_CMDLINE - 1);
			return -EINVAL;
		}
		return set_string(field, value, false);
	case SET_BOOL:
		if (parse_bool(value, field) < 0) {
			snprintf(why, whylen,
				 "not a boolean (use true/false, yes/no, on/off or 1/0)");
			return -EINVAL;
		}
		return 0;
	case SET_SECONDS:
		if (parse_uint(value, UINT32_MAX, &n) < 0) {
			snprintf(why, whylen,
				 "not a number of seconds (use 0 for no limit, or 1..%u)",
				 UINT32_MAX);
			return -EINVAL;
		}
		*(uint32_t *)field = (uint32_t)n;
		return 0;
	case SET_LOG_LEVEL: {
		enum log_level level;
		/* One list of level names: log.c's, which also takes "warning". */
		if (log_level_parse(value, &level) < 0) {
			snprintf(why, whylen, "not a log level (use error, warn, info or debug)");
			return -EINVAL;
		}
		*(enum mvm_log_level *)field = (enum mvm_log_level)level;
		return 0;
	}
	}
	snprintf(why, whylen, "internal error: unhandled setting type");
	return -EINVAL;
}

int mvm_config_set(struct mvm_config *cfg, const char *section, const char *key, const char *value,
		   char *err, size_t errlen)
{
	const struct setting *s;
	char why[256], shown[300];
	int ret;

	if (!section || !key || !value) {
		errorf(err, errlen, "mvm_config_set: section, key and value are required");
		return -EINVAL;
	}
	s = find_setting(section, key, err, errlen);
	if (!s)
		return -EINVAL;
	why[0] = '\0';
	ret = apply_setting(cfg, s, value, why, sizeof(why));
	if (ret == -ENOMEM)
		snprintf(why, sizeof(why), "out of memory");
	if (ret < 0) {
		describe_value(shown, sizeof(shown), value);
		errorf(err, errlen, "[%s] %s = \"%s\": %s", s->section, s->key, shown, why);
	}
	return ret;
}

static char *strip(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

struct seen_key {
	char *name; /* "section:key", lower case as iniparser stores it */
	unsigned line;
};

static void free_seen(struct seen_key *seen, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(seen[i].name);
	free(seen);
}

/*
 * iniparser reports syntax errors only on stderr (through a process-wide
 * callback) and then returns NULL, and silently keeps the last of two equal
 * keys.  This pass reads the file the way iniparser 4.1 does (lines joined
 * on a trailing '\', ';'/'#' comment lines, "[section]", "key = value") and
 * rejects what iniparser would reject or silently mangle, with a line number.
 */
static int ini_precheck(FILE *f, const char *path, char *err, size_t errlen)
{
	char *line = NULL, *logical = NULL;
	size_t cap = 0, logical_len = 0;
	char section[INI_MAX_LINE + 1] = "";
	struct seen_key *seen = NULL;
	size_t nseen = 0;
	unsigned lineno = 0, start_line = 0;
	ssize_t len;
	int ret = 0;

	logical = malloc(INI_MAX_LINE + 1);
	if (!logical) {
		errorf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		bool continued;
		char *text, *eq;

		lineno++;
		if (logical_len == 0)
			start_line = lineno;
		while (len > 0 && isspace((unsigned char)line[len - 1]))
			line[--len] = '\0';
		continued = len > 0 && line[len - 1] == '\\';
		if (continued)
			line[--len] = '\0';
		if ((size_t)len >= INI_MAX_LINE || logical_len + (size_t)len >= INI_MAX_LINE) {
			errorf(err, errlen, "%s:%u: line too long (at most %d characters)", path,
			       lineno, INI_MAX_LINE - 1);
			ret = -EINVAL;
			goto out;
		}
		memcpy(logical + logical_len, line, (size_t)len);
		logical_len += (size_t)len;
		logical[logical_len] = '\0';
		if (continued)
			continue;
		logical_len = 0;
		text = strip(logical);
		if (text[0] == '\0' || text[0] == ';' || text[0] == '#')
			continue;
		if (text[0] == '[') {
			char *name;
			size_t n = strlen(text);
			if (text[n - 1] != ']') {
				errorf(err, errlen,
				       "%s:%u: syntax error: a section header is \"[name]\" alone "
				       "on its line",
				       path, start_line);
				ret = -EINVAL;
				goto out;
			}
			text[n - 1] = '\0';
			name = strip(text + 1);
			if (name[0] == '\0' || strpbrk(name, "[]:")) {
				errorf(err, errlen, "%s:%u: bad section name \"[%s]\"", path,
				       start_line, name);
				ret = -EINVAL;
				goto out;
			}
			for (char *c = name; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			strcpy(section, name);
			continue;
		}
		eq = strchr(text, '=');
		if (!eq || eq == text) {
			errorf(err, errlen,
			       "%s:%u: syntax error: expected \"key = value\", \"[section]\" or a "
			       "comment",
			       path, start_line);
			ret = -EINVAL;
			goto out;
		}
		*eq = '\0';
		text = strip(text);
		if (section[0] == '\0') {
			errorf(err, errlen,
			       "%s:%u: key \"%s\" is outside any section (put it under [vm], "
			       "[boot], [console] or [run])",
			       path, start_line, text);
			ret = -EINVAL;
			goto out;
		}
		{
			struct seen_key *grown;
			char *name;

			if (asprintf(&name, "%s:%s", section, text) < 0) {
				ret = -ENOMEM;
				errorf(err, errlen, "%s: out of memory", path);
				goto out;
			}
			for (char *c = name; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			for (size_t i = 0; i < nseen; i++) {
				if (strcmp(seen[i].name, name) == 0) {
					errorf(err, errlen,
					       "%s:%u: [%s] %s is set twice (first on line %u)",
					       path, start_line, section, text, seen[i].line);
					free(name);
					ret = -EINVAL;
					goto out;
				}
			}
			grown = realloc(seen, (nseen + 1) * sizeof(*seen));
			if (!grown) {
				free(name);
				ret = -ENOMEM;
				errorf(err, errlen, "%s: out of memory", path);
				goto out;
			}
			seen = grown;
			seen[nseen++] = (struct seen_key){.name = name, .line = start_line};
		}
	}
	if (ferror(f)) {
		ret = -(errno ? errno : EIO);
		errorf(err, errlen, "cannot read %s: %s", path, strerror(-ret));
	}
out:
	free_seen(seen, nseen);
	free(line);
	free(logical);
	return ret;
}

/* A relative path from an ini file, made relative to the file's directory. */
static int resolve_path(const char *ini_path, const char *value, char **out)
{
	const char *slash = strrchr(ini_path, '/');

	*out = NULL;
	if (value[0] == '\0' || value[0] == '/' || !slash)
		return 0; /* empty, absolute, or the ini file is in the current directory */
	if (asprintf(out, "%.*s/%s", (int)(slash - ini_path), ini_path, value) < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int load_section(struct mvm_config *cfg, dictionary *dict, const char *path,
			const char *section, char *err, size_t errlen)
{
	int nkeys = iniparser_getsecnkeys(dict, section);
	const char **keys;
	char msg[512];
	int ret = 0;

	if (nkeys <= 0)
		return 0;
	keys = calloc((size_t)nkeys, sizeof(*keys));
	if (!keys) {
		errorf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	if (!iniparser_getseckeys(dict, section, keys)) {
		errorf(err, errlen, "%s: cannot list the keys of [%s]", path, section);
		free(keys);
		return -EINVAL;
	}
	for (int i = 0; i < nkeys && ret == 0; i++) {
		/* iniparser names keys "section:key". */
		const char *key = keys[i] + strlen(section) + 1;
		const char *value = iniparser_getstring(dict, keys[i], "");
		const struct setting *s = find_setting(section, key, msg, sizeof(msg));
		char *resolved = NULL;

		if (!s) {
			errorf(err, errlen, "%s: %s", path, msg);
			ret = -EINVAL;
			break;
		}
		if (s->type == SET_PATH || s->type == SET_DISK_PATH) {
			ret = resolve_path(path, value, &resolved);
			if (ret < 0) {
				errorf(err, errlen, "%s: out of memory", path);
				break;
			}
		}
		ret = mvm_config_set(cfg, section, key, resolved ? resolved : value, msg,
				     sizeof(msg));
		if (ret < 0)
			errorf(err, errlen, "%s: %s", path, msg);
		free(resolved);
	}
	free(keys);
	return ret;
}

int mvm_config_load_ini(struct mvm_config *cfg, const char *path, char *err, size_t errlen)
{
	dictionary *dict;
	struct stat st;
	FILE *f;
	int nsec, ret;

	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		errorf(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		errorf(err, errlen, "cannot read config file %s: %s", path, strerror(EISDIR));
		return -EISDIR;
	}
	ret = ini_precheck(f, path, err, errlen);
	fclose(f);
	if (ret < 0)
		return ret;

	dict = iniparser_load(path);
	if (!dict) {
		errorf(err, errlen, "%s: iniparser could not read the file", path);
		return -EINVAL;
	}
	nsec = iniparser_getnsec(dict);
	for (int i = 0; i < nsec && ret == 0; i++) {
		const char *section = iniparser_getsecname(dict, i);
		char msg[512];

		if (!section)
			continue;
		if (!section_known(section)) {
			unknown_section_error(section, msg, sizeof(msg));
			errorf(err, errlen, "%s: %s", path, msg);
			ret = -EINVAL;
			break;
		}
		ret = load_section(cfg, dict, path, section, err, errlen);
	}
	iniparser_freedict(dict);
	return ret;
}

int mvm_config_validate(const struct mvm_config *cfg, char *err, size_t errlen)
{
	char lo[32], hi[32], cur[32];

	if (!cfg->kernel || !cfg->kernel[0]) {
		errorf(err, errlen, "no kernel: pass --kernel PATH or set [boot] kernel in vm.ini");
		return -EINVAL;
	}
	if (cfg->cpus < MVM_MIN_CPUS || cfg->cpus > MVM_MAX_CPUS) {
		errorf(err, errlen, "[vm] cpus = %u: out of range (use %d..%d)", cfg->cpus,
		       MVM_MIN_CPUS, MVM_MAX_CPUS);
		return -EINVAL;
	}
	format_size(cur, sizeof(cur), cfg->mem_bytes);
	format_size(lo, sizeof(lo), MVM_MIN_MEM_BYTES);
	format_size(hi, sizeof(hi), MVM_MAX_MEM_BYTES);
	if (cfg->mem_bytes < MVM_MIN_MEM_BYTES || cfg->mem_bytes > MVM_MAX_MEM_BYTES) {
		errorf(err, errlen, "[vm] mem = %s: out of range (use %s..%s)", cur, lo, hi);
		return -EINVAL;
	}
	if (cfg->mem_bytes % MEM_ALIGN_BYTES) {
		errorf(err, errlen, "[vm] mem = %s: not a whole number of MiB", cur);
		return -EINVAL;
	}
	if (cfg->cmdline && strlen(cfg->cmdline) >= MVM_MAX_CMDLINE) {
		errorf(err, errlen, "[boot] cmdline: too long (%zu bytes, at most %d)",
		       strlen(cfg->cmdline), MVM_MAX_CMDLINE - 1);
		return -EINVAL;
	}
	for (unsigned i = 0; i < cfg->ndisks && i < MVM_MAX_DISKS; i++) {
		if (!cfg->disks[i].path || !cfg->disks[i].path[0]) {
			errorf(err, errlen,
			       "[disk%u] has no path, but a later disk is set (disks are "
			       "numbered from disk0 without gaps)",
			       i);
			return -EINVAL;
		}
	}
	for (unsigned i = 0; i < cfg->nnets && i < MVM_MAX_NICS; i++) {
		const struct mvm_net_config *net = &cfg->nets[i];
		if (net->backend == MVM_NET_NONE) {
			errorf(err, errlen,
			       "[net%u] has no backend, but a later NIC is set (NICs are numbered "
			       "from net0 without gaps)",
			       i);
			return -EINVAL;
		}
		if (net->backend == MVM_NET_TAP && (!net->tap || !net->tap[0])) {
			errorf(err, errlen, "[net%u] backend = tap needs tap = NAME", i);
			return -EINVAL;
		}
		if (net->backend == MVM_NET_TAP && strlen(net->tap) >= 16) {
			errorf(err, errlen,
			       "[net%u] tap = \"%s\": interface names are at most 15 bytes", i,
			       net->tap);
			return -EINVAL;
		}
		if (net->backend != MVM_NET_USER && net->hostfwd) {
			errorf(err, errlen, "[net%u] hostfwd needs backend = user", i);
			return -EINVAL;
		}
	}
	if (cfg->vsock_cid && (!cfg->vsock_uds || !cfg->vsock_uds[0])) {
		errorf(err, errlen, "[vsock] cid = %u needs uds = PATH", cfg->vsock_cid);
		return -EINVAL;
	}
	if (!cfg->vsock_cid && cfg->vsock_uds) {
		errorf(err, errlen, "[vsock] uds = \"%s\" needs cid = N (3 or more)",
		       cfg->vsock_uds);
		return -EINVAL;
	}
	/* sun_path holds 107 bytes; guest connects go to PATH_4294967295. */
	if (cfg->vsock_uds && strlen(cfg->vsock_uds) + 11 > 107) {
		errorf(err, errlen,
		       "[vsock] uds = \"%s\": too long for a Unix socket (at most 96 bytes, "
		       "so that PATH_PORT fits)",
		       cfg->vsock_uds);
		return -EINVAL;
	}
	if (cfg->ndisks > MVM_MAX_DISKS) {
		errorf(err, errlen, "too many disks (at most %d)", MVM_MAX_DISKS);
		return -EINVAL;
	}
	if ((unsigned)cfg->log_level > MVM_LOG_DEBUG) {
		errorf(err, errlen,
		       "[run] log_level = %d: not a log level (use error, warn, "
		       "info or debug)",
		       (int)cfg->log_level);
		return -EINVAL;
	}
	return 0;
}

int mvm_config_set_vsock(struct mvm_config *cfg, uint32_t guest_cid, const char *uds_path)
{
	char cid[16];
	int ret;

	if (!cfg || !uds_path || guest_cid < 3)
		return -EINVAL;
	snprintf(cid, sizeof(cid), "%u", guest_cid);
	ret = mvm_config_set(cfg, "vsock", "cid", cid, NULL, 0);
	if (ret == 0)
		ret = mvm_config_set(cfg, "vsock", "uds", uds_path, NULL, 0);
	return ret;
}

const char *mvm_exit_reason_name(enum mvm_exit_reason reason)
{
	static const char *const names[] = {
	    [MVM_EXIT_POWEROFF] = "poweroff",	    [MVM_EXIT_GUEST_STATUS] = "guest-exit-status",
	    [MVM_EXIT_REBOOT] = "reboot",	    [MVM_EXIT_PANIC] = "panic",
	    [MVM_EXIT_TIMEOUT] = "timeout",	    [MVM_EXIT_STOPPED] = "stopped",
	    [MVM_EXIT_GUEST_FAULT] = "guest-fault", [MVM_EXIT_HOST_ERROR] = "host-error",
	};

	if ((unsigned)reason >= sizeof(names) / sizeof(names[0]) || !names[reason])
		return "unknown";
	return names[reason];
}

/* ---- The C API's other ways in: getters and typed setters -------------------- */

int mvm_config_get(const struct mvm_config *cfg, const char *section, const char *key, char *buf,
		   size_t buflen)
{
	static const char *const level_names[] = {"error", "warn", "info", "debug"};
	const struct setting *s;
	const void *field;
	char tmp[64] = "";
	const char *text = tmp;
	size_t len;

	if (!cfg || !section || !key)
		return -EINVAL;
	s = find_setting(section, key, NULL, 0);
	if (!s)
		return -EINVAL;
	field = (const char *)cfg + s->offset;
	switch (s->type) {
	case SET_CPUS:
	case SET_SECONDS:
	case SET_VSOCK_CID:
		snprintf(tmp, sizeof(tmp), "%u", *(const uint32_t *)field);
		break;
	case SET_SIZE:
	case SET_RATE:
		format_size(tmp, sizeof(tmp), *(const uint64_t *)field);
		break;
	case SET_PATH:
	case SET_CMDLINE:
	case SET_DISK_PATH:
	case SET_SERIAL:
	case SET_MAC:
	case SET_STRING:
		text = *(char *const *)field ? *(char *const *)field : "";
		break;
	case SET_BOOL:
		text = *(const bool *)field ? "true" : "false";
		break;
	case SET_LOG_LEVEL: {
		unsigned level = (unsigned)*(const enum mvm_log_level *)field;
		text = level < 4 ? level_names[level] : "";
		break;
	}
	case SET_ENUM:
	case SET_NET_BACKEND: {
		int v = *(const int *)field;
		for (int i = 0; s->names[i]; i++)
			if (i == v)
				text = s->names[i];
		break;
	}
	}
	len = strlen(text);
	if (!buf || len >= buflen)
		return -ENOSPC;
	memcpy(buf, text, len + 1);
	return 0;
}

int mvm_config_set_cpus(struct mvm_config *cfg, uint32_t cpus)
{
	char v[16];

	snprintf(v, sizeof(v), "%u", cpus);
	return mvm_config_set(cfg, "vm", "cpus", v, NULL, 0);
}

int mvm_config_set_mem(struct mvm_config *cfg, uint64_t bytes)
{
	char v[32];

	snprintf(v, sizeof(v), "%llu", (unsigned long long)bytes);
	return mvm_config_set(cfg, "vm", "mem", v, NULL, 0);
}

int mvm_config_set_kernel(struct mvm_config *cfg, const char *path)
{
	return mvm_config_set(cfg, "boot", "kernel", path, NULL, 0);
}

int mvm_config_set_initrd(struct mvm_config *cfg, const char *path)
{
	return mvm_config_set(cfg, "boot", "initrd", path, NULL, 0);
}

int mvm_config_set_cmdline(struct mvm_config *cfg, const char *cmdline)
{
	return mvm_config_set(cfg, "boot", "cmdline", cmdline, NULL, 0);
}

int mvm_config_add_disk(struct mvm_config *cfg, const char *path, bool read_only)
{
	char section[16];
	unsigned i;
	int ret;

	if (!cfg || !path || !path[0])
		return -EINVAL;
	i = cfg->ndisks;
	if (i >= MVM_MAX_DISKS)
		return -ENOSPC;
	snprintf(section, sizeof(section), "disk%u", i);
	ret = mvm_config_set(cfg, section, "ro", read_only ? "true" : "false", NULL, 0);
	if (ret == 0)
		ret = mvm_config_set(cfg, section, "path", path, NULL, 0);
	return ret < 0 ? ret : (int)i;
}

void mvm_config_set_console_callback(struct mvm_config *cfg, mvm_console_fn fn, void *opaque)
{
	if (!cfg)
		return;
	cfg->console_fn = fn;
	cfg->console_opaque = fn ? opaque : NULL;
}

int mvm_config_set_console_fds(struct mvm_config *cfg, int out_fd, int in_fd)
{
	if (!cfg || out_fd < -1 || in_fd < -1)
		return -EINVAL;
	cfg->console_fds_set = true;
	cfg->console_out_fd = out_fd;
	cfg->console_in_fd = in_fd;
	return 0;
}

void mvm_config_set_exit_callback(struct mvm_config *cfg, mvm_exit_fn fn, void *opaque)
{
	if (!cfg)
		return;
	cfg->exit_fn = fn;
	cfg->exit_opaque = fn ? opaque : NULL;
}
