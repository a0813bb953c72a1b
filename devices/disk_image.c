/* SPDX-License-Identifier: MIT */
/*
 * Raw disk images: open, lock, size, vectored I/O, flush, discard and
 * write-zeroes on a regular file or a host block device (disk_image.h).
 */
#include "devices/disk_image.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define BOUNCE_ALIGN 4096u

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* Reads one unsigned number from a sysfs attribute; 0 if absent. */
static uint64_t sysfs_u64(dev_t rdev, const char *attr)
{
	char path[128], buf[32];
	unsigned long long v = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/queue/%s", major(rdev), minor(rdev),
		 attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%llu", &v) != 1)
		return 0;
	return v;
}

/*
 * QEMU's file-posix locking (block/file-posix.c): byte 100 + i is held
 * (F_RDLCK) by a user holding permission i, byte 200 + i by a user that
 * does not share permission i; BLK_PERM_WRITE is i = 1.
 */
#define QEMU_LOCK_PERM_WRITE_BYTE 101

static int ofd_lock(int fd, short type, off_t start, off_t len)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};

	return fcntl(fd, F_OFD_SETLK, &fl);
}

/*
 * Writable: F_WRLCK on the whole file (l_len 0: to EOF and beyond), which
 * conflicts with any lock of another minivmm or QEMU.  Read-only: F_RDLCK
 * on everything except QEMU's "holds WRITE" byte, shared with other
 * readers; then a test for a lock on that byte finds a QEMU that writes
 * (a writing minivmm's F_WRLCK already conflicted).  A QEMU started later
 * tests our range (its 200 + i bytes) and refuses.
 */
static int lock_image(struct disk_image *img, const struct logger *log, struct vmm_err *err)
{
	int ret;

	if (!img->read_only) {
		ret = ofd_lock(img->fd, F_WRLCK, 0, 0);
	} else {
		ret = ofd_lock(img->fd, F_RDLCK, 0, QEMU_LOCK_PERM_WRITE_BYTE);
		if (ret == 0)
			ret = ofd_lock(img->fd, F_RDLCK, QEMU_LOCK_PERM_WRITE_BYTE + 1, 0);
		if (ret == 0) {
			struct flock fl = {.l_type = F_WRLCK,
					   .l_whence = SEEK_SET,
					   .l_start = QEMU_LOCK_PERM_WRITE_BYTE,
					   .l_len = 1};

			ret = fcntl(img->fd, F_OFD_GETLK, &fl);
			if (ret == 0 && fl.l_type != F_UNLCK) {
				ret = -1;
				errno = EAGAIN;
			}
		}
	}
	if (ret == 0)
		return 0;
	if (errno == EAGAIN || errno == EACCES)
		return vmm_errf(err, -EBUSY,
				"disk %s is in use by another process (locked); stop the other VMM "
				"or use ,ro on both",
				img->path);
	if (errno == EINVAL || errno == ENOLCK || errno == EOPNOTSUPP) {
		log_warn(log, "disk %s: file system does not support OFD locks (%s); not locked",
			 img->path, strerror(errno));
		return 0;
	}
	return vmm_errf(err, -errno, "cannot lock disk %s: %s", img->path, strerror(errno));
}

static int size_image(struct disk_image *img, const struct stat *st, struct vmm_err *err)
{
	if (img->is_blockdev) {
		uint64_t bytes;
		int lbs;

		if (ioctl(img->fd, BLKGETSIZE64, &bytes) < 0)
			return vmm_errf(err, -errno, "disk %s: BLKGETSIZE64: %s", img->path,
					strerror(errno));
		if (ioctl(img->fd, BLKSSZGET, &lbs) < 0)
			return vmm_errf(err, -errno, "disk %s: BLKSSZGET: %s", img->path,
					strerror(errno));
		if (lbs < (int)DISK_SECTOR_SIZE || lbs > 65536 || !is_pow2((unsigned)lbs))
			return vmm_errf(err, -EINVAL, "disk %s: unusable logical block size %d",
					img->path, lbs);
		img->size = bytes;
		img->block_size = (uint32_t)lbs;
	} else {
		img->size = (uint64_t)st->st_size;
		img->block_size = DISK_SECTOR_SIZE;
	}
	if (img->size % DISK_SECTOR_SIZE)
		return vmm_errf(err, -EINVAL,
				"disk %s: size %llu bytes is not a multiple of 512; resize it "
				"(truncate -s) to whole sectors",
				img->path, (unsigned long long)img->size);
	return 0;
}

/* O_DIRECT alignment rules: statx(STATX_DIOALIGN) where the kernel knows them. */
static void direct_alignment(struct disk_image *img)
{
	struct statx stx;

	img->dio_mem_align = BOUNCE_ALIGN;
	if (statx(img->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align) {
		if (is_pow2(stx.stx_dio_mem_align) && stx.stx_dio_mem_align <= BOUNCE_ALIGN)
			img->dio_mem_align = stx.stx_dio_mem_align;
		if (is_pow2(stx.stx_dio_offset_align) &&
		    stx.stx_dio_offset_align > img->block_size && stx.stx_dio_offset_align <= 65536)
			img->block_size = stx.stx_dio_offset_align;
	} else if (img->is_blockdev) {
		img->dio_mem_align = img->block_size;
	}
}

/*
 * Discard support without touching data: a hole punched at EOF with
 * KEEP_SIZE changes nothing, and a file system that cannot punch says
 * EOPNOTSUPP before it looks at the range.
 */
static void probe_discard(struct disk_image *img, const struct stat *st)
{
	if (img->read_only)
		return;
	if (img->is_blockdev) {
		img->can_discard = sysfs_u64(st->st_rdev, "discard_max_bytes") > 0;
		img->discard_granularity = (uint32_t)sysfs_u64(st->st_rdev, "discard_granularity");
		img->discard_zeroes = false;
	} else {
		img->can_discard = fallocate(img->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					     (off_t)img->size, BOUNCE_ALIGN) == 0;
		img->discard_granularity = (uint32_t)st->st_blksize;
		img->discard_zeroes = img->can_discard;
	}
	if (img->discard_granularity < DISK_SECTOR_SIZE || !is_pow2(img->discard_granularity))
		img->discard_granularity = DISK_SECTOR_SIZE;
}

int disk_image_open(struct disk_image *img, const char *path, bool read_only, bool direct,
		    const struct logger *log, struct vmm_err *err)
{
	int flags = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | (direct ? O_DIRECT : 0);
	struct stat st;
	int ret;

	memset(img, 0, sizeof(*img));
	img->fd = -1;
	if (!path || !*path)
		return vmm_errf(err, -EINVAL, "disk: empty path");
	img->path = strdup(path);
	if (!img->path)
		return vmm_errf(err, -ENOMEM, "disk %s: out of memory", path);
	img->read_only = read_only;
	img->direct = direct;

	img->fd = open(path, flags);
	if (img->fd < 0) {
		ret = -errno;
		if (direct && ret == -EINVAL)
			vmm_errf(err, ret,
				 "disk %s: the file system refuses O_DIRECT (cache=none); use "
				 "cache=writeback",
				 path);
		else
			vmm_errf(err, ret, "cannot open disk %s: %s", path, strerror(-ret));
		goto fail;
	}
	if (fstat(img->fd, &st) < 0) {
		ret = vmm_errf(err, -errno, "disk %s: stat: %s", path, strerror(errno));
		goto fail;
	}
	if (S_ISBLK(st.st_mode)) {
		img->is_blockdev = true;
	} else if (!S_ISREG(st.st_mode)) {
		ret = vmm_errf(err, -EINVAL, "disk %s is not a regular file or block device", path);
		goto fail;
	}
	ret = lock_image(img, log, err);
	if (ret < 0)
		goto fail;
	ret = size_image(img, &st, err);
	if (ret < 0)
		goto fail;
	if (direct)
		direct_alignment(img);
	probe_discard(img, &st);
	return 0;

fail:
	disk_image_close(img);
	return ret;
}

void disk_image_close(struct disk_image *img)
{
	if (img->fd >= 0)
		close(img->fd); /* drops the OFD lock with the last reference */
	img->fd = -1;
	free(img->path);
	img->path = NULL;
	free(img->bounce);
	img->bounce = NULL;
}

static int get_bounce(struct disk_image *img)
{
	if (img->bounce)
		return 0;
	if (posix_memalign(&img->bounce, BOUNCE_ALIGN, DISK_IMAGE_BOUNCE_BYTES))
		return -ENOMEM;
	return 0;
}

/* Total length of iov, or -EINVAL if it overflows or iovcnt is impossible. */
static int64_t iov_total(const struct iovec *iov, int iovcnt)
{
	uint64_t total = 0;

	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++)
		if (__builtin_add_overflow(total, iov[i].iov_len, &total) || total > INT64_MAX)
			return -EINVAL;
	return (int64_t)total;
}

static int check_range(const struct disk_image *img, uint64_t off, uint64_t len)
{
	uint64_t end;

	if (__builtin_add_overflow(off, len, &end) || end > img->size)
		return -EINVAL;
	return 0;
}

/* Repeats preadv/pwritev until everything is transferred (short counts, EINTR). */
static int rw_full(struct disk_image *img, const struct iovec *iov, int iovcnt, uint64_t off,
		   uint64_t total, bool write)
{
	struct iovec *copy = NULL;
	const struct iovec *cur = iov;
	uint64_t done = 0;
	int first = 0, ret = 0;

	while (done < total) {
		ssize_t n = write
				? pwritev(img->fd, cur + first, iovcnt - first, (off_t)(off + done))
				: preadv(img->fd, cur + first, iovcnt - first, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (n == 0) {
			ret = -EIO; /* EOF inside the image: it shrank under us */
			break;
		}
		done += (uint64_t)n;
		if (done >= total)
			break;
		if (!copy) {
			copy = malloc(sizeof(*copy) * (size_t)iovcnt);
			if (!copy) {
				ret = -ENOMEM;
				break;
			}
			memcpy(copy, iov, sizeof(*copy) * (size_t)iovcnt);
			cur = copy;
		}
		/* Drop what was transferred from the front. */
		while (n > 0 && first < iovcnt) {
			if ((size_t)n >= copy[first].iov_len) {
				n -= (ssize_t)copy[first].iov_len;
				first++;
			} else {
				copy[first].iov_base = (char *)copy[first].iov_base + n;
				copy[first].iov_len -= (size_t)n;
				n = 0;
			}
		}
	}
	free(copy);
	return ret;
}

static bool iov_aligned(const struct iovec *iov, int iovcnt, uint32_t align)
{
	for (int i = 0; i < iovcnt; i++)
		if (((uintptr_t)iov[i].iov_base | iov[i].iov_len) & (align - 1))
			return false;
	return true;
}

/*
 * Copies len bytes between the flat buffer and iov, starting at iov element
 * *idx, byte *ioff, and advances the cursor.  The caller checked the total.
 */
static void iov_copy(const struct iovec *iov, int iovcnt, int *idx, size_t *ioff, void *buf,
		     size_t len, bool to_iov)
{
	char *p = buf;

	while (len && *idx < iovcnt) {
		size_t avail = iov[*idx].iov_len - *ioff;
		size_t n = avail < len ? avail : len;
		char *v = (char *)iov[*idx].iov_base + *ioff;

		if (to_iov)
			memcpy(v, p, n);
		else
			memcpy(p, v, n);
		p += n;
		len -= n;
		*ioff += n;
		if (*ioff == iov[*idx].iov_len) {
			(*idx)++;
			*ioff = 0;
		}
	}
}

/*
 * O_DIRECT with guest buffers that miss the memory alignment: go through
 * the aligned bounce buffer a chunk at a time (chunks are multiples of
 * block_size, so each chunk's file offset stays aligned).
 */
static int rw_bounce(struct disk_image *img, const struct iovec *iov, int iovcnt, uint64_t off,
		     uint64_t total, bool write)
{
	uint64_t done = 0;
	size_t ioff = 0;
	int idx = 0, ret;

	ret = get_bounce(img);
	if (ret < 0)
		return ret;
	while (done < total) {
		size_t chunk = total - done < DISK_IMAGE_BOUNCE_BYTES ? (size_t)(total - done)
								      : DISK_IMAGE_BOUNCE_BYTES;
		struct iovec b = {img->bounce, chunk};

		if (write)
			iov_copy(iov, iovcnt, &idx, &ioff, img->bounce, chunk, false);
		ret = rw_full(img, &b, 1, off + done, chunk, write);
		if (ret < 0)
			return ret;
		if (!write)
			iov_copy(iov, iovcnt, &idx, &ioff, img->bounce, chunk, true);
		done += chunk;
	}
	return 0;
}

static int do_rw(struct disk_image *img, const struct iovec *iov, int iovcnt, uint64_t off,
		 bool write)
{
	int64_t total = iov_total(iov, iovcnt);

	if (total < 0)
		return (int)total;
	if (write && img->read_only)
		return -EBADF;
	if (check_range(img, off, (uint64_t)total) < 0)
		return -EINVAL;
	if (total == 0)
		return 0;
	if (img->direct) {
		if ((off | (uint64_t)total) & (img->block_size - 1))
			return -EINVAL;
		if (!iov_aligned(iov, iovcnt, img->dio_mem_align))
			return rw_bounce(img, iov, iovcnt, off, (uint64_t)total, write);
	}
	return rw_full(img, iov, iovcnt, off, (uint64_t)total, write);
}

int disk_image_preadv(struct disk_image *img, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return do_rw(img, iov, iovcnt, off, false);
}

int disk_image_pwritev(struct disk_image *img, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return do_rw(img, iov, iovcnt, off, true);
}

int disk_image_flush(struct disk_image *img)
{
	if (img->read_only)
		return 0;
	return fdatasync(img->fd) < 0 ? -errno : 0;
}

int disk_image_discard(struct disk_image *img, uint64_t off, uint64_t len)
{
	if (img->read_only)
		return -EBADF;
	if (check_range(img, off, len) < 0)
		return -EINVAL;
	if (!img->can_discard)
		return -EOPNOTSUPP;
	if (len == 0)
		return 0;
	if (img->is_blockdev) {
		uint64_t range[2] = {off, len};
		return ioctl(img->fd, BLKDISCARD, range) < 0 ? -errno : 0;
	}
	return fallocate(img->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			 (off_t)len) < 0
		   ? -errno
		   : 0;
}

/* The slow path: write zeroes from the (zeroed) bounce buffer. */
static int write_zero_buffers(struct disk_image *img, uint64_t off, uint64_t len)
{
	int ret = get_bounce(img);

	if (ret < 0)
		return ret;
	memset(img->bounce, 0, DISK_IMAGE_BOUNCE_BYTES);
	while (len) {
		size_t chunk =
		    len < DISK_IMAGE_BOUNCE_BYTES ? (size_t)len : DISK_IMAGE_BOUNCE_BYTES;
		struct iovec b = {img->bounce, chunk};

		ret = rw_full(img, &b, 1, off, chunk, true);
		if (ret < 0)
			return ret;
		off += chunk;
		len -= chunk;
	}
	return 0;
}

int disk_image_write_zeroes(struct disk_image *img, uint64_t off, uint64_t len, bool may_unmap)
{
	if (img->read_only)
		return -EBADF;
	if (check_range(img, off, len) < 0)
		return -EINVAL;
	if (len == 0)
		return 0;
	if (may_unmap && img->can_discard && img->discard_zeroes &&
	    disk_image_discard(img, off, len) == 0)
		return 0;
	if (img->is_blockdev) {
		uint64_t range[2] = {off, len};
		return ioctl(img->fd, BLKZEROOUT, range) < 0 ? -errno : 0;
	}
	if (!img->zero_range_failed) {
		if (fallocate(img->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			      (off_t)len) == 0)
			return 0;
		if (errno != EOPNOTSUPP && errno != ENOSYS)
			return -errno;
		img->zero_range_failed = true;
	}
	if (img->direct && ((off | len) & (img->block_size - 1)))
		return -EINVAL;
	return write_zero_buffers(img, off, len);
}
