/* SPDX-License-Identifier: MIT */
#include <asm/processor-flags.h>
#include <check.h>
#include <string.h>

#include "vmm/emulate.h"

#define FSW_ES 0x0080

static struct emul_decision decide(const uint8_t *b, size_t n)
{
	return emulate_decide(b, n, true, 0, 0);
}

static void assert_unhandled(struct emul_decision d)
{
	ck_assert_int_eq(d.action, EMUL_UNHANDLED);
	ck_assert_int_eq(d.insn, EMUL_INSN_NONE);
	ck_assert_ptr_null(d.mnemonic);
}

static void assert_bp(struct emul_decision d, unsigned len)
{
	ck_assert_int_eq(d.action, EMUL_INJECT_EXCEPTION);
	ck_assert_uint_eq(d.vector, 3);
	ck_assert_uint_eq(d.insn_len, len);
	ck_assert(d.rip_advance);
	ck_assert(d.soft_exception);
	ck_assert(!d.has_error_code);
}

static void assert_fault(struct emul_decision d, enum emul_insn insn, unsigned vector, unsigned len)
{
	ck_assert_int_eq(d.action, EMUL_INJECT_EXCEPTION);
	ck_assert_int_eq(d.insn, insn);
	ck_assert_uint_eq(d.vector, vector);
	ck_assert_uint_eq(d.insn_len, len);
	ck_assert(!d.rip_advance);
	ck_assert(!d.soft_exception);
	ck_assert_ptr_nonnull(d.mnemonic);
}

/* State as KVM_GET_VCPU_EVENTS returns it with nothing in flight. */
static void fresh_state(struct kvm_regs *regs, struct kvm_vcpu_events *ev)
{
	memset(regs, 0, sizeof(*regs));
	memset(ev, 0, sizeof(*ev));
	regs->rip = 0xffffffff81000100ull;
	regs->rflags = 0x2 | X86_EFLAGS_RF;
	regs->rax = 0x1234;
	ev->flags =
	    KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM;
	ev->nmi.pending = 1; /* owned by other vCPUs: must not be written back */
	ev->sipi_vector = 0x9a;
}

START_TEST(int3_is_a_bp_trap)
{
	static const uint8_t b[15] = {0xcc, 0x0f, 0x0b, 0x90};
	struct emul_decision d = decide(b, 15);
	assert_bp(d, 1);
	ck_assert_int_eq(d.insn, EMUL_INSN_INT3);
	ck_assert_str_eq(d.mnemonic, "int3");
	ck_assert_int_eq(emulate_decide(b, 1, true, 0, 0).insn_len, 1);

	struct kvm_regs regs;
	struct kvm_vcpu_events ev;
	fresh_state(&regs, &ev);
	ev.interrupt.shadow = 1;
	ck_assert(emulate_apply(&d, &regs, &ev));
	ck_assert_uint_eq(regs.rip, 0xffffffff81000101ull);  /* the handler returns after it */
	ck_assert_uint_eq(regs.rflags, 0x2 | X86_EFLAGS_RF); /* only SKIP clears RF */
	ck_assert_uint_eq(regs.rax, 0x1234);
	ck_assert_uint_eq(ev.exception.injected, 1);
	ck_assert_uint_eq(ev.exception.pending, 0);
	ck_assert_uint_eq(ev.exception.nr, 3);
	ck_assert_uint_eq(ev.exception.has_error_code, 0);
	ck_assert_uint_eq(ev.exception.error_code, 0);
	ck_assert_uint_eq(ev.interrupt.shadow, 0);
	ck_assert_uint_eq(ev.flags, KVM_VCPUEVENT_VALID_SHADOW);
}
END_TEST

START_TEST(int_imm8_3_is_a_two_byte_bp)
{
	static const uint8_t b[] = {0xcd, 0x03};
	struct emul_decision d = decide(b, 2);
	assert_bp(d, 2);
	ck_assert_int_eq(d.insn, EMUL_INSN_INT_3);
	struct kvm_regs regs;
	struct kvm_vcpu_events ev;
	fresh_state(&regs, &ev);
	ck_assert(emulate_apply(&d, &regs, &ev));
	ck_assert_uint_eq(regs.rip, 0xffffffff81000102ull);

	static const uint8_t other[] = {0xcd, 0x80};
	assert_unhandled(decide(other, 2));
	static const uint8_t four[] = {0xcd, 0x04};
	assert_unhandled(decide(four, 2));
	assert_unhandled(decide(b, 1)); /* immediate cut off */
}
END_TEST

START_TEST(ud2_is_a_ud_fault_without_rip_advance)
{
	static const uint8_t b[] = {0x0f, 0x0b, 0xcc};
	struct emul_decision d = decide(b, 3);
	assert_fault(d, EMUL_INSN_UD2, 6, 2);
	ck_assert_str_eq(d.mnemonic, "ud2");

	struct kvm_regs regs;
	struct kvm_vcpu_events ev;
	fresh_state(&regs, &ev);
	ck_assert(emulate_apply(&d, &regs, &ev));
	ck_assert_uint_eq(regs.rip, 0xffffffff81000100ull); /* BUG() reads the bug table here */
	ck_assert_uint_eq(regs.rflags, 0x2 | X86_EFLAGS_RF);
	ck_assert_uint_eq(ev.exception.injected, 1);
	ck_assert_uint_eq(ev.exception.nr, 6);
	ck_assert_uint_eq(ev.exception.has_error_code, 0);

	static const uint8_t not_ud2[] = {0x0f, 0x0c};
	assert_unhandled(decide(not_ud2, 2));
	assert_unhandled(decide(b, 1)); /* 0F alone */
}
END_TEST

START_TEST(fwait_without_pending_exception_is_skipped)
{
	static const uint8_t b[] = {0x9b, 0xdb, 0xe3}; /* fwait; fninit */
	static const uint16_t quiet[] = {0x0000, 0x007f, 0x3800, 0xff7f};
	for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++) {
		struct emul_decision d = emulate_decide(b, 3, true, 0, quiet[i]);
		ck_assert_int_eq(d.action, EMUL_SKIP);
		ck_assert_int_eq(d.insn, EMUL_INSN_FWAIT);
		ck_assert_uint_eq(d.insn_len, 1);
		ck_assert(d.rip_advance);
		ck_assert_str_eq(d.mnemonic, "fwait");
	}
	struct emul_decision d = emulate_decide(b, 3, true, 0, 0);
	struct kvm_regs regs;
	struct kvm_vcpu_events ev;
	fresh_state(&regs, &ev);
	ck_assert(emulate_apply(&d, &regs, &ev));
	ck_assert_uint_eq(regs.rip, 0xffffffff81000101ull);
	ck_assert_uint_eq(regs.rflags, 0x2); /* RF cleared: the instruction completed */
	ck_assert_uint_eq(ev.exception.injected, 0);
	ck_assert_uint_eq(ev.flags, KVM_VCPUEVENT_VALID_SHADOW);
}
END_TEST

START_TEST(fwait_with_pending_exception_raises_mf)
{
	static const uint8_t b[] = {0x9b};
	static const uint16_t pending[] = {FSW_ES, FSW_ES | 0x0001, 0xffff};
	for (size_t i = 0; i < sizeof(pending) / sizeof(pending[0]); i++) {
		struct emul_decision d = emulate_decide(b, 1, true, 0, pending[i]);
		assert_fault(d, EMUL_INSN_FWAIT_MF, 16, 1);
	}
	struct emul_decision d = emulate_decide(b, 1, true, 0, FSW_ES);
	struct kvm_regs regs;
	struct kvm_vcpu_events ev;
	fresh_state(&regs, &ev);
	ck_assert(emulate_apply(&d, &regs, &ev));
	ck_assert_uint_eq(regs.rip, 0xffffffff81000100ull); /* fpu__drop()'s fixup needs this */
	ck_assert_uint_eq(ev.exception.nr, 16);
	ck_assert_uint_eq(ev.exception.injected, 1);
	ck_assert_uint_eq(ev.exception.has_error_code, 0);
}
END_TEST

START_TEST(each_legacy_prefix_is_counted)
{
	static const uint8_t prefixes[] = {0x66, 0x67, 0xf2, 0xf3, 0x26,
					   0x2e, 0x36, 0x3e, 0x64, 0x65};
	for (size_t i = 0; i < sizeof(prefixes); i++) {
		for (int longm = 0; longm <= 1; longm++) {
			uint8_t b[3] = {prefixes[i], 0xcc};
			assert_bp(emulate_decide(b, 2, longm, 0, 0), 2);
			uint8_t u[3] = {prefixes[i], 0x0f, 0x0b};
			assert_fault(emulate_decide(u, 3, longm, 0, 0), EMUL_INSN_UD2, 6, 3);
			uint8_t w[2] = {prefixes[i], 0x9b};
			struct emul_decision d = emulate_decide(w, 2, longm, 0, 0);
			ck_assert_int_eq(d.action, EMUL_SKIP);
			ck_assert_uint_eq(d.insn_len, 2);
			uint8_t t[3] = {prefixes[i], 0xcd, 0x03};
			assert_bp(emulate_decide(t, 3, longm, 0, 0), 3);
		}
	}
}
END_TEST

START_TEST(rex_is_a_prefix_only_in_long_mode)
{
	for (unsigned rex = 0x40; rex <= 0x4f; rex++) {
		uint8_t b[2] = {(uint8_t)rex, 0xcc};
		assert_bp(emulate_decide(b, 2, true, 0, 0), 2);
		/* In 32-bit code 0x40-0x4f is inc/dec: a different instruction. */
		assert_unhandled(emulate_decide(b, 2, false, 0, 0));
	}
	static const uint8_t mixed[] = {0x66, 0xf3, 0x2e, 0x48, 0x0f, 0x0b};
	assert_fault(decide(mixed, sizeof(mixed)), EMUL_INSN_UD2, 6, 6);
	/* REX followed by a legacy prefix: REX is ignored, the instruction is still valid. */
	static const uint8_t rex_then_legacy[] = {0x48, 0x66, 0xcc};
	assert_bp(decide(rex_then_legacy, 3), 3);
}
END_TEST

START_TEST(lock_prefix_raises_ud)
{
	static const uint8_t lock_int3[] = {0xf0, 0xcc};
	static const uint8_t lock_ud2[] = {0xf0, 0x0f, 0x0b};
	static const uint8_t lock_fwait[] = {0xf0, 0x9b};
	static const uint8_t lock_int_3[] = {0xf0, 0xcd, 0x03};
	static const uint8_t prefixed_lock[] = {0x66, 0x48, 0xf0, 0xcc};
	assert_fault(decide(lock_int3, 2), EMUL_INSN_LOCK_UD, 6, 2);
	assert_fault(decide(lock_ud2, 3), EMUL_INSN_LOCK_UD, 6, 3);
	assert_fault(emulate_decide(lock_fwait, 2, true, 0, FSW_ES), EMUL_INSN_LOCK_UD, 6, 2);
	assert_fault(decide(lock_int_3, 3), EMUL_INSN_LOCK_UD, 6, 3);
	assert_fault(decide(prefixed_lock, 4), EMUL_INSN_LOCK_UD, 6, 4);

	struct emul_decision d = decide(lock_int3, 2);
	struct kvm_regs regs;
	struct kvm_vcpu_events ev;
	fresh_state(&regs, &ev);
	ck_assert(emulate_apply(&d, &regs, &ev));
	ck_assert_uint_eq(regs.rip, 0xffffffff81000100ull);
	ck_assert_uint_eq(ev.exception.nr, 6);

	/* lock on an instruction we do not know stays unknown. */
	static const uint8_t lock_nop[] = {0xf0, 0x90};
	assert_unhandled(decide(lock_nop, 2));
}
END_TEST

START_TEST(truncated_input_is_unhandled)
{
	static const uint8_t b[15] = {0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
				      0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66};
	assert_unhandled(decide(b, 0));
	assert_unhandled(decide(NULL, 0));
	assert_unhandled(decide(NULL, 15));
	assert_unhandled(decide(b, 1));	 /* a prefix only */
	assert_unhandled(decide(b, 14)); /* fourteen prefixes, opcode not fetched */
	static const uint8_t rex_only[] = {0x48};
	assert_unhandled(decide(rex_only, 1));
	static const uint8_t lock_only[] = {0xf0};
	assert_unhandled(decide(lock_only, 1));
}
END_TEST

START_TEST(over_long_instructions_raise_gp0)
{
	uint8_t b[20];
	memset(b, 0x66, sizeof(b));
	struct emul_decision d = decide(b, 15);
	assert_fault(d, EMUL_INSN_TOO_LONG, 13, 15);
	ck_assert(d.has_error_code);
	ck_assert_uint_eq(d.error_code, 0);
	/* A longer n is clamped to what KVM can report: the same decision. */
	d = decide(b, sizeof(b));
	assert_fault(d, EMUL_INSN_TOO_LONG, 13, 15);

	/* 14 prefixes + two-byte opcode = 16 bytes. */
	b[14] = 0x0f;
	assert_fault(decide(b, 15), EMUL_INSN_TOO_LONG, 13, 15);
	/* 14 prefixes + int3 = 15 bytes: legal. */
	b[14] = 0xcc;
	assert_bp(decide(b, 15), 15);
	/* 13 prefixes + ud2 = 15 bytes: legal. */
	b[13] = 0x0f;
	b[14] = 0x0b;
	assert_fault(decide(b, 15), EMUL_INSN_UD2, 6, 15);
	/* 14 prefixes + an unknown one-byte opcode: unknown, not #GP. */
	b[13] = 0x66;
	b[14] = 0x90;
	assert_unhandled(decide(b, 15));

	struct kvm_regs regs;
	struct kvm_vcpu_events ev;
	fresh_state(&regs, &ev);
	d = decide((const uint8_t[15]){[0 ... 14] = 0xf3}, 15);
	ck_assert(emulate_apply(&d, &regs, &ev));
	ck_assert_uint_eq(regs.rip, 0xffffffff81000100ull);
	ck_assert_uint_eq(ev.exception.nr, 13);
	ck_assert_uint_eq(ev.exception.has_error_code, 1);
	ck_assert_uint_eq(ev.exception.error_code, 0);
}
END_TEST

static void assert_unknown_leaves_state_alone(const uint8_t *b, size_t n)
{
	struct emul_decision d = decide(b, n);
	assert_unhandled(d);
	struct kvm_regs regs, regs0;
	struct kvm_vcpu_events ev, ev0;
	fresh_state(&regs, &ev);
	regs0 = regs;
	ev0 = ev;
	ck_assert(!emulate_apply(&d, &regs, &ev));
	ck_assert_int_eq(memcmp(&regs, &regs0, sizeof(regs)), 0);
	ck_assert_int_eq(memcmp(&ev, &ev0, sizeof(ev)), 0);
}

START_TEST(unknown_instructions_are_unhandled)
{
	static const struct {
		uint8_t b[8];
		size_t n;
	} cases[] = {
	    {{0x0f, 0xae, 0x20}, 3},		 /* xsave [rax] */
	    {{0x48, 0x0f, 0xae, 0x28}, 4},	 /* xrstor64 [rax] */
	    {{0xf0, 0x48, 0x0f, 0xc7, 0x0e}, 5}, /* lock cmpxchg16b [rsi] */
	    {{0xf3, 0x0f, 0xb8, 0xc0}, 4},	 /* popcnt eax, eax */
	    {{0x0f, 0x01, 0xca}, 3},		 /* clac */
	    {{0x0f, 0x01, 0xcb}, 3},		 /* stac */
	    {{0x0f, 0x01, 0xf9}, 3},		 /* rdtscp */
	    {{0xc5, 0xf8, 0x77}, 3},		 /* vzeroupper (VEX) */
	    {{0x90}, 1},			 /* nop */
	    {{0xf4}, 1},			 /* hlt */
	    {{0xce}, 1},			 /* into */
	    {{0xf1}, 1},			 /* int1/icebp */
	    {{0x0f, 0x0a}, 2},			 /* 0f 0a: undefined */
	    {{0x66, 0x0f, 0x38, 0xf1, 0xc1}, 5}, /* crc32 */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_unknown_leaves_state_alone(cases[i].b, cases[i].n);
}
END_TEST

START_TEST(cpl_does_not_change_the_decision)
{
	static const uint8_t b[] = {0x66, 0xcc};
	struct emul_decision d0 = emulate_decide(b, 2, true, 0, 0);
	struct emul_decision d3 = emulate_decide(b, 2, true, 3, 0);
	ck_assert_int_eq(d0.action, d3.action);
	ck_assert_uint_eq(d0.vector, d3.vector);
	ck_assert_uint_eq(d0.insn_len, d3.insn_len);
	ck_assert_int_eq(d0.rip_advance, d3.rip_advance);
}
END_TEST

START_TEST(rip_wraps_outside_long_mode)
{
	static const uint8_t b[] = {0xcc};
	struct kvm_regs regs;
	struct kvm_vcpu_events ev;

	struct emul_decision d = emulate_decide(b, 1, false, 0, 0);
	fresh_state(&regs, &ev);
	regs.rip = 0xffffffffull;
	ck_assert(emulate_apply(&d, &regs, &ev));
	ck_assert_uint_eq(regs.rip, 0);

	d = emulate_decide(b, 1, true, 0, 0);
	fresh_state(&regs, &ev);
	regs.rip = 0xffffffffull;
	ck_assert(emulate_apply(&d, &regs, &ev));
	ck_assert_uint_eq(regs.rip, 0x100000000ull);
}
END_TEST

START_TEST(apply_refuses_when_an_event_is_in_flight)
{
	static const uint8_t b[] = {0x0f, 0x0b};
	struct emul_decision d = decide(b, 2);
	for (int which = 0; which < 4; which++) {
		struct kvm_regs regs, regs0;
		struct kvm_vcpu_events ev, ev0;
		fresh_state(&regs, &ev);
		switch (which) {
		case 0:
			ev.exception.injected = 1;
			ev.exception.nr = 14;
			break;
		case 1:
			ev.exception.pending = 1;
			break;
		case 2:
			ev.interrupt.injected = 1;
			ev.interrupt.nr = 0x30;
			break;
		case 3:
			ev.nmi.injected = 1;
			break;
		}
		regs0 = regs;
		ev0 = ev;
		ck_assert_msg(!emulate_apply(&d, &regs, &ev), "case %d", which);
		ck_assert_int_eq(memcmp(&regs, &regs0, sizeof(regs)), 0);
		ck_assert_int_eq(memcmp(&ev, &ev0, sizeof(ev)), 0);
	}
}
END_TEST

START_TEST(apply_refuses_skip_under_single_step)
{
	static const uint8_t w[] = {0x9b};
	static const uint8_t bp[] = {0xcc};
	struct kvm_regs regs, regs0;
	struct kvm_vcpu_events ev, ev0;

	struct emul_decision d = decide(w, 1);
	fresh_state(&regs, &ev);
	regs.rflags |= X86_EFLAGS_TF;
	regs0 = regs;
	ev0 = ev;
	ck_assert(!emulate_apply(&d, &regs, &ev));
	ck_assert_int_eq(memcmp(&regs, &regs0, sizeof(regs)), 0);
	ck_assert_int_eq(memcmp(&ev, &ev0, sizeof(ev)), 0);

	/* An exception under TF is fine: delivery clears TF, no single-step trap is owed. */
	d = decide(bp, 1);
	ck_assert(emulate_apply(&d, &regs, &ev));
	ck_assert_uint_eq(ev.exception.nr, 3);
}
END_TEST

START_TEST(apply_drops_flags_owned_by_other_vcpus)
{
	static const uint8_t b[] = {0xcc};
	struct emul_decision d = decide(b, 1);
	struct kvm_regs regs;
	struct kvm_vcpu_events ev;

	fresh_state(&regs, &ev);
	ev.flags |= KVM_VCPUEVENT_VALID_SIPI_VECTOR | KVM_VCPUEVENT_VALID_PAYLOAD |
		    KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
	ev.exception_has_payload = 1;
	ev.exception_payload = 0xdead;
	ck_assert(emulate_apply(&d, &regs, &ev));
	ck_assert_uint_eq(ev.flags, KVM_VCPUEVENT_VALID_SHADOW);
	ck_assert_uint_eq(ev.exception_has_payload, 0);
	ck_assert_uint_eq(ev.exception_payload, 0);
	ck_assert_uint_eq(ev.nmi.pending, 1); /* left as read; not transferred without the flag */

	fresh_state(&regs, &ev);
	ev.flags = 0; /* caller that zeroed the struct instead of KVM_GET_VCPU_EVENTS */
	ck_assert(emulate_apply(&d, &regs, &ev));
	ck_assert_uint_eq(ev.flags, 0);
}
END_TEST

START_TEST(apply_rejects_forged_decisions)
{
	static const uint8_t b[] = {0xcc};
	struct emul_decision good = decide(b, 1), d;
	struct kvm_regs regs, regs0;
	struct kvm_vcpu_events ev, ev0;

	fresh_state(&regs, &ev);
	regs0 = regs;
	ev0 = ev;
	d = good;
	d.vector = 32; /* KVM rejects > 31: fail before touching state */
	ck_assert(!emulate_apply(&d, &regs, &ev));
	d = good;
	d.insn_len = 0;
	ck_assert(!emulate_apply(&d, &regs, &ev));
	d = good;
	d.insn_len = 16;
	ck_assert(!emulate_apply(&d, &regs, &ev));
	d = good;
	d.action = (enum emul_action)7;
	ck_assert(!emulate_apply(&d, &regs, &ev));
	ck_assert(!emulate_apply(NULL, &regs, &ev));
	ck_assert(!emulate_apply(&good, NULL, &ev));
	ck_assert(!emulate_apply(&good, &regs, NULL));
	ck_assert_int_eq(memcmp(&regs, &regs0, sizeof(regs)), 0);
	ck_assert_int_eq(memcmp(&ev, &ev0, sizeof(ev)), 0);
}
END_TEST

START_TEST(flood_guard_trips_after_1000_at_one_rip)
{
	struct emul_stats s;
	uint64_t t0 = 5000000000ull;

	emul_stats_init(&s);
	for (unsigned i = 0; i < EMUL_FLOOD_MAX_PER_RIP; i++)
		ck_assert_msg(emul_stats_record(&s, EMUL_INSN_UD2, 0x1000, t0 + i * 1000), "i=%u",
			      i);
	ck_assert(!emul_stats_record(&s, EMUL_INSN_UD2, 0x1000, t0 + 999999999ull));
	ck_assert(
	    !emul_stats_record(&s, EMUL_INSN_UD2, 0x1000, t0 + 999999999ull)); /* stays tripped */
	ck_assert_uint_eq(s.completed[EMUL_INSN_UD2], 1002);

	/* A new window opens after the interval. */
	ck_assert(emul_stats_record(&s, EMUL_INSN_UD2, 0x1000, t0 + EMUL_FLOOD_WINDOW_NS));
	ck_assert_uint_eq(s.flood_count, 1);
}
END_TEST

START_TEST(flood_guard_resets_on_another_rip_or_clock_step_back)
{
	struct emul_stats s;
	emul_stats_init(&s);
	for (unsigned i = 0; i < EMUL_FLOOD_MAX_PER_RIP; i++)
		ck_assert(emul_stats_record(&s, EMUL_INSN_INT3, 0x2000, 100));
	ck_assert(emul_stats_record(&s, EMUL_INSN_INT3, 0x2001, 100));
	ck_assert(emul_stats_record(&s, EMUL_INSN_INT3, 0x2000, 100));
	ck_assert_uint_eq(s.flood_count, 1);
	for (unsigned i = 1; i < EMUL_FLOOD_MAX_PER_RIP; i++)
		ck_assert(emul_stats_record(&s, EMUL_INSN_INT3, 0x2000, 100));
	/* A clock that went backwards opens a new window instead of tripping. */
	ck_assert(emul_stats_record(&s, EMUL_INSN_INT3, 0x2000, 50));
	/* Hostile insn values are not counted out of bounds. */
	ck_assert(emul_stats_record(&s, (enum emul_insn)1000, 0x3000, 50));
	ck_assert(emul_stats_record(&s, (enum emul_insn) - 1, 0x4000, 50));
}
END_TEST

START_TEST(stats_format)
{
	struct emul_stats s;
	char buf[64], small[8];

	emul_stats_init(&s);
	ck_assert_int_eq(emul_stats_format(&s, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	emul_stats_record(&s, EMUL_INSN_INT3, 1, 1);
	emul_stats_record(&s, EMUL_INSN_INT3, 2, 1);
	emul_stats_record(&s, EMUL_INSN_UD2, 3, 1);
	emul_stats_record(&s, EMUL_INSN_FWAIT, 4, 1);
	int n = emul_stats_format(&s, buf, sizeof(buf));
	ck_assert_str_eq(buf, "int3=2 ud2=1 fwait=1");
	ck_assert_int_eq(n, (int)strlen("int3=2 ud2=1 fwait=1"));
	ck_assert_int_eq(emul_stats_format(&s, small, sizeof(small)), n);
	ck_assert_str_eq(small, "int3=2 ");
	ck_assert_str_eq(emul_insn_name(EMUL_INSN_LOCK_UD), "lock(#UD)");
	ck_assert_str_eq(emul_insn_name(EMUL_INSN_COUNT), "unknown");
	ck_assert_str_eq(emul_insn_name((enum emul_insn) - 5), "unknown");
}
END_TEST

/* ---- ldmxcsr / stmxcsr -------------------------------------------------- */

static struct kvm_sregs flat_sregs(void)
{
	struct kvm_sregs sr;

	memset(&sr, 0, sizeof(sr));
	sr.cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_MP | X86_CR0_NE;
	sr.cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	sr.fs.base = 0x7f0000000000ull;
	sr.gs.base = 0xffff888000000000ull;
	sr.ds.base = 0x10000; /* ignored in 64-bit mode */
	return sr;
}

static void assert_mxcsr(struct emul_decision d, enum emul_insn insn, unsigned len, int base,
			 int index, unsigned scale, int32_t disp)
{
	ck_assert_int_eq(d.action, EMUL_MXCSR);
	ck_assert_int_eq(d.insn, insn);
	ck_assert_uint_eq(d.insn_len, len);
	ck_assert(d.rip_advance);
	ck_assert_int_eq(d.mem.base, base);
	ck_assert_int_eq(d.mem.index, index);
	ck_assert_uint_eq(d.mem.scale, scale);
	ck_assert_int_eq(d.mem.disp, disp);
	ck_assert_str_eq(d.mnemonic, insn == EMUL_INSN_LDMXCSR ? "ldmxcsr" : "stmxcsr");
}

/* What Linux's kernel_fpu_begin_mask() compiles to, as seen stopping a boot on PVM. */
START_TEST(ldmxcsr_stack_operand)
{
	static const uint8_t b[15] = {0x0f, 0xae, 0x54, 0x24, 0x04, 0x48, 0x8b};
	struct emul_decision d = decide(b, 15);
	struct kvm_regs regs;
	struct kvm_sregs sr = flat_sregs();
	struct kvm_vcpu_events ev;

	assert_mxcsr(d, EMUL_INSN_LDMXCSR, 5, 4, EMUL_REG_NONE, 1, 4);
	fresh_state(&regs, &ev);
	regs.rsp = 0xffffc90000013e80ull;
	ck_assert_uint_eq(emulate_mem_address(&d, &regs, &sr), 0xffffc90000013e84ull);
	ck_assert(!emulate_mxcsr_fault(&d, sr.cr0, sr.cr4));
	ck_assert(!emulate_ldmxcsr_value_fault(&d, 0x1f80));
	/* Not applicable until the access is done. */
	ck_assert(!emulate_apply(&d, &regs, &ev));
	emulate_mxcsr_done(&d);
	ck_assert(emulate_apply(&d, &regs, &ev));
	ck_assert_uint_eq(regs.rip, 0xffffffff81000105ull);
	ck_assert_uint_eq(regs.rflags & X86_EFLAGS_RF, 0);
	ck_assert_uint_eq(ev.exception.injected, 0);
}
END_TEST

START_TEST(stmxcsr_operand_forms)
{
	struct kvm_regs regs;
	struct kvm_vcpu_events ev;
	struct kvm_sregs sr = flat_sregs();
	struct emul_decision d;

	fresh_state(&regs, &ev);
	regs.rbp = 0x1000;
	regs.rax = 0x2000;
	regs.r12 = 0x30;

	/* stmxcsr [rbp-8]: disp8 sign-extended */
	static const uint8_t rbp[] = {0x0f, 0xae, 0x5d, 0xf8};
	d = decide(rbp, sizeof(rbp));
	assert_mxcsr(d, EMUL_INSN_STMXCSR, 4, 5, EMUL_REG_NONE, 1, -8);
	ck_assert_uint_eq(emulate_mem_address(&d, &regs, &sr), 0xff8);

	/* stmxcsr [rip+0x10]: from the end of the instruction */
	static const uint8_t riprel[] = {0x0f, 0xae, 0x1d, 0x10, 0x00, 0x00, 0x00};
	d = decide(riprel, sizeof(riprel));
	assert_mxcsr(d, EMUL_INSN_STMXCSR, 7, EMUL_REG_RIP, EMUL_REG_NONE, 1, 0x10);
	ck_assert_uint_eq(emulate_mem_address(&d, &regs, &sr), regs.rip + 7 + 0x10);

	/* ldmxcsr [r12]: REX.B, and r12's base encoding needs a SIB byte */
	static const uint8_t r12[] = {0x41, 0x0f, 0xae, 0x14, 0x24};
	d = decide(r12, sizeof(r12));
	assert_mxcsr(d, EMUL_INSN_LDMXCSR, 5, 12, EMUL_REG_NONE, 1, 0);
	ck_assert_uint_eq(emulate_mem_address(&d, &regs, &sr), 0x30);

	/* ldmxcsr [rax+r12*4+0x100]: REX.X makes index 100b r12, not "none" */
	static const uint8_t sib[] = {0x42, 0x0f, 0xae, 0x94, 0xa0, 0x00, 0x01, 0x00, 0x00};
	d = decide(sib, sizeof(sib));
	assert_mxcsr(d, EMUL_INSN_LDMXCSR, 9, 0, 12, 4, 0x100);
	ck_assert_uint_eq(emulate_mem_address(&d, &regs, &sr), 0x2000 + 0x30 * 4 + 0x100);

	/* stmxcsr gs:[0x1000]: SIB without base or index; GS has a base in 64-bit mode */
	static const uint8_t gs[] = {0x65, 0x0f, 0xae, 0x1c, 0x25, 0x00, 0x10, 0x00, 0x00};
	d = decide(gs, sizeof(gs));
	assert_mxcsr(d, EMUL_INSN_STMXCSR, 9, EMUL_REG_NONE, EMUL_REG_NONE, 1, 0x1000);
	ck_assert_int_eq(d.mem.seg, EMUL_SEG_GS);
	ck_assert_uint_eq(emulate_mem_address(&d, &regs, &sr), sr.gs.base + 0x1000);

	/* ds: override in 64-bit mode: flat */
	static const uint8_t ds[] = {0x3e, 0x0f, 0xae, 0x18};
	d = decide(ds, sizeof(ds));
	assert_mxcsr(d, EMUL_INSN_STMXCSR, 4, 0, EMUL_REG_NONE, 1, 0);
	ck_assert_uint_eq(emulate_mem_address(&d, &regs, &sr), 0x2000);

	/* 0x67: 32-bit address arithmetic wraps */
	static const uint8_t a32[] = {0x67, 0x0f, 0xae, 0x10};
	regs.rax = 0x100001000ull;
	d = decide(a32, sizeof(a32));
	assert_mxcsr(d, EMUL_INSN_LDMXCSR, 4, 0, EMUL_REG_NONE, 1, 0);
	ck_assert_uint_eq(emulate_mem_address(&d, &regs, &sr), 0x1000);
}
END_TEST

START_TEST(mxcsr_outside_long_mode)
{
	/* 32-bit protected mode: mod 00 rm 101 is an absolute disp32, plus DS's base. */
	static const uint8_t b[] = {0x0f, 0xae, 0x15, 0x00, 0x20, 0x00, 0x00};
	static const uint8_t rex[] = {0x41, 0x0f, 0xae, 0x14, 0x24};
	static const uint8_t a16[] = {0x67, 0x0f, 0xae, 0x17};
	struct emul_decision d = emulate_decide(b, sizeof(b), false, 0, 0);
	struct kvm_regs regs;
	struct kvm_vcpu_events ev;
	struct kvm_sregs sr = flat_sregs();

	fresh_state(&regs, &ev);
	assert_mxcsr(d, EMUL_INSN_LDMXCSR, 7, EMUL_REG_NONE, EMUL_REG_NONE, 1, 0x2000);
	ck_assert_uint_eq(emulate_mem_address(&d, &regs, &sr), 0x12000);
	/* A REX byte is inc/dec there, not a prefix. */
	assert_unhandled(emulate_decide(rex, sizeof(rex), false, 0, 0));
	/* 16-bit addressing is refused. */
	assert_unhandled(emulate_decide(a16, sizeof(a16), false, 0, 0));
}
END_TEST

START_TEST(mxcsr_faults_the_cpu_would_raise)
{
	static const uint8_t ld[] = {0x0f, 0xae, 0x10};
	static const uint8_t reg[] = {0x0f, 0xae, 0xd0};
	static const uint8_t lock[] = {0xf0, 0x0f, 0xae, 0x10};
	struct kvm_sregs sr = flat_sregs();
	struct emul_decision d;

	/* Register operand, or lock: #UD, a fault at the instruction. */
	assert_fault(decide(reg, sizeof(reg)), EMUL_INSN_MXCSR_UD, 6, 3);
	assert_fault(decide(lock, sizeof(lock)), EMUL_INSN_LOCK_UD, 6, 4);
	/* SSE not enabled by the OS: #UD; CR0.EM: #UD; CR0.TS: #NM. */
	d = decide(ld, sizeof(ld));
	ck_assert(emulate_mxcsr_fault(&d, sr.cr0, sr.cr4 & ~(uint64_t)X86_CR4_OSFXSR));
	assert_fault(d, EMUL_INSN_MXCSR_UD, 6, 3);
	d = decide(ld, sizeof(ld));
	ck_assert(emulate_mxcsr_fault(&d, sr.cr0 | X86_CR0_EM, sr.cr4));
	assert_fault(d, EMUL_INSN_MXCSR_UD, 6, 3);
	d = decide(ld, sizeof(ld));
	ck_assert(emulate_mxcsr_fault(&d, sr.cr0 | X86_CR0_TS, sr.cr4));
	assert_fault(d, EMUL_INSN_MXCSR_NM, 7, 3);
	/* Reserved MXCSR bits: #GP(0). */
	d = decide(ld, sizeof(ld));
	ck_assert(!emulate_mxcsr_fault(&d, sr.cr0, sr.cr4));
	ck_assert(!emulate_ldmxcsr_value_fault(&d, 0xffff));
	ck_assert(emulate_ldmxcsr_value_fault(&d, 0x10000));
	assert_fault(d, EMUL_INSN_MXCSR_GP, 13, 3);
	ck_assert(d.has_error_code);
	ck_assert_uint_eq(d.error_code, 0);
}
END_TEST

/* What the page walk found becomes the exception, at the instruction (a fault). */
START_TEST(mxcsr_access_faults)
{
	static const uint8_t st_rax[] = {0x0f, 0xae, 0x18};		/* stmxcsr [rax] */
	static const uint8_t ld_rsp[] = {0x0f, 0xae, 0x14, 0x24};	/* ldmxcsr [rsp] */
	static const uint8_t st_r13[] = {0x41, 0x0f, 0xae, 0x5d, 0x00}; /* stmxcsr [r13+0] */
	struct emul_decision d;

	d = decide(st_rax, sizeof(st_rax));
	emulate_mxcsr_page_fault(&d, 0x3, 0x401000);
	assert_fault(d, EMUL_INSN_MXCSR_PF, 14, 3);
	ck_assert(d.has_error_code);
	ck_assert_uint_eq(d.error_code, 0x3);
	ck_assert(d.sets_cr2);
	ck_assert_uint_eq(d.cr2, 0x401000);
	ck_assert_str_eq(d.mnemonic, "mxcsr(#PF)");
	/* Non-canonical: #GP(0), or #SS(0) when the operand is on the stack segment. */
	emulate_mxcsr_noncanonical(&d);
	ck_assert_uint_eq(d.vector, 13);
	ck_assert(!d.sets_cr2);
	d = decide(st_rax, sizeof(st_rax));
	emulate_mxcsr_noncanonical(&d);
	assert_fault(d, EMUL_INSN_MXCSR_NONCANONICAL, 13, 3);
	ck_assert_uint_eq(d.error_code, 0);
	d = decide(ld_rsp, sizeof(ld_rsp));
	emulate_mxcsr_noncanonical(&d);
	assert_fault(d, EMUL_INSN_MXCSR_NONCANONICAL, 12, 4);
	d = decide(st_r13, sizeof(st_r13)); /* r13 is not rbp: DS */
	emulate_mxcsr_noncanonical(&d);
	ck_assert_uint_eq(d.vector, 13);
}
END_TEST

START_TEST(mxcsr_lookalikes_and_truncation_are_unhandled)
{
	static const uint8_t fxsave[] = {0x0f, 0xae, 0x00};	   /* /0 */
	static const uint8_t xrstor[] = {0x48, 0x0f, 0xae, 0x2f};  /* /5 */
	static const uint8_t lfence[] = {0x0f, 0xae, 0xe8};	   /* /5, mod 3 */
	static const uint8_t opsize[] = {0x66, 0x0f, 0xae, 0x10};  /* 66: another instruction */
	static const uint8_t rep[] = {0xf3, 0x0f, 0xae, 0x10};	   /* F3: another instruction */
	static const uint8_t no_disp[] = {0x0f, 0xae, 0x54, 0x24}; /* disp8 missing */
	static const uint8_t no_sib[] = {0x0f, 0xae, 0x14};	   /* SIB missing */
	static const uint8_t no_modrm[] = {0x0f, 0xae};
	/* A REX cancelled by a later legacy prefix: this is [rsp], not [r12]. */
	static const uint8_t rex_then_ds[] = {0x41, 0x3e, 0x0f, 0xae, 0x14, 0x24};
	/* Ten prefixes + 0f ae 94 a0 + disp32: 19 bytes, over the limit: #GP(0). */
	static const uint8_t too_long[15] = {0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e,
					     0x3e, 0x3e, 0x0f, 0xae, 0x94, 0xa0, 0x00};
	struct emul_decision d;

	assert_unhandled(decide(fxsave, sizeof(fxsave)));
	assert_unhandled(decide(xrstor, sizeof(xrstor)));
	assert_unhandled(decide(lfence, sizeof(lfence)));
	assert_unhandled(decide(opsize, sizeof(opsize)));
	assert_unhandled(decide(rep, sizeof(rep)));
	assert_unhandled(decide(no_disp, sizeof(no_disp)));
	assert_unhandled(decide(no_sib, sizeof(no_sib)));
	assert_unhandled(decide(no_modrm, sizeof(no_modrm)));
	d = decide(rex_then_ds, sizeof(rex_then_ds));
	assert_mxcsr(d, EMUL_INSN_LDMXCSR, 6, 4, EMUL_REG_NONE, 1, 0);
	d = decide(too_long, sizeof(too_long));
	ck_assert_int_eq(d.action, EMUL_INJECT_EXCEPTION);
	ck_assert_uint_eq(d.vector, 13);
}
END_TEST

Suite *emulate_suite(void)
{
	Suite *s = suite_create("emulate");
	TCase *tc = tcase_create("decide");
	tcase_add_test(tc, int3_is_a_bp_trap);
	tcase_add_test(tc, int_imm8_3_is_a_two_byte_bp);
	tcase_add_test(tc, ud2_is_a_ud_fault_without_rip_advance);
	tcase_add_test(tc, fwait_without_pending_exception_is_skipped);
	tcase_add_test(tc, fwait_with_pending_exception_raises_mf);
	tcase_add_test(tc, each_legacy_prefix_is_counted);
	tcase_add_test(tc, rex_is_a_prefix_only_in_long_mode);
	tcase_add_test(tc, lock_prefix_raises_ud);
	tcase_add_test(tc, truncated_input_is_unhandled);
	tcase_add_test(tc, over_long_instructions_raise_gp0);
	tcase_add_test(tc, unknown_instructions_are_unhandled);
	tcase_add_test(tc, cpl_does_not_change_the_decision);
	suite_add_tcase(s, tc);
	tc = tcase_create("mxcsr");
	tcase_add_test(tc, ldmxcsr_stack_operand);
	tcase_add_test(tc, stmxcsr_operand_forms);
	tcase_add_test(tc, mxcsr_outside_long_mode);
	tcase_add_test(tc, mxcsr_faults_the_cpu_would_raise);
	tcase_add_test(tc, mxcsr_access_faults);
	tcase_add_test(tc, mxcsr_lookalikes_and_truncation_are_unhandled);
	suite_add_tcase(s, tc);
	tc = tcase_create("apply");
	tcase_add_test(tc, rip_wraps_outside_long_mode);
	tcase_add_test(tc, apply_refuses_when_an_event_is_in_flight);
	tcase_add_test(tc, apply_refuses_skip_under_single_step);
	tcase_add_test(tc, apply_drops_flags_owned_by_other_vcpus);
	tcase_add_test(tc, apply_rejects_forged_decisions);
	suite_add_tcase(s, tc);
	tc = tcase_create("stats");
	tcase_add_test(tc, flood_guard_trips_after_1000_at_one_rip);
	tcase_add_test(tc, flood_guard_resets_on_another_rip_or_clock_step_back);
	tcase_add_test(tc, stats_format);
	suite_add_tcase(s, tc);
	return s;
}
