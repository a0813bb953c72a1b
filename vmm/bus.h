/* SPDX-License-Identifier: MIT */
/*
 * The PIO and MMIO buses: address ranges mapped to device callbacks.
 *
 * A VM has one bus of each kind.  Ranges are registered while the VM is being
 * built and never change afterwards, so vCPU threads dispatch without a lock;
 * each device serialises its own state.  Devices see offsets relative to the
 * start of their range, never absolute addresses.
 */
#ifndef MINIVMM_BUS_H
#define MINIVMM_BUS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

/* Access sizes are 1, 2, 4 or 8 bytes; data is little-endian guest order. */
typedef void (*bus_read_fn)(void *opaque, uint64_t offset, void *data, uint32_t len);
typedef void (*bus_write_fn)(void *opaque, uint64_t offset, const void *data, uint32_t len);

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_read_fn read;   /* NULL: reads as all-ones */
	bus_write_fn write; /* NULL: writes ignored */
	void *opaque;
	const char *name;
};

struct bus {
	const char *name; /* "pio" or "mmio", for logs */
	const struct logger *log;
	struct bus_range *ranges; /* sorted by base, non-overlapping */
	size_t nranges;
	size_t cap;
	atomic_uint_fast64_t unhandled; /* accesses no device claimed */
};

void bus_init(struct bus *bus, const char *name, const struct logger *log);
void bus_destroy(struct bus *bus);

/* Returns -EEXIST on overlap, -EINVAL on an empty or wrapping range. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_read_fn read, bus_write_fn write,
		 void *opaque, const char *name);

/*
 * Routes one access.  An access no device claims (or that straddles the end
 * of a range) reads as all-ones, is counted, logged at debug level and
 * otherwise ignored; returns false in that case.
 */
bool bus_dispatch(struct bus *bus, uint64_t addr, void *data, uint32_t len, bool is_write);

#endif
