/* SPDX-License-Identifier: MIT */
/*
 * minivmm — the public C API (the one installed header).
 *
 * A program that embeds minivmm fills a `struct mvm_config` (directly, or
 * key by key with mvm_config_set(), or from an ini file), builds a VM with
 * mvm_vm_create(), runs it with mvm_vm_run() and frees it with
 * mvm_vm_destroy().  Several VMs may live in one process: nothing in the
 * library is global except the signal used to kick vCPU threads
 * (MVM_KICK_SIGNAL), whose handler the library installs once.
 *
 * Errors: functions return 0 or a negative errno and, where they take one,
 * fill `err` with a single human-readable line.
 */
#ifndef MINIVMM_H
#define MINIVMM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MINIVMM_VERSION "0.1.0"

/* Limits the library accepts (README "Limits"). */
#define MVM_MIN_CPUS	  1
#define MVM_MAX_CPUS	  64
#define MVM_MIN_MEM_BYTES (64ull << 20)
#define MVM_MAX_MEM_BYTES (16ull << 30)
#define MVM_MAX_CMDLINE	  4096

/* vCPU threads are kicked out of KVM_RUN with this signal. */
#define MVM_KICK_SIGNAL (SIGRTMIN + 3)

#define MVM_MAX_DISKS 8
#define MVM_MAX_NICS  4

enum mvm_log_level {
	MVM_LOG_ERROR = 0,
	MVM_LOG_WARN = 1,
	MVM_LOG_INFO = 2,
	MVM_LOG_DEBUG = 3,
};

/* How the host caches a disk image (README "Disks"). */
enum mvm_disk_cache {
	MVM_DISK_CACHE_WRITEBACK = 0, /* host page cache; guest flush -> fdatasync (default) */
	MVM_DISK_CACHE_NONE,	      /* O_DIRECT; guest flush -> fdatasync */
	MVM_DISK_CACHE_UNSAFE,	      /* host page cache; guest flushes ignored (scratch disks) */
};

struct mvm_disk_config {
	char *path;
	bool read_only;
	char *serial; /* up to 20 bytes (VIRTIO_BLK_ID_BYTES); NULL: none */
	enum mvm_disk_cache cache;
};

enum mvm_net_backend {
	MVM_NET_NONE = 0,
	MVM_NET_TAP,  /* a host TAP device (existing, or created when privileged) */
	MVM_NET_USER, /* user-mode networking through libslirp: no root, no host setup */
};

struct mvm_net_config {
	enum mvm_net_backend backend;
	char *tap;     /* MVM_NET_TAP: interface name */
	char *mac;     /* "52:54:00:12:34:56"; NULL: a stable default per VM and index */
	char *hostfwd; /* MVM_NET_USER: "tcp:127.0.0.1:2222-:22,udp:..." or NULL */
};

/* Which CPUID the guest sees (README "CPU templates"). */
enum mvm_cpu_template {
	MVM_CPU_TEMPLATE_AUTO = 0, /* baseline on a PVM host, host elsewhere */
	MVM_CPU_TEMPLATE_HOST,	   /* everything KVM_GET_SUPPORTED_CPUID offers */
	MVM_CPU_TEMPLATE_BASELINE, /* hides what KVM's instruction emulator cannot run */
};

/* Where a bzImage's compressed kernel is decompressed. */
enum mvm_kernel_decompress {
	MVM_DECOMPRESS_AUTO = 0, /* on the host when the payload format is supported */
	MVM_DECOMPRESS_HOST,	 /* on the host; error if it cannot */
	MVM_DECOMPRESS_GUEST,	 /* the classic path: the kernel's own decompressor */
};

/*
 * Per-thread seccomp filters (README "Confinement: seccomp").  With ON or
 * LOG, mvm_vm_run() confines the thread that calls it, for good: before the
 * event loop starts, that thread loads the event loop's filter, so after
 * mvm_vm_run() returns it may only make the calls the loop's table allows
 * (enough for mvm_vm_destroy(), writing to fds it holds, freeing memory and
 * exiting; not opening files, creating sockets or threads, or executing).
 * Call mvm_vm_run() on a thread that does nothing else afterwards, one VM
 * per thread, or choose OFF.  Each vCPU thread loads its own filter.
 */
enum mvm_seccomp {
	MVM_SECCOMP_ON = 0, /* a call outside the lists kills the process by SIGSYS (default) */
	MVM_SECCOMP_LOG,    /* the call runs; the kernel logs it (audit type 1326) */
	MVM_SECCOMP_OFF,    /* no filter */
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
	/* [console] */
	char *console_log;   /* optional file receiving all guest serial output */
	bool console_stdout; /* copy guest serial output to stdout (default true) */
	bool console_stdin;  /* feed stdin to the guest's serial port (default true) */
	/* [run] */
	uint32_t timeout_s;	      /* 0: no limit */
	enum mvm_log_level log_level; /* default info */
	enum mvm_seccomp seccomp;     /* default on */
};

/* Sets the defaults listed above; strings are NULL. */
void mvm_config_init(struct mvm_config *cfg);
/* Frees the strings the config owns (all strings are owned, malloc'd copies). */
void mvm_config_free(struct mvm_config *cfg);

/*
 * Sets one setting from text, exactly as vm.ini spells it: section and key
 * as in vm.ini.example, value as text ("512M", "4", "true", a path).
 * Unknown section or key, or a bad value: -EINVAL with err naming them.
 */
int mvm_config_set(struct mvm_config *cfg, const char *section, const char *key, const char *value,
		   char *err, size_t errlen);

/* Loads every key of an ini file through mvm_config_set(). */
int mvm_config_load_ini(struct mvm_config *cfg, const char *path, char *err, size_t errlen);

/* Checks cross-field rules (kernel present, sizes in range). */
int mvm_config_validate(const struct mvm_config *cfg, char *err, size_t errlen);

/* Parses "512M", "2G", "65536K", "1048576" into bytes. -EINVAL / -ERANGE. */
int mvm_parse_size(const char *s, uint64_t *out);

/* Why a run ended.  The CLI maps each to a distinct exit status (README). */
enum mvm_exit_reason {
	MVM_EXIT_POWEROFF = 0, /* ACPI S5 */
	MVM_EXIT_GUEST_STATUS, /* guest wrote a status to the exit port */
	MVM_EXIT_REBOOT,       /* i8042 reset, ACPI reset register, triple fault */
	MVM_EXIT_PANIC,	       /* guest reported a panic (pvpanic) */
	MVM_EXIT_TIMEOUT,      /* --timeout elapsed */
	MVM_EXIT_STOPPED,      /* mvm_vm_request_stop() (SIGINT/SIGTERM, console escape) */
	MVM_EXIT_GUEST_FAULT,  /* the VM cannot continue (emulation failure, internal error) */
	MVM_EXIT_HOST_ERROR,   /* the VMM failed (I/O error, KVM ioctl failure) */
};

struct mvm_exit {
	enum mvm_exit_reason reason;
	int guest_status;  /* MVM_EXIT_GUEST_STATUS: 0..99 */
	char message[512]; /* human-readable detail, "" if none */
};

const char *mvm_exit_reason_name(enum mvm_exit_reason reason);

struct mvm_vm;

/* Builds the VM (KVM, memory, devices, kernel).  Nothing runs yet. */
int mvm_vm_create(const struct mvm_config *cfg, struct mvm_vm **out, char *err, size_t errlen);

/*
 * Starts the vCPU threads and runs the event loop on the calling thread until
 * the VM ends; fills *exit.  Unless the config's seccomp is MVM_SECCOMP_OFF,
 * the calling thread loads the event loop's seccomp filter first and keeps
 * it for the rest of its life (enum mvm_seccomp says what that allows).
 * Returns 0 when the run ended for any reason (the reason is in *exit), or a
 * negative errno if it could not start.
 */
int mvm_vm_run(struct mvm_vm *vm, struct mvm_exit *exit);

/* Asks a running VM to stop (MVM_EXIT_STOPPED).  Async-signal-safe. */
void mvm_vm_request_stop(struct mvm_vm *vm);

void mvm_vm_destroy(struct mvm_vm *vm);

#endif
