/* SPDX-License-Identifier: MIT */
/*
 * emulation: instructions that KVM's instruction emulator cannot run at
 * CPL0 on a PVM host, which minivmm completes in userspace (vmm/emulate.c),
 * and one it cannot.  On hardware KVM the CPU runs them natively, so every
 * check holds there as well.
 *
 *   (default)        int3, int $3, ud2 and fwait each reach the guest as the
 *                    architecture says: #BP after the instruction, #UD at it,
 *                    fwait a no-op; report_done().
 *   case=unsupported executes fldz, which the emulator lacks and minivmm
 *                    does not complete: on PVM the run must end with status
 *                    103 (guest fault) naming the instruction; natively it
 *                    runs and the guest exits 0.
 */
#include "tests/guests/lib/guest.h"

const char guest_name[] = "emulation";

#define VECTOR_BP 3
#define VECTOR_UD 6

struct seen {
	unsigned int bp, ud;
	uint64_t bp_rip, ud_rip;
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
	return false;
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
	report_done();
}
