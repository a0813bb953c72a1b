/* SPDX-License-Identifier: MIT */
/*
 * CPU templates (see cpu_template.h).
 *
 * How the baseline list was chosen.  On a PVM host every guest CPL0
 * instruction goes through KVM's instruction emulator (arch/x86/kvm/emulate.c),
 * which implements the integer/system instructions a kernel needs but almost
 * no SIMD, no XSAVE, and several newer system instructions.  Guest user mode
 * runs natively.  A bit is hidden when one of these holds:
 *  (a) Linux executes the instruction at CPL0 once it sees the bit (via
 *      alternatives or crypto/checksum drivers) and the emulator lacks it;
 *  (b) the feature lives in XSAVE-managed state, which is hidden;
 *  (c) it only makes the kernel issue trapped MSR writes (speculation
 *      controls) or touch MSRs this KVM refuses (ARCH_CAPABILITIES);
 *  (d) it makes emulated kernel code slower (ERMS: rep movsb is one byte per
 *      emulation step, rep movsq eight);
 *  (e) it is a KVM paravirtual feature used through vmcall, which the PVM
 *      host re-executes forever from emulated code (PV IPIs hung SMP boot).
 * Kept on purpose: SSE/SSE2/SSE3 (x86-64 user space; Linux's kernel code
 * does not use SSE3), MOVBE, CLFLUSHOPT, RDPID and PREFETCHW (the emulator
 * implements them), x2APIC, TSC-deadline, UMIP, SMEP, 1 GiB pages, the
 * hypervisor bit and KVM's paravirtual leaves but for (e).
 * The price: x86-64-v2 and later user space (which needs POPCNT, CX16,
 * SSE4.2) will not run under baseline; Debian's x86-64 (v1) does.
 */
#include "vmm/cpu_template.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define LEAF_XSAVE_STATE 0xdu

#define FEAT(l, s, r, b)                                                                           \
	{                                                                                          \
		.leaf = (l), .subleaf = (s), .reg = CPUID_##r, .bit = (b)                          \
	}
#define HIDE(l, s, r, b, n, why)                                                                   \
	{                                                                                          \
		FEAT(l, s, r, b), n, why                                                           \
	}

#define WHY_NO_EMUL_SIMD "kernel crypto/checksum code runs it at CPL0; KVM's emulator lacks it"
#define WHY_AVX		 "AVX family: its register state is XSAVE-managed and XSAVE is hidden"
#define WHY_AVX512	 "AVX-512 family: its register state is XSAVE-managed and XSAVE is hidden"
#define WHY_XSAVE_LEAF	 "XSAVE variants: XSAVE is hidden"
#define WHY_SPEC                                                                                   \
	"speculation control: Linux writes SPEC_CTRL/PRED_CMD at CPL0 on entry and context "       \
	"switch, each a trapped MSR write; boot with mitigations=off"
#define WHY_AMX "AMX: tile state is XSAVE-managed and XSAVE is hidden"
#define WHY_VMCALL                                                                                 \
	"a hypercall from emulated kernel code: the PVM host re-executes the vmcall forever "      \
	"without advancing RIP"

const struct cpu_template_hidden_bit cpu_template_baseline_hidden[] = {
    /* Leaf 1 ECX */
    HIDE(0x1, 0, ECX, 1, "pclmulqdq", WHY_NO_EMUL_SIMD " (ghash-clmulni, crc32c/crct10dif)"),
    HIDE(0x1, 0, ECX, 3, "monitor",
	 "the idle loop would mwait at CPL0; hlt exits to the host and sleeps there"),
    HIDE(0x1, 0, ECX, 5, "vmx", "no nested virtualization: kvm_intel would vmxon at CPL0"),
    HIDE(0x1, 0, ECX, 9, "ssse3", WHY_NO_EMUL_SIMD " (sha*-ssse3, chacha, raid6 recovery)"),
    HIDE(0x1, 0, ECX, 12, "fma", WHY_AVX),
    HIDE(0x1, 0, ECX, 13, "cx16",
	 "SLUB uses lock cmpxchg16b at CPL0; KVM's emulator rejects the 16-byte form "
	 "(seen on PVM)"),
    HIDE(0x1, 0, ECX, 17, "pcid",
	 "PCID gains an emulated kernel nothing and adds CR3 no-flush paths to the emulator"),
    HIDE(0x1, 0, ECX, 19, "sse4_1", WHY_NO_EMUL_SIMD),
    HIDE(0x1, 0, ECX, 20, "sse4_2", WHY_NO_EMUL_SIMD " (crc32c-intel's crc32 instruction)"),
    HIDE(0x1, 0, ECX, 23, "popcnt",
	 "hweight*() alternatives patch popcnt into CPL0 code; KVM's emulator lacks it "
	 "(seen on PVM)"),
    HIDE(0x1, 0, ECX, 25, "aes", WHY_NO_EMUL_SIMD " (aesni-intel)"),
    HIDE(0x1, 0, ECX, 26, "xsave",
	 "xsave/xrstor in every context switch at CPL0; KVM's emulator lacks them (seen on PVM)"),
    HIDE(0x1, 0, ECX, 27, "osxsave", "mirrors CR4.OSXSAVE: meaningless without XSAVE"),
    HIDE(0x1, 0, ECX, 28, "avx", WHY_AVX),
    HIDE(0x1, 0, ECX, 29, "f16c", WHY_AVX),
    HIDE(0x1, 0, ECX, 30, "rdrand", "random.c runs rdrand at CPL0; KVM's emulator lacks it"),

    /* Leaf 7 subleaf 0 EBX */
    HIDE(0x7, 0, EBX, 0, "fsgsbase",
	 "Linux 5.9+ runs rd/wrgsbase in entry and context switch at CPL0; KVM's emulator "
	 "lacks them"),
    HIDE(0x7, 0, EBX, 2, "sgx", "enclaves need ENCLS at CPL0 and EPC memory; not offered"),
    HIDE(0x7, 0, EBX, 3, "bmi1", "x86-64-v3 group with BMI2/AVX2; KVM's emulator lacks it"),
    HIDE(0x7, 0, EBX, 4, "hle", "TSX: transactional code paths and TSX_CTRL MSR writes"),
    HIDE(0x7, 0, EBX, 5, "avx2", WHY_AVX),
    HIDE(0x7, 0, EBX, 8, "bmi2",
	 "kernel crypto (curve25519) runs mulx at CPL0; KVM's emulator lacks it"),
    HIDE(0x7, 0, EBX, 9, "erms",
	 "with ERMS Linux's memcpy/copy_user use rep movsb, which KVM's emulator moves one "
	 "byte per step; without it, rep movsq (eight bytes per step)"),
    HIDE(0x7, 0, EBX, 10, "invpcid", "invpcid at CPL0; KVM's emulator lacks it; PCID is hidden"),
    HIDE(0x7, 0, EBX, 11, "rtm", "TSX: xbegin/xend at CPL0 and TSX_CTRL MSR writes"),
    HIDE(0x7, 0, EBX, 14, "mpx", "bound registers are XSAVE-managed; removed from Linux"),
    HIDE(0x7, 0, EBX, 16, "avx512f", WHY_AVX512),
    HIDE(0x7, 0, EBX, 17, "avx512dq", WHY_AVX512),
    HIDE(0x7, 0, EBX, 18, "rdseed", "random.c runs rdseed at CPL0; KVM's emulator lacks it"),
    HIDE(0x7, 0, EBX, 19, "adx",
	 "kernel crypto (curve25519) runs adox/adcx at CPL0; KVM's emulator lacks them"),
    HIDE(0x7, 0, EBX, 20, "smap",
	 "clac/stac around every user access at CPL0; KVM's emulator lacks them (seen on PVM)"),
    HIDE(0x7, 0, EBX, 21, "avx512ifma", WHY_AVX512),
    HIDE(0x7, 0, EBX, 24, "clwb", "pmem write-back at CPL0; KVM's emulator lacks clwb"),
    HIDE(0x7, 0, EBX, 25, "intel_pt", "processor trace: trace MSRs and XSAVES-managed state"),
    HIDE(0x7, 0, EBX, 26, "avx512pf", WHY_AVX512),
    HIDE(0x7, 0, EBX, 27, "avx512er", WHY_AVX512),
    HIDE(0x7, 0, EBX, 28, "avx512cd", WHY_AVX512),
    HIDE(0x7, 0, EBX, 29, "sha_ni", WHY_NO_EMUL_SIMD " (sha1/sha256-ni)"),
    HIDE(0x7, 0, EBX, 30, "avx512bw", WHY_AVX512),
    HIDE(0x7, 0, EBX, 31, "avx512vl", WHY_AVX512),

    /* Leaf 7 subleaf 0 ECX */
    HIDE(0x7, 0, ECX, 1, "avx512vbmi", WHY_AVX512),
    HIDE(0x7, 0, ECX, 3, "pku", "PKRU is XSAVE-managed and wrpkru runs at CPL0"),
    HIDE(0x7, 0, ECX, 4, "ospke", "mirrors CR4.PKE: meaningless without PKU"),
    HIDE(0x7, 0, ECX, 5, "waitpkg", "udelay() runs tpause at CPL0; KVM's emulator lacks it"),
    HIDE(0x7, 0, ECX, 6, "avx512_vbmi2", WHY_AVX512),
    HIDE(0x7, 0, ECX, 7, "shstk", "CET shadow stacks: XSAVES-managed state"),
    HIDE(0x7, 0, ECX, 8, "gfni", WHY_NO_EMUL_SIMD),
    HIDE(0x7, 0, ECX, 9, "vaes", WHY_AVX),
    HIDE(0x7, 0, ECX, 10, "vpclmulqdq", WHY_AVX),
    HIDE(0x7, 0, ECX, 11, "avx512_vnni", WHY_AVX512),
    HIDE(0x7, 0, ECX, 12, "avx512_bitalg", WHY_AVX512),
    HIDE(0x7, 0, ECX, 14, "avx512_vpopcntdq", WHY_AVX512),
    HIDE(0x7, 0, ECX, 16, "la57",
	 "5-level paging: one more emulated page-table level per walk for memory a microVM "
	 "never has"),

    /* Leaf 7 subleaf 0 EDX */
    HIDE(0x7, 0, EDX, 2, "avx512_4vnniw", WHY_AVX512),
    HIDE(0x7, 0, EDX, 3, "avx512_4fmaps", WHY_AVX512),
    HIDE(0x7, 0, EDX, 4, "fsrm", "fast short rep movsb: see erms"),
    HIDE(0x7, 0, EDX, 8, "avx512_vp2intersect", WHY_AVX512),
    HIDE(0x7, 0, EDX, 10, "md_clear",
	 "Linux runs verw on every return to user at CPL0; KVM's emulator lacks verw"),
    HIDE(0x7, 0, EDX, 14, "serialize",
	 "sync_core() runs serialize at CPL0; KVM's emulator lacks it"),
    HIDE(0x7, 0, EDX, 16, "tsxldtrk", "TSX: see rtm"),
    HIDE(0x7, 0, EDX, 20, "ibt", "CET indirect branch tracking: endbr/MSR state at CPL0"),
    HIDE(0x7, 0, EDX, 22, "amx_bf16", WHY_AMX),
    HIDE(0x7, 0, EDX, 24, "amx_tile", WHY_AMX),
    HIDE(0x7, 0, EDX, 25, "amx_int8", WHY_AMX),
    HIDE(0x7, 0, EDX, 26, "spec_ctrl", WHY_SPEC),
    HIDE(0x7, 0, EDX, 27, "intel_stibp", WHY_SPEC),
    HIDE(0x7, 0, EDX, 28, "flush_l1d", "L1D flush MSR writes at CPL0 on every VM-ish entry"),
    HIDE(0x7, 0, EDX, 29, "arch_capabilities",
	 "MSR 0x10a: the PVM KVM refuses the values VMMs set (QEMU -cpu host aborts)"),
    HIDE(0x7, 0, EDX, 30, "core_capabilities", "MSR 0xcf: split-lock detection MSR writes"),
    HIDE(0x7, 0, EDX, 31, "spec_ctrl_ssbd", WHY_SPEC),

    /* Leaf 7 subleaf 1 EAX */
    HIDE(0x7, 1, EAX, 4, "avx_vnni", WHY_AVX),
    HIDE(0x7, 1, EAX, 5, "avx512_bf16", WHY_AVX512),

    /* Leaf 0xd subleaf 1 EAX (the whole leaf 0xd is zeroed too: see dependencies) */
    HIDE(0xd, 1, EAX, 0, "xsaveopt", WHY_XSAVE_LEAF),
    HIDE(0xd, 1, EAX, 1, "xsavec", WHY_XSAVE_LEAF),
    HIDE(0xd, 1, EAX, 2, "xgetbv1", WHY_XSAVE_LEAF),
    HIDE(0xd, 1, EAX, 3, "xsaves", WHY_XSAVE_LEAF),

    /* Leaf 0x80000001 ECX */
    HIDE(0x80000001, 0, ECX, 2, "svm", "no nested virtualization: kvm_amd would vmrun at CPL0"),
    HIDE(0x80000001, 0, ECX, 5, "abm",
	 "on AMD this bit also advertises popcnt (hidden); lzcnt is user-space only"),
    HIDE(0x80000001, 0, ECX, 6, "sse4a", WHY_NO_EMUL_SIMD),
    HIDE(0x80000001, 0, ECX, 11, "xop", WHY_AVX),
    HIDE(0x80000001, 0, ECX, 16, "fma4", WHY_AVX),
    HIDE(0x80000001, 0, ECX, 21, "tbm", "AMD bit manipulation beside xop; emulator lacks it"),
    HIDE(0x80000001, 0, ECX, 29, "mwaitx",
	 "AMD's udelay() runs monitorx/mwaitx at CPL0; KVM's emulator lacks them"),

    /* Leaf 0x80000001 EDX */
    HIDE(0x80000001, 0, EDX, 27, "rdtscp",
	 "Linux 6.1's rdtsc_ordered() patches in rdtscp at CPL0; KVM's emulator decodes "
	 "rdtscp only for nested intercepts and cannot execute it"),
    HIDE(0x80000001, 0, EDX, 30, "3dnowext", "obsolete AMD SIMD; emulator lacks it"),
    HIDE(0x80000001, 0, EDX, 31, "3dnow", "obsolete AMD SIMD; emulator lacks it"),

    /* Leaf 0x80000008 EBX: AMD's spelling of the speculation controls */
    HIDE(0x80000008, 0, EBX, 12, "ibpb", WHY_SPEC),
    HIDE(0x80000008, 0, EBX, 14, "ibrs", WHY_SPEC),
    HIDE(0x80000008, 0, EBX, 15, "stibp", WHY_SPEC),
    HIDE(0x80000008, 0, EBX, 24, "ssbd", WHY_SPEC),
    HIDE(0x80000008, 0, EBX, 25, "virt_ssbd", WHY_SPEC),
    /* KVM's paravirtual leaf (linux/kvm_para.h KVM_FEATURE_*): the ones whose use is a vmcall */
    HIDE(0x40000001, 0, EAX, 7, "kvm_pv_unhalt", WHY_VMCALL " (KVM_HC_KICK_CPU, pv spinlocks)"),
    HIDE(0x40000001, 0, EAX, 11, "kvm_pv_send_ipi",
	 WHY_VMCALL " (KVM_HC_SEND_IPI: SMP bring-up hung in __send_ipi_mask, seen on PVM)"),
    HIDE(0x40000001, 0, EAX, 13, "kvm_pv_sched_yield", WHY_VMCALL " (KVM_HC_SCHED_YIELD)"),
};

const size_t cpu_template_baseline_hidden_count =
    sizeof(cpu_template_baseline_hidden) / sizeof(cpu_template_baseline_hidden[0]);

/*
 * Prerequisites: `child` cannot be offered without `parent`.  Ordered so that
 * one pass reaches the fixpoint: a row's parent is never a child of a later row.
 */
static const struct {
	struct cpuid_feature parent, child;
} cpuid_dependencies[] = {
#define XSAVE_F	  FEAT(0x1, 0, ECX, 26)
#define AVX_F	  FEAT(0x1, 0, ECX, 28)
#define AVX512F_F FEAT(0x7, 0, EBX, 16)
    {XSAVE_F, FEAT(0x1, 0, ECX, 27)},		  /* osxsave */
    {XSAVE_F, AVX_F},				  /* avx */
    {XSAVE_F, FEAT(0x7, 0, EBX, 14)},		  /* mpx */
    {XSAVE_F, FEAT(0x7, 0, ECX, 3)},		  /* pku */
    {XSAVE_F, FEAT(0x7, 0, ECX, 7)},		  /* shstk */
    {XSAVE_F, FEAT(0x7, 0, EDX, 20)},		  /* ibt */
    {XSAVE_F, FEAT(0x7, 0, EDX, 22)},		  /* amx_bf16 */
    {XSAVE_F, FEAT(0x7, 0, EDX, 24)},		  /* amx_tile */
    {XSAVE_F, FEAT(0x7, 0, EDX, 25)},		  /* amx_int8 */
    {XSAVE_F, FEAT(0xd, 1, EAX, 0)},		  /* xsaveopt */
    {XSAVE_F, FEAT(0xd, 1, EAX, 1)},		  /* xsavec */
    {XSAVE_F, FEAT(0xd, 1, EAX, 2)},		  /* xgetbv1 */
    {XSAVE_F, FEAT(0xd, 1, EAX, 3)},		  /* xsaves */
    {FEAT(0x7, 0, ECX, 3), FEAT(0x7, 0, ECX, 4)}, /* pku -> ospke */
    {AVX_F, FEAT(0x1, 0, ECX, 12)},		  /* fma */
    {AVX_F, FEAT(0x1, 0, ECX, 29)},		  /* f16c */
    {AVX_F, FEAT(0x7, 0, EBX, 5)},		  /* avx2 */
    {AVX_F, FEAT(0x7, 0, ECX, 9)},		  /* vaes */
    {AVX_F, FEAT(0x7, 0, ECX, 10)},		  /* vpclmulqdq */
    {AVX_F, FEAT(0x7, 1, EAX, 4)},		  /* avx_vnni */
    {AVX_F, FEAT(0x80000001, 0, ECX, 11)},	  /* xop */
    {AVX_F, FEAT(0x80000001, 0, ECX, 16)},	  /* fma4 */
    {AVX_F, AVX512F_F},				  /* avx512f */
    {AVX512F_F, FEAT(0x7, 0, EBX, 17)},		  /* avx512dq */
    {AVX512F_F, FEAT(0x7, 0, EBX, 21)},		  /* avx512ifma */
    {AVX512F_F, FEAT(0x7, 0, EBX, 26)},		  /* avx512pf */
    {AVX512F_F, FEAT(0x7, 0, EBX, 27)},		  /* avx512er */
    {AVX512F_F, FEAT(0x7, 0, EBX, 28)},		  /* avx512cd */
    {AVX512F_F, FEAT(0x7, 0, EBX, 30)},		  /* avx512bw */
    {AVX512F_F, FEAT(0x7, 0, EBX, 31)},		  /* avx512vl */
    {AVX512F_F, FEAT(0x7, 0, ECX, 1)},		  /* avx512vbmi */
    {AVX512F_F, FEAT(0x7, 0, ECX, 6)},		  /* avx512_vbmi2 */
    {AVX512F_F, FEAT(0x7, 0, ECX, 11)},		  /* avx512_vnni */
    {AVX512F_F, FEAT(0x7, 0, ECX, 12)},		  /* avx512_bitalg */
    {AVX512F_F, FEAT(0x7, 0, ECX, 14)},		  /* avx512_vpopcntdq */
    {AVX512F_F, FEAT(0x7, 0, EDX, 2)},		  /* avx512_4vnniw */
    {AVX512F_F, FEAT(0x7, 0, EDX, 3)},		  /* avx512_4fmaps */
    {AVX512F_F, FEAT(0x7, 0, EDX, 8)},		  /* avx512_vp2intersect */
    {AVX512F_F, FEAT(0x7, 1, EAX, 5)},		  /* avx512_bf16 */
#undef XSAVE_F
#undef AVX_F
#undef AVX512F_F
};

/*
 * The baseline bits a Linux guest must be told about on a PVM host, found by
 * booting Debian's 6.1 kernels there: each is used at CPL0 through
 * alternatives or early setup once CPUID shows it.  XSAVE and everything
 * that needs it go with `noxsave`.  Every name is also a row of
 * cpu_template_baseline_hidden[] (a unit test holds us to that).
 */
const char *const cpu_template_linux_clear[] = {
    "cx16",
    "popcnt",
    "smap",
    "fsgsbase",
    "rdrand",
    "rdseed",
    "pcid",
    "invpcid",
    "rdtscp",
    "erms",
    "fsrm",
    /*
     * SIMD that built-in kernel code picks by CPUID (Debian's blake2s-x86,
     * for the RNG, stopped a boot at a movd on its SSSE3 path).
     */
    "ssse3",
    "sse4_1",
    "sse4_2",
    "pclmulqdq",
    "aes",
};
const size_t cpu_template_linux_clear_count =
    sizeof(cpu_template_linux_clear) / sizeof(cpu_template_linux_clear[0]);

int cpu_template_linux_params(enum mvm_cpu_template t, char *buf, size_t len)
{
	size_t n;
	int w;

	if (len == 0)
		return -ENOSPC;
	buf[0] = '\0';
	if (t != MVM_CPU_TEMPLATE_BASELINE)
		return 0;
	w = snprintf(buf, len, "noxsave clearcpuid=");
	if (w < 0 || (size_t)w >= len)
		goto nospc;
	n = (size_t)w;
	for (size_t i = 0; i < cpu_template_linux_clear_count; i++) {
		w = snprintf(buf + n, len - n, "%s%s", i ? "," : "", cpu_template_linux_clear[i]);
		if (w < 0 || (size_t)w >= len - n)
			goto nospc;
		n += (size_t)w;
	}
	return (int)n;
nospc:
	buf[0] = '\0';
	return -ENOSPC;
}

enum mvm_cpu_template cpu_template_resolve(enum mvm_cpu_template t, bool pvm_host)
{
	if (t != MVM_CPU_TEMPLATE_AUTO)
		return t;
	return pvm_host ? MVM_CPU_TEMPLATE_BASELINE : MVM_CPU_TEMPLATE_HOST;
}

static const char *const template_names[] = {
    [MVM_CPU_TEMPLATE_AUTO] = "auto",
    [MVM_CPU_TEMPLATE_HOST] = "host",
    [MVM_CPU_TEMPLATE_BASELINE] = "baseline",
};

const char *cpu_template_name(enum mvm_cpu_template t)
{
	if ((unsigned)t >= sizeof(template_names) / sizeof(template_names[0]))
		return "unknown";
	return template_names[t];
}

int cpu_template_parse(const char *s, enum mvm_cpu_template *out)
{
	if (!s)
		return -EINVAL;
	for (unsigned i = 0; i < sizeof(template_names) / sizeof(template_names[0]); i++) {
		if (strcmp(s, template_names[i]) == 0) {
			*out = (enum mvm_cpu_template)i;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * KVM marks indexed leaves (4, 7, 0xb, 0xd, ...) with SIGNIFCANT_INDEX (sic,
 * the UAPI spelling); for the others the subleaf does not select an entry.
 */
static struct kvm_cpuid_entry2 *find_entry(struct kvm_cpuid2 *cpuid, uint32_t leaf,
					   uint32_t subleaf)
{
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function != leaf)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != subleaf)
			continue;
		return e;
	}
	return NULL;
}

static uint32_t *entry_reg(struct kvm_cpuid_entry2 *e, enum cpuid_reg reg)
{
	switch (reg) {
	case CPUID_EAX:
		return &e->eax;
	case CPUID_EBX:
		return &e->ebx;
	case CPUID_ECX:
		return &e->ecx;
	case CPUID_EDX:
	default:
		return &e->edx;
	}
}

bool cpuid_feature_present(const struct kvm_cpuid2 *cpuid, struct cpuid_feature f)
{
	/* find_entry only reads; the cast keeps one lookup for both uses. */
	struct kvm_cpuid_entry2 *e = find_entry((struct kvm_cpuid2 *)cpuid, f.leaf, f.subleaf);

	return e && (*entry_reg(e, f.reg) & (1u << f.bit));
}

static void feature_clear(struct kvm_cpuid2 *cpuid, struct cpuid_feature f)
{
	struct kvm_cpuid_entry2 *e = find_entry(cpuid, f.leaf, f.subleaf);

	if (e)
		*entry_reg(e, f.reg) &= ~(1u << f.bit);
}

void cpuid_enforce_dependencies(struct kvm_cpuid2 *cpuid)
{
	for (size_t i = 0; i < sizeof(cpuid_dependencies) / sizeof(cpuid_dependencies[0]); i++) {
		if (!cpuid_feature_present(cpuid, cpuid_dependencies[i].parent))
			feature_clear(cpuid, cpuid_dependencies[i].child);
	}
	/*
	 * Without XSAVE the state-component leaf must not advertise an XCR0:
	 * KVM derives the guest's allowed XCR0 from leaf 0xd.0, and a guest
	 * probing it must see nothing to enable.  Zeroed, not removed, so the
	 * entry count (and KVM's answer for the leaf) stays predictable.
	 */
	if (!cpuid_feature_present(cpuid, (struct cpuid_feature)FEAT(0x1, 0, ECX, 26))) {
		for (uint32_t i = 0; i < cpuid->nent; i++) {
			struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

			if (e->function == LEAF_XSAVE_STATE)
				e->eax = e->ebx = e->ecx = e->edx = 0;
		}
	}
}

void cpu_template_apply(enum mvm_cpu_template t, struct kvm_cpuid2 *cpuid)
{
	if (t != MVM_CPU_TEMPLATE_BASELINE)
		return;
	for (size_t i = 0; i < cpu_template_baseline_hidden_count; i++)
		feature_clear(cpuid, cpu_template_baseline_hidden[i].feature);
	cpuid_enforce_dependencies(cpuid);
}

size_t cpu_template_describe_hidden(const struct kvm_cpuid2 *supported, char *buf, size_t len)
{
	size_t count = 0, used = 0;
	bool truncated = false;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < cpu_template_baseline_hidden_count; i++) {
		const struct cpu_template_hidden_bit *h = &cpu_template_baseline_hidden[i];

		if (!cpuid_feature_present(supported, h->feature))
			continue;
		count++;
		if (truncated || !len)
			continue;
		int n = snprintf(buf + used, len - used, "%s%s", used ? " " : "", h->name);
		if (n < 0 || (size_t)n >= len - used) {
			truncated = true;
			/* Mark the cut where it fits: "...\0" needs four bytes. */
			if (len >= 4) {
				size_t at = used + 4 <= len ? used : len - 4;
				memcpy(buf + at, "...", 4);
			} else {
				buf[0] = '\0';
			}
			continue;
		}
		used += (size_t)n;
	}
	return count;
}
