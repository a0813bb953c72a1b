/* SPDX-License-Identifier: MIT */
/*
 * The configuration's layout: internal to the library.  Embedders see an
 * opaque `struct mvm_config` and go through mvm_config_set() and the typed
 * setters (vmm/minivmm.h), so this struct can grow without breaking programs
 * built against an older libminivmm.
 */
#ifndef MINIVMM_CONFIG_H
#define MINIVMM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/minivmm.h"

struct mvm_disk_config {
	char *path;
	bool read_only;
	char *serial; /* up to 20 bytes (VIRTIO_BLK_ID_BYTES); NULL: none */
	enum mvm_disk_cache cache;
};

struct mvm_net_config {
	enum mvm_net_backend backend;
	char *tap;     /* MVM_NET_TAP: interface name */
	char *mac;     /* "52:54:00:12:34:56"; NULL: a stable default per VM and index */
	char *hostfwd; /* MVM_NET_USER: "tcp:127.0.0.1:2222-:22,udp:..." or NULL */
};

struct mvm_config {
	/* [vm] */
	uint32_t cpus;	    /* 1..MVM_MAX_CPUS, default 1 */
	uint64_t mem_bytes; /* MVM_MIN_MEM_BYTES..MVM_MAX_MEM_BYTES, default 256 MiB */
	enum mvm_cpu_template cpu_template; /* default auto */
	/* [boot] */
	char *kernel;			       /* path to a bzImage or ELF vmlinux; required */
	char *initrd;			       /* optional */
	char *cmdline;			       /* optional; default "console=ttyS0" */
	enum mvm_kernel_decompress decompress; /* default auto */
	/* [disk0] .. [disk7], or --disk (repeatable): vda, vdb, ... in order */
	struct mvm_disk_config disks[MVM_MAX_DISKS];
	unsigned ndisks;
	/* [net0] .. [net3], or --net (repeatable): eth0, eth1, ... in order */
	struct mvm_net_config nets[MVM_MAX_NICS];
	unsigned nnets;
	/* [rng] */
	bool rng;	   /* virtio-rng (default true) */
	uint64_t rng_rate; /* bytes per second the guest may take; 0 = unlimited */
	/* [vsock] (or --vsock): no device while vsock_cid is 0 */
	uint32_t vsock_cid; /* the guest's CID, 3..0xfffffffe */
	char *vsock_uds;    /* the host's listening Unix socket; PATH_<port> for guest connects */
	/* [console] */
	char *console_log;   /* optional file receiving all guest serial output */
	bool console_stdout; /* copy guest serial output to stdout (default true) */
	bool console_stdin;  /* feed stdin to the guest's serial port (default true) */
	/* [run] */
	uint32_t timeout_s;	      /* 0: no limit */
	enum mvm_log_level log_level; /* default info */
	enum mvm_seccomp seccomp;     /* default on */

	/* Set through the C API only (no ini key): callbacks and fds. */
	mvm_console_fn console_fn; /* guest output here instead of stdout; NULL: none */
	void *console_opaque;
	bool console_fds_set; /* console_out_fd/in_fd replace stdout/stdin */
	int console_out_fd;   /* -1: no output */
	int console_in_fd;    /* -1: no input */
	mvm_exit_fn exit_fn;  /* NULL: none */
	void *exit_opaque;
};

/* Sets the defaults listed above; strings are NULL.  For a struct the caller owns. */
void config_init(struct mvm_config *cfg);
/* Frees the strings the config owns (all are malloc'd copies); the struct stays. */
void config_release(struct mvm_config *cfg);

#endif
