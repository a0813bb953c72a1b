/* SPDX-License-Identifier: MIT */
/*
 * Host-side payload decompression (boot/decompress.c) and the bzImage host
 * path of boot_load_kernel() (boot/linux_x86.c).  Payloads are made at test
 * time with the libraries' own compressors, wrapped the way the kernel's
 * arch/x86/boot/compressed/Makefile wraps them (size_append; the lz4 legacy
 * container built by hand).
 */
#include <bzlib.h>
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <lz4.h>
#include <lzma.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "boot/boot.h"
#include "boot/decompress.h"
#include "boot/layout.h"
#include "tests/unit/fake_ram.h"

#define DATA_SIZE (1u << 20)
#define LZ4_MAGIC 0x184c2102u

struct blob {
	uint8_t *buf;
	size_t len;
};

/* Fast compression levels throughout: the tests are about the decoders. */

/* Pseudo-random but compressible: words from a small vocabulary, plus runs. */
static uint8_t *make_data(size_t size, uint32_t seed)
{
	static const char *const words[] = {"kernel ",	    "vmlinux ",		"startup_64 ",
					    "boot_params ", "\x90\x90\x90\x90", "\x48\x89\xe5",
					    "page ",	    "\0\0\0\0"};
	uint8_t *d = malloc(size);
	uint32_t x = seed;
	size_t i = 0;

	ck_assert_ptr_nonnull(d);
	while (i < size) {
		x = x * 1103515245u + 12345u;
		const char *w = words[(x >> 16) % 8];
		size_t wl = (x >> 16) % 8 == 7 || (x >> 16) % 8 == 4 ? 4 : strlen(w);
		if ((x >> 24) % 16 == 0) {
			d[i++] = (uint8_t)(x >> 8); /* some noise */
			continue;
		}
		for (size_t k = 0; k < wl && i < size; k++)
			d[i++] = (uint8_t)w[k];
	}
	return d;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* The kernel's size_append: the uncompressed size, 4 bytes little-endian. */
static void size_append(struct blob *b, size_t raw_len)
{
	b->buf = realloc(b->buf, b->len + 4);
	ck_assert_ptr_nonnull(b->buf);
	put_le32(b->buf + b->len, (uint32_t)raw_len);
	b->len += 4;
}

static struct blob compress_gzip(const uint8_t *in, size_t len)
{
	struct blob b = {malloc(len + 1024), 0};
	z_stream zs;

	memset(&zs, 0, sizeof(zs));
	ck_assert_int_eq(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = b.buf;
	zs.avail_out = (uInt)(len + 1024);
	ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
	b.len = zs.total_out;
	deflateEnd(&zs);
	return b; /* gzip's ISIZE trailer is the size: no size_append */
}

static struct blob compress_bzip2(const uint8_t *in, size_t len)
{
	unsigned cap = (unsigned)(len + len / 100 + 1024);
	struct blob b = {malloc(cap), 0};

	ck_assert_int_eq(
	    BZ2_bzBuffToBuffCompress((char *)b.buf, &cap, (char *)in, (unsigned)len, 9, 0, 0),
	    BZ_OK);
	b.len = cap;
	size_append(&b, len);
	return b;
}

static struct blob compress_lzma_common(const uint8_t *in, size_t len, bool alone)
{
	struct blob b = {malloc(len + 4096), 0};
	lzma_stream ls = LZMA_STREAM_INIT;
	lzma_options_lzma opt;

	if (alone) {
		ck_assert_int_eq(lzma_lzma_preset(&opt, 1), 0);
		ck_assert_int_eq(lzma_alone_encoder(&ls, &opt), LZMA_OK);
	} else {
		/* The kernel's xz uses CRC32 (scripts/xz_wrap.sh: --check=crc32). */
		ck_assert_int_eq(lzma_easy_encoder(&ls, 1, LZMA_CHECK_CRC32), LZMA_OK);
	}
	ls.next_in = in;
	ls.avail_in = len;
	ls.next_out = b.buf;
	ls.avail_out = len + 4096;
	ck_assert_int_eq(lzma_code(&ls, LZMA_FINISH), LZMA_STREAM_END);
	b.len = ls.total_out;
	lzma_end(&ls);
	size_append(&b, len);
	return b;
}

static struct blob compress_lzma(const uint8_t *in, size_t len)
{
	return compress_lzma_common(in, len, true);
}

static struct blob compress_xz(const uint8_t *in, size_t len)
{
	return compress_lzma_common(in, len, false);
}

/* lz4 -l: magic, then (LE32 compressed size, block) per chunk of at most `chunk` bytes. */
static struct blob compress_lz4_chunked(const uint8_t *in, size_t len, size_t chunk)
{
	size_t cap = 4 + (len / chunk + 1) * (4 + (size_t)LZ4_compressBound((int)chunk));
	struct blob b = {malloc(cap), 4};

	put_le32(b.buf, LZ4_MAGIC);
	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		int c = LZ4_compress_default((const char *)in + off, (char *)b.buf + b.len + 4,
					     (int)n, LZ4_compressBound((int)n));
		ck_assert_int_gt(c, 0);
		put_le32(b.buf + b.len, (uint32_t)c);
		b.len += 4 + (size_t)c;
	}
	size_append(&b, len);
	return b;
}

static struct blob compress_lz4(const uint8_t *in, size_t len)
{
	return compress_lz4_chunked(in, len, 8u << 20);
}

/* zstd with a checksum and, like a streamed `zstd -22`, no content size in the header. */
static struct blob compress_zstd(const uint8_t *in, size_t len)
{
	size_t cap = ZSTD_compressBound(len);
	struct blob b = {malloc(cap), 0};
	ZSTD_CCtx *cc = ZSTD_createCCtx();

	ck_assert_ptr_nonnull(cc);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 3);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0);
	b.len = ZSTD_compress2(cc, b.buf, cap, in, len);
	ck_assert(!ZSTD_isError(b.len));
	ZSTD_freeCCtx(cc);
	ck_assert_uint_eq(ZSTD_getFrameContentSize(b.buf, b.len), ZSTD_CONTENTSIZE_UNKNOWN);
	size_append(&b, len);
	return b;
}

struct format_case {
	enum payload_format format;
	const char *name;
	struct blob (*compress)(const uint8_t *in, size_t len);
};

static const struct format_case formats[] = {
    {PAYLOAD_GZIP, "gzip", compress_gzip},    /* CRC32 + ISIZE */
    {PAYLOAD_BZIP2, "bzip2", compress_bzip2}, /* block CRC */
    {PAYLOAD_LZMA, "lzma", compress_lzma},    /* no checksum: see corrupt_payload */
    {PAYLOAD_XZ, "xz", compress_xz},	      /* CRC32 */
    {PAYLOAD_LZ4, "lz4", compress_lz4},	      /* no checksum: see corrupt_payload */
    {PAYLOAD_ZSTD, "zstd", compress_zstd},    /* XXH64 */
};
#define NFORMATS (int)(sizeof(formats) / sizeof(formats[0]))

static uint8_t *data;

static void setup_data(void)
{
	data = make_data(DATA_SIZE, 42);
}

static void teardown_data(void)
{
	free(data);
}

START_TEST(detect_magics)
{
	static const uint8_t lzo[] = {0x89, 'L', 'Z', 'O', 0, 0x0d, 0x0a, 0x1a, 0x0a, 0};
	static const uint8_t gz[] = {0x1f, 0x8b, 8, 0};
	static const uint8_t bz[] = "BZh9";
	static const uint8_t lzma[] = {0x5d, 0, 0, 0x80, 0};
	static const uint8_t xz[] = {0xfd, '7', 'z', 'X', 'Z', 0};
	static const uint8_t lz4[] = {0x02, 0x21, 0x4c, 0x18};
	static const uint8_t zst[] = {0x28, 0xb5, 0x2f, 0xfd};
	static const uint8_t elf[] = {0x7f, 'E', 'L', 'F'};

	ck_assert_int_eq(payload_detect(gz, sizeof(gz)), PAYLOAD_GZIP);
	ck_assert_int_eq(payload_detect(bz, 4), PAYLOAD_BZIP2);
	ck_assert_int_eq(payload_detect(lzma, sizeof(lzma)), PAYLOAD_LZMA);
	ck_assert_int_eq(payload_detect(xz, sizeof(xz)), PAYLOAD_XZ);
	ck_assert_int_eq(payload_detect(lzo, sizeof(lzo)), PAYLOAD_LZO);
	ck_assert_int_eq(payload_detect(lz4, sizeof(lz4)), PAYLOAD_LZ4);
	ck_assert_int_eq(payload_detect(zst, sizeof(zst)), PAYLOAD_ZSTD);
	ck_assert_int_eq(payload_detect(elf, sizeof(elf)), PAYLOAD_UNKNOWN);
	/* Too short for the whole magic. */
	ck_assert_int_eq(payload_detect(xz, 5), PAYLOAD_UNKNOWN);
	ck_assert_int_eq(payload_detect(lz4, 3), PAYLOAD_UNKNOWN);
	ck_assert_int_eq(payload_detect(lzo, 8), PAYLOAD_UNKNOWN);
	ck_assert_int_eq(payload_detect(gz, 0), PAYLOAD_UNKNOWN);
	ck_assert_int_eq(payload_detect(NULL, 10), PAYLOAD_UNKNOWN);

	ck_assert_str_eq(payload_format_name(PAYLOAD_GZIP), "gzip");
	ck_assert_str_eq(payload_format_name(PAYLOAD_LZ4), "lz4");
	ck_assert_str_eq(payload_format_name(PAYLOAD_ZSTD), "zstd");
	ck_assert_str_eq(payload_format_name(PAYLOAD_LZO), "lzo");
	ck_assert_str_eq(payload_format_name(PAYLOAD_UNKNOWN), "unknown");
	ck_assert_str_eq(payload_format_name((enum payload_format)99), "unknown");
	ck_assert(payload_format_supported(PAYLOAD_XZ));
	ck_assert(!payload_format_supported(PAYLOAD_LZO));
	ck_assert(!payload_format_supported(PAYLOAD_UNKNOWN));
}
END_TEST

START_TEST(round_trip)
{
	const struct format_case *fc = &formats[_i];
	struct blob b = fc->compress(data, DATA_SIZE);
	struct vmm_err err = {{0}};
	uint8_t *out;
	size_t out_len;

	ck_assert_int_eq(payload_detect(b.buf, b.len), fc->format);
	ck_assert_int_lt(b.len, DATA_SIZE / 2); /* the data really is compressible */
	ck_assert_int_eq(payload_decompress(b.buf, b.len, PAYLOAD_MAX_OUTPUT, &out, &out_len, &err),
			 0);
	ck_assert_str_eq(err.msg, "");
	ck_assert_uint_eq(out_len, DATA_SIZE);
	ck_assert_mem_eq(out, data, DATA_SIZE);
	free(out);

	/* Exactly max_out bytes still fit. */
	ck_assert_int_eq(payload_decompress(b.buf, b.len, DATA_SIZE, &out, &out_len, &err), 0);
	ck_assert_uint_eq(out_len, DATA_SIZE);
	ck_assert_mem_eq(out, data, DATA_SIZE);
	free(out);
	free(b.buf);
}
END_TEST

START_TEST(output_over_max_out)
{
	const struct format_case *fc = &formats[_i];
	struct blob b = fc->compress(data, DATA_SIZE);
	struct vmm_err err = {{0}};
	uint8_t *out = (uint8_t *)1;
	size_t out_len = 1;

	ck_assert_int_eq(payload_decompress(b.buf, b.len, DATA_SIZE - 1, &out, &out_len, &err),
			 -EFBIG);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(out_len, 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "decompresses to more than 1048575 bytes"));
	ck_assert_ptr_nonnull(strstr(err.msg, fc->name));

	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(payload_decompress(b.buf, b.len, 4096, &out, &out_len, &err), -EFBIG);
	free(b.buf);
}
END_TEST

static void expect_einval(const uint8_t *buf, size_t len, const char *what)
{
	struct vmm_err err = {{0}};
	uint8_t *out = (uint8_t *)1;
	size_t out_len = 1;
	int ret = payload_decompress(buf, len, PAYLOAD_MAX_OUTPUT, &out, &out_len, &err);

	ck_assert_msg(ret == -EINVAL, "%s: expected -EINVAL, got %d (%s)", what, ret, err.msg);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(out_len, 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "corrupt"));
}

START_TEST(truncated_payload)
{
	const struct format_case *fc = &formats[_i];
	struct blob b = fc->compress(data, DATA_SIZE);
	/* gzip ends in its own trailer; the others in the appended size. */
	size_t stream_len = fc->format == PAYLOAD_GZIP ? b.len : b.len - 4;

	expect_einval(b.buf, b.len / 2, "half");
	expect_einval(b.buf, 16, "16 bytes");
	expect_einval(b.buf, stream_len - 1, "all but the stream's last byte");
	free(b.buf);
}
END_TEST

START_TEST(corrupt_payload)
{
	const struct format_case *fc = &formats[_i];
	struct blob b = fc->compress(data, DATA_SIZE);
	uint8_t *copy = malloc(b.len);

	memcpy(copy, b.buf, b.len);
	switch (fc->format) {
	case PAYLOAD_LZ4:
		/* No checksum: break the block structure (size field one short). */
		put_le32(copy + 4, (uint32_t)(b.len - 12 - 1));
		ck_assert_uint_eq(b.buf[4] | b.buf[5] << 8 | b.buf[6] << 16, b.len - 12);
		expect_einval(copy, b.len, "lz4 block size one short");
		put_le32(copy + 4, 0x7fffffff);
		expect_einval(copy, b.len, "lz4 block size huge");
		memcpy(copy, b.buf, b.len);
		/* A match offset pointing before the output: the first sequence's offset. */
		memset(copy + 8, 0xff, 64);
		expect_einval(copy, b.len, "lz4 garbage block");
		break;
	case PAYLOAD_LZMA:
		/* No checksum: garbage in the range-coded data. */
		memset(copy + b.len / 2, 0x55, 32);
		expect_einval(copy, b.len, "lzma middle");
		break;
	default:
		copy[b.len / 2] ^= 0x40;
		expect_einval(copy, b.len, "one flipped bit in the middle");
		memcpy(copy, b.buf, b.len);
		/*
		 * Past the magic, in the header: gzip FLG (reserved bits), bzip2's
		 * block magic, xz's stream flags (header CRC), zstd's frame header
		 * descriptor (reserved bit).
		 */
		copy[fc->format == PAYLOAD_GZIP ? 3 : fc->format == PAYLOAD_XZ ? 7 : 4] ^= 0xff;
		expect_einval(copy, b.len, "header byte");
		break;
	}
	free(copy);
	free(b.buf);
}
END_TEST

/* The appended size only pre-sizes the buffer: wrong values change nothing. */
START_TEST(size_hint_is_not_trusted)
{
	static const uint32_t hints[] = {0, 1, DATA_SIZE - 1, 0xffffffffu};
	const struct format_case *fc = &formats[_i];
	struct blob b = fc->compress(data, DATA_SIZE);
	uint8_t *out;
	size_t out_len;

	for (unsigned h = 0; h < sizeof(hints) / sizeof(hints[0]); h++) {
		struct vmm_err err = {{0}};

		put_le32(b.buf + b.len - 4, hints[h]);
		if (fc->format == PAYLOAD_GZIP) {
			/* ISIZE is checked by zlib: a wrong one is corruption. */
			expect_einval(b.buf, b.len, "gzip ISIZE");
			continue;
		}
		if (fc->format == PAYLOAD_LZ4 && hints[h] != 0) {
			/*
			 * 4 trailing bytes that are not the output size are a block
			 * header without its block (0 is an end marker: fine).
			 */
			expect_einval(b.buf, b.len, "lz4 wrong trailer");
			continue;
		}
		ck_assert_int_eq(payload_decompress(b.buf, b.len, DATA_SIZE, &out, &out_len, &err),
				 0);
		ck_assert_uint_eq(out_len, DATA_SIZE);
		ck_assert_mem_eq(out, data, DATA_SIZE);
		free(out);
	}
	/* No appended size at all (a bare stream) works too. */
	if (fc->format != PAYLOAD_GZIP) {
		struct vmm_err err = {{0}};

		ck_assert_int_eq(
		    payload_decompress(b.buf, b.len - 4, PAYLOAD_MAX_OUTPUT, &out, &out_len, &err),
		    0);
		ck_assert_uint_eq(out_len, DATA_SIZE);
		ck_assert_mem_eq(out, data, DATA_SIZE);
		free(out);
	}
	free(b.buf);
}
END_TEST

START_TEST(lz4_multiple_blocks_and_concatenation)
{
	struct blob b = compress_lz4_chunked(data, DATA_SIZE, 100000); /* 11 blocks */
	struct vmm_err err = {{0}};
	uint8_t *out, *cat;
	size_t out_len;

	ck_assert_int_eq(payload_decompress(b.buf, b.len, PAYLOAD_MAX_OUTPUT, &out, &out_len, &err),
			 0);
	ck_assert_uint_eq(out_len, DATA_SIZE);
	ck_assert_mem_eq(out, data, DATA_SIZE);
	free(out);

	/* The magic again starts a concatenated archive (lib/decompress_unlz4.c). */
	cat = malloc(2 * b.len);
	memcpy(cat, b.buf, b.len - 4);
	memcpy(cat + b.len - 4, b.buf, b.len - 4);
	put_le32(cat + 2 * b.len - 8, 2 * DATA_SIZE);
	ck_assert_int_eq(
	    payload_decompress(cat, 2 * b.len - 4, PAYLOAD_MAX_OUTPUT, &out, &out_len, &err), 0);
	ck_assert_uint_eq(out_len, 2 * DATA_SIZE);
	ck_assert_mem_eq(out, data, DATA_SIZE);
	ck_assert_mem_eq(out + DATA_SIZE, data, DATA_SIZE);
	free(out);

	/* A zero block size ends the stream. */
	put_le32(cat + b.len - 4, 0);
	ck_assert_int_eq(
	    payload_decompress(cat, 2 * b.len - 4, PAYLOAD_MAX_OUTPUT, &out, &out_len, &err), 0);
	ck_assert_uint_eq(out_len, DATA_SIZE);
	free(out);

	/* Only the magic: no block at all. */
	expect_einval(b.buf, 4, "lz4 magic only");
	free(cat);
	free(b.buf);
}
END_TEST

START_TEST(unknown_and_lzo)
{
	static const uint8_t junk[] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4};
	static const uint8_t lzo[] = {0x89, 'L', 'Z', 'O', 0, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0};
	struct vmm_err err = {{0}};
	uint8_t *out = (uint8_t *)1;
	size_t out_len = 1;

	ck_assert_int_eq(payload_decompress(junk, sizeof(junk), 1 << 20, &out, &out_len, &err),
			 -EINVAL);
	ck_assert_ptr_null(out);
	ck_assert_str_eq(err.msg,
			 "KERNEL payload: no known compression magic (starts de ad be ef): "
			 "not gzip, bzip2, lzma, xz, lzo, lz4 or zstd");
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(payload_decompress(junk, 2, 1 << 20, &out, &out_len, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "starts de ad 00 00"));
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(payload_decompress(NULL, 0, 1 << 20, &out, &out_len, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "starts 00 00 00 00"));

	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(payload_decompress(lzo, sizeof(lzo), 1 << 20, &out, &out_len, &err),
			 -ENOTSUP);
	ck_assert_ptr_null(out);
	ck_assert_ptr_nonnull(strstr(err.msg, "lzo is not supported"));
	ck_assert_ptr_nonnull(strstr(err.msg, "decompress=guest"));
}
END_TEST

/* ---- bzImage with a compressed ELF payload through boot_load_kernel() ---- */

#define RAM_SIZE       (64ull << 20)
#define PREF_ADDR      0x1000000ull
#define INIT_SIZE      0x400000u
#define KERNEL_ALIGN   0x200000u
#define SETUP_SECTS    1
#define SETUP_SIZE     ((SETUP_SECTS + 1) * 512u)
#define STUB_SIZE      0x300u /* "decompressor" bytes before the payload */
#define ELF_CODE_OFF   0x1000u
#define ELF_FILESZ     0x3000u
#define ELF_MEMSZ      0x5000u
#define ELF_ENTRY      (PREF_ADDR + 0x40)
#define ELF_NOTE_OFF   0x200u
#define ELF_PVH_ENTRY  (PREF_ADDR + 0x80)
#define ELF_IMAGE_SIZE (ELF_CODE_OFF + ELF_FILESZ)

static struct guest_mem gm;
static uint8_t *ram;

static void setup_ram(void)
{
	ram = fake_ram_new(&gm, RAM_SIZE);
}

static void teardown_ram(void)
{
	free(ram);
}

/* A minimal vmlinux: one PT_LOAD at PREF_ADDR (with bss) and a PT_NOTE carrying a PVH entry. */
static uint8_t *make_vmlinux(void)
{
	uint8_t *img = calloc(1, ELF_IMAGE_SIZE);
	Elf64_Ehdr eh = {
	    .e_type = ET_EXEC,
	    .e_machine = EM_X86_64,
	    .e_version = EV_CURRENT,
	    .e_entry = ELF_ENTRY,
	    .e_phoff = sizeof(Elf64_Ehdr),
	    .e_ehsize = sizeof(Elf64_Ehdr),
	    .e_phentsize = sizeof(Elf64_Phdr),
	    .e_phnum = 2,
	};
	Elf64_Phdr ph[2] = {
	    {.p_type = PT_LOAD,
	     .p_flags = PF_R | PF_W | PF_X,
	     .p_offset = ELF_CODE_OFF,
	     .p_vaddr = 0xffffffff81000000ull,
	     .p_paddr = PREF_ADDR,
	     .p_filesz = ELF_FILESZ,
	     .p_memsz = ELF_MEMSZ,
	     .p_align = 0x1000},
	    {.p_type = PT_NOTE, .p_offset = ELF_NOTE_OFF, .p_filesz = 12 + 4 + 8, .p_align = 4},
	};
	Elf64_Nhdr nh = {.n_namesz = 4, .n_descsz = 8, .n_type = XEN_ELFNOTE_PHYS32_ENTRY};
	uint64_t pvh = ELF_PVH_ENTRY;

	ck_assert_ptr_nonnull(img);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	memcpy(img, &eh, sizeof(eh));
	memcpy(img + sizeof(eh), ph, sizeof(ph));
	memcpy(img + ELF_NOTE_OFF, &nh, sizeof(nh));
	memcpy(img + ELF_NOTE_OFF + sizeof(nh), "Xen", 4);
	memcpy(img + ELF_NOTE_OFF + sizeof(nh) + 4, &pvh, 8);
	for (unsigned i = 0; i < ELF_FILESZ; i++)
		img[ELF_CODE_OFF + i] = (uint8_t)(i * 29 + 7);
	return img;
}

struct bz {
	uint8_t *buf;
	size_t len;
	uint8_t *vmlinux;
};

/* setup area + protected-mode part = STUB_SIZE stub bytes, the payload, 0x100 bytes of tail. */
static struct bz make_bzimage(const uint8_t *payload, size_t payload_len)
{
	struct bz bz = {0};
	struct setup_header h;
	size_t pm = (STUB_SIZE + payload_len + 0x100 + 15) & ~(size_t)15;

	memset(&h, 0, sizeof(h));
	h.setup_sects = SETUP_SECTS;
	h.syssize = (uint32_t)(pm / 16);
	h.boot_flag = 0xaa55;
	h.jump = 0x6aeb;
	memcpy(&h.header, "HdrS", 4);
	h.version = 0x020f;
	h.loadflags = LOADED_HIGH | KASLR_FLAG; /* KASLR_FLAG must not be forwarded */
	h.code32_start = 0x100000;
	h.initrd_addr_max = 0x7fffffff;
	h.kernel_alignment = KERNEL_ALIGN;
	h.relocatable_kernel = 1;
	h.min_alignment = 21;
	h.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h.cmdline_size = 2047;
	h.payload_offset = STUB_SIZE;
	h.payload_length = (uint32_t)payload_len;
	h.pref_address = PREF_ADDR;
	h.init_size = INIT_SIZE;

	bz.len = SETUP_SIZE + pm;
	bz.buf = calloc(1, bz.len);
	ck_assert_ptr_nonnull(bz.buf);
	memcpy(bz.buf + 0x1f1, &h, sizeof(h));
	for (unsigned i = 0; i < STUB_SIZE; i++)
		bz.buf[SETUP_SIZE + i] = (uint8_t)(0xc0 + i % 7);
	memcpy(bz.buf + SETUP_SIZE + STUB_SIZE, payload, payload_len);
	return bz;
}

/* A bzImage whose payload is the test vmlinux compressed with `fmt`. */
static struct bz make_elf_bzimage(const struct format_case *fc)
{
	uint8_t *vmlinux = make_vmlinux();
	struct blob b = fc->compress(vmlinux, ELF_IMAGE_SIZE);
	struct bz bz = make_bzimage(b.buf, b.len);

	free(b.buf);
	bz.vmlinux = vmlinux;
	return bz;
}

static void free_bz(struct bz *bz)
{
	free(bz->buf);
	free(bz->vmlinux);
}

static struct boot_request bz_request(const struct bz *bz, enum mvm_kernel_decompress mode)
{
	struct boot_request req = {
	    .kernel = bz->buf,
	    .kernel_len = bz->len,
	    .kernel_path = "test-bzImage",
	    .cmdline = "console=ttyS0 quiet",
	    .acpi_rsdp_addr = 0xe0000,
	    .prefer_pvh = true, /* ignored on the host path: the bzImage header wins */
	    .decompress = mode,
	};
	return req;
}

static const struct boot_params *zero_page(void)
{
	return (const struct boot_params *)(ram + ZERO_PAGE_ADDR);
}

static void check_host_loaded(const struct bz *bz, const struct boot_entry *out,
			      const char *format_name)
{
	const struct boot_params *bp = zero_page();
	const uint8_t zeros[ELF_MEMSZ - ELF_FILESZ] = {0};
	char prefix[96];

	ck_assert_int_eq(out->mode, BOOT_ENTRY_LINUX64);
	ck_assert_uint_eq(out->entry, ELF_ENTRY); /* e_entry, not the PVH note, not load + 0x200 */
	ck_assert_uint_eq(out->boot_info, ZERO_PAGE_ADDR);
	ck_assert_uint_eq(out->kernel_start, PREF_ADDR);
	ck_assert_uint_eq(out->kernel_end, PREF_ADDR + ELF_MEMSZ);
	ck_assert_ptr_null(out->note);
	snprintf(prefix, sizeof(prefix), "bzImage (%s payload decompressed on the host in ",
		 format_name);
	ck_assert_msg(strncmp(out->format, prefix, strlen(prefix)) == 0, "format: %s", out->format);
	ck_assert_ptr_nonnull(strstr(out->format, " ms)"));

	/* The segment at p_paddr, its bss zeroed (RAM was 0xcc there), nothing past it. */
	ck_assert_mem_eq(ram + PREF_ADDR, bz->vmlinux + ELF_CODE_OFF, ELF_FILESZ);
	ck_assert_mem_eq(ram + PREF_ADDR + ELF_FILESZ, zeros, sizeof(zeros));
	ck_assert_uint_eq(ram[PREF_ADDR + ELF_MEMSZ], 0xcc);

	/* The zero page carries the bzImage's own header plus the loader's fields. */
	ck_assert_uint_eq(bp->hdr.boot_flag, 0xaa55);
	ck_assert_mem_eq(&bp->hdr.header, "HdrS", 4);
	ck_assert_uint_eq(bp->hdr.version, 0x020f);
	ck_assert_uint_eq(bp->hdr.init_size, INIT_SIZE);
	ck_assert_uint_eq(bp->hdr.kernel_alignment, KERNEL_ALIGN);
	ck_assert_uint_eq(bp->hdr.min_alignment, 21);
	ck_assert_uint_eq(bp->hdr.pref_address, PREF_ADDR);
	ck_assert_uint_eq(bp->hdr.payload_offset, STUB_SIZE);
	ck_assert_uint_eq(bp->hdr.xloadflags, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	ck_assert_uint_eq(bp->hdr.type_of_loader, 0xff);
	ck_assert_uint_eq(bp->hdr.loadflags, LOADED_HIGH | CAN_USE_HEAP | QUIET_FLAG);
	ck_assert_uint_eq(bp->hdr.cmd_line_ptr, CMDLINE_ADDR);
	ck_assert_str_eq((const char *)ram + CMDLINE_ADDR, "console=ttyS0 quiet");
	ck_assert_uint_eq(bp->acpi_rsdp_addr, 0xe0000);
	ck_assert_uint_gt(bp->e820_entries, 0);
}

START_TEST(bzimage_host_decompresses)
{
	const struct format_case *fc = &formats[_i];
	struct bz bz = make_elf_bzimage(fc);
	enum mvm_kernel_decompress modes[] = {MVM_DECOMPRESS_AUTO, MVM_DECOMPRESS_HOST};

	for (unsigned m = 0; m < 2; m++) {
		struct boot_request req = bz_request(&bz, modes[m]);
		struct boot_entry out;
		struct vmm_err err = {{0}};

		memset(ram + PREF_ADDR, 0xcc, ELF_MEMSZ + 0x1000);
		ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), 0);
		ck_assert_str_eq(err.msg, "");
		check_host_loaded(&bz, &out, fc->name);
	}
	free_bz(&bz);
}
END_TEST

START_TEST(bzimage_host_places_initrd_above_vmlinux)
{
	struct bz bz = make_elf_bzimage(&formats[0]);
	struct boot_request req = bz_request(&bz, MVM_DECOMPRESS_HOST);
	struct boot_entry out;
	struct vmm_err err = {{0}};
	static uint8_t initrd[5000];

	memset(initrd, 0x3c, sizeof(initrd));
	req.initrd = initrd;
	req.initrd_len = sizeof(initrd);
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), 0);
	ck_assert_uint_ge(out.initrd_start, out.kernel_end);
	ck_assert_uint_eq(out.initrd_start % 4096, 0);
	ck_assert_uint_eq(out.initrd_start + sizeof(initrd) <= RAM_SIZE, 1);
	ck_assert_uint_eq(zero_page()->hdr.ramdisk_image, out.initrd_start);
	ck_assert_uint_eq(zero_page()->hdr.ramdisk_size, sizeof(initrd));
	ck_assert_mem_eq(ram + out.initrd_start, initrd, sizeof(initrd));
	free_bz(&bz);
}
END_TEST

START_TEST(bzimage_guest_mode_is_classic)
{
	struct bz bz = make_elf_bzimage(&formats[4]);
	struct boot_request req = bz_request(&bz, MVM_DECOMPRESS_GUEST);
	struct boot_entry out;
	struct vmm_err err = {{0}};

	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), 0);
	ck_assert_int_eq(out.mode, BOOT_ENTRY_LINUX64);
	ck_assert_uint_eq(out.entry, PREF_ADDR + 0x200);
	ck_assert_str_eq(out.format, "bzImage");
	ck_assert_ptr_null(out.note);
	ck_assert_uint_eq(out.kernel_start, PREF_ADDR);
	ck_assert_uint_eq(out.kernel_end, PREF_ADDR + INIT_SIZE);
	/* The protected-mode part as is: stub, then the still-compressed payload. */
	ck_assert_mem_eq(ram + PREF_ADDR, bz.buf + SETUP_SIZE, bz.len - SETUP_SIZE);
	ck_assert_uint_eq(zero_page()->hdr.init_size, INIT_SIZE);
	ck_assert_uint_eq(zero_page()->hdr.loadflags, LOADED_HIGH | CAN_USE_HEAP | QUIET_FLAG);
	free_bz(&bz);
}
END_TEST

START_TEST(bzimage_host_errors)
{
	static const uint8_t junk[64] = {0xde, 0xad, 0xbe, 0xef};
	static const uint8_t lzo[64] = {0x89, 'L', 'Z', 'O', 0, 0x0d, 0x0a, 0x1a, 0x0a};
	struct boot_entry out;
	struct vmm_err err = {{0}};

	/* Unknown payload format. */
	struct bz bz = make_bzimage(junk, sizeof(junk));
	struct boot_request req = bz_request(&bz, MVM_DECOMPRESS_HOST);
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(err.msg, "unknown-compressed"));
	ck_assert_ptr_nonnull(strstr(err.msg, "decompress=host cannot fall back"));
	free_bz(&bz);

	/* LZO: recognised, not supported. */
	memset(&err, 0, sizeof(err));
	bz = make_bzimage(lzo, sizeof(lzo));
	req = bz_request(&bz, MVM_DECOMPRESS_HOST);
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(err.msg, "lzo-compressed"));
	free_bz(&bz);

	/* Corrupt gzip. */
	memset(&err, 0, sizeof(err));
	bz = make_elf_bzimage(&formats[0]);
	bz.buf[SETUP_SIZE + STUB_SIZE + 40] ^= 0x21;
	req = bz_request(&bz, MVM_DECOMPRESS_HOST);
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "corrupt gzip data"));
	free_bz(&bz);

	/* The payload runs past the protected-mode part. */
	memset(&err, 0, sizeof(err));
	bz = make_elf_bzimage(&formats[0]);
	struct setup_header *h = (struct setup_header *)(bz.buf + 0x1f1);
	h->payload_length = 0xffffff00u;
	req = bz_request(&bz, MVM_DECOMPRESS_HOST);
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "runs past"));
	h->payload_length = 0;
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(err.msg, "no compressed payload"));
	free_bz(&bz);

	/* A payload that decompresses to something that is not an ELF. */
	memset(&err, 0, sizeof(err));
	{
		struct blob b = compress_zstd(data, 4096);
		bz = make_bzimage(b.buf, b.len);
		free(b.buf);
	}
	req = bz_request(&bz, MVM_DECOMPRESS_HOST);
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "not an ELF vmlinux"));
	free_bz(&bz);

	/* Unknown mode. */
	memset(&err, 0, sizeof(err));
	bz = make_elf_bzimage(&formats[0]);
	req = bz_request(&bz, (enum mvm_kernel_decompress)7);
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "unknown decompress mode 7"));
	free_bz(&bz);
}
END_TEST

/*
 * Found by fuzz_boot: a 13 KiB bzImage whose payload inflates to 400 MiB
 * of zeroes had the loader decompress all of it (600 MB RSS, seconds)
 * before finding that no such vmlinux fits a 16 MiB guest.  The output is
 * now bounded by guest RAM (plus room for the relocation table behind the
 * ELF), so such a payload stops there.
 */
START_TEST(bzimage_host_output_bounded_by_guest_ram)
{
	size_t zeros_len = RAM_SIZE + (96u << 20);
	uint8_t *zeros = calloc(1, zeros_len);
	struct boot_entry out;
	struct vmm_err err = {{0}};
	struct blob b;
	struct bz bz;
	struct boot_request req;

	ck_assert_ptr_nonnull(zeros);
	b = compress_zstd(zeros, zeros_len);
	free(zeros);
	bz = make_bzimage(b.buf, b.len);
	free(b.buf);
	req = bz_request(&bz, MVM_DECOMPRESS_HOST);
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), -EFBIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "decompresses to more than"));
	ck_assert_ptr_nonnull(strstr(err.msg, "guest RAM"));
	free_bz(&bz);
}
END_TEST

START_TEST(bzimage_auto_falls_back_with_note)
{
	struct bz bz = make_elf_bzimage(&formats[0]);
	struct boot_request req = bz_request(&bz, MVM_DECOMPRESS_AUTO);
	struct boot_entry out;
	struct vmm_err err = {{0}};

	bz.buf[SETUP_SIZE + STUB_SIZE + 40] ^= 0x21; /* corrupt gzip */
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), 0);
	ck_assert_str_eq(err.msg, "");
	ck_assert_uint_eq(out.entry, PREF_ADDR + 0x200);
	ck_assert_str_eq(out.format, "bzImage");
	ck_assert_ptr_nonnull(out.note);
	ck_assert_ptr_eq(out.note, out.note_buf);
	ck_assert_ptr_nonnull(strstr(out.note, "host-side decompression skipped"));
	ck_assert_ptr_nonnull(strstr(out.note, "corrupt gzip data"));
	ck_assert_ptr_nonnull(strstr(out.note, "the kernel decompresses itself"));
	/* The classic path's image replaced whatever the failed attempt left. */
	ck_assert_mem_eq(ram + PREF_ADDR, bz.buf + SETUP_SIZE, bz.len - SETUP_SIZE);
	ck_assert_uint_eq(out.kernel_end, PREF_ADDR + INIT_SIZE);
	free_bz(&bz);

	/* An ELF that does not fit in guest RAM (p_paddr beyond it) also falls back. */
	uint8_t *vmlinux = make_vmlinux();
	Elf64_Phdr ph;
	memcpy(&ph, vmlinux + sizeof(Elf64_Ehdr), sizeof(ph));
	ph.p_paddr = RAM_SIZE - 0x1000;
	memcpy(vmlinux + sizeof(Elf64_Ehdr), &ph, sizeof(ph));
	struct blob b = compress_xz(vmlinux, ELF_IMAGE_SIZE);
	bz = make_bzimage(b.buf, b.len);
	free(b.buf);
	free(vmlinux);
	req = bz_request(&bz, MVM_DECOMPRESS_AUTO);
	ck_assert_int_eq(boot_load_kernel(&gm, &req, &out, &err), 0);
	ck_assert_uint_eq(out.entry, PREF_ADDR + 0x200);
	ck_assert_ptr_nonnull(out.note);
	ck_assert_ptr_nonnull(strstr(out.note, "outside guest RAM"));
	free_bz(&bz);
}
END_TEST

/* ---- initrd ------------------------------------------------------------------ */

/* A newc cpio archive stand-in: the magic, then compressible data. */
static uint8_t *make_cpio(size_t size)
{
	uint8_t *c = make_data(size, 7);
	memcpy(c, "070701", 6);
	return c;
}

static struct blob concat(struct blob a, const uint8_t *tail, size_t tail_len)
{
	a.buf = realloc(a.buf, a.len + tail_len);
	memcpy(a.buf + a.len, tail, tail_len);
	a.len += tail_len;
	return a;
}

START_TEST(initrd_one_gzip_cpio_is_unpacked)
{
	uint8_t *cpio = make_cpio(300000), *out, zeros[512] = {0};
	struct blob gz = compress_gzip(cpio, 300000);
	size_t out_len;

	ck_assert_int_eq(initrd_gunzip_whole(gz.buf, gz.len, 1u << 20, &out, &out_len), 0);
	ck_assert_uint_eq(out_len, 300000);
	ck_assert_mem_eq(out, cpio, out_len);
	free(out);
	/* Padding to a block boundary is fine. */
	gz = concat(gz, zeros, sizeof(zeros));
	ck_assert_int_eq(initrd_gunzip_whole(gz.buf, gz.len, 1u << 20, &out, &out_len), 0);
	ck_assert_uint_eq(out_len, 300000);
	free(out);
	free(gz.buf);
	free(cpio);
}
END_TEST

START_TEST(initrd_anything_else_is_left_to_the_guest)
{
	uint8_t *cpio = make_cpio(100000), *plain = make_data(100000, 9), *out = (uint8_t *)1;
	struct blob gz = compress_gzip(cpio, 100000), second = compress_gzip(cpio, 100000);
	struct blob not_cpio = compress_gzip(plain, 100000);
	size_t out_len = 1;

	/* Not gzip at all (an uncompressed archive): nothing to do. */
	ck_assert_int_eq(initrd_gunzip_whole(cpio, 100000, 1u << 20, &out, &out_len), -EINVAL);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(out_len, 0);
	/* gzip, but not a cpio archive. */
	ck_assert_int_eq(initrd_gunzip_whole(not_cpio.buf, not_cpio.len, 1u << 20, &out, &out_len),
			 -EINVAL);
	/* Truncated, and corrupt. */
	ck_assert_int_eq(initrd_gunzip_whole(gz.buf, gz.len / 2, 1u << 20, &out, &out_len),
			 -EINVAL);
	gz.buf[gz.len / 2] ^= 0xff;
	ck_assert_int_eq(initrd_gunzip_whole(gz.buf, gz.len, 1u << 20, &out, &out_len), -EINVAL);
	gz.buf[gz.len / 2] ^= 0xff;
	/* Bigger than allowed. */
	ck_assert_int_eq(initrd_gunzip_whole(gz.buf, gz.len, 50000, &out, &out_len), -EFBIG);
	ck_assert_ptr_null(out);
	/* Two members (the kernel would unpack both; we would lose the second). */
	gz = concat(gz, second.buf, second.len);
	ck_assert_int_eq(initrd_gunzip_whole(gz.buf, gz.len, 1u << 20, &out, &out_len), -EINVAL);
	ck_assert_ptr_null(out);
	free(gz.buf);
	free(second.buf);
	free(not_cpio.buf);
	free(plain);
	free(cpio);
}
END_TEST

Suite *decompress_suite(void)
{
	Suite *s = suite_create("decompress");
	TCase *tc = tcase_create("payload");
	TCase *boot = tcase_create("bzimage");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup_data, teardown_data);
	tcase_add_test(tc, detect_magics);
	tcase_add_loop_test(tc, round_trip, 0, NFORMATS);
	tcase_add_loop_test(tc, output_over_max_out, 0, NFORMATS);
	tcase_add_loop_test(tc, truncated_payload, 0, NFORMATS);
	tcase_add_loop_test(tc, corrupt_payload, 0, NFORMATS);
	tcase_add_loop_test(tc, size_hint_is_not_trusted, 0, NFORMATS);
	tcase_add_test(tc, lz4_multiple_blocks_and_concatenation);
	tcase_add_test(tc, unknown_and_lzo);
	tcase_add_test(tc, initrd_one_gzip_cpio_is_unpacked);
	tcase_add_test(tc, initrd_anything_else_is_left_to_the_guest);
	suite_add_tcase(s, tc);

	tcase_set_timeout(boot, 30);
	tcase_add_checked_fixture(boot, setup_data, teardown_data);
	tcase_add_checked_fixture(boot, setup_ram, teardown_ram);
	tcase_add_loop_test(boot, bzimage_host_decompresses, 0, NFORMATS);
	tcase_add_test(boot, bzimage_host_places_initrd_above_vmlinux);
	tcase_add_test(boot, bzimage_guest_mode_is_classic);
	tcase_add_test(boot, bzimage_host_errors);
	tcase_add_test(boot, bzimage_host_output_bounded_by_guest_ram);
	tcase_add_test(boot, bzimage_auto_falls_back_with_note);
	suite_add_tcase(s, boot);
	return s;
}
