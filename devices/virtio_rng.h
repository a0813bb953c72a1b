/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng / entropy device (VIRTIO 1.2 §5.4): fills the guest's buffers
 * from getrandom(2), optionally rate-limited so one guest cannot drain the
 * host's pool.
 */
#ifndef MINIVMM_VIRTIO_RNG_H
#define MINIVMM_VIRTIO_RNG_H

#include <stdint.h>

#include "devices/virtio.h"

struct virtio_rng;

extern const struct virtio_device_ops virtio_rng_ops;

/* bytes_per_sec: 0 = unlimited. */
int virtio_rng_create(struct virtio_rng **out, uint64_t bytes_per_sec, struct ev_loop *loop,
		      const struct logger *log, struct vmm_err *err);
void virtio_rng_destroy(struct virtio_rng *rng);

#endif
