/* SPDX-License-Identifier: MIT */
/*
 * Userspace completion of KVM emulation failures (see emulate.h).
 *
 * The decoder knows exactly six instructions (and their ModRM operand, for
 * ldmxcsr/stmxcsr) and the legacy/REX prefixes that may precede them; everything else is UNHANDLED,
 * because acting on a misread instruction would corrupt the guest silently, while UNHANDLED ends
 * the run with a clear message.  Exception classes follow SDM vol. 3 6.5:
 * #BP is a trap (the return address is the next instruction, which Linux's
 * int3 handler relies on), #UD, #MF and #GP are faults (the return address is
 * the faulting instruction: Linux's BUG()/WARN() read the bug table at the
 * ud2's address, and fpu__drop()'s fwait has an exception-table fixup).
 */
#include "vmm/emulate.h"

#include <asm/processor-flags.h>
#include <stdio.h>
#include <string.h>

#define VECTOR_BP 3
#define VECTOR_UD 6
#define VECTOR_NM 7
#define VECTOR_SS 12
#define VECTOR_PF 14
#define VECTOR_MF 16

#define OP_INT3	    0xcc
#define OP_INT_IMM8 0xcd
#define OP_FWAIT    0x9b
#define OP_TWO_BYTE 0x0f
#define OP2_UD2	    0x0b
#define OP2_GROUP15 0xae /* 0F AE /2 ldmxcsr, /3 stmxcsr (fxsave, xsave... elsewhere) */
#define REX_B	    0x01
#define REX_X	    0x02
#define PREFIX_LOCK 0xf0
#define FSW_ES	    (1u << 7) /* x87 status word: error summary, an unmasked exception pending */

static const char *const insn_names[EMUL_INSN_COUNT] = {
    [EMUL_INSN_NONE] = "none",
    [EMUL_INSN_INT3] = "int3",
    [EMUL_INSN_INT_3] = "int $3",
    [EMUL_INSN_UD2] = "ud2",
    [EMUL_INSN_FWAIT] = "fwait",
    [EMUL_INSN_FWAIT_MF] = "fwait(#MF)",
    [EMUL_INSN_LOCK_UD] = "lock(#UD)",
    [EMUL_INSN_TOO_LONG] = "too-long(#GP)",
    [EMUL_INSN_LDMXCSR] = "ldmxcsr",
    [EMUL_INSN_STMXCSR] = "stmxcsr",
    [EMUL_INSN_MXCSR_UD] = "mxcsr(#UD)",
    [EMUL_INSN_MXCSR_NM] = "mxcsr(#NM)",
    [EMUL_INSN_MXCSR_GP] = "ldmxcsr(#GP)",
    [EMUL_INSN_MXCSR_PF] = "mxcsr(#PF)",
    [EMUL_INSN_MXCSR_NONCANONICAL] = "mxcsr(non-canonical)",
};

const char *emul_insn_name(enum emul_insn insn)
{
	if ((unsigned)insn >= EMUL_INSN_COUNT)
		return "unknown";
	return insn_names[insn];
}

static bool is_legacy_prefix(uint8_t b)
{
	switch (b) {
	case 0x66: /* operand size */
	case 0x67: /* address size */
	case 0xf0: /* lock */
	case 0xf2: /* repne */
	case 0xf3: /* rep */
	case 0x26: /* es */
	case 0x2e: /* cs */
	case 0x36: /* ss */
	case 0x3e: /* ds */
	case 0x64: /* fs */
	case 0x65: /* gs */
		return true;
	default:
		return false;
	}
}

static struct emul_decision fault(struct emul_decision d, enum emul_insn insn, uint8_t vector)
{
	d.action = EMUL_INJECT_EXCEPTION;
	d.insn = insn;
	d.vector = vector;
	d.rip_advance = false;
	d.mnemonic = insn_names[insn];
	return d;
}

/* SDM vol. 2 2.3.11: an instruction longer than 15 bytes raises #GP(0), a fault. */
static struct emul_decision too_long(struct emul_decision d)
{
	d = fault(d, EMUL_INSN_TOO_LONG, EMUL_VECTOR_GP);
	d.insn_len = EMUL_MAX_INSN_LEN;
	d.has_error_code = true;
	d.error_code = 0;
	return d;
}

static enum emul_segment segment_prefix(uint8_t b)
{
	switch (b) {
	case 0x26:
		return EMUL_SEG_ES;
	case 0x2e:
		return EMUL_SEG_CS;
	case 0x36:
		return EMUL_SEG_SS;
	case 0x3e:
		return EMUL_SEG_DS;
	case 0x64:
		return EMUL_SEG_FS;
	case 0x65:
		return EMUL_SEG_GS;
	default:
		return EMUL_SEG_DEFAULT;
	}
}

/*
 * Decodes a ModRM (+ SIB + displacement) memory operand starting at b[*pos]
 * (SDM vol. 2 2.1.5, 2.2.1).  32- and 64-bit addressing only: 16-bit
 * addressing (0x67 outside 64-bit mode) is refused.  Returns false if the
 * bytes end first or the operand is not one we take; *reg gets ModRM.reg.
 */
static bool decode_mem_operand(const uint8_t *b, size_t n, size_t *pos, uint8_t rex, bool long_mode,
			       struct emul_mem *m, uint8_t *reg, bool *is_register)
{
	size_t i = *pos;
	uint8_t modrm, mod, rm;
	unsigned disp_len = 0;

	if (i >= n)
		return false;
	modrm = b[i++];
	mod = modrm >> 6;
	*reg = (modrm >> 3) & 7;
	rm = modrm & 7;
	*is_register = mod == 3;
	if (*is_register) {
		*pos = i;
		return true;
	}
	m->base = EMUL_REG_NONE;
	m->index = EMUL_REG_NONE;
	m->scale = 1;
	m->disp = 0;
	if (rm == 4) {
		uint8_t sib, index, base;

		if (i >= n)
			return false;
		sib = b[i++];
		index = (uint8_t)(((sib >> 3) & 7) | (rex & REX_X ? 8 : 0));
		base = (uint8_t)((sib & 7) | (rex & REX_B ? 8 : 0));
		if (index != 4) { /* 100b without REX.X: no index; r12 is a valid one */
			m->index = (int8_t)index;
			m->scale = (uint8_t)(1u << (sib >> 6));
		}
		if ((sib & 7) == 5 && mod == 0)
			disp_len = 4; /* no base, disp32 (rbp/r13 need mod 01/10) */
		else
			m->base = (int8_t)base;
	} else if (rm == 5 && mod == 0) {
		m->base = long_mode ? EMUL_REG_RIP : EMUL_REG_NONE;
		disp_len = 4;
	} else {
		m->base = (int8_t)(rm | (rex & REX_B ? 8 : 0));
	}
	if (mod == 1)
		disp_len = 1;
	else if (mod == 2)
		disp_len = 4;
	if (i + disp_len > n)
		return false;
	if (disp_len == 1) {
		m->disp = (int8_t)b[i];
	} else if (disp_len == 4) {
		uint32_t v = (uint32_t)b[i] | (uint32_t)b[i + 1] << 8 | (uint32_t)b[i + 2] << 16 |
			     (uint32_t)b[i + 3] << 24;
		m->disp = (int32_t)v;
	}
	*pos = i + disp_len;
	return true;
}

/*
 * 0F AE /2 (ldmxcsr) and /3 (stmxcsr) with their operand starting at
 * bytes[pos]; the other group-15 members (fxsave, xsave, fences...) are
 * UNHANDLED.  The 66/F2/F3 prefixes would make these different
 * instructions (or #UD); they are refused rather than guessed at.
 */
static struct emul_decision decide_mxcsr(struct emul_decision d, const uint8_t *bytes, size_t n,
					 size_t pos, uint8_t rex, enum emul_segment seg,
					 bool addr_size, bool lock)
{
	const struct emul_decision unhandled = {.action = EMUL_UNHANDLED, .long_mode = d.long_mode};
	bool is_register;
	uint8_t reg;

	for (size_t k = 0; k + 2 < pos; k++)
		if (bytes[k] == 0x66 || bytes[k] == 0xf2 || bytes[k] == 0xf3)
			return unhandled;
	if (!d.long_mode && addr_size)
		return unhandled; /* 16-bit addressing */
	if (!decode_mem_operand(bytes, n, &pos, rex, d.long_mode, &d.mem, &reg, &is_register))
		return n >= EMUL_MAX_INSN_LEN ? too_long(d) : unhandled; /* ran past 15 bytes */
	if (reg != 2 && reg != 3)
		return unhandled;
	if (pos > EMUL_MAX_INSN_LEN)
		return too_long(d);
	d.insn_len = (uint8_t)pos;
	if (lock || is_register)
		return fault(d, lock ? EMUL_INSN_LOCK_UD : EMUL_INSN_MXCSR_UD, VECTOR_UD);
	d.mem.seg = seg;
	d.mem.addr32 = addr_size || !d.long_mode;
	d.action = EMUL_MXCSR;
	d.insn = reg == 2 ? EMUL_INSN_LDMXCSR : EMUL_INSN_STMXCSR;
	d.rip_advance = true;
	d.mnemonic = insn_names[d.insn];
	return d;
}

struct emul_decision emulate_decide(const uint8_t *bytes, size_t n, bool long_mode, unsigned cpl,
				    uint16_t fpu_status_word)
{
	struct emul_decision d = {.action = EMUL_UNHANDLED, .long_mode = long_mode};
	const struct emul_decision unhandled = d;
	size_t i = 0, opcode_len;
	bool lock = false, addr_size = false;
	enum emul_segment seg = EMUL_SEG_DEFAULT;
	uint8_t rex = 0;

	(void)cpl;
	if (!bytes)
		return unhandled;
	if (n > EMUL_MAX_INSN_LEN)
		n = EMUL_MAX_INSN_LEN;

	/*
	 * REX (0x40-0x4f) is a prefix only in 64-bit mode (elsewhere it is
	 * inc/dec), and counts only right before the opcode: a legacy prefix
	 * after it cancels it.
	 */
	while (i < n && (is_legacy_prefix(bytes[i]) || (long_mode && (bytes[i] & 0xf0) == 0x40))) {
		if ((bytes[i] & 0xf0) == 0x40) {
			rex = bytes[i];
		} else {
			rex = 0;
			lock |= bytes[i] == PREFIX_LOCK;
			addr_size |= bytes[i] == 0x67;
			if (segment_prefix(bytes[i]) != EMUL_SEG_DEFAULT)
				seg = segment_prefix(bytes[i]); /* the last one wins */
		}
		i++;
	}
	if (i >= EMUL_MAX_INSN_LEN)
		return too_long(d); /* fifteen prefixes: whatever follows exceeds the limit */
	if (i >= n)
		return unhandled; /* truncated: only prefixes (or nothing) */

	switch (bytes[i]) {
	case OP_INT3:
	case OP_FWAIT:
		opcode_len = 1;
		break;
	case OP_INT_IMM8:
	case OP_TWO_BYTE:
		opcode_len = 2;
		break;
	default:
		return unhandled;
	}
	if (i + opcode_len > EMUL_MAX_INSN_LEN)
		return too_long(d);
	if (i + opcode_len > n)
		return unhandled;
	d.insn_len = (uint8_t)(i + opcode_len);

	switch (bytes[i]) {
	case OP_INT3:
		d.insn = EMUL_INSN_INT3;
		break;
	case OP_INT_IMM8:
		/*
		 * Only int $3: it raises #BP like int3.  Other vectors would
		 * need software-interrupt injection (events.interrupt.soft) and
		 * gate checks that differ from exceptions; no kernel issues them
		 * at CPL0, and CPL3 ones run natively.
		 */
		if (bytes[i + 1] != VECTOR_BP)
			return unhandled;
		d.insn = EMUL_INSN_INT_3;
		break;
	case OP_TWO_BYTE:
		if (bytes[i + 1] == OP2_GROUP15)
			return decide_mxcsr(d, bytes, n, i + 2, rex, seg, addr_size, lock);
		if (bytes[i + 1] != OP2_UD2)
			return unhandled;
		d.insn = EMUL_INSN_UD2;
		break;
	case OP_FWAIT:
		d.insn = EMUL_INSN_FWAIT;
		break;
	}

	/* SDM: LOCK on an instruction that cannot be locked raises #UD; none of ours can. */
	if (lock)
		return fault(d, EMUL_INSN_LOCK_UD, VECTOR_UD);

	switch (d.insn) {
	case EMUL_INSN_INT3:
	case EMUL_INSN_INT_3:
		d.action = EMUL_INJECT_EXCEPTION;
		d.vector = VECTOR_BP;
		d.rip_advance = true;
		d.soft_exception = true;
		d.mnemonic = insn_names[d.insn];
		return d;
	case EMUL_INSN_UD2:
		return fault(d, EMUL_INSN_UD2, VECTOR_UD);
	case EMUL_INSN_FWAIT:
		/*
		 * fwait only checks for a pending unmasked x87 exception, which
		 * FSW.ES summarises.  With CR0.NE=1 that is #MF, a fault at the
		 * fwait; Linux's fpu__drop() has an extable fixup for exactly
		 * this.  Without one, fwait is a no-op.
		 */
		if (fpu_status_word & FSW_ES)
			return fault(d, EMUL_INSN_FWAIT_MF, VECTOR_MF);
		d.action = EMUL_SKIP;
		d.rip_advance = true;
		d.mnemonic = insn_names[d.insn];
		return d;
	default:
		return unhandled;
	}
}

bool emulate_apply(const struct emul_decision *d, struct kvm_regs *regs,
		   struct kvm_vcpu_events *events)
{
	uint64_t rip;

	if (!d || !regs || !events)
		return false;
	if (d->action != EMUL_SKIP && d->action != EMUL_INJECT_EXCEPTION)
		return false;
	if (d->insn_len == 0 || d->insn_len > EMUL_MAX_INSN_LEN)
		return false;
	if (d->action == EMUL_INJECT_EXCEPTION && d->vector > 31)
		return false; /* KVM_SET_VCPU_EVENTS rejects it; fail before touching state */
	/*
	 * An event mid-delivery means KVM stopped while vectoring, not at the
	 * instruction whose bytes we decoded; overwriting it would lose it.
	 */
	if (events->exception.injected || events->exception.pending || events->interrupt.injected ||
	    events->nmi.injected)
		return false;
	if (d->action == EMUL_SKIP && (regs->rflags & X86_EFLAGS_TF))
		return false;

	rip = regs->rip;
	if (d->rip_advance) {
		rip += d->insn_len;
		if (!d->long_mode)
			rip = (uint32_t)rip;
	}
	regs->rip = rip;
	if (d->action == EMUL_SKIP)
		regs->rflags &= ~(uint64_t)X86_EFLAGS_RF;

	events->interrupt.shadow = 0;
	events->flags &= KVM_VCPUEVENT_VALID_SHADOW;
	events->exception.pending = 0;
	events->exception_has_payload = 0;
	events->exception_payload = 0;
	if (d->action == EMUL_INJECT_EXCEPTION) {
		/*
		 * "injected", not "pending": the exception is already raised by
		 * the instruction, so KVM must deliver it as-is on the next
		 * entry.  (pending would need KVM_CAP_EXCEPTION_PAYLOAD.)
		 */
		events->exception.injected = 1;
		events->exception.nr = d->vector;
		events->exception.has_error_code = d->has_error_code;
		events->exception.error_code = d->has_error_code ? d->error_code : 0;
	}
	return true;
}

static uint64_t reg_value(const struct kvm_regs *r, int reg)
{
	const uint64_t v[16] = {r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp, r->rsi, r->rdi,
				r->r8,	r->r9,	r->r10, r->r11, r->r12, r->r13, r->r14, r->r15};

	return reg >= 0 && reg < 16 ? v[reg] : 0;
}

uint64_t emulate_mem_address(const struct emul_decision *d, const struct kvm_regs *regs,
			     const struct kvm_sregs *sregs)
{
	const struct emul_mem *m = &d->mem;
	enum emul_segment seg = m->seg;
	uint64_t ea = (uint64_t)(int64_t)m->disp;

	if (m->base == EMUL_REG_RIP)
		ea += regs->rip + d->insn_len;
	else
		ea += reg_value(regs, m->base);
	if (m->index != EMUL_REG_NONE)
		ea += reg_value(regs, m->index) * m->scale;
	if (m->addr32)
		ea = (uint32_t)ea;
	if (seg == EMUL_SEG_DEFAULT)
		seg = (m->base == 4 || m->base == 5) ? EMUL_SEG_SS : EMUL_SEG_DS;
	const struct kvm_segment *segments[] = {
	    [EMUL_SEG_ES] = &sregs->es, [EMUL_SEG_CS] = &sregs->cs, [EMUL_SEG_SS] = &sregs->ss,
	    [EMUL_SEG_DS] = &sregs->ds, [EMUL_SEG_FS] = &sregs->fs, [EMUL_SEG_GS] = &sregs->gs,
	};
	if (d->long_mode) {
		/* 64-bit mode: CS, DS, ES and SS are flat (SDM vol. 1 3.4.2.1). */
		if (seg == EMUL_SEG_FS || seg == EMUL_SEG_GS)
			ea += segments[seg]->base;
		return ea;
	}
	ea += segments[seg]->base;
	return (uint32_t)ea;
}

bool emulate_mxcsr_fault(struct emul_decision *d, uint64_t cr0, uint64_t cr4)
{
	if ((cr0 & X86_CR0_EM) || !(cr4 & X86_CR4_OSFXSR)) {
		*d = fault(*d, EMUL_INSN_MXCSR_UD, VECTOR_UD);
		return true;
	}
	if (cr0 & X86_CR0_TS) {
		*d = fault(*d, EMUL_INSN_MXCSR_NM, VECTOR_NM);
		return true;
	}
	return false;
}

bool emulate_ldmxcsr_value_fault(struct emul_decision *d, uint32_t value)
{
	if (!(value & ~EMUL_MXCSR_MASK))
		return false;
	*d = fault(*d, EMUL_INSN_MXCSR_GP, EMUL_VECTOR_GP);
	d->has_error_code = true;
	d->error_code = 0;
	return true;
}

void emulate_mxcsr_page_fault(struct emul_decision *d, uint32_t error_code, uint64_t address)
{
	*d = fault(*d, EMUL_INSN_MXCSR_PF, VECTOR_PF);
	d->has_error_code = true;
	d->error_code = error_code;
	d->sets_cr2 = true;
	d->cr2 = address;
}

void emulate_mxcsr_noncanonical(struct emul_decision *d)
{
	/* The same default-segment rule as emulate_mem_address(). */
	bool ss = d->mem.seg == EMUL_SEG_SS ||
		  (d->mem.seg == EMUL_SEG_DEFAULT && (d->mem.base == 4 || d->mem.base == 5));

	*d = fault(*d, EMUL_INSN_MXCSR_NONCANONICAL, ss ? VECTOR_SS : EMUL_VECTOR_GP);
	d->sets_cr2 = false;
	d->has_error_code = true;
	d->error_code = 0;
}

void emulate_mxcsr_done(struct emul_decision *d)
{
	d->action = EMUL_SKIP;
	d->rip_advance = true;
}

void emul_stats_init(struct emul_stats *s)
{
	memset(s, 0, sizeof(*s));
}

bool emul_stats_record(struct emul_stats *s, enum emul_insn insn, uint64_t rip, uint64_t now_ns)
{
	if ((unsigned)insn < EMUL_INSN_COUNT)
		s->completed[insn]++;
	/* Unsigned: a clock that went backwards also opens a new window. */
	if (s->flood_count == 0 || rip != s->flood_rip ||
	    now_ns - s->flood_window_start_ns >= EMUL_FLOOD_WINDOW_NS) {
		s->flood_rip = rip;
		s->flood_window_start_ns = now_ns;
		s->flood_count = 1;
		return true;
	}
	if (s->flood_count <= EMUL_FLOOD_MAX_PER_RIP)
		s->flood_count++;
	return s->flood_count <= EMUL_FLOOD_MAX_PER_RIP;
}

int emul_stats_format(const struct emul_stats *s, char *buf, size_t len)
{
	int total = 0;

	if (len)
		buf[0] = '\0';
	for (unsigned i = EMUL_INSN_NONE + 1; i < EMUL_INSN_COUNT; i++) {
		if (!s->completed[i])
			continue;
		size_t used = (size_t)total < len ? (size_t)total : len;
		int n = snprintf(buf + used, len - used, "%s%s=%llu", total ? " " : "",
				 insn_names[i], (unsigned long long)s->completed[i]);
		if (n < 0)
			return n;
		total += n;
	}
	return total;
}
