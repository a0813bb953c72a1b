/* SPDX-License-Identifier: MIT */
/*
 * The HTTP API's routing and state rules (README "HTTP API"), as a function
 * of (method, path, body) -> (status, JSON reply), with no I/O of its own:
 * vmm/api_http.c feeds it requests from the socket, the --config-file loader
 * feeds it the file's sections, the unit tests and the fuzz target call it
 * directly.
 *
 * Before InstanceStart it configures a `struct mvm_config` through
 * mvm_config_set()/mvm_config_get() only; from InstanceStart on it drives
 * the VM through `struct api_backend_ops`, whose real implementation
 * (vmm/api_main.c) is the public mvm_vm_* functions and whose test one is a
 * fake.  Names follow Firecracker's API (swagger/firecracker.yaml).
 *
 * Not thread-safe: one caller at a time (the API thread, or the main thread
 * before that thread exists).
 */
#ifndef MINIVMM_API_H
#define MINIVMM_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/minivmm.h"

/* Files a client names that the API thread must not open itself (vmm/api_main.c). */
enum api_sink {
	API_SINK_METRICS = 0, /* PUT /metrics metrics_path */
	API_SINK_LOG,	      /* PUT /logger log_path */
};

struct api_backend_ops {
	/* InstanceStart: build and start the VM from the config.  0 or -errno + err. */
	int (*start)(void *opaque, struct mvm_config *cfg, char *err, size_t errlen);
	enum mvm_vm_state (*state)(void *opaque);
	uint64_t (*uptime_ns)(void *opaque);
	int (*exit_info)(void *opaque, struct mvm_exit *exit);
	int (*pause)(void *opaque);
	int (*resume)(void *opaque);
	int (*power_button)(void *opaque);
	void (*stop)(void *opaque);
	int (*metrics)(void *opaque, mvm_metric_fn fn, void *arg);
	int (*replace_disk)(void *opaque, unsigned index, const char *path, char *err,
			    size_t errlen);
	/*
	 * Opens a metrics or log sink (a FIFO or file, for writing, nonblocking):
	 * 0 or -errno + err.  The metrics fd is returned through *fd; the log
	 * sink becomes where minivmm's own log lines go.
	 */
	int (*open_sink)(void *opaque, enum api_sink which, const char *path, int *fd, char *err,
			 size_t errlen);
};

#define API_ID_MAX 64

struct api_drive {
	char id[API_ID_MAX + 1];
	bool root;
	bool read_only;
	bool cache_unsafe;
	char *path;
};

struct api_ctx {
	struct mvm_config *cfg; /* not owned; configured until InstanceStart */
	const struct api_backend_ops *ops;
	void *opaque;
	char id[API_ID_MAX + 1];
	bool started; /* InstanceStart succeeded: the backend's state rules from here on */
	bool kernel_set;
	char *boot_args; /* as the client gave them; root= is added at InstanceStart */
	struct api_drive drives[MVM_MAX_DISKS]; /* in disk order: the root device first */
	unsigned ndrives;
	unsigned disk_base; /* index of drives[0] among the VM's disks (after --disk ones) */
	char iface_ids[MVM_MAX_NICS][API_ID_MAX + 1];
	unsigned nifaces;
	bool vsock_set;
	int metrics_fd; /* -1: none; FlushMetrics writes one JSON line here */
	uint64_t metrics_lines_lost;
};

/* One reply: status and a malloc'd JSON body (NULL for 204). */
struct api_reply {
	int status;
	char *body;
};

void api_ctx_init(struct api_ctx *ctx, struct mvm_config *cfg, const struct api_backend_ops *ops,
		  void *opaque, const char *id);
void api_ctx_release(struct api_ctx *ctx);

/*
 * Handles one request.  `method` "GET"/"PUT"/"PATCH"/..., `path` without
 * query, `body` len bytes (may be NULL when len is 0).  Always fills
 * *reply; free reply->body after use.
 */
void api_handle(struct api_ctx *ctx, const char *method, const char *path, const char *body,
		size_t len, struct api_reply *reply);

/*
 * Firecracker's --config-file: one JSON object whose keys are the pre-boot
 * endpoints ("boot-source", "drives": [...], "machine-config",
 * "network-interfaces": [...], "vsock", "logger", "metrics"), applied
 * through api_handle().  0, or -EINVAL with err naming the key and the
 * fault.
 */
int api_apply_config_json(struct api_ctx *ctx, const char *text, size_t len, char *err,
			  size_t errlen);

/* The fault_message of a reply (or "" when it has none) as plain text. */
void api_reply_message(const struct api_reply *r, char *buf, size_t len);

/* Does the config name a kernel yet (InstanceStart's precondition)? */
bool api_ready(const struct api_ctx *ctx);

#endif
