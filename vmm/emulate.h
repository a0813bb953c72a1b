/* SPDX-License-Identifier: MIT */
/*
 * Completing, in userspace, the emulation failures KVM reports with the
 * instruction bytes (KVM_CAP_EXIT_ON_EMULATION_FAILURE: kvm_run's
 * emulation_failure.flags has KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES,
 * insn_size and insn_bytes[15]).
 *
 * On a PVM host KVM runs guest CPL0 code through its instruction emulator,
 * which cannot deliver protected-mode software interrupts (int3) or #UD for
 * ud2, and fails fwait.  Linux hits all three on every boot (int3 self-test,
 * BUG()/WARN(), fpu__drop()).  This module decides, from the bytes alone,
 * what the CPU would have done, and turns that into register and event state.
 * It also lacks ldmxcsr/stmxcsr, which kernel_fpu_begin() runs on every
 * in-kernel SIMD section: those are decoded here down to their memory
 * operand, and the caller moves the four bytes through the guest's page
 * tables (vmm/pagewalk.c).
 * No ioctls here: the caller (vcpu.c) does KVM_GET_* / KVM_SET_*.
 */
#ifndef MINIVMM_EMULATE_H
#define MINIVMM_EMULATE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EMUL_MAX_INSN_LEN 15 /* SDM vol. 2 2.3.11: longer raises #GP(0) */

#define EMUL_VECTOR_GP 13

enum emul_action {
	EMUL_UNHANDLED,
	EMUL_SKIP,	       /* advance RIP by insn_len, no other effect */
	EMUL_INJECT_EXCEPTION, /* advance RIP (traps: #BP) or not (faults: #UD, #MF, #GP); inject */
	/*
	 * ldmxcsr/stmxcsr m32: the caller checks emulate_mxcsr_fault(), moves
	 * 4 bytes between MXCSR and the linear address emulate_mem_address()
	 * gives, then emulate_mxcsr_done() makes this a SKIP for emulate_apply().
	 */
	EMUL_MXCSR,
};

/* What was completed; indexes struct emul_stats.completed. */
enum emul_insn {
	EMUL_INSN_NONE = 0,
	EMUL_INSN_INT3,	    /* CC: #BP trap */
	EMUL_INSN_INT_3,    /* CD 03: #BP trap, two bytes */
	EMUL_INSN_UD2,	    /* 0F 0B: #UD fault */
	EMUL_INSN_FWAIT,    /* 9B, no pending x87 exception: no-op */
	EMUL_INSN_FWAIT_MF, /* 9B with FSW.ES set: #MF fault */
	EMUL_INSN_LOCK_UD,  /* F0 in front of one of the above: #UD fault */
	EMUL_INSN_TOO_LONG, /* more than 15 bytes of prefixes and opcode: #GP(0) fault */
	EMUL_INSN_LDMXCSR,  /* 0F AE /2 m32: MXCSR <- m32 */
	EMUL_INSN_STMXCSR,  /* 0F AE /3 m32: m32 <- MXCSR */
	EMUL_INSN_MXCSR_UD, /* 0F AE /2 or /3 with a register operand, or SSE off: #UD fault */
	EMUL_INSN_MXCSR_NM, /* ldmxcsr/stmxcsr with CR0.TS=1: #NM fault */
	EMUL_INSN_MXCSR_GP, /* ldmxcsr of a value with reserved bits set: #GP(0) fault */
	EMUL_INSN_MXCSR_PF, /* ldmxcsr/stmxcsr whose operand the guest's page tables refuse: #PF */
	EMUL_INSN_MXCSR_NONCANONICAL, /* ... at a non-canonical address: #GP(0), or #SS(0) via SS */
	EMUL_INSN_COUNT,
};

#define EMUL_REG_NONE (-1)
#define EMUL_REG_RIP  (-2) /* RIP-relative: relative to the next instruction */

enum emul_segment {
	EMUL_SEG_DEFAULT,
	EMUL_SEG_ES,
	EMUL_SEG_CS,
	EMUL_SEG_SS,
	EMUL_SEG_DS,
	EMUL_SEG_FS,
	EMUL_SEG_GS
};

/* A ModRM memory operand: seg:[base + index*scale + disp]. */
struct emul_mem {
	int8_t base;   /* 0-15 = rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8-r15; or EMUL_REG_* */
	int8_t index;  /* 0-15 or EMUL_REG_NONE (rsp cannot be an index) */
	uint8_t scale; /* 1, 2, 4, 8 */
	int32_t disp;
	enum emul_segment seg; /* override prefix, or the default */
	bool addr32;	       /* 0x67 in 64-bit mode, or not in 64-bit mode: wraps at 4 GiB */
};

#define EMUL_MXCSR_MASK 0xffffu /* MXCSR_MASK with DAZ, as every x86-64 CPU KVM runs on has */

struct emul_decision {
	enum emul_action action;
	enum emul_insn insn;
	uint8_t insn_len; /* prefixes included; 15 for EMUL_INSN_TOO_LONG */
	uint8_t vector;
	bool rip_advance;
	bool has_error_code;
	uint32_t error_code;
	/*
	 * Vector 3 (and 4) are "software exceptions" to KVM, and how KVM turns
	 * an injected one into a return address differs: PVM (verified here)
	 * pushes the RIP userspace set, so we advance it; VMX adds the last
	 * exit's instruction length and SVM re-decodes the instruction at RIP.
	 * Hardware KVM runs int3 natively and never reports it as an emulation
	 * failure, but a caller on such a host must not complete soft
	 * exceptions this way.
	 */
	bool soft_exception;
	bool long_mode;	      /* RIP arithmetic is 64-bit, else wraps at 4 GiB */
	const char *mnemonic; /* for logs; NULL when UNHANDLED */
	struct emul_mem mem;  /* EMUL_MXCSR: the operand */
	/* A #PF: the caller sets CR2 to this before injecting (emulate_apply does not). */
	bool sets_cr2;
	uint64_t cr2;
};

/*
 * bytes: the instruction bytes KVM gave (n may be fewer than 15: a fetch can
 * stop at a page boundary); long_mode: CS.L=1 (REX bytes are prefixes only
 * then); cpl: accepted for the caller's logs, not needed for the decision
 * (gate DPL checks happen when the exception is delivered);
 * fpu_status_word: KVM_GET_FPU's fsw, consulted only for fwait.
 *
 * Assumes CR0.NE=1 (every 64-bit OS sets it): an unmasked x87 exception at
 * fwait is then #MF.  Assumes not (CR0.TS=1 and CR0.MP=1), in which case a
 * real fwait raises #NM: no kernel since Linux 4.14 uses lazy FPU switching.
 * Anything not listed in enum emul_insn -> EMUL_UNHANDLED, mnemonic NULL.
 */
struct emul_decision emulate_decide(const uint8_t *bytes, size_t n, bool long_mode, unsigned cpl,
				    uint16_t fpu_status_word);

/*
 * Applies a decision to register state; no ioctls.  The caller does
 * KVM_GET_REGS and KVM_GET_VCPU_EVENTS first and passes the results in; on
 * true it writes them back with KVM_SET_REGS and KVM_SET_VCPU_EVENTS.
 *
 * Returns false, touching nothing, for UNHANDLED, and also when completing
 * would lose guest state: an event is already being delivered (exception,
 * interrupt or NMI injected: the failure was not at the instruction the
 * bytes show), or a SKIP under RFLAGS.TF (the single-step #DB trap would
 * need DR6 payload handling this module does not do).
 *
 * On true: RIP advanced by insn_len when the decision says so; for SKIP,
 * RFLAGS.RF cleared (the instruction completed); the STI/MOV SS interrupt
 * shadow cleared (the instruction completed or faulted); for exceptions,
 * exception.injected=1, nr, has_error_code, error_code, with pending and
 * the payload fields zeroed; flags reduced to KVM_VCPUEVENT_VALID_SHADOW
 * (if it was set) so that SET does not overwrite what other vCPUs may change
 * concurrently (nmi.pending, sipi_vector, smi: KVM API 4.32).  Works with or
 * without KVM_CAP_EXCEPTION_PAYLOAD: without VALID_PAYLOAD, KVM ignores the
 * pending/payload fields.
 */
bool emulate_apply(const struct emul_decision *d, struct kvm_regs *regs,
		   struct kvm_vcpu_events *events);

const char *emul_insn_name(enum emul_insn insn);

/*
 * The linear address of d->mem given the registers and segment bases (SDM
 * vol. 1 3.7.5): in 64-bit mode only FS and GS have a base; elsewhere the
 * override or the default segment (SS for rsp/rbp bases, DS otherwise) does.
 * RIP-relative operands count from the end of the instruction (insn_len).
 */
uint64_t emulate_mem_address(const struct emul_decision *d, const struct kvm_regs *regs,
			     const struct kvm_sregs *sregs);

/*
 * For EMUL_MXCSR, the checks the CPU makes before the access (SDM LDMXCSR,
 * "Protected Mode Exceptions"): CR0.EM=1 or CR4.OSFXSR=0 -> #UD, CR0.TS=1
 * -> #NM.  Turns *d into that fault (for emulate_apply) and returns true,
 * or returns false when the access goes ahead.
 */
bool emulate_mxcsr_fault(struct emul_decision *d, uint64_t cr0, uint64_t cr4);
/* For ldmxcsr, after the read: reserved bits (outside EMUL_MXCSR_MASK) -> #GP(0), as above. */
bool emulate_ldmxcsr_value_fault(struct emul_decision *d, uint32_t value);
/*
 * The access itself faulted (vmm/pagewalk.c): *d becomes #PF(error_code) at
 * the instruction with sets_cr2/cr2 = address, or, for a non-canonical
 * address, #SS(0) when the operand's segment is SS and #GP(0) otherwise
 * (SDM vol. 3 6.15, interrupts 12 and 13).
 */
void emulate_mxcsr_page_fault(struct emul_decision *d, uint32_t error_code, uint64_t address);
void emulate_mxcsr_noncanonical(struct emul_decision *d);
/* After the access: the instruction completed; *d becomes a SKIP past it. */
void emulate_mxcsr_done(struct emul_decision *d);

/*
 * Per-vCPU counters and a flood guard: a guest whose handler returns to the
 * same faulting instruction (or a hostile one) would otherwise loop through
 * exits forever.  Giving up turns that into a guest fault the run reports.
 */
#define EMUL_FLOOD_MAX_PER_RIP 1000u
#define EMUL_FLOOD_WINDOW_NS   1000000000ull

struct emul_stats {
	uint64_t completed[EMUL_INSN_COUNT];
	uint64_t flood_rip;
	uint64_t flood_window_start_ns;
	uint32_t flood_count;
};

void emul_stats_init(struct emul_stats *s);
/*
 * Counts one completion of insn at rip at time now_ns (clock_ns()).  Returns
 * false when this is more than EMUL_FLOOD_MAX_PER_RIP completions at the same
 * RIP within EMUL_FLOOD_WINDOW_NS: the caller should stop the VM as a guest
 * fault instead of applying the decision.
 */
bool emul_stats_record(struct emul_stats *s, enum emul_insn insn, uint64_t rip, uint64_t now_ns);
/* "int3=1 ud2=3 fwait=120" (only non-zero counters; "" if none).  Returns snprintf's value. */
int emul_stats_format(const struct emul_stats *s, char *buf, size_t len);

#endif
