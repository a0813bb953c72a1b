/* SPDX-License-Identifier: MIT */
/*
 * The snapshot state file's container; the layout is docs/SNAPSHOT.md's,
 * every integer encoded byte by byte (little-endian), never a struct dump.
 *
 * Checksums are zlib's CRC-32: zlib is already linked (boot/decompress.c)
 * and uses the CPU's carry-less multiply where there is one.  A CRC finds
 * accidental damage only; a hostile file can carry valid ones, so the
 * reader's bounds checks, not the CRCs, are what keep it safe.
 */
#include "vmm/snapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const uint8_t snap_magic[8] = {'M', 'V', 'M', 'S', 'N', 'A', 'P', 0};
static const uint8_t snap_end[4] = {'E', 'N', 'D', 0};

/* Header field offsets (docs/SNAPSHOT.md "Header"). */
enum {
	H_MAGIC = 0,
	H_MAJOR = 8,
	H_MINOR = 10,
	H_ARCH = 12,
	H_HDRLEN = 16,
	H_COUNT = 20,
	H_FILELEN = 24,
	H_FLAGS = 32,
	H_RESERVED = 40, /* written 0, ignored: a later 1.x may use it */
			 /* the header's last 4 bytes: its CRC */
};

/* Section header field offsets. */
enum {
	S_TAG = 0,
	S_INDEX = 4,
	S_LEN = 8,
	S_FLAGS = 16,
	S_CRC = 20,
};

#define SNAP_HEADER_FLAGS_KNOWN ((uint64_t)0) /* none defined in 1.0 */

#if defined(__x86_64__)
#define SNAP_HOST_ARCH 62u /* EM_X86_64 */
#elif defined(__aarch64__)
#define SNAP_HOST_ARCH 183u /* EM_AARCH64 */
#else
#error "snapfile: unknown host architecture"
#endif

static const uint32_t known_tags[] = {SNAP_TAG_CONF, SNAP_TAG_VM, SNAP_TAG_VCPU, SNAP_TAG_DEV,
				      SNAP_TAG_MEM};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, v);
	put32(p + 4, v >> 32);
}

static uint16_t get16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

/*
 * zlib's crc32_z takes a size_t: a payload above 4 GiB is not cut short.
 * Its NULL buffer means "give me the initial value", not "nothing to add":
 * an empty payload (no buffer yet) must leave the running CRC alone.
 */
static uint32_t crc(uint32_t c, const uint8_t *p, size_t len)
{
	return len ? crc32_z(c, p, len) : c;
}

static uint64_t pad8(uint64_t len)
{
	return (8 - (len & 7)) & 7;
}

const char *snap_tag_str(uint32_t tag, char buf[12])
{
	int n = 4;

	for (int i = 0; i < 4; i++) {
		uint8_t c = tag >> (8 * i);

		if (c < 0x20 || c > 0x7e) {
			snprintf(buf, 12, "0x%08" PRIx32, tag);
			return buf;
		}
		buf[i] = c;
	}
	while (n > 1 && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
	return buf;
}

bool snap_tag_known(uint32_t tag)
{
	for (size_t i = 0; i < sizeof(known_tags) / sizeof(known_tags[0]); i++)
		if (known_tags[i] == tag)
			return true;
	return false;
}

const char *snap_arch_name(uint32_t arch)
{
	switch (arch) {
	case 62:
		return "x86_64";
	case 183:
		return "aarch64";
	case 243:
		return "riscv64";
	default:
		return NULL;
	}
}

/* ------------------------------------------------------------------ */
/* Writer                                                              */
/* ------------------------------------------------------------------ */

struct snap_writer {
	char *path;
	char *tmp;
	int fd;
	uint64_t off;	   /* bytes written so far, header included */
	uint32_t count;	   /* sections ended */
	uint32_t body_crc; /* CRC-32 of everything after the header */
	uint8_t *buf;	   /* the section being built */
	size_t len, cap;
	uint32_t tag, index, flags;
	bool in_section;
	int ret; /* sticky first error */
	struct vmm_err err;
};

static int werr(struct snap_writer *w, int ret, const char *what)
{
	if (w->ret == 0) {
		w->ret = ret;
		vmm_errf(&w->err, ret, "state file %s: %s: %s", w->path, what, strerror(-ret));
	}
	return w->ret;
}

static int write_all(struct snap_writer *w, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(w->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return werr(w, -errno, "write");
		if (n == 0)
			return werr(w, -EIO, "write");
		p += n;
		len -= n;
		w->off += n;
	}
	return 0;
}

int snap_writer_open(const char *path, struct snap_writer **out, struct vmm_err *err)
{
	static const uint8_t zero_header[SNAP_HEADER_LEN];
	struct snap_writer *w;
	size_t n;
	int ret;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return vmm_errf(err, -ENOMEM, "state file %s: out of memory", path);
	n = strlen(path);
	w->path = strdup(path);
	w->tmp = malloc(n + sizeof(".tmp.XXXXXX"));
	if (!w->path || !w->tmp) {
		free(w->path);
		free(w->tmp);
		free(w);
		return vmm_errf(err, -ENOMEM, "state file %s: out of memory", path);
	}
	memcpy(w->tmp, path, n);
	memcpy(w->tmp + n, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));
	/* mkostemp: O_CREAT|O_EXCL, mode 0600, a name no other writer holds. */
	w->fd = mkostemp(w->tmp, O_CLOEXEC);
	if (w->fd < 0) {
		ret = -errno;
		vmm_errf(err, ret, "state file %s: cannot create %s: %s", path, w->tmp,
			 strerror(-ret));
		free(w->path);
		free(w->tmp);
		free(w);
		return ret;
	}
	/*
	 * A zero header until finish: a file cut short by a crash here has no
	 * magic and cannot be mistaken for a state file, even if renamed.
	 */
	w->body_crc = crc32_z(0, NULL, 0);
	if (write_all(w, zero_header, sizeof(zero_header)) < 0) {
		ret = w->ret;
		vmm_errf(err, ret, "%s", w->err.msg);
		snap_writer_abort(w);
		return ret;
	}
	*out = w;
	return 0;
}

const char *snap_writer_tmp_path(const struct snap_writer *w)
{
	return w->tmp;
}

int snap_section_begin(struct snap_writer *w, uint32_t tag, uint32_t index, uint32_t flags)
{
	if (w->ret)
		return w->ret;
	if (w->in_section)
		return werr(w, -EINVAL, "section begun inside another (a bug)");
	if (flags & ~SNAP_SEC_KNOWN_FLAGS)
		return werr(w, -EINVAL, "unknown section flags (a bug)");
	if (w->count == UINT32_MAX)
		return werr(w, -E2BIG, "too many sections");
	w->in_section = true;
	w->tag = tag;
	w->index = index;
	w->flags = flags;
	w->len = 0;
	return 0;
}

int snap_put_bytes(struct snap_writer *w, const void *p, size_t len)
{
	if (w->ret)
		return w->ret;
	if (!w->in_section)
		return werr(w, -EINVAL, "data outside a section (a bug)");
	if (len > w->cap - w->len) {
		size_t cap = w->cap ? w->cap : 4096;
		uint8_t *nb;

		while (cap - w->len < len) {
			if (cap > SIZE_MAX / 2)
				return werr(w, -ENOMEM, "section buffer");
			cap *= 2;
		}
		nb = realloc(w->buf, cap);
		if (!nb)
			return werr(w, -ENOMEM, "section buffer");
		w->buf = nb;
		w->cap = cap;
	}
	if (len)
		memcpy(w->buf + w->len, p, len);
	w->len += len;
	return 0;
}

int snap_put_u8(struct snap_writer *w, uint8_t v)
{
	return snap_put_bytes(w, &v, 1);
}

int snap_put_u16(struct snap_writer *w, uint16_t v)
{
	uint8_t b[2];

	put16(b, v);
	return snap_put_bytes(w, b, sizeof(b));
}

int snap_put_u32(struct snap_writer *w, uint32_t v)
{
	uint8_t b[4];

	put32(b, v);
	return snap_put_bytes(w, b, sizeof(b));
}

int snap_put_u64(struct snap_writer *w, uint64_t v)
{
	uint8_t b[8];

	put64(b, v);
	return snap_put_bytes(w, b, sizeof(b));
}

int snap_section_end(struct snap_writer *w)
{
	static const uint8_t zeroes[8];
	uint8_t hdr[SNAP_SECTION_HDR];
	uint64_t pad = pad8(w->len);
	uint32_t c;

	if (w->ret)
		return w->ret;
	if (!w->in_section)
		return werr(w, -EINVAL, "section ended outside one (a bug)");
	put32(hdr + S_TAG, w->tag);
	put32(hdr + S_INDEX, w->index);
	put64(hdr + S_LEN, w->len);
	put32(hdr + S_FLAGS, w->flags);
	/* The section CRC covers its header's fields, payload and padding. */
	c = crc(0, hdr, S_CRC);
	c = crc(c, w->buf, w->len);
	c = crc(c, zeroes, pad);
	put32(hdr + S_CRC, c);
	w->body_crc = crc(w->body_crc, hdr, sizeof(hdr));
	w->body_crc = crc(w->body_crc, w->buf, w->len);
	w->body_crc = crc(w->body_crc, zeroes, pad);
	if (write_all(w, hdr, sizeof(hdr)) < 0 || write_all(w, w->buf, w->len) < 0 ||
	    write_all(w, zeroes, pad) < 0)
		return w->ret;
	w->in_section = false;
	w->count++;
	return 0;
}

int snap_section_add(struct snap_writer *w, uint32_t tag, uint32_t index, uint32_t flags,
		     const void *payload, size_t len)
{
	int ret = snap_section_begin(w, tag, index, flags);

	if (ret == 0)
		ret = snap_put_bytes(w, payload, len);
	if (ret == 0)
		ret = snap_section_end(w);
	return ret;
}

static void writer_free(struct snap_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	free(w->buf);
	free(w->path);
	free(w->tmp);
	free(w);
}

void snap_writer_abort(struct snap_writer *w)
{
	if (!w)
		return;
	unlink(w->tmp);
	writer_free(w);
}

/* fsync the directory holding path, so that the rename itself is durable. */
static int sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, ret = 0;

	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, slash - path);
	if (!dir)
		return -ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	free(dir);
	return ret;
}

int snap_writer_finish(struct snap_writer *w, struct vmm_err *err)
{
	uint8_t hdr[SNAP_HEADER_LEN] = {0}, trailer[SNAP_TRAILER_LEN];
	uint32_t file_crc;
	uint64_t file_len;
	int ret;

	if (w->in_section && !w->ret)
		werr(w, -EINVAL, "finished inside a section (a bug)");
	if (w->ret)
		goto fail;
	file_len = w->off + SNAP_TRAILER_LEN;
	memcpy(hdr + H_MAGIC, snap_magic, sizeof(snap_magic));
	put16(hdr + H_MAJOR, SNAP_VERSION_MAJOR);
	put16(hdr + H_MINOR, SNAP_VERSION_MINOR);
	put32(hdr + H_ARCH, SNAP_HOST_ARCH);
	put32(hdr + H_HDRLEN, SNAP_HEADER_LEN);
	put32(hdr + H_COUNT, w->count);
	put64(hdr + H_FILELEN, file_len);
	put64(hdr + H_FLAGS, 0);
	put32(hdr + SNAP_HEADER_LEN - 4, crc(0, hdr, SNAP_HEADER_LEN - 4));
	/* The header comes last but is first in the file: combine, do not re-read. */
	file_crc = crc32_combine(crc(0, hdr, sizeof(hdr)), w->body_crc,
				 (z_off_t)(w->off - SNAP_HEADER_LEN));
	memcpy(trailer, snap_end, sizeof(snap_end));
	file_crc = crc(file_crc, trailer, 4);
	put32(trailer + 4, file_crc);
	if (write_all(w, trailer, sizeof(trailer)) < 0)
		goto fail;
	if (pwrite(w->fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr)) {
		werr(w, errno ? -errno : -EIO, "write");
		goto fail;
	}
	/* Data before name: the rename must not publish blocks still in the page cache. */
	if (fsync(w->fd) < 0) {
		werr(w, -errno, "fsync");
		goto fail;
	}
	if (rename(w->tmp, w->path) < 0) {
		werr(w, -errno, "rename");
		goto fail;
	}
	ret = sync_dir(w->path);
	if (ret < 0) {
		/* The file is complete and in place; only its durability is in doubt. */
		vmm_errf(err, ret, "state file %s: fsync of its directory: %s", w->path,
			 strerror(-ret));
		writer_free(w);
		return ret;
	}
	writer_free(w);
	return 0;
fail:
	ret = w->ret;
	vmm_errf(err, ret, "%s", w->err.msg);
	snap_writer_abort(w);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Reader                                                              */
/* ------------------------------------------------------------------ */

struct snap_reader {
	char *name;
	uint8_t *owned; /* the file's bytes, when we read them */
	const uint8_t *data;
	size_t size;
	struct snap_info info;
	struct snap_section *sec;
	uint32_t *sorted; /* section numbers ordered by (tag, index) */
};

/* Every validation failure: one line, the file's name first. */
static int bad(struct vmm_err *err, int ret, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int bad(struct vmm_err *err, int ret, const char *name, const char *fmt, ...)
{
	char line[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return vmm_errf(err, ret, "state file %s: %s", name, line);
}

static const char *sec_name(const uint8_t *sh, char buf[48])
{
	char t[12];

	snprintf(buf, 48, "%s %" PRIu32, snap_tag_str(get32(sh + S_TAG), t), get32(sh + S_INDEX));
	return buf;
}

/*
 * For the truncation message: which section the end of a short file falls
 * in, walking only headers that are within the bytes present.
 */
static void where_truncated(const uint8_t *d, size_t size, uint64_t first, char *out, size_t n)
{
	uint64_t off = first, end;
	char nm[48];

	for (uint32_t i = 0;; i++) {
		if (off + SNAP_SECTION_HDR > size) {
			snprintf(out, n, " (the end falls in section %" PRIu32 "'s header)", i);
			return;
		}
		if (__builtin_add_overflow(off + SNAP_SECTION_HDR, get64(d + off + S_LEN), &end) ||
		    __builtin_add_overflow(end, pad8(get64(d + off + S_LEN)), &end) || end > size) {
			snprintf(out, n, " (the end falls in section %" PRIu32 " (%s))", i,
				 sec_name(d + off, nm));
			return;
		}
		if (end == size) {
			snprintf(out, n, " (the end falls after section %" PRIu32 " (%s))", i,
				 sec_name(d + off, nm));
			return;
		}
		off = end;
	}
}

static int check_header(const uint8_t *d, size_t size, const char *name, struct snap_info *h,
			struct vmm_err *err)
{
	char where[96];

	/* A prefix of the magic is a truncated file, anything else a foreign one. */
	if (size && memcmp(d, snap_magic, size < sizeof(snap_magic) ? size : sizeof(snap_magic)))
		return bad(err, -EBADMSG, name, "not a minivmm state file (bad magic)");
	if (size < SNAP_HEADER_LEN)
		return bad(err, -EBADMSG, name,
			   "truncated: %zu bytes, shorter than the %u-byte header", size,
			   SNAP_HEADER_LEN);
	/*
	 * Fixed in every version (docs/SNAPSHOT.md): the magic, the version,
	 * the header length at 16 and the header's CRC in its last 4 bytes.
	 * So the CRC is checked before the version: a flipped bit reads as
	 * damage, not as a file from another minivmm.
	 */
	h->header_len = get32(d + H_HDRLEN);
	if (h->header_len < SNAP_HEADER_LEN || h->header_len > SNAP_MAX_HEADER_LEN ||
	    h->header_len % 8 || h->header_len > size)
		return bad(err, -EBADMSG, name,
			   "header length %" PRIu32
			   " is invalid (%u..%u, a multiple of 8, within the file's %zu bytes): "
			   "the file is corrupted",
			   h->header_len, SNAP_HEADER_LEN, SNAP_MAX_HEADER_LEN, size);
	h->header_crc = get32(d + h->header_len - 4);
	if (crc(0, d, h->header_len - 4) != h->header_crc)
		return bad(err, -EBADMSG, name, "header checksum mismatch: the file is corrupted");
	h->major = get16(d + H_MAJOR);
	h->minor = get16(d + H_MINOR);
	h->arch = get32(d + H_ARCH);
	h->sections = get32(d + H_COUNT);
	h->file_len = get64(d + H_FILELEN);
	h->flags = get64(d + H_FLAGS);
	if (h->major != SNAP_VERSION_MAJOR)
		return bad(err, -ENOTSUP, name,
			   "format version %u.%u is not supported (this minivmm reads %u.x)",
			   h->major, h->minor, SNAP_VERSION_MAJOR);
	if (h->arch != SNAP_HOST_ARCH) {
		const char *a = snap_arch_name(h->arch);

		if (a)
			return bad(err, -ENOTSUP, name, "made for %s, this host is %s", a,
				   snap_arch_name(SNAP_HOST_ARCH));
		return bad(err, -ENOTSUP, name,
			   "made for architecture %" PRIu32 ", this host is %s", h->arch,
			   snap_arch_name(SNAP_HOST_ARCH));
	}
	if (h->flags & ~SNAP_HEADER_FLAGS_KNOWN)
		return bad(err, -ENOTSUP, name,
			   "header flags %#" PRIx64 " unknown to this minivmm (format %u.%u)",
			   h->flags & ~SNAP_HEADER_FLAGS_KNOWN, SNAP_VERSION_MAJOR,
			   SNAP_VERSION_MINOR);
	if (h->file_len < (uint64_t)h->header_len + SNAP_TRAILER_LEN)
		return bad(err, -EBADMSG, name,
			   "header says the file is %" PRIu64
			   " bytes, less than its header and trailer: the file is corrupted",
			   h->file_len);
	if (h->file_len > SNAP_MAX_FILE)
		return bad(err, -EBADMSG, name,
			   "header says the file is %" PRIu64 " bytes, above the %llu MiB limit",
			   h->file_len, SNAP_MAX_FILE >> 20);
	if (size < h->file_len) {
		where_truncated(d, size, h->header_len, where, sizeof(where));
		return bad(err, -EBADMSG, name, "truncated: %zu of %" PRIu64 " bytes%s", size,
			   h->file_len, where);
	}
	if (size > h->file_len)
		return bad(err, -EBADMSG, name,
			   "%" PRIu64 " bytes of trailing garbage after the %" PRIu64
			   "-byte file its header describes",
			   (uint64_t)size - h->file_len, h->file_len);
	return 0;
}

static int cmp_sections(const void *a, const void *b, void *arg)
{
	const struct snap_section *sec = arg;
	const struct snap_section *x = &sec[*(const uint32_t *)a], *y = &sec[*(const uint32_t *)b];

	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	/* File order among equals: a duplicate is reported against its first. */
	return x->number < y->number ? -1 : x->number > y->number;
}

static int check_sections(struct snap_reader *r, struct vmm_err *err)
{
	const uint8_t *d = r->data;
	const char *name = r->name;
	const struct snap_info *h = &r->info;
	uint64_t off = h->header_len, trailer = h->file_len - SNAP_TRAILER_LEN, room;
	char nm[48], t[12];
	uint32_t file_crc;

	/* Each section takes at least its header: bound the allocation by the file. */
	room = (trailer - off) / SNAP_SECTION_HDR;
	if (h->sections > room)
		return bad(err, -EBADMSG, name,
			   "header says %" PRIu32
			   " sections, the file has room for at most %" PRIu64
			   ": the file is corrupted",
			   h->sections, room);
	r->sec = calloc(h->sections ? h->sections : 1, sizeof(*r->sec));
	r->sorted = calloc(h->sections ? h->sections : 1, sizeof(*r->sorted));
	if (!r->sec || !r->sorted)
		return bad(err, -ENOMEM, name, "out of memory");
	for (uint32_t i = 0; i < h->sections; i++) {
		struct snap_section *s = &r->sec[i];
		const uint8_t *sh = d + off;
		uint64_t len, end;

		if (off + SNAP_SECTION_HDR > trailer)
			return bad(err, -EBADMSG, name,
				   "header says %" PRIu32 " sections, the file holds %" PRIu32
				   ": the file is corrupted",
				   h->sections, i);
		len = get64(sh + S_LEN);
		/* u64 arithmetic, checked: a length near 2^64 must not wrap around. */
		if (__builtin_add_overflow(off + SNAP_SECTION_HDR, len, &end) ||
		    __builtin_add_overflow(end, pad8(len), &end) || end > trailer)
			return bad(err, -EBADMSG, name,
				   "section %" PRIu32 " (%s) at offset %" PRIu64 ": length %" PRIu64
				   " extends past the end of the file: the file is corrupted",
				   i, sec_name(sh, nm), off, len);
		s->tag = get32(sh + S_TAG);
		s->index = get32(sh + S_INDEX);
		s->flags = get32(sh + S_FLAGS);
		s->crc = get32(sh + S_CRC);
		s->offset = off;
		s->len = len;
		s->payload = sh + SNAP_SECTION_HDR;
		s->number = i;
		s->file = name;
		if (crc(crc(0, sh, S_CRC), s->payload, len + pad8(len)) != s->crc)
			return bad(err, -EBADMSG, name,
				   "section %" PRIu32
				   " (%s) checksum mismatch: the file is corrupted",
				   i, sec_name(sh, nm));
		if (s->flags & ~SNAP_SEC_KNOWN_FLAGS)
			return bad(err, -ENOTSUP, name,
				   "section %" PRIu32 " (%s) has flags %#" PRIx32
				   " unknown to this minivmm (format %u.%u)",
				   i, sec_name(sh, nm), s->flags & ~SNAP_SEC_KNOWN_FLAGS,
				   SNAP_VERSION_MAJOR, SNAP_VERSION_MINOR);
		s->known = snap_tag_known(s->tag);
		if (!s->known && !(s->flags & SNAP_SEC_OPTIONAL))
			return bad(err, -ENOTSUP, name,
				   "section %" PRIu32 " (%s): unknown section tag '%s', not marked "
				   "optional (written by format %u.%u; this minivmm reads %u.%u)",
				   i, sec_name(sh, nm), snap_tag_str(s->tag, t), h->major, h->minor,
				   SNAP_VERSION_MAJOR, SNAP_VERSION_MINOR);
		r->sorted[i] = i;
		off = end;
	}
	if (off != trailer)
		return bad(err, -EBADMSG, name,
			   "%" PRIu64 " unaccounted bytes between the last of %" PRIu32
			   " sections and the trailer: the file is corrupted",
			   trailer - off, h->sections);
	if (memcmp(d + trailer, snap_end, sizeof(snap_end)) != 0)
		return bad(err, -EBADMSG, name,
			   "no end marker at offset %" PRIu64 ": the file is corrupted", trailer);
	r->info.file_crc = get32(d + trailer + 4);
	file_crc = crc(0, d, trailer + 4);
	if (file_crc != r->info.file_crc)
		return bad(err, -EBADMSG, name,
			   "file checksum mismatch (every section checks: sections moved, "
			   "swapped or spliced?): the file is corrupted");
	qsort_r(r->sorted, h->sections, sizeof(*r->sorted), cmp_sections, r->sec);
	for (uint32_t i = 1; i < h->sections; i++) {
		const struct snap_section *a = &r->sec[r->sorted[i - 1]],
					  *b = &r->sec[r->sorted[i]];

		if (a->tag == b->tag && a->index == b->index)
			return bad(err, -EBADMSG, name,
				   "section %" PRIu32 " (%s %" PRIu32
				   ") duplicates section %" PRIu32 ": the file is invalid",
				   b->number, snap_tag_str(b->tag, t), b->index, a->number);
	}
	return 0;
}

void snap_reader_free(struct snap_reader *r)
{
	if (!r)
		return;
	free(r->sec);
	free(r->sorted);
	free(r->owned);
	free(r->name);
	free(r);
}

static int reader_new(const char *name, struct snap_reader **out, struct vmm_err *err)
{
	struct snap_reader *r = calloc(1, sizeof(*r));

	if (!r || !(r->name = strdup(name))) {
		free(r);
		return vmm_errf(err, -ENOMEM, "state file %s: out of memory", name);
	}
	*out = r;
	return 0;
}

static int validate(struct snap_reader *r, struct snap_reader **out, struct vmm_err *err)
{
	int ret = check_header(r->data, r->size, r->name, &r->info, err);

	if (ret == 0)
		ret = check_sections(r, err);
	if (ret < 0) {
		snap_reader_free(r);
		return ret;
	}
	*out = r;
	return 0;
}

int snap_read_buf(const void *buf, size_t len, const char *name, struct snap_reader **out,
		  struct vmm_err *err)
{
	struct snap_reader *r;
	int ret;

	*out = NULL;
	ret = reader_new(name, &r, err);
	if (ret < 0)
		return ret;
	r->data = buf;
	r->size = len;
	return validate(r, out, err);
}

int snap_read_file(const char *path, struct snap_reader **out, struct vmm_err *err)
{
	struct snap_reader *r;
	struct stat st;
	size_t got = 0;
	int fd, ret;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vmm_errf(err, -errno, "state file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		close(fd);
		return vmm_errf(err, ret, "state file %s: %s", path, strerror(-ret));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return vmm_errf(err, -EINVAL, "state file %s: not a regular file", path);
	}
	/* One byte past the limit: enough to tell "too large" from "at the limit". */
	if ((uint64_t)st.st_size > SNAP_MAX_FILE) {
		close(fd);
		return vmm_errf(err, -EFBIG, "state file %s: %lld bytes, above the %llu MiB limit",
				path, (long long)st.st_size, SNAP_MAX_FILE >> 20);
	}
	ret = reader_new(path, &r, err);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	r->owned = malloc(st.st_size ? st.st_size : 1);
	if (!r->owned) {
		close(fd);
		snap_reader_free(r);
		return vmm_errf(err, -ENOMEM, "state file %s: out of memory", path);
	}
	/* A file that shrinks meanwhile is judged on what was read (truncated). */
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, r->owned + got, st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			close(fd);
			snap_reader_free(r);
			return vmm_errf(err, ret, "state file %s: read: %s", path, strerror(-ret));
		}
		if (n == 0)
			break;
		got += n;
	}
	close(fd);
	r->data = r->owned;
	r->size = got;
	return validate(r, out, err);
}

const struct snap_info *snap_reader_info(const struct snap_reader *r)
{
	return &r->info;
}

uint32_t snap_reader_count(const struct snap_reader *r)
{
	return r->info.sections;
}

const struct snap_section *snap_reader_section(const struct snap_reader *r, uint32_t i)
{
	return i < r->info.sections ? &r->sec[i] : NULL;
}

const struct snap_section *snap_reader_find(const struct snap_reader *r, uint32_t tag,
					    uint32_t index)
{
	uint32_t lo = 0, hi = r->info.sections;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct snap_section *s = &r->sec[r->sorted[mid]];

		if (s->tag == tag && s->index == index)
			return s->known ? s : NULL;
		if (s->tag < tag || (s->tag == tag && s->index < index))
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Cursor                                                              */
/* ------------------------------------------------------------------ */

struct snap_cursor snap_cursor(const struct snap_section *sec)
{
	return (struct snap_cursor){.sec = sec};
}

uint64_t snap_cursor_left(const struct snap_cursor *c)
{
	return c->overrun ? 0 : c->sec->len - c->pos;
}

const void *snap_get_ptr(struct snap_cursor *c, size_t len)
{
	const uint8_t *p;

	if (c->overrun || len > c->sec->len - c->pos) {
		c->overrun = true;
		return NULL;
	}
	p = c->sec->payload + c->pos;
	c->pos += len;
	return p;
}

bool snap_get_bytes(struct snap_cursor *c, void *dst, size_t len)
{
	const void *p = snap_get_ptr(c, len);

	if (!p) {
		memset(dst, 0, len);
		return false;
	}
	memcpy(dst, p, len);
	return true;
}

uint8_t snap_get_u8(struct snap_cursor *c)
{
	const uint8_t *p = snap_get_ptr(c, 1);

	return p ? p[0] : 0;
}

uint16_t snap_get_u16(struct snap_cursor *c)
{
	const uint8_t *p = snap_get_ptr(c, 2);

	return p ? get16(p) : 0;
}

uint32_t snap_get_u32(struct snap_cursor *c)
{
	const uint8_t *p = snap_get_ptr(c, 4);

	return p ? get32(p) : 0;
}

uint64_t snap_get_u64(struct snap_cursor *c)
{
	const uint8_t *p = snap_get_ptr(c, 8);

	return p ? get64(p) : 0;
}

int snap_cursor_finish(const struct snap_cursor *c, struct vmm_err *err)
{
	const struct snap_section *s = c->sec;
	char t[12];

	if (c->overrun)
		return vmm_errf(err, -EBADMSG,
				"state file %s: section %" PRIu32 " (%s %" PRIu32
				"): payload of %" PRIu64
				" bytes is too short for its contents: the file is invalid",
				s->file, s->number, snap_tag_str(s->tag, t), s->index, s->len);
	if (c->pos != s->len)
		return vmm_errf(err, -EBADMSG,
				"state file %s: section %" PRIu32 " (%s %" PRIu32 "): %" PRIu64
				" bytes left unread of %" PRIu64 ": the file is invalid",
				s->file, s->number, snap_tag_str(s->tag, t), s->index,
				s->len - c->pos, s->len);
	return 0;
}
