/* SPDX-License-Identifier: MIT */
#include "bus.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void bus_init(struct bus *bus, const char *name, const struct logger *log)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	bus->log = log;
	atomic_init(&bus->unhandled, 0);
}

void bus_destroy(struct bus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->nranges = bus->cap = 0;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_read_fn read, bus_write_fn write,
		 void *opaque, const char *name)
{
	uint64_t end;
	size_t pos = 0;

	if (len == 0 || __builtin_add_overflow(base, len, &end))
		return -EINVAL;
	while (pos < bus->nranges && bus->ranges[pos].base < base)
		pos++;
	if (pos > 0) {
		const struct bus_range *prev = &bus->ranges[pos - 1];
		if (prev->base + prev->len > base)
			return -EEXIST;
	}
	if (pos < bus->nranges && bus->ranges[pos].base < end)
		return -EEXIST;
	if (bus->nranges == bus->cap) {
		size_t cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_range *r = realloc(bus->ranges, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		bus->ranges = r;
		bus->cap = cap;
	}
	memmove(&bus->ranges[pos + 1], &bus->ranges[pos],
		(bus->nranges - pos) * sizeof(bus->ranges[0]));
	bus->ranges[pos] = (struct bus_range){base, len, read, write, opaque, name};
	bus->nranges++;
	return 0;
}

static const struct bus_range *bus_find(const struct bus *bus, uint64_t addr)
{
	size_t lo = 0, hi = bus->nranges;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];
		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

bool bus_dispatch(struct bus *bus, uint64_t addr, void *data, uint32_t len, bool is_write)
{
	const struct bus_range *r = bus_find(bus, addr);
	uint64_t off;

	/* An access that runs past the end of the range is treated as unclaimed. */
	if (!r || len > r->len - (addr - r->base)) {
		uint64_t n = atomic_fetch_add(&bus->unhandled, 1) + 1;
		if (!is_write)
			memset(data, 0xff, len);
		log_debug(bus->log,
			  "%s: unhandled %s of %u bytes at 0x%" PRIx64 " (%" PRIu64 " so far)",
			  bus->name, is_write ? "write" : "read", len, addr, n);
		return false;
	}
	off = addr - r->base;
	if (is_write) {
		if (r->write)
			r->write(r->opaque, off, data, len);
	} else {
		if (r->read)
			r->read(r->opaque, off, data, len);
		else
			memset(data, 0xff, len);
	}
	return true;
}
