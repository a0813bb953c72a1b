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
	pthread_mutex_t lock; /* guards rl */
	struct machine_ctl ctl;
	const struct logger *log;
	struct ratelimit rl;
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
	uint32_t value = 0;

	if (offset == DBG_OFF_EXIT) {
		if (len != 1 && len != 2 && len != 4) {
			guest_error(dbg, "exit port takes 1, 2 or 4 bytes", offset, len);
			return;
		}
		for (uint32_t i = 0; i < len; i++) /* little-endian guest order */
			value |= (uint32_t)bytes[i] << (8 * i);
		if (value > GUEST_EXIT_STATUS_MAX)
			value = GUEST_EXIT_STATUS_MAX;
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
		if (dbg->ctl.boot_marker)
			dbg->ctl.boot_marker(dbg->ctl.opaque, bytes[0]);
		return;
	}
	guest_error(dbg, "no register here", offset, len);
}
