/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (VIRTIO 1.2 §5.2) over a raw image file or host block device.
 */
#ifndef MINIVMM_VIRTIO_BLK_H
#define MINIVMM_VIRTIO_BLK_H

#include "devices/virtio.h"
#include "vmm/config.h"

struct virtio_blk;

/*
 * Work per wake-up of the request queue: at most this many new requests and
 * about this many data bytes (a larger read or write continues on the next
 * wake-up); then the device yields to the event loop and re-arms itself.
 */
#define VIRTIO_BLK_BUDGET_REQUESTS 32u
#define VIRTIO_BLK_BUDGET_BYTES	   (4u << 20)

extern const struct virtio_device_ops virtio_blk_ops;

/*
 * Opens and locks the image (OFD lock: exclusive when writable, shared when
 * read-only) and checks its size; clear one-line errors for a missing file,
 * no permission, a busy image (another VMM holds the lock), a size that is
 * not a multiple of 512.  Nothing is written to the image here.
 */
int virtio_blk_create(struct virtio_blk **out, const struct mvm_disk_config *disk,
		      struct ev_loop *loop, const struct logger *log, struct vmm_err *err);
void virtio_blk_destroy(struct virtio_blk *blk);

struct disk_image;
/*
 * mvm_vm_replace_disk, on the event-loop thread: takes over `img` (opened
 * by the caller as the first image was; *img is left empty) and drops the
 * old image.  0: swapped now, the caller raises the config-change
 * interrupt; 1: a read or write is in flight on the old image, the swap and
 * the interrupt follow when it completes.
 */
int virtio_blk_replace_image(struct virtio_blk *blk, struct disk_image *img);

/* Image size in bytes, for logs and tests. */
uint64_t virtio_blk_capacity_bytes(const struct virtio_blk *blk);

/*
 * The ops to give virtio_mmio_create() for this disk: virtio_blk_ops with
 * the feature bits of this disk (RO, DISCARD, WRITE_ZEROES depend on the
 * image and its options; virtio_blk_ops.features has only the common ones).
 * Valid until virtio_blk_destroy().
 */
const struct virtio_device_ops *virtio_blk_device_ops(const struct virtio_blk *blk);

#endif
