/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng (devices/virtio_rng.c) behind the real transport, driven by a
 * hostile driver (tests/fuzz/virtio_fuzz.h), with the token bucket's clock
 * and the entropy source under the input's control (tests/fuzz/rng_fuzz.h):
 * partial fills, throttling, EAGAIN retries with a chain held across kicks
 * and resets.  The resume timer is armed on a real event loop that is never
 * run: the next kick (or a reset) is what the harness exercises.
 */
#include "tests/fuzz/rng_fuzz.h"
#include "tests/fuzz/virtio_fuzz.h"

static const struct logger quiet = {LOG_ERROR, -1, "fuzz"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtio_test_driver drv;
	static struct ev_loop *loop;
	struct fuzz_in in = fuzz_in(data, size);
	struct rng_fuzz f;
	struct virtio_rng *rng;
	struct vfz_hooks hooks = {NULL, rngf_extra, &f};

	if (!loop && ev_loop_create(&loop) < 0)
		abort();
	rng = rngf_create(&f, &in, loop, &quiet);
	vfz_start(&drv, &in, 1, &virtio_rng_ops, rng, loop);
	vfz_run(&drv, &in, &hooks);
	vfz_stop(&drv);
	virtio_rng_destroy(rng);
	return 0;
}
