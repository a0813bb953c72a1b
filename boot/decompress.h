/* SPDX-License-Identifier: MIT */
/*
 * Host-side decompression of a bzImage's compressed vmlinux (the "payload",
 * boot protocol 2.08+: payload_offset/payload_length).  Under an emulated
 * CPL0 the kernel's own decompressor needs minutes; zlib, libbz2, liblzma,
 * liblz4 and libzstd do the same work on the host in milliseconds.
 *
 * The payload is what arch/x86/boot/compressed/Makefile produces: one
 * compressed stream of vmlinux.bin (plus vmlinux.relocs with
 * CONFIG_X86_NEED_RELOCS), usually followed by the 4-byte little-endian
 * uncompressed size (size_append; gzip's own ISIZE trailer plays that role).
 * The size only pre-sizes the output buffer: it is never trusted beyond
 * max_out.  Input is hostile: every decoder runs with bounded output.
 *
 * Link with -lz -lbz2 -llzma -llz4 -lzstd.
 */
#ifndef MINIVMM_DECOMPRESS_H
#define MINIVMM_DECOMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/log.h"

enum payload_format {
	PAYLOAD_UNKNOWN,
	PAYLOAD_GZIP,
	PAYLOAD_BZIP2,
	PAYLOAD_LZMA,
	PAYLOAD_XZ,
	PAYLOAD_LZO,
	PAYLOAD_LZ4,
	PAYLOAD_ZSTD,
};

/*
 * A sane cap for a decompressed kernel: the largest distribution kernels
 * decompress to well under 100 MiB, so this only stops a decompression bomb.
 */
#define PAYLOAD_MAX_OUTPUT (512ull << 20)

/* By magic, as lib/decompress.c's compressed_formats[] does.  len < magic: UNKNOWN. */
enum payload_format payload_detect(const uint8_t *data, size_t len);

/* "gzip", "bzip2", "lzma", "xz", "lzo", "lz4", "zstd", "unknown". */
const char *payload_format_name(enum payload_format f);

/* True if payload_decompress() can decode f (everything but LZO and UNKNOWN). */
bool payload_format_supported(enum payload_format f);

/*
 * Decompresses the first stream in data (format by payload_detect()) into a
 * malloc'd buffer (*out, *out_len; the caller frees *out) of at most max_out
 * bytes.  Bytes after the end of the stream (the appended size) are ignored.
 * Returns 0, or with err filled and *out = NULL:
 *   -EINVAL  unknown magic, corrupt or truncated stream;
 *   -EFBIG   the output would exceed max_out;
 *   -ENOTSUP a format that is not built in (LZO);
 *   -ENOMEM  the host is out of memory.
 */
int payload_decompress(const uint8_t *data, size_t len, size_t max_out, uint8_t **out,
		       size_t *out_len, struct vmm_err *err);

/*
 * An initrd that is exactly one gzip member holding a newc cpio archive
 * (trailing zero padding allowed), decompressed into a malloc'd buffer of at
 * most max_out bytes: the guest kernel then copies the archive instead of
 * running its inflate, which on an emulated CPL0 takes tens of seconds.
 * Returns 0, or -EINVAL for anything else (not gzip, corrupt or truncated,
 * several members or other data after the first, not a cpio archive),
 * -EFBIG or -ENOMEM: the caller then hands the guest the original.
 */
int initrd_gunzip_whole(const uint8_t *data, size_t len, size_t max_out, uint8_t **out,
			size_t *out_len);

#endif
