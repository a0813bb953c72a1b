/* SPDX-License-Identifier: MIT */
/*
 * vmm/snapfile.c: the state file container.  The layout checks build bytes
 * by hand from docs/SNAPSHOT.md (not with the writer) and re-seal crafted
 * files with this file's own CRC code, so that a corruption test fails on
 * the one fault it plants, never on a checksum it forgot.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "vmm/snapfile.h"
#include "vmm/snapfile_info.h"

static char dir[64];
static char path[128];

static void setup(void)
{
	strcpy(dir, "/tmp/snapfile-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/vm.snap", dir);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static int dir_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static uint8_t *load(const char *p, size_t *len)
{
	struct stat st;
	uint8_t *b;
	int fd = open(p, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	b = malloc(st.st_size + 64); /* room to append garbage */
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(read(fd, b, st.st_size), st.st_size);
	close(fd);
	*len = st.st_size;
	return b;
}

static uint8_t pattern(unsigned sec, size_t k)
{
	return (uint8_t)(sec * 31 + k * 7 + (k >> 8));
}

/* The round-trip file: payload sizes 0, 1, 7, 8, 4096 and 1 MiB. */
static const struct {
	uint32_t tag, index;
	size_t len;
} std_secs[] = {
    {SNAP_TAG_CONF, 0, 0}, {SNAP_TAG_VCPU, 0, 1},   {SNAP_TAG_VCPU, 1, 7},
    {SNAP_TAG_VM, 0, 8},   {SNAP_TAG_DEV, 3, 4096}, {SNAP_TAG_MEM, 0, 1 << 20},
};
#define NSTD (sizeof(std_secs) / sizeof(std_secs[0]))

static void write_std(const char *p)
{
	struct snap_writer *w;
	struct vmm_err err = {{0}};
	uint8_t *buf = malloc(1 << 20);

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(snap_writer_open(p, &w, &err), 0);
	for (unsigned i = 0; i < NSTD; i++) {
		for (size_t k = 0; k < std_secs[i].len; k++)
			buf[k] = pattern(i, k);
		ck_assert_int_eq(snap_section_add(w, std_secs[i].tag, std_secs[i].index, 0, buf,
						  std_secs[i].len),
				 0);
	}
	free(buf);
	ck_assert_int_eq(snap_writer_finish(w, &err), 0);
}

/* Independent of snapfile.c: re-seal every CRC after a test edits fields. */
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

static void wr64(uint8_t *p, uint64_t v)
{
	wr32(p, v);
	wr32(p + 4, v >> 32);
}

static void seal_header(uint8_t *b)
{
	wr32(b + 44, crc32(0, b, 44));
}

static void seal_all(uint8_t *b, size_t len)
{
	size_t off = 48;

	seal_header(b);
	/* Bounded by the bytes, not the count: tests plant absurd counts. */
	for (uint32_t i = 0; i < rd32(b + 20) && off + 24 <= len - 8; i++) {
		uint64_t l = rd64(b + off + 8), padded = (l + 7) & ~7ull;

		if (padded > len - 8 - off - 24)
			break;
		wr32(b + off + 20, crc32(crc32(0, b + off, 20), b + off + 24, (uInt)padded));
		off += 24 + padded;
	}
	wr32(b + len - 4, crc32(0, b, len - 4));
}

static char last_msg[512];

/* Reading b must fail with a message holding `want` (or `alt`, if not NULL). */
static void expect_bad(const uint8_t *b, size_t len, int ret, const char *want, const char *alt,
		       const char *what, size_t where)
{
	struct snap_reader *r = (void *)1;
	struct vmm_err err = {{0}};
	int got = snap_read_buf(b, len, "F", &r, &err);

	ck_assert_msg(got < 0, "%s at %zu: accepted", what, where);
	ck_assert_ptr_null(r);
	if (ret)
		ck_assert_int_eq(got, ret);
	ck_assert_msg(strncmp(err.msg, "state file F: ", 14) == 0, "%s", err.msg);
	ck_assert_msg(!strchr(err.msg, '\n'), "not one line: %s", err.msg);
	snprintf(last_msg, sizeof(last_msg), "%s", err.msg);
	ck_assert_msg(strstr(err.msg, want) || (alt && strstr(err.msg, alt)),
		      "%s at %zu: want '%s'%s%s, got '%s'", what, where, want, alt ? " or " : "",
		      alt ? alt : "", err.msg);
}

static struct snap_reader *expect_ok(const uint8_t *b, size_t len)
{
	struct snap_reader *r;
	struct vmm_err err = {{0}};

	ck_assert_msg(snap_read_buf(b, len, "F", &r, &err) == 0, "%s", err.msg);
	return r;
}

START_TEST(round_trip)
{
	struct snap_reader *r;
	struct vmm_err err = {{0}};

	write_std(path);
	ck_assert_int_eq(snap_read_file(path, &r, &err), 0);
	ck_assert_uint_eq(snap_reader_count(r), NSTD);
	ck_assert_uint_eq(snap_reader_info(r)->major, SNAP_VERSION_MAJOR);
	ck_assert_uint_eq(snap_reader_info(r)->minor, SNAP_VERSION_MINOR);
	ck_assert_uint_eq(snap_reader_info(r)->arch, 62);
	for (unsigned i = 0; i < NSTD; i++) {
		const struct snap_section *s = snap_reader_section(r, i);
		const struct snap_section *f =
		    snap_reader_find(r, std_secs[i].tag, std_secs[i].index);

		ck_assert_ptr_eq(s, f);
		ck_assert_uint_eq(s->number, i);
		ck_assert_uint_eq(s->len, std_secs[i].len);
		ck_assert_uint_eq(s->offset % 8, 0);
		ck_assert(s->known);
		for (size_t k = 0; k < s->len; k++)
			if (s->payload[k] != pattern(i, k))
				ck_abort_msg("section %u byte %zu", i, k);
	}
	ck_assert_ptr_null(snap_reader_section(r, NSTD));
	ck_assert_ptr_null(snap_reader_find(r, SNAP_TAG_VCPU, 2));
	ck_assert_ptr_null(snap_reader_find(r, SNAP_TAG_DEV, 0));
	snap_reader_free(r);
	/* Result is private: 0600, as mkostemp made it. */
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
}
END_TEST

/* Byte for byte what docs/SNAPSHOT.md describes, built by hand. */
START_TEST(layout_matches_the_document)
{
	struct snap_writer *w;
	struct vmm_err err = {{0}};
	uint8_t want[88] = {'M', 'V', 'M', 'S', 'N', 'A', 'P', 0, 1, 0, 0, 0, 62,
			    0,	 0,   0,   48,	0,   0,	  0,   1, 0, 0, 0, 88};
	uint8_t *got;
	size_t len;

	memcpy(want + 48, "VCPU", 4);
	want[52] = 2;
	want[56] = 3;
	memcpy(want + 72, "abc", 3);
	memcpy(want + 80, "END", 4);
	wr32(want + 68, crc32(crc32(0, want + 48, 20), want + 72, 8));
	wr32(want + 44, crc32(0, want, 44));
	wr32(want + 84, crc32(0, want, 84));

	ck_assert_int_eq(snap_writer_open(path, &w, &err), 0);
	ck_assert_int_eq(snap_section_add(w, SNAP_TAG_VCPU, 2, 0, "abc", 3), 0);
	ck_assert_int_eq(snap_writer_finish(w, &err), 0);
	got = load(path, &len);
	ck_assert_uint_eq(len, sizeof(want));
	for (size_t i = 0; i < len; i++)
		ck_assert_msg(got[i] == want[i], "byte %zu: %#x, want %#x", i, got[i], want[i]);
	free(got);
}
END_TEST

START_TEST(put_and_cursor)
{
	struct snap_writer *w;
	struct snap_reader *r;
	struct vmm_err err = {{0}};
	struct snap_cursor c;
	uint8_t raw[3];
	const uint8_t *p;

	ck_assert_int_eq(snap_writer_open(path, &w, &err), 0);
	snap_section_begin(w, SNAP_TAG_VCPU, 0, 0);
	snap_put_u8(w, 0xa5);
	snap_put_u16(w, 0x1234);
	snap_put_u32(w, 0x11223344);
	snap_put_u64(w, 0x0102030405060708ull);
	snap_put_bytes(w, "xyz", 3);
	ck_assert_int_eq(snap_section_end(w), 0);
	ck_assert_int_eq(snap_writer_finish(w, &err), 0);
	ck_assert_int_eq(snap_read_file(path, &r, &err), 0);

	c = snap_cursor(snap_reader_find(r, SNAP_TAG_VCPU, 0));
	p = c.sec->payload;
	/* Little-endian on the wire, whatever the host. */
	ck_assert(p[3] == 0x44 && p[4] == 0x33 && p[5] == 0x22 && p[6] == 0x11);
	ck_assert_uint_eq(snap_get_u8(&c), 0xa5);
	ck_assert_uint_eq(snap_get_u16(&c), 0x1234);
	ck_assert_uint_eq(snap_get_u32(&c), 0x11223344);
	ck_assert_uint_eq(snap_get_u64(&c), 0x0102030405060708ull);
	ck_assert_uint_eq(snap_cursor_left(&c), 3);
	ck_assert(snap_get_bytes(&c, raw, 3));
	ck_assert(memcmp(raw, "xyz", 3) == 0);
	ck_assert_int_eq(snap_cursor_finish(&c, &err), 0);
	snap_reader_free(r);
}
END_TEST

START_TEST(cursor_overrun_is_sticky)
{
	struct snap_reader *r;
	struct vmm_err err = {{0}};
	struct snap_cursor c;
	uint8_t b[4] = {1, 2, 3, 4};

	write_std(path);
	ck_assert_int_eq(snap_read_file(path, &r, &err), 0);
	c = snap_cursor(snap_reader_find(r, SNAP_TAG_VCPU, 1)); /* 7 bytes */
	ck_assert_uint_eq(snap_get_u32(&c), pattern(2, 0) | pattern(2, 1) << 8 |
						pattern(2, 2) << 16 |
						(uint32_t)pattern(2, 3) << 24);
	snap_get_u16(&c);
	ck_assert(!c.overrun);
	ck_assert_uint_eq(snap_get_u16(&c), 0); /* 1 byte left: refused */
	ck_assert(c.overrun);
	ck_assert_uint_eq(snap_get_u8(&c), 0); /* sticky, though a byte is there */
	ck_assert(!snap_get_bytes(&c, b, 4));
	ck_assert(b[0] == 0 && b[3] == 0);
	ck_assert_ptr_null(snap_get_ptr(&c, 0));
	ck_assert_uint_eq(snap_get_u64(&c), 0);
	ck_assert_int_eq(snap_cursor_finish(&c, &err), -EBADMSG);
	snap_reader_free(r);
}
END_TEST

START_TEST(cursor_messages)
{
	struct snap_reader *r;
	struct vmm_err err = {{0}};
	struct snap_cursor c;

	write_std(path);
	ck_assert_int_eq(snap_read_file(path, &r, &err), 0);
	c = snap_cursor(snap_reader_find(r, SNAP_TAG_VCPU, 1));
	snap_get_u64(&c);
	ck_assert_int_eq(snap_cursor_finish(&c, &err), -EBADMSG);
	ck_assert_msg(strstr(err.msg, "section 2 (VCPU 1): payload of 7 bytes is too short"), "%s",
		      err.msg);
	ck_assert_msg(strstr(err.msg, path), "%s", err.msg);
	err.msg[0] = '\0';
	c = snap_cursor(snap_reader_find(r, SNAP_TAG_DEV, 3));
	snap_get_u32(&c);
	ck_assert_int_eq(snap_cursor_finish(&c, &err), -EBADMSG);
	ck_assert_msg(strstr(err.msg, "section 4 (DEV 3): 4092 bytes left unread of 4096"), "%s",
		      err.msg);
	/* An empty payload: nothing to read, finish is happy; one read overruns. */
	c = snap_cursor(snap_reader_find(r, SNAP_TAG_CONF, 0));
	ck_assert_int_eq(snap_cursor_finish(&c, NULL), 0);
	snap_get_u8(&c);
	ck_assert_int_eq(snap_cursor_finish(&c, NULL), -EBADMSG);
	snap_reader_free(r);
}
END_TEST

/* Sample positions in [off, off+len): every byte if small, else ~40 spread over it. */
static size_t step_for(size_t len)
{
	return len <= 64 ? 1 : len / 37;
}

START_TEST(bit_flips_everywhere)
{
	struct snap_reader *ok;
	uint8_t *b;
	size_t len, trailer;
	char what[64];

	write_std(path);
	b = load(path, &len);
	ok = expect_ok(b, len);
	trailer = len - 8;
	/* Every header byte, a different bit each time. */
	for (size_t i = 0; i < 48; i++) {
		b[i] ^= 1 << (i % 8);
		if (i < 8)
			expect_bad(b, len, -EBADMSG, "not a minivmm state file", NULL, "header", i);
		else if (i >= 16 && i < 20)
			expect_bad(b, len, -EBADMSG, "header length", "header checksum mismatch",
				   "header", i);
		else
			expect_bad(b, len, -EBADMSG, "header checksum mismatch", NULL, "header", i);
		b[i] ^= 1 << (i % 8);
	}
	/* Each section: every header byte, its payload (sampled, ends included), its padding. */
	for (uint32_t s = 0; s < NSTD; s++) {
		const struct snap_section *sec = snap_reader_section(ok, s);
		size_t start = sec->offset, end = sec->offset + 24 + ((sec->len + 7) & ~7ull);

		snprintf(what, sizeof(what), "section %u (", s);
		for (size_t i = start; i < end;) {
			b[i] ^= 1 << (i % 8);
			if (i >= start + 8 && i < start + 16) /* the length field */
				expect_bad(b, len, -EBADMSG, "checksum mismatch",
					   "extends past the end", what, i);
			else
				expect_bad(b, len, -EBADMSG, "checksum mismatch", NULL, what, i);
			ck_assert_msg(strstr(last_msg, what), "flip at %zu: %s", i, last_msg);
			b[i] ^= 1 << (i % 8);
			if (i < start + 24 || i + 1 >= end - 8)
				i++;
			else
				i += step_for(sec->len);
		}
	}
	for (size_t i = trailer; i < len; i++) {
		b[i] ^= 1 << (i % 8);
		if (i < trailer + 4)
			expect_bad(b, len, -EBADMSG, "no end marker", NULL, "trailer", i);
		else
			expect_bad(b, len, -EBADMSG, "file checksum mismatch", NULL, "trailer", i);
		b[i] ^= 1 << (i % 8);
	}
	snap_reader_free(ok);
	snap_reader_free(expect_ok(b, len)); /* every flip was undone */
	free(b);
}
END_TEST

/* The message names the right section: flip a payload byte of each. */
START_TEST(checksum_message_names_the_section)
{
	static const char *names[NSTD] = {NULL,
					  "section 1 (VCPU 0)",
					  "section 2 (VCPU 1)",
					  "section 3 (VM 0)",
					  "section 4 (DEV 3)",
					  "section 5 (MEM 0)"};
	uint8_t *b;
	size_t len;
	struct snap_reader *ok;

	write_std(path);
	b = load(path, &len);
	ok = expect_ok(b, len);
	for (uint32_t s = 1; s < NSTD; s++) {
		const struct snap_section *sec = snap_reader_section(ok, s);
		char want[80];

		snprintf(want, sizeof(want), "%s checksum mismatch: the file is corrupted",
			 names[s]);
		b[sec->offset + 24] ^= 0x80;
		expect_bad(b, len, -EBADMSG, want, NULL, "payload", s);
		b[sec->offset + 24] ^= 0x80;
	}
	snap_reader_free(ok);
	free(b);
}
END_TEST

START_TEST(truncation_everywhere)
{
	struct snap_reader *ok;
	uint8_t *b;
	size_t len;

	write_std(path);
	b = load(path, &len);
	ok = expect_ok(b, len);
	expect_bad(b, 0, -EBADMSG, "truncated: 0 bytes, shorter than the 48-byte header", NULL,
		   "cut", 0);
	expect_bad(b, 5, -EBADMSG, "truncated: 5 bytes", NULL, "cut", 5);
	expect_bad(b, 47, -EBADMSG, "truncated: 47 bytes", NULL, "cut", 47);
	expect_bad(b, 48, -EBADMSG, "truncated: 48 of", NULL, "cut", 48);
	for (uint32_t s = 0; s < NSTD; s++) {
		const struct snap_section *sec = snap_reader_section(ok, s);
		size_t cuts[] = {sec->offset,
				 sec->offset + 1,
				 sec->offset + 12,
				 sec->offset + 23,
				 sec->offset + 24,
				 sec->offset + 24 + sec->len / 2,
				 sec->offset + 24 + sec->len};
		char want[64];

		for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
			snprintf(want, sizeof(want), "truncated: %zu of %zu bytes", cuts[k], len);
			expect_bad(b, cuts[k], -EBADMSG, want, NULL, "cut", cuts[k]);
		}
	}
	/* Where the end falls is named. */
	expect_bad(b, snap_reader_section(ok, 4)->offset + 100, -EBADMSG,
		   "(the end falls in section 4 (DEV 3))", NULL, "cut", 4);
	expect_bad(b, len - 8, -EBADMSG, "(the end falls after section 5 (MEM 0))", NULL, "cut",
		   len - 8);
	expect_bad(b, len - 1, -EBADMSG, "truncated", NULL, "cut", len - 1);
	snap_reader_free(ok);
	free(b);
}
END_TEST

START_TEST(foreign_files)
{
	uint8_t *b;
	size_t len;
	struct snap_reader *r;

	write_std(path);
	b = load(path, &len);
	memcpy(b,
	       "\x7f"
	       "ELF\2\1\1\0",
	       8);
	expect_bad(b, len, -EBADMSG, "not a minivmm state file (bad magic)", NULL, "magic", 0);
	memcpy(b, "MVMSNAP", 8);

	b[8] = 2; /* a newer major version, correctly sealed */
	seal_header(b);
	expect_bad(b, len, -ENOTSUP, "format version 2.0 is not supported (this minivmm reads 1.x)",
		   NULL, "major", 8);
	b[8] = 0;
	seal_header(b);
	expect_bad(b, len, -ENOTSUP, "format version 0.0 is not supported", NULL, "major", 8);
	b[8] = 1;

	b[10] = 7; /* a newer minor: accepted */
	seal_header(b);
	r = expect_ok(b, len);
	ck_assert_uint_eq(snap_reader_info(r)->minor, 7);
	snap_reader_free(r);
	b[10] = 0;

	wr32(b + 12, 183);
	seal_header(b);
	expect_bad(b, len, -ENOTSUP, "made for aarch64, this host is x86_64", NULL, "arch", 12);
	wr32(b + 12, 9999);
	seal_header(b);
	expect_bad(b, len, -ENOTSUP, "made for architecture 9999", NULL, "arch", 12);
	wr32(b + 12, 62);

	b[32] = 4; /* a header flag this version does not define */
	seal_header(b);
	expect_bad(b, len, -ENOTSUP, "header flags 0x4 unknown", NULL, "flags", 32);
	b[32] = 0;
	seal_header(b);
	snap_reader_free(expect_ok(b, len));
	free(b);
}
END_TEST

START_TEST(header_fields_out_of_range)
{
	uint8_t *b;
	size_t len;

	write_std(path);
	b = load(path, &len);
	wr32(b + 16, 49);
	expect_bad(b, len, -EBADMSG, "header length 49 is invalid", NULL, "hdrlen", 16);
	wr32(b + 16, 8192);
	expect_bad(b, len, -EBADMSG, "header length 8192 is invalid", NULL, "hdrlen", 16);
	wr32(b + 16, 48);

	wr64(b + 24, 50);
	seal_header(b);
	expect_bad(b, len, -EBADMSG, "less than its header and trailer", NULL, "filelen", 24);
	wr64(b + 24, 1ull << 40);
	seal_header(b);
	expect_bad(b, len, -EBADMSG, "above the 256 MiB limit", NULL, "filelen", 24);
	wr64(b + 24, len);

	wr32(b + 20, 7); /* one more section than there is */
	seal_all(b, len);
	expect_bad(b, len, -EBADMSG, "header says 7 sections, the file holds 6", NULL, "count", 20);
	wr32(b + 20, 5); /* one fewer: the last one's bytes are left over */
	seal_all(b, len);
	expect_bad(b, len, -EBADMSG, "unaccounted bytes between the last of 5 sections", NULL,
		   "count", 20);
	wr32(b + 20, UINT32_MAX); /* an allocation bomb, refused before allocating */
	seal_all(b, len);
	expect_bad(b, len, -EBADMSG, "header says 4294967295 sections, the file has room", NULL,
		   "count", 20);
	wr32(b + 20, NSTD);
	seal_all(b, len);
	snap_reader_free(expect_ok(b, len));
	free(b);
}
END_TEST

START_TEST(lengths_past_the_end)
{
	static const uint64_t lens[] = {1ull << 63, UINT64_MAX, UINT64_MAX - 20, 1ull << 32};
	struct snap_reader *ok;
	uint8_t *b;
	size_t len, at;

	write_std(path);
	b = load(path, &len);
	ok = expect_ok(b, len);
	at = snap_reader_section(ok, 1)->offset;
	char first[96];

	ck_assert_uint_eq(at, 72);
	wr64(b + at + 8, len); /* points past the end */
	snprintf(first, sizeof(first),
		 "section 1 (VCPU 0) at offset 72: length %zu extends past the end of the file",
		 len);
	expect_bad(b, len, -EBADMSG, first, NULL, "len", at);
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		char want[96];

		wr64(b + at + 8, lens[k]);
		seal_all(b, len); /* even with every CRC right */
		snprintf(want, sizeof(want), "length %llu extends past the end",
			 (unsigned long long)lens[k]);
		expect_bad(b, len, -EBADMSG, want, NULL, "len", k);
	}
	snap_reader_free(ok);
	free(b);
}
END_TEST

START_TEST(trailing_garbage)
{
	uint8_t *b;
	size_t len;

	write_std(path);
	b = load(path, &len);
	memcpy(b + len, "junk!", 5);
	expect_bad(b, len + 5, -EBADMSG, "5 bytes of trailing garbage after the", NULL, "garbage",
		   len);
	free(b);
}
END_TEST

START_TEST(duplicates_and_unknown_sections)
{
	struct snap_writer *w;
	struct snap_reader *r;
	struct vmm_err err = {{0}};
	uint8_t *b;
	size_t len;

	ck_assert_int_eq(snap_writer_open(path, &w, &err), 0);
	snap_section_add(w, SNAP_TAG_VCPU, 0, 0, "a", 1);
	snap_section_add(w, SNAP_TAG_VCPU, 1, 0, "b", 1);
	snap_section_add(w, SNAP_TAG_DEV, 1, 0, "c", 1);
	snap_section_add(w, SNAP_TAG_VCPU, 1, 0, "d", 1);
	ck_assert_int_eq(snap_writer_finish(w, &err), 0);
	b = load(path, &len);
	expect_bad(b, len, -EBADMSG, "section 3 (VCPU 1) duplicates section 1: the file is invalid",
		   NULL, "dup", 3);
	free(b);

	/* Unknown tags: skipped when optional, refused when not. */
	ck_assert_int_eq(snap_writer_open(path, &w, &err), 0);
	snap_section_add(w, SNAP_TAG('X', 'T', 'R', 'A'), 0, SNAP_SEC_OPTIONAL, "x", 1);
	snap_section_add(w, SNAP_TAG_VCPU, 0, 0, "a", 1);
	ck_assert_int_eq(snap_writer_finish(w, &err), 0);
	b = load(path, &len);
	r = expect_ok(b, len);
	ck_assert(!snap_reader_section(r, 0)->known);
	ck_assert_ptr_null(snap_reader_find(r, SNAP_TAG('X', 'T', 'R', 'A'), 0));
	ck_assert_ptr_nonnull(snap_reader_find(r, SNAP_TAG_VCPU, 0));
	snap_reader_free(r);
	b[48 + 16] = 0; /* the same section, no longer optional */
	seal_all(b, len);
	expect_bad(b, len, -ENOTSUP, "section 0 (XTRA 0): unknown section tag 'XTRA', not marked",
		   NULL, "tag", 0);
	b[48 + 16] = 0x5; /* optional plus a flag 1.0 does not define */
	seal_all(b, len);
	expect_bad(b, len, -ENOTSUP, "section 0 (XTRA 0) has flags 0x4 unknown", NULL, "flags", 0);
	b[48] = 1; /* a tag that is not text is named in hex */
	seal_all(b, len);
	expect_bad(b, len, -ENOTSUP, "section 0 (0x41525401 0)", NULL, "tag", 0);
	free(b);
}
END_TEST

START_TEST(read_file_errors)
{
	struct snap_reader *r;
	struct vmm_err err = {{0}};

	ck_assert_int_eq(snap_read_file(path, &r, &err), -ENOENT);
	ck_assert_ptr_null(r);
	ck_assert_msg(strstr(err.msg, "No such file"), "%s", err.msg);
	err.msg[0] = '\0';
	ck_assert_int_eq(snap_read_file(dir, &r, &err), -EINVAL);
	ck_assert_msg(strstr(err.msg, "not a regular file"), "%s", err.msg);
}
END_TEST

START_TEST(writer_abort_leaves_nothing)
{
	struct snap_writer *w;
	struct vmm_err err = {{0}};
	const char *tmp;
	size_t n = strlen(path);

	ck_assert_int_eq(snap_writer_open(path, &w, &err), 0);
	tmp = snap_writer_tmp_path(w);
	ck_assert_str_ne(tmp, path);
	ck_assert(strncmp(tmp, path, n) == 0 && strncmp(tmp + n, ".tmp.", 5) == 0);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(snap_section_add(w, SNAP_TAG_VM, 0, 0, "abc", 3), 0);
	ck_assert_int_eq(dir_entries(), 1); /* only the temporary */
	snap_writer_abort(w);
	ck_assert_int_eq(dir_entries(), 0);
	snap_writer_abort(NULL);
}
END_TEST

START_TEST(writer_replaces_only_at_finish)
{
	struct snap_writer *w;
	struct snap_reader *r;
	struct vmm_err err = {{0}};
	uint8_t *b;
	size_t len;
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs("old contents", f);
	fclose(f);
	/* Aborted: the old file stays. */
	ck_assert_int_eq(snap_writer_open(path, &w, &err), 0);
	snap_section_add(w, SNAP_TAG_VM, 0, 0, "abc", 3);
	snap_writer_abort(w);
	b = load(path, &len);
	ck_assert(len == 12 && memcmp(b, "old contents", 12) == 0);
	free(b);
	/* Until finish, PATH is the old file; after, the new one, and no temporary is left. */
	ck_assert_int_eq(snap_writer_open(path, &w, &err), 0);
	snap_section_add(w, SNAP_TAG_VM, 0, 0, "abc", 3);
	b = load(path, &len);
	ck_assert(len == 12 && memcmp(b, "old contents", 12) == 0);
	free(b);
	ck_assert_int_eq(snap_writer_finish(w, &err), 0);
	ck_assert_int_eq(dir_entries(), 1);
	ck_assert_int_eq(snap_read_file(path, &r, &err), 0);
	ck_assert_ptr_nonnull(snap_reader_find(r, SNAP_TAG_VM, 0));
	snap_reader_free(r);
}
END_TEST

START_TEST(writer_failures_leave_nothing)
{
	struct snap_writer *w;
	struct vmm_err err = {{0}};
	char sub[160], inner[200];

	/* No such directory. */
	snprintf(sub, sizeof(sub), "%s/nodir/x.snap", dir);
	ck_assert_int_eq(snap_writer_open(sub, &w, &err), -ENOENT);
	ck_assert_ptr_null(w);
	ck_assert_msg(strstr(err.msg, "cannot create") && strstr(err.msg, ".tmp."), "%s", err.msg);

	/* The rename fails (PATH is a non-empty directory): the temporary is removed. */
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(inner, sizeof(inner), "%s/keep", path);
	ck_assert_int_eq(close(open(inner, O_CREAT | O_WRONLY, 0600)), 0);
	err.msg[0] = '\0';
	ck_assert_int_eq(snap_writer_open(path, &w, &err), 0);
	snap_section_add(w, SNAP_TAG_VM, 0, 0, "abc", 3);
	ck_assert_int_lt(snap_writer_finish(w, &err), 0);
	ck_assert_msg(strstr(err.msg, "rename"), "%s", err.msg);
	ck_assert_int_eq(dir_entries(), 1);
	ck_assert_int_eq(access(inner, F_OK), 0);

	/* Misuse is sticky and reported by finish, which then leaves nothing behind. */
	snprintf(sub, sizeof(sub), "%s/y.snap", dir);
	err.msg[0] = '\0';
	ck_assert_int_eq(snap_writer_open(sub, &w, &err), 0);
	ck_assert_int_eq(snap_put_u32(w, 1), -EINVAL); /* outside a section */
	ck_assert_int_eq(snap_section_add(w, SNAP_TAG_VM, 0, 0, "a", 1), -EINVAL);
	ck_assert_int_eq(snap_writer_finish(w, &err), -EINVAL);
	ck_assert_msg(strstr(err.msg, "data outside a section"), "%s", err.msg);
	ck_assert_int_eq(access(sub, F_OK), -1);
	ck_assert_int_eq(dir_entries(), 1);
	ck_assert_int_eq(snap_writer_open(sub, &w, &err), 0);
	ck_assert_int_eq(snap_section_begin(w, SNAP_TAG_VM, 0, 0x8), -EINVAL);
	snap_writer_abort(w);
	ck_assert_int_eq(dir_entries(), 1);
}
END_TEST

START_TEST(empty_file_of_no_sections)
{
	struct snap_writer *w;
	struct snap_reader *r;
	struct vmm_err err = {{0}};
	char t[12];

	ck_assert_int_eq(snap_writer_open(path, &w, &err), 0);
	ck_assert_int_eq(snap_writer_finish(w, &err), 0);
	ck_assert_int_eq(snap_read_file(path, &r, &err), 0);
	ck_assert_uint_eq(snap_reader_count(r), 0);
	ck_assert_uint_eq(snap_reader_info(r)->file_len, 56);
	ck_assert_ptr_null(snap_reader_find(r, SNAP_TAG_VM, 0));
	snap_reader_free(r);
	ck_assert_str_eq(snap_tag_str(SNAP_TAG_VM, t), "VM");
	ck_assert_str_eq(snap_tag_str(SNAP_TAG_DEV, t), "DEV");
	ck_assert_str_eq(snap_tag_str(SNAP_TAG(' ', ' ', ' ', ' '), t), " ");
	ck_assert_str_eq(snap_tag_str(0x7f, t), "0x0000007f");
}
END_TEST

/* `minivmm snapshot-info`: exit statuses and what goes where. */
static int info(const char *file, char **out, char **errs)
{
	char *argv[] = {"snapshot-info", (char *)file, NULL};
	size_t no, ne;
	FILE *o = open_memstream(out, &no), *e = open_memstream(errs, &ne);
	int ret = snapshot_info_main(file ? 2 : 1, argv, o, e);

	fclose(o);
	fclose(e);
	return ret;
}

START_TEST(snapshot_info_cli)
{
	struct snap_writer *w;
	struct vmm_err err = {{0}};
	char *out, *errs;
	uint8_t *b;
	size_t len;
	FILE *f;

	ck_assert_int_eq(snap_writer_open(path, &w, &err), 0);
	snap_section_add(w, SNAP_TAG_VCPU, 0, 0, "abcdefgh", 8);
	snap_section_add(w, SNAP_TAG('N', 'E', 'W', '!'), 4, SNAP_SEC_OPTIONAL, "z", 1);
	ck_assert_int_eq(snap_writer_finish(w, &err), 0);
	ck_assert_int_eq(info(path, &out, &errs), 0);
	ck_assert_str_eq(errs, "");
	ck_assert_msg(strstr(out, "format:   1.0\narch:     x86_64\n"), "%s", out);
	ck_assert_msg(strstr(out, "sections: 2\n"), "%s", out);
	ck_assert_msg(strstr(out, "    0  VCPU                0           48            8  "), "%s",
		      out);
	ck_assert_msg(strstr(out, "    1  NEW!                4           80            1  "), "%s",
		      out);
	ck_assert_msg(strstr(out, " ok, unknown optional section: skipped\n"), "%s", out);
	free(out);
	free(errs);

	/* Damaged: one line on stderr, nothing on stdout, status 1. */
	b = load(path, &len);
	b[72] ^= 1; /* a payload byte */
	f = fopen(path, "w");
	ck_assert_int_eq(fwrite(b, 1, len, f), len);
	fclose(f);
	free(b);
	ck_assert_int_eq(info(path, &out, &errs), 1);
	ck_assert_str_eq(out, "");
	ck_assert_msg(strstr(errs, "minivmm: state file ") == errs &&
			  strstr(errs, ": section 0 (VCPU 0) checksum mismatch: the file is "
				       "corrupted\n") &&
			  strchr(errs, '\n') == errs + strlen(errs) - 1,
		      "%s", errs);
	free(out);
	free(errs);

	/* Cannot read, or called wrongly: 125. */
	ck_assert_int_eq(info(dir, &out, &errs), 125);
	ck_assert_msg(strstr(errs, "not a regular file"), "%s", errs);
	free(out);
	free(errs);
	unlink(path);
	ck_assert_int_eq(info(path, &out, &errs), 125);
	free(out);
	free(errs);
	ck_assert_int_eq(info(NULL, &out, &errs), 125);
	ck_assert_msg(strstr(errs, "Usage: minivmm snapshot-info FILE"), "%s", errs);
	free(out);
	free(errs);
	ck_assert_int_eq(info("--help", &out, &errs), 0);
	ck_assert_msg(strstr(out, "Usage: minivmm snapshot-info FILE"), "%s", out);
	free(out);
	free(errs);
}
END_TEST

Suite *snapfile_suite(void)
{
	Suite *s = suite_create("snapfile");
	TCase *tc = tcase_create("container");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, layout_matches_the_document);
	tcase_add_test(tc, put_and_cursor);
	tcase_add_test(tc, cursor_overrun_is_sticky);
	tcase_add_test(tc, cursor_messages);
	tcase_add_test(tc, bit_flips_everywhere);
	tcase_add_test(tc, checksum_message_names_the_section);
	tcase_add_test(tc, truncation_everywhere);
	tcase_add_test(tc, foreign_files);
	tcase_add_test(tc, header_fields_out_of_range);
	tcase_add_test(tc, lengths_past_the_end);
	tcase_add_test(tc, trailing_garbage);
	tcase_add_test(tc, duplicates_and_unknown_sections);
	tcase_add_test(tc, read_file_errors);
	tcase_add_test(tc, writer_abort_leaves_nothing);
	tcase_add_test(tc, writer_replaces_only_at_finish);
	tcase_add_test(tc, writer_failures_leave_nothing);
	tcase_add_test(tc, empty_file_of_no_sections);
	tcase_add_test(tc, snapshot_info_cli);
	suite_add_tcase(s, tc);
	return s;
}
