/* SPDX-License-Identifier: MIT */
/*
 * A hostile virtio driver for the device fuzzers: the real virtio-mmio
 * transport in front of the device, fake guest RAM and the unit tests'
 * split-ring driver (tests/unit/virtio_driver.h), steered by the fuzzer's
 * bytes.  vfz_run() reads the input as a program of driver actions:
 * mostly well-formed descriptor chains (direct or indirect, with buffers
 * in RAM, lengths mostly small or sector-sized), kicks, and now and then
 * something no driver should do (raw descriptors, avail->idx jumps,
 * scribbles on the rings, register writes, resets in the middle).  It
 * also holds the device to its side of the contract: a used length never
 * exceeds the writable bytes of the chain it completes.
 */
#ifndef MINIVMM_VIRTIO_FUZZ_H
#define MINIVMM_VIRTIO_FUZZ_H

#include "tests/fuzz/fuzz.h"
#include "tests/unit/virtio_driver.h"

struct vfz_hooks {
	/* Optional: fill device-readable buffer `index` of a chain (e.g. a request header). */
	void (*fill)(void *ctx, struct fuzz_in *in, uint8_t *host, uint32_t len, unsigned index);
	/* Optional: a device-specific action (e.g. a frame arriving from the backend). */
	void (*extra)(void *ctx, struct fuzz_in *in);
	void *ctx;
};

/*
 * vtd_init + vtd_attach + driver initialisation with the features the first
 * input bytes refuse; the device must be fresh or reset.
 */
void vfz_start(struct virtio_test_driver *d, struct fuzz_in *in, unsigned nqueues,
	       const struct virtio_device_ops *ops, void *dev, struct ev_loop *loop);
/* One driver action from the input. */
void vfz_step(struct virtio_test_driver *d, struct fuzz_in *in, const struct vfz_hooks *h);
/* Runs the rest of the input as driver actions. */
void vfz_run(struct virtio_test_driver *d, struct fuzz_in *in, const struct vfz_hooks *h);
/*
 * Stops checking used lengths against the chains the driver made, for
 * harnesses that move the rings behind vfz's back (register writes).
 */
void vfz_untracked(void);
/* Resets the device through the transport (status 0), detaches it and frees the RAM. */
void vfz_stop(struct virtio_test_driver *d);

#endif
