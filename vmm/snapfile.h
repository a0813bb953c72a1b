/* SPDX-License-Identifier: MIT */
/*
 * The snapshot state file's container (docs/SNAPSHOT.md): a versioned,
 * checksummed sequence of sections, each a (tag, index) pair and a payload.
 * This layer knows nothing of vCPUs or devices; the code that saves and
 * restores them (later) encodes its own payloads with snap_put_*() and
 * decodes them with a bounds-checked cursor.
 *
 * The writer never leaves a file at PATH that looks complete unless it is:
 * it writes PATH.tmp.XXXXXX, fsyncs it, renames it over PATH and fsyncs the
 * directory.  The reader treats the file as hostile bytes and validates all
 * of it (header, every section's bounds and checksum, the trailer,
 * duplicates) before the caller sees any section; each kind of damage gets
 * its own one-line message, so that a restore can refuse before any vCPU
 * runs and say why.
 */
#ifndef MINIVMM_SNAPFILE_H
#define MINIVMM_SNAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/log.h"

/* The format this code writes; it reads any 1.x (docs/SNAPSHOT.md "Versions"). */
#define SNAP_VERSION_MAJOR 1
#define SNAP_VERSION_MINOR 0

#define SNAP_HEADER_LEN	    48u /* version 1.0's; a later 1.x may grow it */
#define SNAP_SECTION_HDR    24u
#define SNAP_TRAILER_LEN    8u
#define SNAP_MAX_HEADER_LEN 4096u
/* Bounds what a hostile file can make the reader allocate or read. */
#define SNAP_MAX_FILE (256ull << 20)

/* A tag is 4 ASCII bytes in file order ('V','C','P','U'), read as a little-endian u32. */
#define SNAP_TAG(a, b, c, d)                                                                       \
	((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

/* Append-only: the restore work adds its sections here (and to snapfile.c's table). */
enum snap_tag {
	SNAP_TAG_CONF = SNAP_TAG('C', 'O', 'N', 'F'), /* the VM's configuration */
	SNAP_TAG_VM = SNAP_TAG('V', 'M', ' ', ' '),   /* per-VM KVM state: irqchip, PIT, clock */
	SNAP_TAG_VCPU = SNAP_TAG('V', 'C', 'P', 'U'), /* one per vCPU, index = vCPU number */
	SNAP_TAG_DEV = SNAP_TAG('D', 'E', 'V', ' '),  /* one per device, index = its slot */
	SNAP_TAG_MEM = SNAP_TAG('M', 'E', 'M', ' '),  /* guest memory layout, memory file */
};

/* Section flags. */
#define SNAP_SEC_OPTIONAL    0x1u /* a reader that does not know the tag may skip it */
#define SNAP_SEC_KNOWN_FLAGS SNAP_SEC_OPTIONAL

/* "VCPU", "VM" (trailing blanks dropped), or 0x%08x for non-printable tags. */
const char *snap_tag_str(uint32_t tag, char buf[12]);
bool snap_tag_known(uint32_t tag);

/* ---- Writer ---- */

struct snap_writer;

/*
 * Creates PATH.tmp.XXXXXX (O_EXCL, 0600) next to PATH; PATH itself is not
 * touched until snap_writer_finish().  -errno with one line in err.
 */
int snap_writer_open(const char *path, struct snap_writer **out, struct vmm_err *err);

/* The temporary file's name (for tests and messages). */
const char *snap_writer_tmp_path(const struct snap_writer *w);

/*
 * A section built piecewise: begin, any number of put calls (buffered in
 * memory, little-endian), end.  Errors are sticky: after the first, every
 * call returns it and finish reports it; callers may check once at the end.
 */
int snap_section_begin(struct snap_writer *w, uint32_t tag, uint32_t index, uint32_t flags);
int snap_put_u8(struct snap_writer *w, uint8_t v);
int snap_put_u16(struct snap_writer *w, uint16_t v);
int snap_put_u32(struct snap_writer *w, uint32_t v);
int snap_put_u64(struct snap_writer *w, uint64_t v);
int snap_put_bytes(struct snap_writer *w, const void *p, size_t len);
int snap_section_end(struct snap_writer *w);

/* A whole section in one call (begin + bytes + end). */
int snap_section_add(struct snap_writer *w, uint32_t tag, uint32_t index, uint32_t flags,
		     const void *payload, size_t len);

/*
 * Writes the header and trailer, fsyncs, renames over PATH, fsyncs the
 * directory.  Always frees w: on failure (this step's or an earlier sticky
 * one) the temporary file is removed and PATH is untouched.
 */
int snap_writer_finish(struct snap_writer *w, struct vmm_err *err);

/* Removes the temporary file and frees w; PATH is untouched.  NULL is fine. */
void snap_writer_abort(struct snap_writer *w);

/* ---- Reader ---- */

struct snap_reader;

struct snap_section {
	uint32_t tag;
	uint32_t index;
	uint32_t flags;
	uint32_t crc;	 /* as stored, and verified */
	uint64_t offset; /* of its header in the file */
	uint64_t len;	 /* payload bytes */
	const uint8_t *payload;
	uint32_t number; /* position in the file, 0-based */
	bool known;	 /* false: an unknown optional section, skipped by lookups */
	const char *file;
};

struct snap_info {
	uint16_t major, minor;
	uint32_t arch; /* ELF e_machine: 62 = x86_64 */
	uint32_t header_len;
	uint32_t sections;
	uint64_t file_len;
	uint64_t flags;
	uint32_t header_crc;
	uint32_t file_crc;
};

/*
 * Reads and validates a whole state file.  0 and *out on success; on
 * failure *out is NULL and err holds one line naming the file and what is
 * wrong: -EBADMSG for a damaged file, -ENOTSUP for a foreign one (another
 * major version, another architecture, unknown required sections or flags),
 * -errno for a host error (open, read, memory).
 */
int snap_read_file(const char *path, struct snap_reader **out, struct vmm_err *err);

/* The same over a buffer the caller keeps alive and unchanged until snap_reader_free(). */
int snap_read_buf(const void *buf, size_t len, const char *name, struct snap_reader **out,
		  struct vmm_err *err);

void snap_reader_free(struct snap_reader *r);

const struct snap_info *snap_reader_info(const struct snap_reader *r);
uint32_t snap_reader_count(const struct snap_reader *r);
/* In file order; NULL past the end. */
const struct snap_section *snap_reader_section(const struct snap_reader *r, uint32_t i);
/* The known section (tag, index), or NULL. */
const struct snap_section *snap_reader_find(const struct snap_reader *r, uint32_t tag,
					    uint32_t index);
/* "x86_64", "aarch64", or NULL for a number this code has no name for. */
const char *snap_arch_name(uint32_t arch);

/* ---- Cursor over one payload ---- */

/*
 * Reads past the payload's end return zeroes and set `overrun`, which
 * sticks: a decoder may read a whole structure and check once.
 */
struct snap_cursor {
	const struct snap_section *sec;
	uint64_t pos;
	bool overrun;
};

struct snap_cursor snap_cursor(const struct snap_section *sec);
uint8_t snap_get_u8(struct snap_cursor *c);
uint16_t snap_get_u16(struct snap_cursor *c);
uint32_t snap_get_u32(struct snap_cursor *c);
uint64_t snap_get_u64(struct snap_cursor *c);
/* Copies len bytes to dst (zeroes on overrun); false on overrun. */
bool snap_get_bytes(struct snap_cursor *c, void *dst, size_t len);
/* A pointer to the next len payload bytes, or NULL on overrun. */
const void *snap_get_ptr(struct snap_cursor *c, size_t len);
uint64_t snap_cursor_left(const struct snap_cursor *c);
/*
 * 0 if the decoder read exactly the payload; -EBADMSG with one line in err
 * if it read past the end or left bytes unread.
 */
int snap_cursor_finish(const struct snap_cursor *c, struct vmm_err *err);

#endif
