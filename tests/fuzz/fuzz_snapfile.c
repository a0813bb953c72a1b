/* SPDX-License-Identifier: MIT */
/*
 * The snapshot state file reader (vmm/snapfile.c) over untrusted bytes.
 *
 * Input: one mode byte, then the file.  Mode bit 0 set: the harness first
 * re-seals the file's CRCs (header, each section it can walk, trailer), so
 * that mutations get past the checksums to the bounds, count, flag, tag and
 * duplicate checks behind them; clear: the bytes are read as they are.  The
 * file is handed over in a buffer of exactly its size, so any read past it
 * is an ASan report.
 *
 * Contract checked (abort() on a broken promise): a refusal says why in one
 * line and returns no reader; an accepted file's sections lie inside it, in
 * order, 8-byte aligned, each found again by (tag, index) when known; a
 * cursor never yields bytes past its payload and its overrun sticks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "tests/fuzz/fuzz.h"
#include "vmm/snapfile.h"

static uint32_t rd32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

/* The layout of docs/SNAPSHOT.md, walked independently of snapfile.c. */
static void reseal(uint8_t *b, size_t n)
{
	uint32_t hl;
	size_t off;

	if (n < 56)
		return;
	hl = rd32(b + 16);
	if (hl < 48 || hl > n - 8 || hl % 4)
		hl = 48;
	wr32(b + hl - 4, crc32(0, b, hl - 4));
	off = hl;
	for (uint32_t i = 0; i < rd32(b + 20) && off + 24 <= n - 8; i++) {
		uint64_t l = rd64(b + off + 8), padded = l + ((8 - (l & 7)) & 7);

		if (l > n || padded > n - 8 - off - 24)
			break;
		wr32(b + off + 20, crc32(crc32(0, b + off, 20), b + off + 24, (uInt)padded));
		off += 24 + padded;
	}
	wr32(b + n - 4, crc32(0, b, n - 4));
}

static void decode(const struct snap_section *s, const uint8_t *base, size_t n)
{
	struct snap_cursor c = snap_cursor(s);
	struct vmm_err err = {{0}};
	uint8_t tmp[16];
	uint64_t seen = 0;
	unsigned k = s->tag ^ s->index;

	/* Widths vary with the section, so different files take different paths. */
	while (!c.overrun) {
		uint64_t before = snap_cursor_left(&c);
		const uint8_t *p;
		size_t len;

		switch (k++ % 6) {
		case 0:
			snap_get_u8(&c);
			break;
		case 1:
			snap_get_u16(&c);
			break;
		case 2:
			snap_get_u32(&c);
			break;
		case 3:
			snap_get_u64(&c);
			break;
		case 4:
			snap_get_bytes(&c, tmp, 1 + k % sizeof(tmp));
			break;
		default:
			len = 3 + k % 29;
			p = snap_get_ptr(&c, len);
			if (p && (p < base || p + len > base + n))
				abort();
			break;
		}
		if (!c.overrun)
			seen += before - snap_cursor_left(&c);
		if (seen > s->len)
			abort();
	}
	if (snap_get_u8(&c) != 0 || snap_cursor_left(&c) != 0)
		abort(); /* overrun sticks */
	if (snap_cursor_finish(&c, &err) != -EBADMSG || !err.msg[0])
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);
	struct snap_reader *r = (void *)1;
	struct vmm_err err = {{0}};
	uint8_t mode = fuzz_u8(&in);
	size_t n = in.n;
	uint8_t *b = malloc(n ? n : 1);
	uint64_t prev_end;
	int ret;

	if (!b)
		abort();
	memcpy(b, in.p, n);
	if (mode & 1)
		reseal(b, n);
	ret = snap_read_buf(b, n, "fuzz", &r, &err);
	if (ret < 0) {
		if (r || !err.msg[0] || strchr(err.msg, '\n'))
			abort();
		free(b);
		return 0;
	}
	prev_end = snap_reader_info(r)->header_len;
	if (snap_reader_info(r)->file_len != n)
		abort();
	for (uint32_t i = 0; i < snap_reader_count(r); i++) {
		const struct snap_section *s = snap_reader_section(r, i);
		const struct snap_section *f = snap_reader_find(r, s->tag, s->index);

		if (s->number != i || s->offset != prev_end || s->offset % 8 ||
		    s->payload != b + s->offset + SNAP_SECTION_HDR || s->len > n ||
		    s->offset + SNAP_SECTION_HDR + s->len > n - SNAP_TRAILER_LEN)
			abort();
		if (s->known ? f != s : f != NULL)
			abort();
		decode(s, b, n);
		prev_end = s->offset + SNAP_SECTION_HDR + s->len + ((8 - (s->len & 7)) & 7);
	}
	if (prev_end != n - SNAP_TRAILER_LEN || snap_reader_section(r, snap_reader_count(r)))
		abort();
	snap_reader_free(r);
	free(b);
	return 0;
}
