/* SPDX-License-Identifier: MIT */
/*
 * Userspace completion of KVM emulation failures (see emulate.h).
 *
 * The decoder knows exactly four instructions and the legacy/REX prefixes
 * that may precede them; everything else is UNHANDLED, because acting on a
 * misread instruction would corrupt the guest silently, while UNHANDLED ends
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
#define VECTOR_MF 16

#define OP_INT3	    0xcc
#define OP_INT_IMM8 0xcd
#define OP_FWAIT    0x9b
#define OP_TWO_BYTE 0x0f
#define OP2_UD2	    0x0b
#define PREFIX_LOCK 0xf0
#define FSW_ES	    (1u << 7) /* x87 status word: error summary, an unmasked exception pending */

static const char *const insn_names[EMUL_INSN_COUNT] = {
    [EMUL_INSN_NONE] = "none",	       [EMUL_INSN_INT3] = "int3",
    [EMUL_INSN_INT_3] = "int $3",      [EMUL_INSN_UD2] = "ud2",
    [EMUL_INSN_FWAIT] = "fwait",       [EMUL_INSN_FWAIT_MF] = "fwait(#MF)",
    [EMUL_INSN_LOCK_UD] = "lock(#UD)", [EMUL_INSN_TOO_LONG] = "too-long(#GP)",
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

struct emul_decision emulate_decide(const uint8_t *bytes, size_t n, bool long_mode, unsigned cpl,
				    uint16_t fpu_status_word)
{
	struct emul_decision d = {.action = EMUL_UNHANDLED, .long_mode = long_mode};
	const struct emul_decision unhandled = d;
	size_t i = 0, opcode_len;
	bool lock = false;

	(void)cpl;
	if (!bytes)
		return unhandled;
	if (n > EMUL_MAX_INSN_LEN)
		n = EMUL_MAX_INSN_LEN;

	/* REX (0x40-0x4f) is a prefix only in 64-bit mode; elsewhere it is inc/dec. */
	while (i < n && (is_legacy_prefix(bytes[i]) || (long_mode && (bytes[i] & 0xf0) == 0x40))) {
		lock |= bytes[i] == PREFIX_LOCK;
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
