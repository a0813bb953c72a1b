/* SPDX-License-Identifier: MIT */
/*
 * minivmm's debug ports at DEBUG_PORT_BASE, length DEBUG_PORT_LEN (see
 * boot/layout.h): a 1-, 2- or 4-byte write of N at EXIT_PORT ends the run
 * with status min(N, GUEST_EXIT_STATUS_MAX); a byte write at BOOT_MARKER_PORT
 * reports a boot marker.  Reads return all-ones.  machine_ctl callbacks are
 * called outside the device lock.
 */
#ifndef MINIVMM_DEBUG_PORT_H
#define MINIVMM_DEBUG_PORT_H

#include <stdint.h>

#include "vmm/irq.h"
#include "vmm/log.h"

struct debug_port;

/*
 * Boot markers are guest-triggered log lines like any other: at most this
 * many per DEBUG_PORT_MARKER_WINDOW_MS are reported (a boot writes a handful;
 * one `rep outsb` can write a page of them in one exit).
 */
#define DEBUG_PORT_MARKER_BURST	    32
#define DEBUG_PORT_MARKER_WINDOW_MS 5000

/* ctl is copied. Returns 0, -EINVAL or -ENOMEM. */
int debug_port_create(struct debug_port **out, const struct machine_ctl *ctl,
		      const struct logger *log);
void debug_port_destroy(struct debug_port *dbg);

void debug_port_io_read(void *opaque, uint64_t offset, void *data, uint32_t len);
void debug_port_io_write(void *opaque, uint64_t offset, const void *data, uint32_t len);

#endif
