/* SPDX-License-Identifier: MIT */
#include <check.h>

#include "vmm/diagnose.h"

/* What the microVM kernel printed on the PVM host when init made its first syscall. */
static const char pvm_tail[] =
    "[  125.556916] Run /init as init process\r\n"
    "[  125.811885] init[1]: segfault at ffffffff81600040 ip ffffffff81600040 sp 00007ffe7922b7f0 "
    "error 15 likely on CPU 0 (core 0, socket 0)\r\n"
    "[  125.843913] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b\r\n";

START_TEST(syscall_entry_fault_is_recognised)
{
	ck_assert(diagnose_syscall_entry_fault(pvm_tail, 0xffffffff81600040ull));
}
END_TEST

START_TEST(other_faults_are_not_blamed_on_the_host)
{
	/* Another entry point (KASLR moved it), an ordinary user segfault, no output. */
	ck_assert(!diagnose_syscall_entry_fault(pvm_tail, 0xffffffff9a600040ull));
	ck_assert(!diagnose_syscall_entry_fault(
	    "sh[42]: segfault at 0 ip 00000000004011d6 sp 00007ffc1b5c9e40 error 4\n",
	    0xffffffff81600040ull));
	ck_assert(!diagnose_syscall_entry_fault(
	    "init[1]: segfault at ffffffff81600040 ip 0000000000401000 sp 0 error 15\n",
	    0xffffffff81600040ull));
	ck_assert(!diagnose_syscall_entry_fault("", 0xffffffff81600040ull));
	ck_assert(!diagnose_syscall_entry_fault(NULL, 0xffffffff81600040ull));
	ck_assert(!diagnose_syscall_entry_fault(pvm_tail, 0));
}
END_TEST

Suite *diagnose_suite(void)
{
	Suite *s = suite_create("diagnose");
	TCase *tc = tcase_create("pvm-syscall");
	tcase_add_test(tc, syscall_entry_fault_is_recognised);
	tcase_add_test(tc, other_faults_are_not_blamed_on_the_host);
	suite_add_tcase(s, tc);
	return s;
}
