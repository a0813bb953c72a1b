/* SPDX-License-Identifier: MIT */
/*
 * Hardware-reduced ACPI sleep and reset registers (ACPI 6.4, 4.8.3.7 "Sleep
 * Control and Status Registers" and 4.8.3.6 "Reset Register").  Linux
 * (ACPICA acpi_hw_extended_sleep()) first writes WAK_STS to the status
 * register, then SLP_TYP | SLP_EN to the control register, 8 bits each.
 */
#include "devices/acpi_pm.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "boot/layout.h"

#define PM_OFF_SLEEP_CONTROL 0
#define PM_OFF_SLEEP_STATUS  (ACPI_SLEEP_STATUS_PORT - ACPI_SLEEP_CONTROL_PORT)
#define PM_OFF_RESET	     (ACPI_RESET_PORT - ACPI_SLEEP_CONTROL_PORT)

struct acpi_pm {
	pthread_mutex_t lock; /* guards rl */
	struct machine_ctl ctl;
	const struct logger *log;
	struct ratelimit rl;
};

int acpi_pm_create(struct acpi_pm **out, const struct machine_ctl *ctl, const struct logger *log)
{
	struct acpi_pm *pm;
	int ret;

	if (!out || !ctl)
		return -EINVAL;
	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return -ENOMEM;
	ret = pthread_mutex_init(&pm->lock, NULL);
	if (ret) {
		free(pm);
		return -ret;
	}
	pm->ctl = *ctl;
	pm->log = log;
	pm->rl = (struct ratelimit)RATELIMIT_INIT;
	*out = pm;
	return 0;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
	if (!pm)
		return;
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

void acpi_pm_io_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct acpi_pm *pm = opaque;

	(void)offset;
	if (len != 1) {
		pthread_mutex_lock(&pm->lock);
		log_guest_error(pm->log, &pm->rl, "acpi-pm: %u-byte read at offset %llu", len,
				(unsigned long long)offset);
		pthread_mutex_unlock(&pm->lock);
		memset(data, 0xff, len);
		return;
	}
	/*
	 * SLP_EN and the reset register are write-only and read as 0; the
	 * status register reads 0 because we never wake from a sleep state
	 * (WAK_STS clear).
	 */
	*(uint8_t *)data = 0;
}

void acpi_pm_io_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct acpi_pm *pm = opaque;
	enum mvm_exit_reason reason = MVM_EXIT_POWEROFF;
	bool do_exit = false;
	uint8_t val, slp_typ;

	pthread_mutex_lock(&pm->lock);
	if (len != 1) {
		log_guest_error(pm->log, &pm->rl, "acpi-pm: %u-byte write at offset %llu", len,
				(unsigned long long)offset);
		pthread_mutex_unlock(&pm->lock);
		return;
	}
	val = *(const uint8_t *)data;
	switch (offset) {
	case PM_OFF_SLEEP_CONTROL:
		if (!(val & ACPI_SLP_EN))
			break; /* SLP_TYP alone does nothing until SLP_EN */
		slp_typ = (uint8_t)((val & ACPI_SLP_TYP_MASK) >> ACPI_SLP_TYP_SHIFT);
		if (slp_typ == ACPI_S5_SLP_TYP) {
			reason = MVM_EXIT_POWEROFF;
			do_exit = true;
		} else {
			log_guest_error(pm->log, &pm->rl,
					"acpi-pm: unsupported sleep type %u requested, ignored",
					slp_typ);
		}
		break;
	case PM_OFF_SLEEP_STATUS:
		break; /* WAK_STS is write-1-to-clear and always clear */
	case PM_OFF_RESET:
		if (val == ACPI_RESET_VALUE) {
			reason = MVM_EXIT_REBOOT;
			do_exit = true;
		} else {
			log_guest_error(pm->log, &pm->rl,
					"acpi-pm: reset register written with 0x%02x, not 0x%02x",
					val, ACPI_RESET_VALUE);
		}
		break;
	}
	pthread_mutex_unlock(&pm->lock);

	if (do_exit) {
		log_info(pm->log, "acpi-pm: guest requested %s",
			 reason == MVM_EXIT_POWEROFF ? "poweroff (S5)" : "reset");
		if (pm->ctl.request_exit)
			pm->ctl.request_exit(pm->ctl.opaque, reason, 0);
	}
}
