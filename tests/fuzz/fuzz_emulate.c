/* SPDX-License-Identifier: MIT */
/*
 * The instruction completion decoder (vmm/emulate.c): up to 15 guest
 * instruction bytes as KVM reports them, the mode bits, and register state,
 * through every step vcpu.c takes: decide, the MXCSR fault checks, the
 * operand's linear address, apply, and the per-vCPU statistics.  The
 * checks below are the contract vcpu.c relies on (a length it can add to
 * RIP, a decision that never asks for more bytes than KVM gave).
 */
#include <stdlib.h>

#include "tests/fuzz/fuzz.h"
#include "vmm/emulate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);
	uint8_t flags = fuzz_u8(&in);
	uint16_t fsw = fuzz_u16(&in);
	size_t n = fuzz_u8(&in) % (EMUL_MAX_INSN_LEN + 1);
	uint8_t bytes[EMUL_MAX_INSN_LEN];
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events events;
	struct emul_decision d;
	struct emul_stats stats;
	char buf[256];

	n = fuzz_bytes(&in, bytes, n);
	d = emulate_decide(bytes, n, flags & 1, flags >> 1 & 3, fsw);
	if (d.action == EMUL_UNHANDLED) {
		if (d.mnemonic)
			abort();
	} else {
		if (!d.mnemonic || d.insn_len == 0 || d.insn_len > EMUL_MAX_INSN_LEN)
			abort();
		/* Only a too-long instruction may claim bytes KVM did not give. */
		if (d.insn_len > n && d.insn != EMUL_INSN_TOO_LONG)
			abort();
	}
	fuzz_bytes(&in, &regs, sizeof(regs));
	fuzz_bytes(&in, &sregs, sizeof(sregs));
	fuzz_bytes(&in, &events, sizeof(events));
	if (d.action == EMUL_MXCSR) {
		if (!emulate_mxcsr_fault(&d, sregs.cr0, sregs.cr4)) {
			(void)emulate_mem_address(&d, &regs, &sregs);
			if (d.insn == EMUL_INSN_STMXCSR ||
			    !emulate_ldmxcsr_value_fault(&d, fuzz_u32(&in)))
				emulate_mxcsr_done(&d);
		}
		if (d.action == EMUL_MXCSR)
			abort(); /* every path above turns it into a skip or a fault */
	}
	(void)emulate_apply(&d, &regs, &events);
	emul_stats_init(&stats);
	if (d.insn < EMUL_INSN_COUNT)
		emul_stats_record(&stats, d.insn, regs.rip, fuzz_u64(&in));
	else
		abort();
	emul_stats_format(&stats, buf, sizeof(buf));
	(void)emul_insn_name(d.insn);
	return 0;
}
