/* SPDX-License-Identifier: MIT */
/*
 * Shared by the libFuzzer harnesses: a reader that decodes the fuzzer's
 * bytes into the values a harness needs.  Running out of input yields
 * zeroes, never an error, so every prefix of an input is itself a valid
 * (shorter) test case and the fuzzer's mutations stay meaningful.
 *
 * Harnesses are single-threaded and keep no state between inputs beyond
 * what is immutable (or reset at the start of each input): libFuzzer's
 * minimisation and crash reproduction rely on an input meaning the same
 * thing every time it runs.
 */
#ifndef MINIVMM_FUZZ_H
#define MINIVMM_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline struct fuzz_in fuzz_in(const uint8_t *data, size_t size)
{
	return (struct fuzz_in){data, size};
}

static inline bool fuzz_empty(const struct fuzz_in *in)
{
	return in->n == 0;
}

/* Copies up to len bytes (zero-filling the rest); returns how many came from the input. */
static inline size_t fuzz_bytes(struct fuzz_in *in, void *dst, size_t len)
{
	size_t take = len < in->n ? len : in->n;

	memcpy(dst, in->p, take);
	memset((uint8_t *)dst + take, 0, len - take);
	in->p += take;
	in->n -= take;
	return take;
}

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	uint8_t v;

	fuzz_bytes(in, &v, 1);
	return v;
}

static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t v;

	fuzz_bytes(in, &v, 2);
	return v;
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t v;

	fuzz_bytes(in, &v, 4);
	return v;
}

static inline uint64_t fuzz_u64(struct fuzz_in *in)
{
	uint64_t v;

	fuzz_bytes(in, &v, 8);
	return v;
}

static inline bool fuzz_bool(struct fuzz_in *in)
{
	return fuzz_u8(in) & 1;
}

/* A pointer to the next len input bytes (fewer at the end: *got says how many). */
static inline const uint8_t *fuzz_take(struct fuzz_in *in, size_t len, size_t *got)
{
	const uint8_t *p = in->p;

	*got = len < in->n ? len : in->n;
	in->p += *got;
	in->n -= *got;
	return p;
}

/* libFuzzer's entry point, declared here so -Wmissing-prototypes stays quiet. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
