/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <stdlib.h>

#include "vmm/vcpu.h"

static struct kvm_cpuid2 *make_cpuid(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 4 * sizeof(c->entries[0]));
	c->nent = 4;
	c->entries[0] = (struct kvm_cpuid_entry2){.function = 0, .eax = 0xd};
	c->entries[1] = (struct kvm_cpuid_entry2){.function = 1, .ebx = 0xff00aa55, .ecx = 0x1};
	c->entries[2] = (struct kvm_cpuid_entry2){.function = 0xb, .index = 0, .edx = 77};
	c->entries[3] = (struct kvm_cpuid_entry2){.function = 0x40000000, .ebx = 0x4b4d564b};
	return c;
}

START_TEST(apic_ids_and_hypervisor_bit)
{
	struct kvm_cpuid2 *c = make_cpuid();
	cpuid_apply_vcpu(c, 3, 4);
	ck_assert_uint_eq(c->entries[1].ebx >> 24, 3);
	ck_assert_uint_eq((c->entries[1].ebx >> 16) & 0xff, 4);
	ck_assert_uint_eq(c->entries[1].ebx & 0xffff, 0xaa55);
	ck_assert(c->entries[1].ecx & (1u << 31));
	ck_assert(c->entries[1].edx & (1u << 28));
	ck_assert_uint_eq(c->entries[2].edx, 3);
	/* The KVM paravirt signature leaf is left as KVM reported it. */
	ck_assert_uint_eq(c->entries[3].ebx, 0x4b4d564b);
	free(c);
}
END_TEST

START_TEST(single_cpu_has_no_htt)
{
	struct kvm_cpuid2 *c = make_cpuid();
	cpuid_apply_vcpu(c, 0, 1);
	ck_assert_uint_eq(c->entries[1].ebx >> 24, 0);
	ck_assert(!(c->entries[1].edx & (1u << 28)));
	free(c);
}
END_TEST

Suite *cpuid_suite(void)
{
	Suite *s = suite_create("cpuid");
	TCase *tc = tcase_create("per-vcpu");
	tcase_add_test(tc, apic_ids_and_hypervisor_bit);
	tcase_add_test(tc, single_cpu_has_no_htt);
	suite_add_tcase(s, tc);
	return s;
}
