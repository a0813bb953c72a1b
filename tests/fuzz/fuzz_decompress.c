/* SPDX-License-Identifier: MIT */
/*
 * The kernel payload and initramfs decompressors (boot/decompress.c) on
 * hostile streams.  The first byte picks the entry point and, optionally,
 * a format magic to put in front of the rest, so the fuzzer works on the
 * decoder behind each magic instead of hunting for the magic itself; the
 * seed corpus holds small real streams of each format.
 *
 * The output cap is 1 MiB rather than the loader's 512 MiB: the bounds
 * logic is the same at any cap, and a decompression bomb then costs the
 * fuzzer milliseconds, not seconds.  Every byte of a successful output is
 * read, so a length that overstates the buffer is caught by ASan.
 */
#include <stdlib.h>

#include "boot/decompress.h"
#include "tests/fuzz/fuzz.h"

#define MAX_OUT (1u << 20)

static const struct {
	uint8_t len;
	uint8_t bytes[9];
} magics[] = {
    {0, {0}},
    {2, {0x1f, 0x8b}},
    {3, {'B', 'Z', 'h'}},
    {2, {0x5d, 0x00}},
    {6, {0xfd, '7', 'z', 'X', 'Z', 0x00}},
    {4, {0x02, 0x21, 0x4c, 0x18}},
    {4, {0x28, 0xb5, 0x2f, 0xfd}},
    {9, {0x89, 'L', 'Z', 'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a}},
};

static void check_output(const uint8_t *out, size_t len, size_t max)
{
	volatile uint8_t x = 0;

	if (len > max)
		abort();
	for (size_t i = 0; i < len; i += 4096)
		x ^= out[i];
	if (len)
		x ^= out[len - 1];
	(void)x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);
	uint8_t sel = fuzz_u8(&in);
	unsigned m = (sel >> 1) % (sizeof(magics) / sizeof(magics[0]));
	size_t max = sel & 0x80 ? fuzz_u16(&in) : MAX_OUT; /* small caps: the -EFBIG edges */
	size_t len = magics[m].len + in.n;
	uint8_t *buf = malloc(len ? len : 1), *out = NULL;
	struct vmm_err err = {{0}};
	size_t out_len = 0;
	int ret;

	if (!buf)
		abort();
	memcpy(buf, magics[m].bytes, magics[m].len);
	memcpy(buf + magics[m].len, in.p, in.n);
	if (sel & 1)
		ret = initrd_gunzip_whole(buf, len, max, &out, &out_len);
	else
		ret = payload_decompress(buf, len, max, &out, &out_len, &err);
	if (ret == 0) {
		check_output(out, out_len, max);
	} else if (out || out_len) {
		abort(); /* a failure hands back nothing */
	} else if (!(sel & 1) && !err.msg[0]) {
		abort(); /* and says why in one line */
	}
	free(out);
	free(buf);
	return 0;
}
