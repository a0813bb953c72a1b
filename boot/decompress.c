/* SPDX-License-Identifier: MIT */
/*
 * Host-side decompression of a bzImage payload (see decompress.h).
 *
 * Every decoder writes into one growing buffer ("sink") whose capacity never
 * exceeds max_out + 1: the extra byte lets a streaming decoder show that the
 * stream goes on past max_out (-EFBIG) without a second pass, and a stream
 * that ends exactly at max_out still fits.
 */
#include <bzlib.h>
#include <errno.h>
#include <limits.h>
#include <lz4.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "boot/decompress.h"

/* A kernel payload is tens of MiB; refusing absurd inputs keeps the decoders' counters 32-bit. */
#define PAYLOAD_MAX_INPUT (1u << 30)
#define MIN_INITIAL_CAP	  (64u << 10)

/* The kernel's lz4 "legacy" container (lib/decompress_unlz4.c, lz4 -l). */
#define LZ4_LEGACY_MAGIC      0x184c2102u
#define LZ4_LEGACY_BLOCK_SIZE (8u << 20) /* each block decompresses to at most 8 MiB */

struct sink {
	uint8_t *buf;
	size_t len, cap;
	size_t limit; /* max_out + 1 (saturated) */
};

struct magic {
	enum payload_format format;
	uint8_t len;
	uint8_t bytes[9];
};

/* lib/decompress.c compressed_formats[], same magics (lzma: props 0x5d, dict size LE). */
static const struct magic magics[] = {
    {PAYLOAD_GZIP, 2, {0x1f, 0x8b}},
    {PAYLOAD_GZIP, 2, {0x1f, 0x9e}}, /* old gzip */
    {PAYLOAD_BZIP2, 3, {'B', 'Z', 'h'}},
    {PAYLOAD_LZMA, 2, {0x5d, 0x00}},
    {PAYLOAD_XZ, 6, {0xfd, '7', 'z', 'X', 'Z', 0x00}},
    {PAYLOAD_LZO, 9, {0x89, 'L', 'Z', 'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a}},
    {PAYLOAD_LZ4, 4, {0x02, 0x21, 0x4c, 0x18}},
    {PAYLOAD_ZSTD, 4, {0x28, 0xb5, 0x2f, 0xfd}},
};

enum payload_format payload_detect(const uint8_t *data, size_t len)
{
	if (!data)
		return PAYLOAD_UNKNOWN;
	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		if (len >= magics[i].len && memcmp(data, magics[i].bytes, magics[i].len) == 0)
			return magics[i].format;
	return PAYLOAD_UNKNOWN;
}

const char *payload_format_name(enum payload_format f)
{
	switch (f) {
	case PAYLOAD_GZIP:
		return "gzip";
	case PAYLOAD_BZIP2:
		return "bzip2";
	case PAYLOAD_LZMA:
		return "lzma";
	case PAYLOAD_XZ:
		return "xz";
	case PAYLOAD_LZO:
		return "lzo";
	case PAYLOAD_LZ4:
		return "lz4";
	case PAYLOAD_ZSTD:
		return "zstd";
	case PAYLOAD_UNKNOWN:
		break;
	}
	return "unknown";
}

bool payload_format_supported(enum payload_format f)
{
	return f != PAYLOAD_UNKNOWN && f != PAYLOAD_LZO;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Grows the buffer to at least `need` bytes, never past `limit`. */
static int sink_grow(struct sink *s, size_t need, size_t limit)
{
	size_t cap = s->cap ? s->cap : MIN_INITIAL_CAP;
	uint8_t *buf;

	if (need > limit)
		need = limit;
	if (need <= s->cap)
		return 0;
	while (cap < need)
		cap = cap > limit / 2 ? limit : cap * 2;
	if (cap > limit)
		cap = limit;
	buf = realloc(s->buf, cap);
	if (!buf)
		return -ENOMEM;
	s->buf = buf;
	s->cap = cap;
	return 0;
}

/* Makes room for more output; -EFBIG once the output has passed max_out. */
static int sink_make_room(struct sink *s)
{
	if (s->len >= s->limit)
		return -EFBIG;
	if (s->len < s->cap)
		return 0;
	return sink_grow(s, s->cap * 2, s->limit);
}

/* Free space, clamped for the decoders whose counters are unsigned int. */
static unsigned sink_room32(const struct sink *s)
{
	size_t room = s->cap - s->len;

	return room > UINT_MAX ? UINT_MAX : (unsigned)room;
}

/* Each decoder returns 0, -EINVAL (with *why), -EFBIG or -ENOMEM. */

/* *consumed (if not NULL): the input bytes the gzip member took, trailer included. */
static int gunzip(const uint8_t *in, size_t len, struct sink *s, const char **why, size_t *consumed)
{
	z_stream zs;
	int zret, ret = 0;

	memset(&zs, 0, sizeof(zs));
	/* 15 + 16: a gzip wrapper (not zlib's) around a 32 KiB-window deflate stream. */
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		return -ENOMEM;
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	for (;;) {
		ret = sink_make_room(s);
		if (ret < 0)
			break;
		zs.next_out = s->buf + s->len;
		zs.avail_out = sink_room32(s);
		unsigned before = zs.avail_out;
		zret = inflate(&zs, Z_NO_FLUSH);
		s->len += before - zs.avail_out;
		if (zret == Z_STREAM_END) {
			if (consumed)
				*consumed = zs.total_in;
			break;
		}
		if (zret == Z_OK)
			continue;
		if (zret == Z_BUF_ERROR) {
			/* No progress with room to write: the input ran out. */
			*why = "the stream ends early (truncated)";
			ret = -EINVAL;
		} else if (zret == Z_MEM_ERROR) {
			ret = -ENOMEM;
		} else {
			*why = zs.msg ? zs.msg : "corrupt deflate data";
			ret = -EINVAL;
		}
		break;
	}
	inflateEnd(&zs);
	return ret;
}

static int bunzip2(const uint8_t *in, size_t len, struct sink *s, const char **why)
{
	bz_stream bs;
	int bret, ret = 0;

	memset(&bs, 0, sizeof(bs));
	if (BZ2_bzDecompressInit(&bs, 0, 0) != BZ_OK)
		return -ENOMEM;
	bs.next_in = (char *)in;
	bs.avail_in = (unsigned)len;
	for (;;) {
		ret = sink_make_room(s);
		if (ret < 0)
			break;
		bs.next_out = (char *)s->buf + s->len;
		bs.avail_out = sink_room32(s);
		unsigned before = bs.avail_out;
		bret = BZ2_bzDecompress(&bs);
		s->len += before - bs.avail_out;
		if (bret == BZ_STREAM_END)
			break;
		if (bret == BZ_OK && (bs.avail_in != 0 || bs.avail_out == 0))
			continue;
		if (bret == BZ_OK) {
			/* All input consumed, room left, and no end of stream. */
			*why = "the stream ends early (truncated)";
			ret = -EINVAL;
		} else if (bret == BZ_MEM_ERROR) {
			ret = -ENOMEM;
		} else {
			*why =
			    bret == BZ_DATA_ERROR_MAGIC ? "bad bzip2 magic" : "corrupt bzip2 data";
			ret = -EINVAL;
		}
		break;
	}
	BZ2_bzDecompressEnd(&bs);
	return ret;
}

static const char *lzma_reason(lzma_ret r)
{
	switch (r) {
	case LZMA_FORMAT_ERROR:
		return "not a valid header";
	case LZMA_OPTIONS_ERROR:
		return "unsupported compression options";
	case LZMA_DATA_ERROR:
		return "corrupt compressed data";
	case LZMA_BUF_ERROR:
		return "the stream ends early (truncated)";
	case LZMA_MEMLIMIT_ERROR:
		return "the dictionary exceeds the memory limit";
	default:
		return "decoder error";
	}
}

/* Both liblzma formats: .lzma ("lzma_alone", what `lzma -9` writes) and .xz. */
static int unxz(const uint8_t *in, size_t len, bool alone, struct sink *s, const char **why)
{
	lzma_stream ls = LZMA_STREAM_INIT;
	/*
	 * Kernels use dictionaries up to 64 MiB (xz --lzma2=dict=..); 1 GiB is
	 * liblzma's own maximum and bounds what a hostile header can make us
	 * allocate.  No LZMA_CONCATENATED: the appended size after the stream
	 * is not stream padding and must be ignored, not parsed.
	 */
	const uint64_t memlimit = 1ull << 30;
	lzma_ret lret;
	int ret = 0;

	lret = alone ? lzma_alone_decoder(&ls, memlimit) : lzma_stream_decoder(&ls, memlimit, 0);
	if (lret != LZMA_OK)
		return lret == LZMA_MEM_ERROR ? -ENOMEM : -EINVAL;
	ls.next_in = in;
	ls.avail_in = len;
	for (;;) {
		ret = sink_make_room(s);
		if (ret < 0)
			break;
		ls.next_out = s->buf + s->len;
		ls.avail_out = s->cap - s->len;
		size_t before = ls.avail_out;
		/* LZMA_FINISH once all input is in: a truncated stream then reports LZMA_BUF_ERROR.
		 */
		lret = lzma_code(&ls, ls.avail_in ? LZMA_RUN : LZMA_FINISH);
		s->len += before - ls.avail_out;
		if (lret == LZMA_STREAM_END)
			break;
		if (lret == LZMA_OK)
			continue;
		if (lret == LZMA_MEM_ERROR) {
			ret = -ENOMEM;
		} else {
			*why = lzma_reason(lret);
			ret = -EINVAL;
		}
		break;
	}
	lzma_end(&ls);
	return ret;
}

/*
 * The lz4 legacy container: magic, then blocks, each a 4-byte LE compressed
 * size and the compressed bytes.  Like lib/decompress_unlz4.c, a repeated
 * magic starts a concatenated archive and fewer than 4 bytes end the input.
 * The kernel's size_append leaves exactly 4 trailing bytes holding the
 * output size; a block header with no data after it that equals the output
 * so far is that trailer, not a truncated block.
 */
static int unlz4_legacy(const uint8_t *in, size_t len, struct sink *s, const char **why)
{
	size_t pos = 4; /* payload_detect() saw the magic */
	unsigned blocks = 0;

	while (len - pos >= 4) {
		uint32_t csize = le32(in + pos);
		int n;

		if (csize == LZ4_LEGACY_MAGIC) {
			pos += 4;
			continue;
		}
		if (csize == 0)
			break;
		if (len - pos == 4 && blocks > 0 && csize == (uint32_t)s->len)
			break; /* the appended uncompressed size */
		pos += 4;
		if (csize > len - pos ||
		    csize > (uint32_t)LZ4_compressBound(LZ4_LEGACY_BLOCK_SIZE)) {
			*why = csize > len - pos ? "a block runs past the end (truncated)"
						 : "a block is larger than lz4 allows";
			return -EINVAL;
		}
		/*
		 * A block may decode to up to 8 MiB; give it the whole 8 MiB even
		 * near max_out (the sink may exceed the limit by that much for
		 * lz4) so a too-big output is told apart from a corrupt block.
		 */
		if (s->len >= s->limit)
			return -EFBIG;
		size_t need = s->len + LZ4_LEGACY_BLOCK_SIZE;
		size_t lz4_limit = s->limit > SIZE_MAX - LZ4_LEGACY_BLOCK_SIZE
				       ? SIZE_MAX
				       : s->limit + LZ4_LEGACY_BLOCK_SIZE;
		int ret = sink_grow(s, need, lz4_limit);
		if (ret < 0)
			return ret;
		n = LZ4_decompress_safe((const char *)in + pos, (char *)s->buf + s->len, (int)csize,
					LZ4_LEGACY_BLOCK_SIZE);
		if (n < 0) {
			*why = "corrupt lz4 block";
			return -EINVAL;
		}
		s->len += (size_t)n;
		if (s->len >= s->limit)
			return -EFBIG;
		pos += csize;
		blocks++;
	}
	if (blocks == 0) {
		*why = "no compressed block (truncated)";
		return -EINVAL;
	}
	return 0;
}

static int unzstd(const uint8_t *in, size_t len, struct sink *s, const char **why)
{
	ZSTD_DStream *zs = ZSTD_createDStream();
	ZSTD_inBuffer ib = {in, len, 0};
	size_t zret = 1;
	int ret = 0;

	if (!zs)
		return -ENOMEM;
	/*
	 * The default window limit (2^27) covers `zstd -22 --ultra`, what
	 * the kernel's Makefile uses, and bounds what a hostile frame header
	 * can make us allocate.
	 */
	for (;;) {
		ret = sink_make_room(s);
		if (ret < 0)
			break;
		ZSTD_outBuffer ob = {s->buf + s->len, s->cap - s->len, 0};
		zret = ZSTD_decompressStream(zs, &ob, &ib);
		s->len += ob.pos;
		if (ZSTD_isError(zret)) {
			*why = ZSTD_getErrorName(zret);
			ret = ZSTD_getErrorCode(zret) == ZSTD_error_memory_allocation ? -ENOMEM
										      : -EINVAL;
			break;
		}
		if (zret == 0)
			break; /* end of the frame; the appended size is ignored */
		if (ib.pos == ib.size && ob.pos < ob.size) {
			*why = "the frame ends early (truncated)";
			ret = -EINVAL;
			break;
		}
	}
	ZSTD_freeDStream(zs);
	return ret;
}

int payload_decompress(const uint8_t *data, size_t len, size_t max_out, uint8_t **out,
		       size_t *out_len, struct vmm_err *err)
{
	enum payload_format f = payload_detect(data, len);
	const char *name = payload_format_name(f);
	const char *why = "corrupt data";
	struct sink s = {.limit = max_out == SIZE_MAX ? SIZE_MAX : max_out + 1};
	size_t hint = 0;
	int ret;

	*out = NULL;
	*out_len = 0;
	if (f == PAYLOAD_UNKNOWN) {
		uint8_t head[4] = {0};

		if (data)
			memcpy(head, data, len < 4 ? len : 4);
		return vmm_errf(err, -EINVAL,
				"KERNEL payload: no known compression magic (starts %02x %02x %02x "
				"%02x): not gzip, bzip2, lzma, xz, lzo, lz4 or zstd",
				head[0], head[1], head[2], head[3]);
	}
	if (f == PAYLOAD_LZO)
		return vmm_errf(err, -ENOTSUP,
				"KERNEL payload: lzo is not supported by minivmm's host-side "
				"decompressor; use decompress=guest or a kernel built with "
				"CONFIG_KERNEL_LZ4/ZSTD/XZ/GZIP");
	if (len > PAYLOAD_MAX_INPUT)
		return vmm_errf(err, -EINVAL,
				"KERNEL payload: %zu bytes of %s data is not a kernel (limit %u)",
				len, name, PAYLOAD_MAX_INPUT);

	/* The appended size (or gzip ISIZE): a hint for the first allocation, never a promise. */
	if (len >= 8)
		hint = le32(data + len - 4);
	ret = sink_grow(&s, hint > 0 && hint <= max_out ? hint + 1 : len * 4, s.limit);
	if (ret == 0) {
		switch (f) {
		case PAYLOAD_GZIP:
			ret = gunzip(data, len, &s, &why, NULL);
			break;
		case PAYLOAD_BZIP2:
			ret = bunzip2(data, len, &s, &why);
			break;
		case PAYLOAD_LZMA:
		case PAYLOAD_XZ:
			ret = unxz(data, len, f == PAYLOAD_LZMA, &s, &why);
			break;
		case PAYLOAD_LZ4:
			ret = unlz4_legacy(data, len, &s, &why);
			break;
		case PAYLOAD_ZSTD:
			ret = unzstd(data, len, &s, &why);
			break;
		default:
			ret = -ENOTSUP;
			break;
		}
	}
	if (ret == 0 && s.len > max_out)
		ret = -EFBIG;
	if (ret < 0) {
		free(s.buf);
		if (ret == -EFBIG)
			return vmm_errf(err, ret,
					"KERNEL payload: the %s data decompresses to more than %zu "
					"bytes; the image is corrupt or not a kernel",
					name, max_out);
		if (ret == -ENOMEM)
			return vmm_errf(err, ret,
					"KERNEL payload: out of host memory decompressing %s data "
					"(%zu bytes so far)",
					name, s.len);
		return vmm_errf(err, ret,
				"KERNEL payload: corrupt %s data (%s) after %zu output bytes; the "
				"image is damaged",
				name, why, s.len);
	}
	*out = s.buf;
	*out_len = s.len;
	return 0;
}

int initrd_gunzip_whole(const uint8_t *data, size_t len, size_t max_out, uint8_t **out,
			size_t *out_len)
{
	struct sink s = {.limit = max_out == SIZE_MAX ? SIZE_MAX : max_out + 1};
	const char *why = NULL;
	size_t consumed = 0;
	int ret;

	*out = NULL;
	*out_len = 0;
	if (payload_detect(data, len) != PAYLOAD_GZIP || len < 18)
		return -EINVAL;
	/* gzip's ISIZE (size mod 2^32) sizes the first allocation; never trusted further. */
	ret = sink_grow(&s, (size_t)le32(data + len - 4) + 1, s.limit);
	if (ret == 0)
		ret = gunzip(data, len, &s, &why, &consumed);
	if (ret == 0 && s.len > max_out)
		ret = -EFBIG;
	/*
	 * One member and nothing after it but padding: the kernel's unpacker
	 * would also read concatenated members and archives, which this does
	 * not reproduce, so those stay compressed for the guest.
	 */
	for (size_t i = consumed; ret == 0 && i < len; i++)
		if (data[i])
			ret = -EINVAL;
	/* newc ("070701") or newc with checksums ("070702"): what the kernel unpacks. */
	if (ret == 0 &&
	    (s.len < 6 || memcmp(s.buf, "07070", 5) || (s.buf[5] != '1' && s.buf[5] != '2')))
		ret = -EINVAL;
	if (ret < 0) {
		free(s.buf);
		return ret;
	}
	*out = s.buf;
	*out_len = s.len;
	return 0;
}
