/* SPDX-License-Identifier: MIT */
/*
 * The jail: `minivmm --jail DIR[,uid=U][,gid=G][,cgroup=PATH][,cpus=N]
 * [,mem=SIZE][,pids=N][,netns=PATH|new][,nofile=N][,fsize=SIZE]`.
 *
 * Before the VM is built, minivmm forks.  The child is PID 1 of new PID,
 * mount, IPC and UTS namespaces (and a network namespace if asked), inside
 * a cgroup v2 leaf with cpu/memory/pids limits, with a private tmpfs on DIR
 * as its root that holds only what this VM opens — kernel, initrd, disks,
 * console log bind-mounted at the very paths the configuration names,
 * /dev/kvm, /dev/urandom, /dev/net/tun — and it runs as U:G with no
 * capabilities, no_new_privs, no inherited descriptors and rlimits.  It then
 * builds and runs the VM as an unjailed minivmm would.  The parent stays
 * outside, relays SIGINT/SIGTERM/SIGHUP, removes the cgroup leaf and exits
 * with the child's status.
 *
 * Why in-process and not a separate launcher (Firecracker's jailer execs a
 * static VMM inside the jail): no exec means no binary and no shared library
 * has to exist inside DIR (libslirp is dlopen()ed before pivot_root), and the
 * jail derives what to expose from the parsed VM configuration, so the same
 * command line with --jail added boots the same VM.  Everything privileged
 * happens before the first guest instruction.
 *
 * The pure parts (parsing, the list of paths, cgroup settings) are exposed
 * for unit tests.  Nothing here keeps process-wide state.
 */
#ifndef MINIVMM_JAIL_H
#define MINIVMM_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vmm/config.h"

struct mvm_jail {
	char *dir; /* the jail's root: an existing directory (left untouched) */
	uid_t uid; /* run the VMM as uid:gid */
	gid_t gid;
	bool uid_set, gid_set;
	char *cgroup;	    /* parent cgroup (absolute, or relative to the cgroup2 mount) */
	uint32_t millicpus; /* cpu.max: 1500 = 1.5 CPUs; 0 = no limit */
	uint64_t mem_bytes; /* memory.max; 0 = no limit */
	uint64_t pids;	    /* pids.max; 0 = no limit */
	char *netns;	    /* NULL: the caller's; "new": a fresh empty one; else a path to join */
	uint64_t nofile;    /* RLIMIT_NOFILE (default JAIL_DEFAULT_NOFILE) */
	uint64_t fsize;	    /* RLIMIT_FSIZE in bytes; 0 = unchanged */
};

#define JAIL_DEFAULT_NOFILE 1024
#define JAIL_DEFAULT_CGROUP "minivmm"

/* Parses the --jail argument into *j (zeroed first); -EINVAL with one line in err. */
int mvm_jail_parse(struct mvm_jail *j, const char *spec, char *err, size_t errlen);
void mvm_jail_free(struct mvm_jail *j);

/*
 * Enters the jail (see above).  Returns 0 in the jailed child, which goes on
 * to build the VM; 1 in the parent once the child has ended, with the exit
 * status to use in *status; a negative errno with one line in err if the jail
 * could not be set up (in the parent before the fork, or in the child).
 * Call it before anything opens files or starts threads.
 */
int mvm_jail_enter(const struct mvm_jail *j, const struct mvm_config *cfg, int *status, char *err,
		   size_t errlen);

/* ---- the pure parts, for tests ---- */

enum jail_path_kind {
	JAIL_FILE_RO, /* bind mount, read-only */
	JAIL_FILE_RW, /* bind mount, writable */
	JAIL_DEV,     /* a device node: mknod (root) or bind mount (rootless) */
	JAIL_DIR,     /* an empty directory (a marker such as /sys/module/kvm_pvm) */
};

#define JAIL_MAX_PATHS 24
#define JAIL_PATH_MAX  4096

struct jail_path {
	char target[JAIL_PATH_MAX]; /* absolute, normalized: where it appears inside the jail */
	const char *source;	    /* as the configuration names it (host view) */
	enum jail_path_kind kind;
	bool optional; /* skipped when the host lacks it (the VMM then says so itself) */
};

/*
 * Joins cwd and path (if relative) and removes ".", ".." and repeated '/'
 * lexically, as the jail's tmpfs (which holds no symbolic links) will
 * resolve it.  -ENAMETOOLONG / -EINVAL.
 */
int jail_normalize(const char *cwd, const char *path, char *out, size_t outlen);

/*
 * What a VM with this configuration opens, as seen from cwd: kernel, initrd,
 * read-only and writable disks, the console log, /dev/kvm, /dev/urandom,
 * /dev/net/tun (TAP NICs), /etc/resolv.conf (user networking), the PVM
 * marker.  Duplicates are merged (writable wins).  Returns the count or
 * -ENOSPC / -ENAMETOOLONG.
 */
int jail_plan_paths(const struct mvm_config *cfg, const char *cwd, struct jail_path *out,
		    size_t max);

struct jail_cg_setting {
	char file[32];
	char value[64];
	bool optional; /* absent on some kernels (memory.swap.max without swap accounting) */
};

/* The cgroup v2 files and values for j's limits; returns the count (at most 4). */
int jail_cgroup_settings(const struct mvm_jail *j, struct jail_cg_setting *out, size_t max);

/* "+cpu +memory +pids" for the controllers j's limits need ("" for none). */
void jail_cgroup_controllers(const struct mvm_jail *j, char *out, size_t outlen);

/* Is a cgroup wanted at all (cgroup= given, or any limit)? */
bool jail_wants_cgroup(const struct mvm_jail *j);

#endif
