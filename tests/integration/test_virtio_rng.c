/* SPDX-License-Identifier: MIT */
/* virtio-rng through real KVM, driven by tests/guests/virtio_rng.c. */
#include <check.h>
#include <string.h>

#include "harness.h"

START_TEST(guest_gets_entropy)
{
	struct run_result r;
	RUN(&r, NULL, "--kernel", guest_path("virtio_rng", _i));
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, "# minivmm-test: PASS");
	run_result_free(&r);
}
END_TEST

START_TEST(rate_limit_delays_but_serves)
{
	struct run_result r;
	RUN(&r, NULL, "--kernel", guest_path("virtio_rng", 1), "--rng", "on,rate=32");
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, "# minivmm-test: PASS");
	run_result_free(&r);
}
END_TEST

START_TEST(rng_off_removes_the_device)
{
	struct run_result r;
	RUN(&r, NULL, "--kernel", guest_path("virtio_rng", 1), "--rng", "off");
	ck_assert_int_ne(r.status, 0);
	run_result_free(&r);
}
END_TEST

Suite *virtio_rng_suite(void)
{
	Suite *s = suite_create("virtio-rng");
	TCase *tc = tcase_create("guest-driver");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, guest_gets_entropy, 0, 2);
	tcase_add_test(tc, rate_limit_delays_but_serves);
	tcase_add_test(tc, rng_off_removes_the_device);
	suite_add_tcase(s, tc);
	return s;
}
