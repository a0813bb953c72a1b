/* SPDX-License-Identifier: MIT */
/* Integration runner: every `Suite *NAME_suite(void)` in tests/integration/. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

#define SUITE(fn) Suite *fn(void);
#include "integration_suites.h"
#undef SUITE

int main(void)
{
	SRunner *sr = srunner_create(NULL);
	int failed;

	printf("integration tests on %s\n", kvm_kind());
	fflush(stdout);
#define SUITE(fn) srunner_add_suite(sr, fn());
#include "integration_suites.h"
#undef SUITE
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
