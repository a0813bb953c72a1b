/* SPDX-License-Identifier: MIT */
/*
 * A fake library behind the HTTP API's router (struct api_backend_ops), shared
 * by tests/unit/test_api.c and tests/fuzz/fuzz_api.c: a state machine that
 * follows the library's rules (pause only Running, resume only Paused, the
 * power button only Running; InstanceHalt ends the run) and counts each call,
 * so tests can check what the router asked for and the fuzzer can walk every
 * state.
 */
#ifndef MINIVMM_TEST_FAKE_API_BACKEND_H
#define MINIVMM_TEST_FAKE_API_BACKEND_H

#include "vmm/api.h"

struct fake_api {
	enum mvm_vm_state state;
	int starts, pauses, resumes, buttons, stops, replaced_index;
	char replaced_path[256];
	char cmdline_at_start[512];
	int start_ret; /* < 0: start fails with it, "kernel: no such file" */
	int sink_fd;   /* a metrics sink gets dup(sink_fd); -1: /dev/null */
};

extern const struct api_backend_ops fake_api_ops;

/* Not started, nothing counted, no sink fd, no drive replaced (-1). */
void fake_api_init(struct fake_api *f);

#endif
