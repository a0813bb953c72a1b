/* SPDX-License-Identifier: MIT */
/*
 * Exit and boot-marker ports.  Unlike QEMU's isa-debug-exit the status is
 * passed through unchanged (no (N << 1) | 1), clamped so a guest cannot
 * produce an exit status the CLI reserves for its own reasons.
 */
#include "devices/debug_port.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "boot/layout.h"

#define DBG_OFF_EXIT	    (EXIT_PORT - DEBUG_PORT_BASE)
#define DBG_OFF_BOOT_MARKER (BOOT_MARKER_PORT - DEBUG_PORT_BASE)

struct debug_port {
	pthread_mutex_t lock; /* guards everything below ctl and log; vCPUs write concurrently */
	struct machine_ctl ctl;
	const struct logger *log;
	struct ratelimit rl;
	struct ratelimit marker_rl;
	bool exit_logged;
};

int debug_port_create(struct debug_port **out, const struct machine_ctl *ctl,
		      const struct logger *log)
{
	struct debug_port *dbg;
	int ret;

	if (!out || !ctl)
		return -EINVAL;
	dbg = calloc(1, sizeof(*dbg));
	if (!dbg)
		return -ENOMEM;
	ret = pthread_mutex_init(&dbg->lock, NULL);
	if (ret) {
		free(dbg);
		return -ret;
	}
	dbg->ctl = *ctl;
	dbg->log = log;
	dbg->rl = (struct ratelimit)RATELIMIT_INIT;
	dbg->marker_rl = (struct ratelimit){.interval_ms = DEBUG_PORT_MARKER_WINDOW_MS,
					    .burst = DEBUG_PORT_MARKER_BURST};
	*out = dbg;
	return 0;
}

void debug_port_destroy(struct debug_port *dbg)
{
	if (!dbg)
		return;
	pthread_mutex_destroy(&dbg->lock);
	free(dbg);
}

void debug_port_io_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	(void)opaque;
	(void)offset;
	memset(data, 0xff, len);
}

static void guest_error(struct debug_port *dbg, const char *what, uint64_t offset, uint32_t len)
{
	pthread_mutex_lock(&dbg->lock);
	log_guest_error(dbg->log, &dbg->rl, "debug-port: %s (%u-byte write at offset %llu)", what,
			len, (unsigned long long)offset);
	pthread_mutex_unlock(&dbg->lock);
}

void debug_port_io_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct debug_port *dbg = opaque;
	const uint8_t *bytes = data;
	uint32_t value = 0, suppressed;
	bool first, allow;

	if (offset == DBG_OFF_EXIT) {
		if (len != 1 && len != 2 && len != 4) {
			guest_error(dbg, "exit port takes 1, 2 or 4 bytes", offset, len);
			return;
		}
		for (uint32_t i = 0; i < len; i++) /* little-endian guest order */
			value |= (uint32_t)bytes[i] << (8 * i);
		if (value > GUEST_EXIT_STATUS_MAX)
			value = GUEST_EXIT_STATUS_MAX;
		/*
		 * The first request ends the run, but the vCPUs leave KVM_RUN
		 * only once the event loop has seen it: until then every vCPU
		 * can repeat the write (one exit per element of a `rep outsb`
		 * on some hosts), and each would be another line.
		 */
		pthread_mutex_lock(&dbg->lock);
		first = !dbg->exit_logged;
		dbg->exit_logged = true;
		pthread_mutex_unlock(&dbg->lock);
		if (first)
			log_info(dbg->log, "guest requested exit with status %u", value);
		if (dbg->ctl.request_exit)
			dbg->ctl.request_exit(dbg->ctl.opaque, MVM_EXIT_GUEST_STATUS, (int)value);
		return;
	}
	if (offset == DBG_OFF_BOOT_MARKER) {
		if (len != 1) {
			guest_error(dbg, "boot-marker port takes 1 byte", offset, len);
			return;
		}
		/*
		 * Guest-triggered, so rate-limited like every guest error: a
		 * loop of marker writes (a page per `rep outsb` exit) must
		 * not grow the host's log at the guest's pace.
		 */
		pthread_mutex_lock(&dbg->lock);
		allow = ratelimit_allow(&dbg->marker_rl, clock_ns(), &suppressed);
		pthread_mutex_unlock(&dbg->lock);
		if (suppressed)
			log_warn(dbg->log, "boot markers: %u not logged (more than %u in %u ms)",
				 suppressed, DEBUG_PORT_MARKER_BURST, DEBUG_PORT_MARKER_WINDOW_MS);
		if (allow && dbg->ctl.boot_marker)
			dbg->ctl.boot_marker(dbg->ctl.opaque, bytes[0]);
		return;
	}
	guest_error(dbg, "no register here", offset, len);
}
