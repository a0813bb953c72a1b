/* SPDX-License-Identifier: MIT */
/*
 * virtio_rng: drives a virtio-rng device (VIRTIO 1.2 §5.4) with the polled
 * driver in lib/virtio.c: discovery through the DSDT (or the command line),
 * initialisation with no device features, then two 64-byte requests whose
 * used lengths must be 1..64 and whose bytes must be neither all zero nor
 * the same twice (checked when at least MIN_COMPARE_BYTES came back).  The command line is in
 * README.md.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/virtio.h"

const char guest_name[] = "virtio_rng";

#define REQUEST_BYTES 64
/*
 * "Not all zero" and "the two differ" are checked only on at least this many
 * bytes (a false failure is then 2^-64 likely); a rate limit (--rng
 * rate=...) may give fewer.
 */
#define MIN_COMPARE_BYTES  8
#define DEVICE_FEATURE_END 24 /* bits 0..23 are device-specific (§6); rng has none (§5.4.3) */

static struct virtio_dev rng;
static uint8_t buf1[REQUEST_BYTES] __attribute__((aligned(64)));
static uint8_t buf2[REQUEST_BYTES] __attribute__((aligned(64)));

static bool all_zero(const uint8_t *p, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* One request of REQUEST_BYTES into a zeroed buffer; returns the used length (0 on error). */
static uint32_t request(uint8_t *buf, const char *which)
{
	struct virtio_buf b = virtio_buf_of(buf, REQUEST_BYTES, true);
	uint32_t used = 0;
	int err;

	memset(buf, 0, REQUEST_BYTES);
	err = virtio_request(&rng, &b, 1, false, &used);
	if (!report(err == 0 && used > 0 && used <= REQUEST_BYTES,
		    "%s request of %u bytes: %s, used length %u (1..%u)", which, REQUEST_BYTES,
		    virtio_strerror(err), used, REQUEST_BYTES))
		return 0;
	if (used >= MIN_COMPARE_BYTES)
		report(!all_zero(buf, used), "%s buffer is not all zero", which);
	else
		report_info("%s: %u bytes are too few to call all-zero a failure", which, used);
	return used;
}

int guest_main(const struct boot_info *bi)
{
	static const struct virtio_want want = {.name = "virtio-rng", .device_id = VIRTIO_ID_RNG};
	struct virtio_dev *const queues[1] = {&rng};
	uint64_t expect_len = 0;
	uint32_t len1, len2;
	uint8_t status;

	if (virtio_setup(bi, &want, queues, 1))
		report_done();
	report(!(rng.device_features & (VIRTIO_BIT(DEVICE_FEATURE_END) - 1)),
	       "no device-specific feature bits offered");

	len1 = request(buf1, "first");
	len2 = request(buf2, "second");
	printf("virtio_rng: used lengths %u and %u\n", len1, len2);
	if (cmdline_get_u64(bi, "expect_len", &expect_len))
		report(len1 == expect_len, "first used length %u is expect_len=%lu", len1,
		       expect_len);
	if (len1 >= MIN_COMPARE_BYTES && len2 >= MIN_COMPARE_BYTES) {
		uint32_t n = len1 < len2 ? len1 : len2;

		report(memcmp(buf1, buf2, n) != 0, "the two requests returned different bytes");
	} else if (len1 && len2) {
		report_info("used lengths too short to compare the two requests");
	}
	status = virtio_status(&rng);
	report(status == VIRTIO_STATUS_RUNNING, "status 0x%x (DRIVER_OK, no DEVICE_NEEDS_RESET)",
	       status);
	report_done();
}
