/* SPDX-License-Identifier: MIT */
/*
 * A virtio-rng whose clock and entropy source the fuzzer controls (shared
 * by the virtio-rng and virtio-mmio harnesses): deterministic bytes, a
 * source that can answer EAGAIN, fail or give short counts, and a clock
 * that only moves when the input says so.
 */
#ifndef MINIVMM_RNG_FUZZ_H
#define MINIVMM_RNG_FUZZ_H

#include <errno.h>
#include <stdlib.h>

#include "devices/virtio_rng.h"
#include "tests/fuzz/fuzz.h"

struct rng_fuzz {
	uint64_t now;
	int mode; /* 0 full, 1 EAGAIN, 2 EIO, 3 one byte at a time */
	uint64_t bytes;
};

static uint64_t rngf_now(void *opaque)
{
	return ((struct rng_fuzz *)opaque)->now;
}

static ssize_t rngf_get(void *opaque, void *buf, size_t len)
{
	struct rng_fuzz *f = opaque;

	if (len == 0)
		abort(); /* the device never asks for nothing */
	switch (f->mode) {
	case 1:
		return -EAGAIN;
	case 2:
		return -EIO;
	case 3:
		len = 1;
		break;
	}
	memset(buf, 0x5a, len); /* the whole range must be guest RAM */
	f->bytes += len;
	return (ssize_t)len;
}

/* Creates the device with the rate limit the input picks (0 = none); `loop` for its timer. */
static inline struct virtio_rng *rngf_create(struct rng_fuzz *f, struct fuzz_in *in,
					     struct ev_loop *loop, const struct logger *log)
{
	static const uint64_t rates[] = {0, 0, 1, 1000, 65536, 1ull << 40};
	struct virtio_rng_hooks hooks = {rngf_now, rngf_get, f};
	struct vmm_err err = {{0}};
	struct virtio_rng *rng;

	*f = (struct rng_fuzz){1000000000ull, 0, 0};
	if (virtio_rng_create(&rng, rates[fuzz_u8(in) % 6], loop, log, &err) < 0)
		abort();
	virtio_rng_set_hooks(rng, &hooks);
	return rng;
}

/* An input action on the source: move the clock, change what the source answers. */
static inline void rngf_extra(void *ctx, struct fuzz_in *in)
{
	struct rng_fuzz *f = ctx;
	uint8_t sel = fuzz_u8(in);

	if (sel & 0x80)
		f->now += (uint64_t)fuzz_u32(in) * (sel & 0x40 ? 1000000ull : 1ull);
	else
		f->mode = sel & 3;
}

#endif
