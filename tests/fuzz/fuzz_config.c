/* SPDX-License-Identifier: MIT */
/*
 * vm.ini parsing (vmm/config.c on top of iniparser): the input is the file,
 * handed over as a memfd path, then the result is validated and freed
 * (ASan's leak check covers every string the config owns).  Inputs whose
 * first byte is odd instead feed mvm_config_set() directly with three
 * NUL-separated strings (section, key, value), the path the CLI's --options
 * and the C API take.
 */
#include <iniparser.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/fuzz/fuzz.h"
#include "vmm/config.h"

/* iniparser reports syntax errors on stderr; config.c's own pre-check names them. */
static int quiet_ini(const char *fmt, ...)
{
	(void)fmt;
	return 0;
}

static void check_err(int ret, const char *err)
{
	if (ret < 0 && !err[0])
		abort(); /* every refusal says why */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct fuzz_in in = fuzz_in(data, size);
	struct mvm_config cfg;
	char err[512] = "";
	int ret;

	if (fd < 0) {
		iniparser_set_error_callback(quiet_ini);
		fd = memfd_create("fuzz-vm.ini", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	config_init(&cfg);
	if (fuzz_u8(&in) & 1) {
		char *buf = calloc(1, in.n + 3), *section, *key, *value;

		if (!buf)
			abort();
		memcpy(buf, in.p, in.n);
		section = buf;
		key = section + strlen(section) + 1;
		key = key <= buf + in.n ? key : buf + in.n + 1;
		value = key + strlen(key) + 1;
		value = value <= buf + in.n + 1 ? value : buf + in.n + 2;
		ret = mvm_config_set(&cfg, section, key, value, err, sizeof(err));
		check_err(ret, err);
		free(buf);
	} else {
		if (ftruncate(fd, 0) < 0 || pwrite(fd, in.p, in.n, 0) != (ssize_t)in.n)
			abort();
		ret = mvm_config_load_ini(&cfg, path, err, sizeof(err));
		check_err(ret, err);
	}
	err[0] = '\0';
	ret = mvm_config_validate(&cfg, err, sizeof(err));
	check_err(ret, err);
	config_release(&cfg);
	return 0;
}
