/* SPDX-License-Identifier: MIT */
/*
 * emulation: instructions that KVM's instruction emulator cannot run at
 * CPL0 on a PVM host, which minivmm completes in userspace (vmm/emulate.c),
 * and one it cannot.  On hardware KVM the CPU runs them natively, so every
 * check holds there as well.
 *
 *   (default)        int3, int $3, ud2 and fwait each reach the guest as the
 *                    architecture says: #BP after the instruction, #UD at it,
 *                    fwait a no-op; ldmxcsr/stmxcsr (what Linux's
 *                    kernel_fpu_begin() runs) move MXCSR through memory,
 *                    through a stack, RIP-relative and SIB operand, and a
 *                    reserved bit raises #GP(0) at the ldmxcsr (not checked
 *                    with mxcsr_gp=native); report_done().
 *   case=unsupported executes fldz, which the emulator lacks and minivmm
 *                    does not complete: on PVM the run must end with status
 *                    103 (guest fault) naming the instruction; natively it
 *                    runs and the guest exits 0.
 */
#include "tests/guests/lib/guest.h"

const char guest_name[] = "emulation";

#define VECTOR_BP     3
#define VECTOR_UD     6
#define VECTOR_GP     13
#define CR4_OSFXSR    (1ull << 9)
#define MXCSR_DEFAULT 0x1f80u

struct seen {
	unsigned int bp, ud, gp;
	uint64_t bp_rip, ud_rip, gp_rip, gp_error;
	uint64_t gp_skip; /* bytes to step over at a #GP (the faulting ldmxcsr) */
};

/* The exception hook has no argument for guest state: one static record. */
static volatile struct seen seen;

bool guest_exception_hook(struct exception_frame *frame)
{
	if (frame->vector == VECTOR_BP) {
		seen.bp++;
		seen.bp_rip = frame->rip; /* a trap: already after the instruction */
		return true;
	}
	if (frame->vector == VECTOR_UD) {
		seen.ud++;
		seen.ud_rip = frame->rip; /* a fault: at the ud2 */
		frame->rip += 2;
		return true;
	}
	if (frame->vector == VECTOR_GP && seen.gp_skip) {
		seen.gp++;
		seen.gp_rip = frame->rip; /* a fault: at the ldmxcsr */
		seen.gp_error = frame->error_code;
		frame->rip += seen.gp_skip;
		seen.gp_skip = 0;
		return true;
	}
	return false;
}

/* Named in asm (RIP-relative operand), so global and kept. */
uint32_t mxcsr_scratch __attribute__((used));

/* ldmxcsr/stmxcsr with the three operand shapes Linux's code uses. */
static bool mxcsr_round_trips(void)
{
	uint32_t in = 0x9fc0, out = 0, out2 = 0, slots[4] = {0, 0, 0x1f80 | 0x6000, 0};
	uint64_t idx = 2;
	uint64_t cr4;

	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	asm volatile("mov %0, %%cr4" ::"r"(cr4 | CR4_OSFXSR));
	/* [rsp+disp8] / [rbp-disp8] style: a stack variable. */
	asm volatile("ldmxcsr %1\n\tstmxcsr %0" : "=m"(out) : "m"(in) : "memory");
	/* RIP-relative: a static. */
	asm volatile("stmxcsr mxcsr_scratch(%%rip)" ::: "memory");
	/* base + index*4 (SIB). */
	asm volatile("ldmxcsr (%1,%2,4)\n\tstmxcsr %0"
		     : "=m"(out2)
		     : "r"(slots), "r"(idx)
		     : "memory");
	printf("emulation: mxcsr in=0x%x out=0x%x static=0x%x sib=0x%x\n", in, out, mxcsr_scratch,
	       out2);
	return out == in && mxcsr_scratch == in && out2 == slots[2];
}

/* A reserved MXCSR bit: #GP(0) at the ldmxcsr, MXCSR unchanged. */
static bool ldmxcsr_reserved_bit_faults(void)
{
	uint32_t bad = 0x10000 | MXCSR_DEFAULT, good = MXCSR_DEFAULT, after = 0;
	uint64_t at;

	asm volatile("ldmxcsr %0" ::"m"(good));
	seen.gp_skip = 3; /* 0f ae 10: ldmxcsr (%rax), the "a" constraint pins the encoding */
	asm volatile("lea 1f(%%rip), %0\n\t"
		     "1: ldmxcsr (%1)\n\t"
		     "nop"
		     : "=&r"(at)
		     : "a"(&bad)
		     : "memory");
	asm volatile("stmxcsr %0" : "=m"(after));
	return seen.gp == 1 && seen.gp_rip == at && seen.gp_error == 0 && after == MXCSR_DEFAULT;
}

static uint64_t run_int3(void)
{
	uint64_t after;
	asm volatile("int3\n\t"
		     "1: lea 1b(%%rip), %0"
		     : "=r"(after));
	return after;
}

static uint64_t run_int_3(void)
{
	uint64_t after;
	asm volatile("int $3\n\t"
		     "1: lea 1b(%%rip), %0"
		     : "=r"(after));
	return after;
}

static uint64_t run_ud2(void)
{
	uint64_t at;
	asm volatile("lea 1f(%%rip), %0\n\t"
		     "1: ud2"
		     : "=r"(at));
	return at;
}

int guest_main(const struct boot_info *bi)
{
	char which[32] = "";
	uint64_t where;

	cmdline_get(bi, "case", which, sizeof(which));
	if (strcmp(which, "unsupported") == 0) {
		printf("emulation: fldz\n");
		asm volatile("fldz\n\tfstp %%st(0)" ::: "memory");
		printf("emulation: fldz ran\n");
		return 0;
	}

	where = run_int3();
	report(seen.bp == 1 && seen.bp_rip == where, "int3 delivered #BP, resumed after it");
	where = run_int_3();
	report(seen.bp == 2 && seen.bp_rip == where, "int $3 delivered #BP, resumed after it");
	where = run_ud2();
	report(seen.ud == 1 && seen.ud_rip == where, "ud2 delivered #UD at the instruction");
	asm volatile("fwait" ::: "memory");
	report(seen.bp == 2 && seen.ud == 1, "fwait with no pending x87 exception is a no-op");
	report(mxcsr_round_trips(), "ldmxcsr/stmxcsr move MXCSR through memory");
	/*
	 * mxcsr_gp=native: the host runs ldmxcsr itself (hardware-style KVM),
	 * and a software CPU model under it (QEMU TCG in the SVM test host)
	 * may not fault on reserved bits; only minivmm's completion is ours.
	 */
	cmdline_get(bi, "mxcsr_gp", which, sizeof(which));
	if (strcmp(which, "native") == 0)
		printf("emulation: ldmxcsr #GP check skipped (runs natively here)\n");
	else
		report(ldmxcsr_reserved_bit_faults(),
		       "ldmxcsr of a reserved bit raises #GP(0) at it");
	report_done();
}
