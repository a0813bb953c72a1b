/* SPDX-License-Identifier: MIT */
/*
 * minivmm as a Firecracker drop-in (README "HTTP API"): --api-sock,
 * --config-file, --id, --no-api.  The CLI (vmm/main.c) hands over here.
 *
 * Threads: the calling (main) thread creates and starts the VM and does
 * every open() a client asks for (PUT /metrics and /logger FIFOs, PATCH
 * /drives images): the "api" thread's filter allows no open(), so it posts
 * those to the main thread and waits for the answer.  The VM's event loop
 * runs on the library's own thread (mvm_vm_start()); the main thread stays
 * unfiltered and serves only the api thread.
 */
#ifndef MINIVMM_API_MAIN_H
#define MINIVMM_API_MAIN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "vmm/minivmm.h"

struct api_cli_opts {
	const char *sock;	 /* --api-sock PATH, or NULL (no API) */
	const char *id;		 /* --id, or NULL */
	const char *config_file; /* --config-file: Firecracker's JSON, boots at once */
	bool boot_now;		 /* the command line named a kernel: boot at once */
	/* Set by the CLI's signal handler: stop waiting (before a VM exists). */
	const volatile sig_atomic_t *stop;
	/* Told the VM once it exists and NULL before it is destroyed (the CLI's signals). */
	void (*on_vm)(struct mvm_vm *vm);
};

/*
 * Serves the API until the VM ran and ended (0, *exit says why), or until
 * *stop before InstanceStart (0, MVM_EXIT_STOPPED).  A setup failure (the
 * socket, the config file, a VM that cannot start at once) is -errno with
 * one line in err.
 */
int api_cli_run(struct mvm_config *cfg, const struct api_cli_opts *o, struct mvm_exit *exit,
		char *err, size_t errlen);

#endif
