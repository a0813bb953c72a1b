/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cpu_template.h"

#define ALL    0xffffffffu
#define IDX    KVM_CPUID_FLAG_SIGNIFCANT_INDEX
#define BIT(n) (1u << (n))

static struct kvm_cpuid2 *make_cpuid(const struct kvm_cpuid_entry2 *entries, unsigned n)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
	ck_assert_ptr_nonnull(c);
	c->nent = n;
	memcpy(c->entries, entries, n * sizeof(entries[0]));
	return c;
}

static size_t cpuid_size(const struct kvm_cpuid2 *c)
{
	return sizeof(*c) + c->nent * sizeof(c->entries[0]);
}

/* Every register of every leaf the template looks at, all ones. */
static struct kvm_cpuid2 *full_cpuid(void)
{
	static const struct kvm_cpuid_entry2 e[] = {
	    {.function = 0x0, .eax = 0xd, .ebx = ALL, .ecx = ALL, .edx = ALL},
	    {.function = 0x1, .eax = ALL, .ebx = ALL, .ecx = ALL, .edx = ALL},
	    {.function = 0x7,
	     .index = 0,
	     .flags = IDX,
	     .eax = ALL,
	     .ebx = ALL,
	     .ecx = ALL,
	     .edx = ALL},
	    {.function = 0x7,
	     .index = 1,
	     .flags = IDX,
	     .eax = ALL,
	     .ebx = ALL,
	     .ecx = ALL,
	     .edx = ALL},
	    {.function = 0xb,
	     .index = 0,
	     .flags = IDX,
	     .eax = ALL,
	     .ebx = ALL,
	     .ecx = ALL,
	     .edx = ALL},
	    {.function = 0xd,
	     .index = 0,
	     .flags = IDX,
	     .eax = ALL,
	     .ebx = ALL,
	     .ecx = ALL,
	     .edx = ALL},
	    {.function = 0xd,
	     .index = 1,
	     .flags = IDX,
	     .eax = ALL,
	     .ebx = ALL,
	     .ecx = ALL,
	     .edx = ALL},
	    {.function = 0xd,
	     .index = 2,
	     .flags = IDX,
	     .eax = ALL,
	     .ebx = ALL,
	     .ecx = ALL,
	     .edx = ALL},
	    {.function = 0x40000000,
	     .eax = 0x40000001,
	     .ebx = 0x4b4d564b,
	     .ecx = 0x564b4d56,
	     .edx = 0x4d},
	    {.function = 0x40000001, .eax = ALL, .ebx = ALL, .ecx = ALL, .edx = ALL},
	    {.function = 0x80000000, .eax = 0x80000008, .ebx = ALL, .ecx = ALL, .edx = ALL},
	    /* Not indexed: a stray index must not stop the match. */
	    {.function = 0x80000001, .index = 5, .eax = ALL, .ebx = ALL, .ecx = ALL, .edx = ALL},
	    {.function = 0x80000008, .eax = ALL, .ebx = ALL, .ecx = ALL, .edx = ALL},
	};
	return make_cpuid(e, sizeof(e) / sizeof(e[0]));
}

static struct kvm_cpuid_entry2 *entry(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	ck_abort_msg("leaf 0x%x.%u missing", fn, idx);
	return NULL;
}

static bool present(const struct kvm_cpuid2 *c, uint32_t leaf, uint32_t sub, enum cpuid_reg r,
		    uint8_t bit)
{
	return cpuid_feature_present(
	    c, (struct cpuid_feature){.leaf = leaf, .subleaf = sub, .reg = r, .bit = bit});
}

START_TEST(baseline_clears_every_listed_bit)
{
	struct kvm_cpuid2 *c = full_cpuid();
	cpu_template_apply(MVM_CPU_TEMPLATE_BASELINE, c);
	for (size_t i = 0; i < cpu_template_baseline_hidden_count; i++) {
		const struct cpu_template_hidden_bit *h = &cpu_template_baseline_hidden[i];
		ck_assert_msg(!cpuid_feature_present(c, h->feature), "%s still set", h->name);
	}
	ck_assert_uint_eq(c->nent, 13);
	free(c);
}
END_TEST

/* Hand-computed from the feature list in the brief, independent of the table. */
START_TEST(baseline_exact_register_values)
{
	struct kvm_cpuid2 *c = full_cpuid();
	cpu_template_apply(MVM_CPU_TEMPLATE_BASELINE, c);
	ck_assert_uint_eq(entry(c, 1, 0)->ecx, 0x8165cdd5);
	ck_assert_uint_eq(entry(c, 1, 0)->edx, ALL);
	ck_assert_uint_eq(entry(c, 1, 0)->eax, ALL);
	ck_assert_uint_eq(entry(c, 1, 0)->ebx, ALL);
	ck_assert_uint_eq(entry(c, 7, 0)->eax, ALL); /* max subleaf: not a feature word */
	ck_assert_uint_eq(entry(c, 7, 0)->ebx, 0x00c0b0c2);
	ck_assert_uint_eq(entry(c, 7, 0)->ecx, 0xfffea005);
	ck_assert_uint_eq(entry(c, 7, 0)->edx, 0x00aebae3);
	ck_assert_uint_eq(entry(c, 7, 1)->eax, ALL & ~(BIT(4) | BIT(5)));
	ck_assert_uint_eq(entry(c, 7, 1)->ebx, ALL);
	ck_assert_uint_eq(entry(c, 0x80000001, 5)->ecx, 0xdfdef79b);
	ck_assert_uint_eq(entry(c, 0x80000001, 5)->edx, 0x37ffffff);
	ck_assert_uint_eq(entry(c, 0x80000008, 0)->ebx, 0xfcff2fff);
	ck_assert_uint_eq(entry(c, 0x80000008, 0)->eax, ALL);
	for (uint32_t sub = 0; sub < 3; sub++) {
		struct kvm_cpuid_entry2 *e = entry(c, 0xd, sub);
		ck_assert_uint_eq(e->eax | e->ebx | e->ecx | e->edx, 0);
		ck_assert_uint_eq(e->flags, IDX); /* zeroed, not removed */
	}
	/* Untouched leaves. */
	ck_assert_uint_eq(entry(c, 0, 0)->eax, 0xd);
	ck_assert_uint_eq(entry(c, 0xb, 0)->edx, ALL);
	ck_assert_uint_eq(entry(c, 0x40000000, 0)->ebx, 0x4b4d564b);
	/* KVM's PV leaf: only the vmcall-based features go (unhalt, send_ipi, sched_yield). */
	ck_assert_uint_eq(entry(c, 0x40000001, 0)->eax,
			  ALL & ~((1u << 7) | (1u << 11) | (1u << 13)));
	free(c);
}
END_TEST

START_TEST(baseline_keeps_what_x86_64_linux_needs)
{
	struct kvm_cpuid2 *c = full_cpuid();
	cpu_template_apply(MVM_CPU_TEMPLATE_BASELINE, c);
	/* Leaf 1 EDX: FPU TSC MSR PAE CX8 APIC PGE CMOV CLFLUSH FXSR SSE SSE2 */
	static const uint8_t edx1[] = {0, 4, 5, 6, 8, 9, 13, 15, 19, 24, 25, 26};
	for (size_t i = 0; i < sizeof(edx1); i++)
		ck_assert_msg(present(c, 1, 0, CPUID_EDX, edx1[i]), "1.edx bit %u", edx1[i]);
	/* Leaf 1 ECX: SSE3, x2APIC, TSC-deadline, hypervisor */
	ck_assert(present(c, 1, 0, CPUID_ECX, 0));
	ck_assert(present(c, 1, 0, CPUID_ECX, 21));
	ck_assert(present(c, 1, 0, CPUID_ECX, 24));
	ck_assert(present(c, 1, 0, CPUID_ECX, 31));
	/* MOVBE is emulated by KVM: kept. */
	ck_assert(present(c, 1, 0, CPUID_ECX, 22));
	/* Leaf 7: SMEP, CLFLUSHOPT, UMIP, RDPID */
	ck_assert(present(c, 7, 0, CPUID_EBX, 7));
	ck_assert(present(c, 7, 0, CPUID_EBX, 23));
	ck_assert(present(c, 7, 0, CPUID_ECX, 2));
	ck_assert(present(c, 7, 0, CPUID_ECX, 22));
	/* Extended: SYSCALL NX 1GB-pages LM; LAHF, PREFETCHW */
	ck_assert(present(c, 0x80000001, 0, CPUID_EDX, 11));
	ck_assert(present(c, 0x80000001, 0, CPUID_EDX, 20));
	ck_assert(present(c, 0x80000001, 0, CPUID_EDX, 26));
	ck_assert(present(c, 0x80000001, 0, CPUID_EDX, 29));
	ck_assert(present(c, 0x80000001, 0, CPUID_ECX, 0));
	ck_assert(present(c, 0x80000001, 0, CPUID_ECX, 8));
	free(c);
}
END_TEST

/* KVM_GET_SUPPORTED_CPUID as measured on the PVM development host (AMD, family 0x19). */
static struct kvm_cpuid2 *pvm_host_cpuid(void)
{
	static const struct kvm_cpuid_entry2 e[] = {
	    {0x0, 0, 0x0, 0x0000000d, 0x68747541, 0x444d4163, 0x69746e65, {0}},
	    {0x1, 0, 0x0, 0x00a00f11, 0x01020800, 0x81202000, 0x078bfbff, {0}},
	    {0x7, 0, 0x1, 0x00000000, 0x01800002, 0x00000004, 0x20000000, {0}},
	    {0xd, 0, 0x1, 0x00000007, 0x00000340, 0x00000340, 0x00000000, {0}},
	    {0xd, 1, 0x1, 0x00000000, 0x00000000, 0x00000000, 0x00000000, {0}},
	    {0xd, 2, 0x1, 0x00000100, 0x00000240, 0x00000000, 0x00000000, {0}},
	    {0x80000000, 0, 0x0, 0x80000021, 0x68747541, 0x444d4163, 0x69746e65, {0}},
	    {0x80000001, 0, 0x0, 0x00a00f11, 0x40000000, 0x00400393, 0x23d3fbff, {0}},
	    {0x80000008, 0, 0x0, 0x00003030, 0x10000005, 0x00007001, 0x00000000, {0}},
	    {0x40000000, 0, 0x0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x0000004d, {0}},
	    {0x40000001, 0, 0x0, 0x01007efb, 0x00000000, 0x00000000, 0x00000000, {0}},
	};
	return make_cpuid(e, sizeof(e) / sizeof(e[0]));
}

START_TEST(baseline_on_measured_pvm_host)
{
	struct kvm_cpuid2 *c = pvm_host_cpuid();
	char names[128];

	ck_assert_uint_eq(cpu_template_describe_hidden(c, names, sizeof(names)), 6);
	ck_assert_str_eq(names, "cx16 clwb arch_capabilities kvm_pv_unhalt kvm_pv_send_ipi "
				"kvm_pv_sched_yield");
	cpu_template_apply(MVM_CPU_TEMPLATE_BASELINE, c);
	ck_assert_uint_eq(entry(c, 1, 0)->ecx, 0x81200000); /* cx16 gone */
	ck_assert_uint_eq(entry(c, 1, 0)->edx, 0x078bfbff);
	ck_assert_uint_eq(entry(c, 7, 0)->ebx, 0x00800002); /* clwb gone, clflushopt kept */
	ck_assert_uint_eq(entry(c, 7, 0)->ecx, 0x00000004); /* umip kept */
	ck_assert_uint_eq(entry(c, 7, 0)->edx, 0);	    /* arch_capabilities gone */
	ck_assert_uint_eq(entry(c, 0xd, 0)->eax, 0);	    /* no XCR0 without XSAVE */
	ck_assert_uint_eq(entry(c, 0x40000001, 0)->eax,
			  0x0100567b); /* PV IPI, unhalt, yield gone */
	ck_assert_uint_eq(entry(c, 0xd, 2)->ebx, 0);
	ck_assert_uint_eq(entry(c, 0x80000001, 0)->ecx, 0x00400393);
	ck_assert_uint_eq(entry(c, 0x80000001, 0)->edx, 0x23d3fbff);
	ck_assert_uint_eq(entry(c, 0x80000008, 0)->ebx, 0x10000005);
	ck_assert_uint_eq(cpu_template_describe_hidden(c, names, sizeof(names)), 0);
	ck_assert_str_eq(names, "");
	free(c);
}
END_TEST

START_TEST(host_and_unresolved_auto_leave_cpuid_identical)
{
	struct kvm_cpuid2 *c = full_cpuid(), *ref = full_cpuid();
	cpu_template_apply(MVM_CPU_TEMPLATE_HOST, c);
	ck_assert_int_eq(memcmp(c, ref, cpuid_size(ref)), 0);
	cpu_template_apply(MVM_CPU_TEMPLATE_AUTO, c);
	ck_assert_int_eq(memcmp(c, ref, cpuid_size(ref)), 0);
	cpu_template_apply((enum mvm_cpu_template)42, c);
	ck_assert_int_eq(memcmp(c, ref, cpuid_size(ref)), 0);
	free(c);
	free(ref);
}
END_TEST

START_TEST(baseline_is_idempotent)
{
	struct kvm_cpuid2 *c = full_cpuid(), *twice = full_cpuid();
	cpu_template_apply(MVM_CPU_TEMPLATE_BASELINE, c);
	cpu_template_apply(MVM_CPU_TEMPLATE_BASELINE, twice);
	cpu_template_apply(MVM_CPU_TEMPLATE_BASELINE, twice);
	ck_assert_int_eq(memcmp(c, twice, cpuid_size(c)), 0);
	free(c);
	free(twice);
}
END_TEST

START_TEST(hiding_xsave_hides_everything_built_on_it)
{
	struct kvm_cpuid2 *c = full_cpuid();
	entry(c, 1, 0)->ecx &= ~BIT(26);
	cpuid_enforce_dependencies(c);
	ck_assert(!present(c, 1, 0, CPUID_ECX, 27));	      /* osxsave */
	ck_assert(!present(c, 1, 0, CPUID_ECX, 28));	      /* avx */
	ck_assert(!present(c, 1, 0, CPUID_ECX, 12));	      /* fma */
	ck_assert(!present(c, 1, 0, CPUID_ECX, 29));	      /* f16c */
	ck_assert(!present(c, 7, 0, CPUID_EBX, 5));	      /* avx2 */
	ck_assert(!present(c, 7, 0, CPUID_EBX, 16));	      /* avx512f */
	ck_assert(!present(c, 7, 0, CPUID_EBX, 31));	      /* avx512vl: two levels down */
	ck_assert(!present(c, 7, 1, CPUID_EAX, 5));	      /* avx512_bf16 */
	ck_assert(!present(c, 7, 0, CPUID_ECX, 3));	      /* pku */
	ck_assert(!present(c, 7, 0, CPUID_ECX, 4));	      /* ospke, via pku */
	ck_assert(!present(c, 0x80000001, 0, CPUID_ECX, 11)); /* xop */
	ck_assert(!present(c, 0x80000001, 0, CPUID_ECX, 16)); /* fma4 */
	ck_assert_uint_eq(entry(c, 0xd, 0)->eax, 0);
	ck_assert_uint_eq(entry(c, 0xd, 1)->eax, 0);
	/* Not dependencies of XSAVE: left alone. */
	ck_assert(present(c, 1, 0, CPUID_ECX, 20)); /* sse4_2 */
	ck_assert(present(c, 1, 0, CPUID_ECX, 23)); /* popcnt */
	ck_assert(present(c, 1, 0, CPUID_ECX, 13)); /* cx16 */
	ck_assert(present(c, 7, 0, CPUID_EBX, 20)); /* smap */
	free(c);
}
END_TEST

START_TEST(hiding_avx512f_keeps_avx2)
{
	struct kvm_cpuid2 *c = full_cpuid();
	entry(c, 7, 0)->ebx &= ~BIT(16);
	cpuid_enforce_dependencies(c);
	ck_assert(!present(c, 7, 0, CPUID_EBX, 30));   /* avx512bw */
	ck_assert(!present(c, 7, 0, CPUID_ECX, 14));   /* avx512_vpopcntdq */
	ck_assert(!present(c, 7, 0, CPUID_EDX, 8));    /* avx512_vp2intersect */
	ck_assert(present(c, 7, 0, CPUID_EBX, 5));     /* avx2 */
	ck_assert(present(c, 1, 0, CPUID_ECX, 28));    /* avx */
	ck_assert_uint_eq(entry(c, 0xd, 0)->eax, ALL); /* XSAVE still there */
	free(c);
}
END_TEST

START_TEST(dependencies_leave_a_consistent_cpuid_alone)
{
	struct kvm_cpuid2 *c = full_cpuid(), *ref = full_cpuid();
	cpuid_enforce_dependencies(c);
	ck_assert_int_eq(memcmp(c, ref, cpuid_size(ref)), 0);
	free(c);
	free(ref);
}
END_TEST

START_TEST(missing_leaves_and_empty_cpuid)
{
	static const struct kvm_cpuid_entry2 only_leaf1[] = {
	    {.function = 0x1, .eax = ALL, .ebx = ALL, .ecx = ALL, .edx = ALL},
	};
	struct kvm_cpuid2 *c = make_cpuid(only_leaf1, 1);
	cpu_template_apply(MVM_CPU_TEMPLATE_BASELINE, c);
	ck_assert_uint_eq(c->nent, 1);
	ck_assert_uint_eq(c->entries[0].ecx, 0x8165cdd5);
	ck_assert(!present(c, 7, 0, CPUID_EBX, 7)); /* absent leaf reads as clear */
	free(c);

	c = make_cpuid(only_leaf1, 0);
	cpu_template_apply(MVM_CPU_TEMPLATE_BASELINE, c);
	ck_assert_uint_eq(c->nent, 0);
	char buf[4] = "xyz";
	ck_assert_uint_eq(cpu_template_describe_hidden(c, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	free(c);
}
END_TEST

START_TEST(indexed_leaf_matches_only_its_subleaf)
{
	/* Leaf 7 subleaf 2 (KVM indexes leaf 7) must not be mistaken for subleaf 0 or 1. */
	static const struct kvm_cpuid_entry2 e[] = {
	    {.function = 0x7,
	     .index = 2,
	     .flags = IDX,
	     .eax = ALL,
	     .ebx = ALL,
	     .ecx = ALL,
	     .edx = ALL},
	};
	struct kvm_cpuid2 *c = make_cpuid(e, 1);
	cpu_template_apply(MVM_CPU_TEMPLATE_BASELINE, c);
	ck_assert_uint_eq(c->entries[0].eax, ALL);
	ck_assert_uint_eq(c->entries[0].ebx, ALL);
	ck_assert_uint_eq(c->entries[0].edx, ALL);
	free(c);
}
END_TEST

START_TEST(describe_truncates_safely)
{
	struct kvm_cpuid2 *c = full_cpuid();
	char small[12], tiny[3] = "ab";
	size_t total = cpu_template_describe_hidden(c, NULL, 0);
	ck_assert_uint_eq(total, cpu_template_baseline_hidden_count);
	ck_assert_uint_eq(cpu_template_describe_hidden(c, small, sizeof(small)), total);
	ck_assert_uint_lt(strlen(small), sizeof(small));
	ck_assert_str_eq(small, "pclmulqd...");
	ck_assert_uint_eq(cpu_template_describe_hidden(c, tiny, sizeof(tiny)), total);
	ck_assert_str_eq(tiny, "");
	free(c);
}
END_TEST

START_TEST(table_rows_are_well_formed)
{
	for (size_t i = 0; i < cpu_template_baseline_hidden_count; i++) {
		const struct cpu_template_hidden_bit *a = &cpu_template_baseline_hidden[i];
		ck_assert_uint_lt(a->feature.bit, 32);
		ck_assert_uint_le(a->feature.reg, CPUID_EDX);
		ck_assert(a->name && a->name[0]);
		ck_assert(a->reason && strlen(a->reason) > 10);
		for (size_t j = i + 1; j < cpu_template_baseline_hidden_count; j++) {
			const struct cpu_template_hidden_bit *b = &cpu_template_baseline_hidden[j];
			ck_assert_msg(strcmp(a->name, b->name) != 0, "duplicate %s", a->name);
			ck_assert_msg(!(a->feature.leaf == b->feature.leaf &&
					a->feature.subleaf == b->feature.subleaf &&
					a->feature.reg == b->feature.reg &&
					a->feature.bit == b->feature.bit),
				      "%s and %s are the same bit", a->name, b->name);
		}
	}
}
END_TEST

START_TEST(resolve_decisions)
{
	ck_assert_int_eq(cpu_template_resolve(MVM_CPU_TEMPLATE_AUTO, true),
			 MVM_CPU_TEMPLATE_BASELINE);
	ck_assert_int_eq(cpu_template_resolve(MVM_CPU_TEMPLATE_AUTO, false), MVM_CPU_TEMPLATE_HOST);
	ck_assert_int_eq(cpu_template_resolve(MVM_CPU_TEMPLATE_HOST, true), MVM_CPU_TEMPLATE_HOST);
	ck_assert_int_eq(cpu_template_resolve(MVM_CPU_TEMPLATE_BASELINE, false),
			 MVM_CPU_TEMPLATE_BASELINE);
	ck_assert_int_eq(cpu_template_resolve(MVM_CPU_TEMPLATE_BASELINE, true),
			 MVM_CPU_TEMPLATE_BASELINE);
}
END_TEST

START_TEST(parse_and_name_round_trip)
{
	static const enum mvm_cpu_template all[] = {MVM_CPU_TEMPLATE_AUTO, MVM_CPU_TEMPLATE_HOST,
						    MVM_CPU_TEMPLATE_BASELINE};
	for (size_t i = 0; i < 3; i++) {
		enum mvm_cpu_template t = (enum mvm_cpu_template)99;
		ck_assert_int_eq(cpu_template_parse(cpu_template_name(all[i]), &t), 0);
		ck_assert_int_eq(t, all[i]);
	}
	ck_assert_str_eq(cpu_template_name(MVM_CPU_TEMPLATE_BASELINE), "baseline");
	ck_assert_str_eq(cpu_template_name(MVM_CPU_TEMPLATE_HOST), "host");
	ck_assert_str_eq(cpu_template_name(MVM_CPU_TEMPLATE_AUTO), "auto");
	ck_assert_str_eq(cpu_template_name((enum mvm_cpu_template)3), "unknown");
	ck_assert_str_eq(cpu_template_name((enum mvm_cpu_template) - 1), "unknown");
}
END_TEST

START_TEST(parse_rejects_everything_else)
{
	static const char *const bad[] = {"",	   "Host", "HOST",	 "host ",   " host", "hos",
					  "hostx", "base", "baseline\n", "unknown", "t2"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum mvm_cpu_template t = MVM_CPU_TEMPLATE_HOST;
		ck_assert_int_eq(cpu_template_parse(bad[i], &t), -EINVAL);
		ck_assert_int_eq(t, MVM_CPU_TEMPLATE_HOST); /* untouched */
	}
	enum mvm_cpu_template t = MVM_CPU_TEMPLATE_HOST;
	ck_assert_int_eq(cpu_template_parse(NULL, &t), -EINVAL);
	ck_assert_int_eq(t, MVM_CPU_TEMPLATE_HOST);
}
END_TEST

/* The Linux parameters name only bits the baseline table hides, under Linux's names. */
START_TEST(linux_params_come_from_the_table)
{
	char buf[512];
	int n = cpu_template_linux_params(MVM_CPU_TEMPLATE_BASELINE, buf, sizeof(buf));

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq((int)strlen(buf), n);
	ck_assert_str_eq(buf, "noxsave clearcpuid=cx16,popcnt,smap,fsgsbase,rdrand,rdseed,pcid,"
			      "invpcid,rdtscp,erms,fsrm,ssse3,sse4_1,sse4_2,pclmulqdq,aes");
	for (size_t i = 0; i < cpu_template_linux_clear_count; i++) {
		bool found = false;
		for (size_t j = 0; j < cpu_template_baseline_hidden_count; j++)
			found |= strcmp(cpu_template_baseline_hidden[j].name,
					cpu_template_linux_clear[i]) == 0;
		ck_assert_msg(found, "%s is not a baseline row", cpu_template_linux_clear[i]);
	}
}
END_TEST

START_TEST(linux_params_empty_for_host_and_safe_when_short)
{
	char buf[512];

	memset(buf, 'x', sizeof(buf));
	ck_assert_int_eq(cpu_template_linux_params(MVM_CPU_TEMPLATE_HOST, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(cpu_template_linux_params(MVM_CPU_TEMPLATE_AUTO, buf, sizeof(buf)), 0);
	ck_assert_int_eq(cpu_template_linux_params(MVM_CPU_TEMPLATE_BASELINE, buf, 0), -ENOSPC);
	/* Too short in the prefix and too short in the list: "" either way, never a half list. */
	ck_assert_int_eq(cpu_template_linux_params(MVM_CPU_TEMPLATE_BASELINE, buf, 8), -ENOSPC);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(cpu_template_linux_params(MVM_CPU_TEMPLATE_BASELINE, buf, 40), -ENOSPC);
	ck_assert_str_eq(buf, "");
}
END_TEST

Suite *cpu_template_suite(void)
{
	Suite *s = suite_create("cpu_template");
	TCase *tc = tcase_create("baseline");
	tcase_add_test(tc, baseline_clears_every_listed_bit);
	tcase_add_test(tc, baseline_exact_register_values);
	tcase_add_test(tc, baseline_keeps_what_x86_64_linux_needs);
	tcase_add_test(tc, baseline_on_measured_pvm_host);
	tcase_add_test(tc, host_and_unresolved_auto_leave_cpuid_identical);
	tcase_add_test(tc, baseline_is_idempotent);
	tcase_add_test(tc, hiding_xsave_hides_everything_built_on_it);
	tcase_add_test(tc, hiding_avx512f_keeps_avx2);
	tcase_add_test(tc, dependencies_leave_a_consistent_cpuid_alone);
	tcase_add_test(tc, missing_leaves_and_empty_cpuid);
	tcase_add_test(tc, indexed_leaf_matches_only_its_subleaf);
	tcase_add_test(tc, describe_truncates_safely);
	tcase_add_test(tc, table_rows_are_well_formed);
	suite_add_tcase(s, tc);
	tc = tcase_create("names");
	tcase_add_test(tc, resolve_decisions);
	tcase_add_test(tc, parse_and_name_round_trip);
	tcase_add_test(tc, parse_rejects_everything_else);
	tcase_add_test(tc, linux_params_come_from_the_table);
	tcase_add_test(tc, linux_params_empty_for_host_and_safe_when_short);
	suite_add_tcase(s, tc);
	return s;
}
