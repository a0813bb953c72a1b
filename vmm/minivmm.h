/* SPDX-License-Identifier: MIT */
/*
 * minivmm — the public C API (the one installed header, libminivmm.so.1).
 *
 * Life cycle (README "The library"):
 *   cfg = mvm_config_new();                 defaults
 *   mvm_config_set(cfg, "vm", "mem", "512M", err, sizeof(err));   or typed setters,
 *   mvm_config_set_kernel(cfg, "bzImage");                        or an ini file
 *   mvm_vm_create(cfg, &vm, err, sizeof(err));   KVM, memory, devices, kernel
 *   mvm_config_free(cfg);                   the VM keeps its own copy
 *   mvm_vm_start(vm, err, sizeof(err));     vCPU threads + the VM's event-loop thread
 *   ... mvm_vm_pause(vm) / mvm_vm_resume(vm) / mvm_vm_power_button(vm) /
 *       mvm_vm_metrics(vm, ...) / mvm_vm_vsock_connect(vm, port) ... from any thread
 *   mvm_vm_wait(vm, &exit);                 until the guest powers off (or stop)
 *   mvm_vm_destroy(vm);
 * mvm_vm_run() is mvm_vm_start() + mvm_vm_wait() with the event loop on the
 * calling thread instead of a thread of the library's own.
 *
 * ABI: `struct mvm_config` and `struct mvm_vm` are opaque; settings added
 * later are new keys for mvm_config_set() or new functions, enums only grow
 * at their end, and only the mvm_ symbols below are exported (version script
 * vmm/libminivmm.map).  A program built against this header keeps working
 * with any later libminivmm.so.1.
 *
 * Threads: one per vCPU ("vcpuN"), and with mvm_vm_start() one event-loop
 * thread ("mvm-loop") per VM; all are joined by mvm_vm_wait()/mvm_vm_run().
 * Signals: the library installs a no-op handler for MVM_KICK_SIGNAL (a
 * real-time signal, used to kick vCPU threads out of KVM_RUN); leave it
 * alone.  It installs no other handler, never changes the process's signal
 * mask, and never calls exit() or abort(): a failure is a negative errno,
 * with one line in `err` where the function takes one.  Several VMs may live
 * in one process; nothing in the library is global but that signal handler.
 *
 * Callbacks (console, exit) run on a library thread: they must not block for
 * long and must not call mvm_vm_wait()/mvm_vm_destroy() on their own VM.
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

enum mvm_net_backend {
	MVM_NET_NONE = 0,
	MVM_NET_TAP,  /* a host TAP device (existing, or created when privileged) */
	MVM_NET_USER, /* user-mode networking through libslirp: no root, no host setup */
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

/* ---- Configuration --------------------------------------------------------- */

struct mvm_config; /* opaque */

/* A config with every default (vm.ini.example).  NULL when out of memory. */
struct mvm_config *mvm_config_new(void);
void mvm_config_free(struct mvm_config *cfg);

/*
 * Sets one setting from text, exactly as vm.ini spells it: section and key
 * as in vm.ini.example, value as text ("512M", "4", "true", a path).
 * Unknown section or key, or a bad value: -EINVAL with err naming them.
 * Every typed setter below goes through this one.
 */
int mvm_config_set(struct mvm_config *cfg, const char *section, const char *key, const char *value,
		   char *err, size_t errlen);
/*
 * The current value of one setting as text (the form mvm_config_set()
 * accepts; "" when unset).  -EINVAL for an unknown section or key, -ENOSPC
 * when buf is too small.
 */
int mvm_config_get(const struct mvm_config *cfg, const char *section, const char *key, char *buf,
		   size_t buflen);

/* Loads every key of an ini file through mvm_config_set(). */
int mvm_config_load_ini(struct mvm_config *cfg, const char *path, char *err, size_t errlen);

/* Checks cross-field rules (kernel present, sizes in range). */
int mvm_config_validate(const struct mvm_config *cfg, char *err, size_t errlen);

/* Typed setters: 0 or -EINVAL (mvm_config_set() says why in a message). */
int mvm_config_set_cpus(struct mvm_config *cfg, uint32_t cpus);
int mvm_config_set_mem(struct mvm_config *cfg, uint64_t bytes);
int mvm_config_set_kernel(struct mvm_config *cfg, const char *path);
int mvm_config_set_initrd(struct mvm_config *cfg, const char *path);
int mvm_config_set_cmdline(struct mvm_config *cfg, const char *cmdline);
/* Appends a disk (vda, vdb, ... in order); returns its index or -errno. */
int mvm_config_add_disk(struct mvm_config *cfg, const char *path, bool read_only);
/* A virtio-vsock device: guest CID (>= 3) and the host's Unix socket path (README "vsock"). */
int mvm_config_set_vsock(struct mvm_config *cfg, uint32_t guest_cid, const char *uds_path);

/*
 * Guest console output (the serial port) goes to fn instead of stdout: bytes
 * in order, called on the vCPU or event-loop thread, never concurrently for
 * one VM.  fn NULL: back to the [console] settings.
 */
typedef void (*mvm_console_fn)(void *opaque, const uint8_t *buf, size_t len);
void mvm_config_set_console_callback(struct mvm_config *cfg, mvm_console_fn fn, void *opaque);
/*
 * Guest console output written to out_fd and guest console input read from
 * in_fd (either may be -1: none).  The VM dup()s both at mvm_vm_create().
 */
int mvm_config_set_console_fds(struct mvm_config *cfg, int out_fd, int in_fd);

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

/*
 * Called once, as the run ends (on the thread that ended it, before the
 * vCPU threads are joined): the orchestrator learns why without waiting
 * for mvm_vm_wait().
 */
typedef void (*mvm_exit_fn)(void *opaque, const struct mvm_exit *exit);
void mvm_config_set_exit_callback(struct mvm_config *cfg, mvm_exit_fn fn, void *opaque);

/* ---- A VM -------------------------------------------------------------------- */

struct mvm_vm; /* opaque */

/* Builds the VM (KVM, memory, devices, kernel).  Nothing runs yet. */
int mvm_vm_create(const struct mvm_config *cfg, struct mvm_vm **out, char *err, size_t errlen);

/*
 * Starts the vCPU threads and a library thread running the VM's event loop,
 * and returns.  With seccomp on, each of those threads loads its own filter;
 * the calling thread is not confined.  Once per VM; -EALREADY after that.
 */
int mvm_vm_start(struct mvm_vm *vm, char *err, size_t errlen);
/* Waits until a started VM's run ends and joins its threads; fills *exit. */
int mvm_vm_wait(struct mvm_vm *vm, struct mvm_exit *exit);

/*
 * mvm_vm_start() + mvm_vm_wait(), with the event loop on the calling thread.
 * Unless the config's seccomp is MVM_SECCOMP_OFF, the calling thread loads
 * the event loop's seccomp filter first and keeps it for the rest of its
 * life (enum mvm_seccomp says what that allows).  Returns 0 when the run
 * ended for any reason (the reason is in *exit), or a negative errno if it
 * could not start.
 */
int mvm_vm_run(struct mvm_vm *vm, struct mvm_exit *exit);

/* Where a VM is in its life.  Firecracker's names in the HTTP API. */
enum mvm_vm_state {
	MVM_STATE_NOT_STARTED = 0, /* created, not started */
	MVM_STATE_RUNNING,
	MVM_STATE_PAUSED,
	MVM_STATE_ENDED, /* the run ended; mvm_vm_exit_info() says why */
};
enum mvm_vm_state mvm_vm_state(struct mvm_vm *vm);
const char *mvm_vm_state_name(enum mvm_vm_state state); /* "Not started", "Running", ... */
/* Nanoseconds since mvm_vm_start() (0 before); stops counting when the run ends. */
uint64_t mvm_vm_uptime_ns(struct mvm_vm *vm);
/* Once the state is ENDED: why (0); before: -EAGAIN. */
int mvm_vm_exit_info(struct mvm_vm *vm, struct mvm_exit *exit);

/*
 * Pause: returns once every vCPU is out of KVM_RUN and parked and the guest's
 * clock (kvmclock) is stopped; devices stop taking guest requests.  Resume:
 * the guest carries on from where it was, its clock continuing from the
 * paused value.  -EINVAL when not RUNNING (pause) / not PAUSED (resume);
 * -ETIMEDOUT if the VM did not answer within 5 s.  Any thread.
 */
int mvm_vm_pause(struct mvm_vm *vm);
int mvm_vm_resume(struct mvm_vm *vm);

/*
 * The ACPI power button (Firecracker's SendCtrlAltDel): a guest with ACPI
 * shuts down cleanly; a guest booted with acpi=off gets Ctrl-Alt-Del on the
 * i8042 keyboard instead.  -EINVAL unless RUNNING.
 */
int mvm_vm_power_button(struct mvm_vm *vm);

/* Asks a running VM to stop now (MVM_EXIT_STOPPED).  Async-signal-safe. */
void mvm_vm_request_stop(struct mvm_vm *vm);

/*
 * Every counter, one call each: names like "vcpu0.exits_io",
 * "vcpu0.run_ns", "blk0.read_bytes", "net0.tx_packets", "vsock.rx_bytes".
 * Counters only go up.  Names are stable; new ones may appear.
 */
typedef void (*mvm_metric_fn)(void *opaque, const char *name, uint64_t value);
int mvm_vm_metrics(struct mvm_vm *vm, mvm_metric_fn fn, void *opaque);

/*
 * Points disk `index` at another image while the guest runs (Firecracker's
 * PATCH /drives/{id} path_on_host): the new image is opened and locked like
 * the first, the old one closed, and the guest told the new capacity (a
 * config-change interrupt).  The old image stays in use on any error.
 */
int mvm_vm_replace_disk(struct mvm_vm *vm, unsigned index, const char *path, char *err,
			size_t errlen);

/*
 * A stream to the guest's vsock listener on `port`, through the device's
 * Unix socket (CONNECT/OK handshake done here): a connected socket fd the
 * caller owns, or -errno (-ENODEV without vsock, -ECONNREFUSED if nothing
 * listens, -ETIMEDOUT).
 */
int mvm_vm_vsock_connect(struct mvm_vm *vm, uint32_t port, char *err, size_t errlen);

void mvm_vm_destroy(struct mvm_vm *vm);

#endif
