/* SPDX-License-Identifier: MIT */
/*
 * pvpanic register model, as QEMU's hw/misc/pvpanic.c defines the port:
 * reads return the event bits the device supports, and the guest writes the
 * events it reports (Linux writes PANICKED from its panic notifier and
 * CRASH_LOADED when a kdump kernel is loaded).
 */
#include "devices/pvpanic.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct pvpanic {
	pthread_mutex_t lock; /* guards rl and crash_loaded_seen */
	struct machine_ctl ctl;
	const struct logger *log;
	struct ratelimit rl;
	bool crash_loaded_seen; /* log CRASH_LOADED at info level only once */
};

int pvpanic_create(struct pvpanic **out, const struct machine_ctl *ctl, const struct logger *log)
{
	struct pvpanic *pvp;
	int ret;

	if (!out || !ctl)
		return -EINVAL;
	pvp = calloc(1, sizeof(*pvp));
	if (!pvp)
		return -ENOMEM;
	ret = pthread_mutex_init(&pvp->lock, NULL);
	if (ret) {
		free(pvp);
		return -ret;
	}
	pvp->ctl = *ctl;
	pvp->log = log;
	pvp->rl = (struct ratelimit)RATELIMIT_INIT;
	*out = pvp;
	return 0;
}

void pvpanic_destroy(struct pvpanic *pvp)
{
	if (!pvp)
		return;
	pthread_mutex_destroy(&pvp->lock);
	free(pvp);
}

void pvpanic_io_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct pvpanic *pvp = opaque;

	if (len != 1 || offset != 0) {
		pthread_mutex_lock(&pvp->lock);
		log_guest_error(pvp->log, &pvp->rl, "pvpanic: %u-byte read at offset %llu", len,
				(unsigned long long)offset);
		pthread_mutex_unlock(&pvp->lock);
		memset(data, 0xff, len);
		return;
	}
	*(uint8_t *)data = PVPANIC_EVENTS;
}

void pvpanic_io_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct pvpanic *pvp = opaque;
	bool log_crash_loaded = false;
	uint8_t val;

	pthread_mutex_lock(&pvp->lock);
	if (len != 1 || offset != 0) {
		log_guest_error(pvp->log, &pvp->rl, "pvpanic: %u-byte write at offset %llu", len,
				(unsigned long long)offset);
		pthread_mutex_unlock(&pvp->lock);
		return;
	}
	val = *(const uint8_t *)data;
	/* A guest could write CRASH_LOADED in a loop: log it once. */
	if ((val & PVPANIC_CRASH_LOADED) && !pvp->crash_loaded_seen) {
		pvp->crash_loaded_seen = true;
		log_crash_loaded = true;
	}
	if (val & ~PVPANIC_EVENTS)
		log_guest_error(pvp->log, &pvp->rl, "pvpanic: unsupported event bits 0x%02x",
				val & ~PVPANIC_EVENTS);
	pthread_mutex_unlock(&pvp->lock);

	if (log_crash_loaded)
		log_info(pvp->log, "guest crash kernel loaded");
	if (val & PVPANIC_PANICKED) {
		log_info(pvp->log, "pvpanic: guest reported a panic");
		if (pvp->ctl.request_exit)
			pvp->ctl.request_exit(pvp->ctl.opaque, MVM_EXIT_PANIC, 0);
	}
}
