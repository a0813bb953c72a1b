/* SPDX-License-Identifier: MIT */
/*
 * The host side of a virtual disk: a raw image file or a host block device.
 * Knows nothing about virtio; devices/virtio_blk.c turns guest requests into
 * these calls.
 *
 * Locking, with open file description locks (F_OFD_SETLK), compatible
 * with QEMU's file-posix locking (F_RDLCKs on byte 100 + perm and 200 +
 * perm): writable takes F_WRLCK on the whole file, so it conflicts with
 * any other minivmm or QEMU; read-only takes F_RDLCK on everything but
 * byte 101 (QEMU's "holds WRITE") and refuses to start if someone locks
 * that byte, so read-only minivmm instances share an image, and a QEMU
 * writing the image excludes us and we it.  (A QEMU that only reads is
 * refused too while we hold the image: its test of byte 200 hits our
 * range.  Safe, if stricter than needed.)  File systems without OFD
 * lock support (some network file systems) only get a warning.
 *
 * cache=none opens with O_DIRECT.  A file system that refuses O_DIRECT
 * (tmpfs) is an error, not a silent fallback: the user asked for no host
 * caching and should pick cache=writeback explicitly.  Guest buffers that
 * do not meet the O_DIRECT memory alignment are bounced through an aligned
 * buffer; file offsets and lengths must meet `block_size` (virtio-blk
 * advertises it as blk_size, so a well-behaved guest does).
 *
 * Not thread-safe: one thread (the event loop) does the I/O of an image.
 */
#ifndef MINIVMM_DISK_IMAGE_H
#define MINIVMM_DISK_IMAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/log.h"

#define DISK_SECTOR_SIZE 512u

/* Bounce-buffer size for misaligned O_DIRECT I/O, and the write-zeroes fallback chunk. */
#define DISK_IMAGE_BOUNCE_BYTES (1u << 20)

struct disk_image {
	int fd;
	char *path;
	bool read_only;
	bool direct;		/* O_DIRECT (cache=none) */
	bool is_blockdev;	/* a host block device rather than a regular file */
	uint64_t size;		/* bytes, a multiple of DISK_SECTOR_SIZE */
	uint32_t block_size;	/* logical block size: 512, or the host's (blockdev/O_DIRECT) */
	uint32_t dio_mem_align; /* O_DIRECT buffer address/length alignment (direct only) */
	uint32_t discard_granularity; /* bytes; a hint for the guest */
	bool can_discard;	      /* punch hole / BLKDISCARD works (probed at open) */
	bool discard_zeroes;	      /* discarded ranges read back as zeroes (punch hole) */
	bool zero_range_failed; /* FALLOC_FL_ZERO_RANGE refused once: go straight to fallback */
	void *bounce;		/* DISK_IMAGE_BOUNCE_BYTES, aligned; allocated on first need */
};

/*
 * Opens, locks and sizes the image.  Clear one-line errors in err:
 * "cannot open disk PATH: No such file or directory",
 * "disk PATH is in use by another process (locked); stop the other VMM or
 * use ,ro on both", a size that is not a multiple of 512, O_DIRECT refused.
 * Nothing is written to the image.  Returns 0 or -errno.
 */
int disk_image_open(struct disk_image *img, const char *path, bool read_only, bool direct,
		    const struct logger *log, struct vmm_err *err);
void disk_image_close(struct disk_image *img);

/*
 * Full-length vectored I/O at byte offset `off` (short transfers and EINTR
 * are retried; a read past EOF is -EIO).  The range must lie inside the
 * image: callers check, these functions check again.  0 or -errno.
 */
int disk_image_preadv(struct disk_image *img, const struct iovec *iov, int iovcnt, uint64_t off);
int disk_image_pwritev(struct disk_image *img, const struct iovec *iov, int iovcnt, uint64_t off);

/* fdatasync.  0 or -errno. */
int disk_image_flush(struct disk_image *img);

/* Deallocates [off, off+len); -EOPNOTSUPP when !can_discard. */
int disk_image_discard(struct disk_image *img, uint64_t off, uint64_t len);

/*
 * Makes [off, off+len) read back as zeroes: punch hole when may_unmap and
 * the image can (it zeroes), else FALLOC_FL_ZERO_RANGE / BLKZEROOUT, else
 * writing zeroes.  0 or -errno.
 */
int disk_image_write_zeroes(struct disk_image *img, uint64_t off, uint64_t len, bool may_unmap);

#endif
