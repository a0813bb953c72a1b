/* SPDX-License-Identifier: MIT */
/*
 * vCPU setup and the KVM_RUN loop.  A vCPU thread handles PIO/MMIO exits by
 * dispatching to the buses and turns every other exit into either "keep
 * running" or a reason for the run to end; it never blocks on backend I/O.
 */
#include "vmm/vcpu.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot/x86_entry.h"
#include "vmm/pagewalk.h"
#include "vmm/vm.h"

/* MSR numbers (Intel SDM vol. 4). */
#define MSR_IA32_TSC		0x10
#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MSR_STAR		0xc0000081
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MISC_ENABLE_FAST_STRING 1ull
#define MTRR_ENABLE_WRITEBACK	((1ull << 11) | 6) /* MTRRs on, default type WB */

/* CPUID bits we adjust. */
#define CPUID_1_ECX_HYPERVISOR (1u << 31)

#define LAPIC_LVT_LINT0	 0x350
#define LAPIC_LVT_LINT1	 0x360
#define APIC_MODE_EXTINT 0x7
#define APIC_MODE_NMI	 0x4

int cpuid_get_supported(int kvm_fd, struct kvm_cpuid2 **out, struct vmm_err *err)
{
	for (unsigned nent = 64; nent <= 4096; nent *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = nent;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			*out = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG)
			return vmm_errf(err, -errno, "KVM_GET_SUPPORTED_CPUID failed: %s",
					strerror(errno));
	}
	return vmm_errf(err, -E2BIG, "KVM_GET_SUPPORTED_CPUID: too many entries");
}

void cpuid_apply_vcpu(struct kvm_cpuid2 *cpuid, unsigned vcpu_id, unsigned ncpus)
{
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		switch (e->function) {
		case 1:
			/* EBX[31:24] initial APIC ID, [23:16] logical processors per package. */
			e->ebx = (e->ebx & 0x0000ffffu) | (vcpu_id << 24) |
				 ((ncpus > 255 ? 255u : ncpus) << 16);
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			/* HTT: the package holds more than one logical processor. */
			if (ncpus > 1)
				e->edx |= 1u << 28;
			break;
		case 0xb:
		case 0x1f:
			/* Extended topology: EDX is the x2APIC ID of this CPU. */
			e->edx = vcpu_id;
			break;
		default:
			break;
		}
	}
}

static int set_msrs(struct vcpu *vcpu, struct vmm_err *err)
{
	static const struct {
		uint32_t index;
		uint64_t value;
	} boot_msrs[] = {
	    {MSR_IA32_SYSENTER_CS, 0},
	    {MSR_IA32_SYSENTER_ESP, 0},
	    {MSR_IA32_SYSENTER_EIP, 0},
	    {MSR_STAR, 0},
	    {MSR_LSTAR, 0},
	    {MSR_CSTAR, 0},
	    {MSR_SYSCALL_MASK, 0},
	    {MSR_KERNEL_GS_BASE, 0},
	    {MSR_IA32_TSC, 0},
	    {MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING},
	    {MSR_MTRR_DEF_TYPE, MTRR_ENABLE_WRITEBACK},
	};
	const size_t nboot = sizeof(boot_msrs) / sizeof(boot_msrs[0]);
	struct kvm_msr_list probe = {.nmsrs = 0}, *list = NULL;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entries[sizeof(boot_msrs) / sizeof(boot_msrs[0])];
	} msrs;
	int ret = 0;

	/* Only program MSRs this KVM says it saves and restores. */
	if (ioctl(vcpu->vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return vmm_errf(err, -errno, "KVM_GET_MSR_INDEX_LIST failed: %s", strerror(errno));
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(uint32_t));
	if (!list)
		return -ENOMEM;
	list->nmsrs = probe.nmsrs;
	if (ioctl(vcpu->vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		ret = vmm_errf(err, -errno, "KVM_GET_MSR_INDEX_LIST failed: %s", strerror(errno));
		goto out;
	}
	memset(&msrs, 0, sizeof(msrs));
	for (size_t i = 0; i < nboot; i++) {
		for (uint32_t j = 0; j < list->nmsrs; j++) {
			if (list->indices[j] == boot_msrs[i].index) {
				msrs.entries[msrs.hdr.nmsrs].index = boot_msrs[i].index;
				msrs.entries[msrs.hdr.nmsrs].data = boot_msrs[i].value;
				msrs.hdr.nmsrs++;
				break;
			}
		}
	}
	ret = ioctl(vcpu->fd, KVM_SET_MSRS, &msrs);
	if (ret < 0) {
		ret = vmm_errf(err, -errno, "KVM_SET_MSRS failed: %s", strerror(errno));
	} else if ((uint32_t)ret != msrs.hdr.nmsrs) {
		ret = vmm_errf(err, -EINVAL, "KVM_SET_MSRS: MSR 0x%x was refused",
			       msrs.entries[ret].index);
	} else {
		ret = 0;
	}
out:
	free(list);
	return ret;
}

static void lapic_set_lvt_mode(struct kvm_lapic_state *lapic, unsigned reg, uint32_t mode)
{
	uint32_t v;
	memcpy(&v, &lapic->regs[reg], sizeof(v));
	v = (v & ~0x700u) | (mode << 8);
	memcpy(&lapic->regs[reg], &v, sizeof(v));
}

/* LINT0 as ExtINT (legacy PIC) and LINT1 as NMI, as a PC's firmware leaves them. */
static int setup_lapic(struct vcpu *vcpu, struct vmm_err *err)
{
	struct kvm_lapic_state lapic;

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0)
		return vmm_errf(err, -errno, "KVM_GET_LAPIC failed: %s", strerror(errno));
	lapic_set_lvt_mode(&lapic, LAPIC_LVT_LINT0, APIC_MODE_EXTINT);
	lapic_set_lvt_mode(&lapic, LAPIC_LVT_LINT1, APIC_MODE_NMI);
	if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0)
		return vmm_errf(err, -errno, "KVM_SET_LAPIC failed: %s", strerror(errno));
	return 0;
}

int vcpu_create(struct vm *vm, unsigned id, const struct kvm_cpuid2 *supported, struct vcpu **out,
		struct vmm_err *err)
{
	size_t cpuid_size = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
	struct kvm_cpuid2 *cpuid = NULL;
	struct vcpu *vcpu;
	int ret;

	vcpu = calloc(1, sizeof(*vcpu));
	if (!vcpu)
		return -ENOMEM;
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->run = MAP_FAILED;
	emul_stats_init(&vcpu->emul_stats);
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0) {
		ret = vmm_errf(err, -errno, "KVM_CREATE_VCPU %u failed: %s", id, strerror(errno));
		goto fail;
	}
	vcpu->run = mmap(NULL, vm->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		ret =
		    vmm_errf(err, -errno, "cannot map vCPU %u's kvm_run: %s", id, strerror(errno));
		goto fail;
	}
	cpuid = malloc(cpuid_size);
	if (!cpuid) {
		ret = -ENOMEM;
		goto fail;
	}
	memcpy(cpuid, supported, cpuid_size);
	cpuid_apply_vcpu(cpuid, id, vm->ncpus);
	for (uint32_t i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 0x80000008)
			vcpu->maxphyaddr = cpuid->entries[i].eax & 0xff;
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid) < 0) {
		ret = vmm_errf(err, -errno, "KVM_SET_CPUID2 failed: %s", strerror(errno));
		goto fail;
	}
	ret = set_msrs(vcpu, err);
	if (ret < 0)
		goto fail;
	if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0) {
		ret = vmm_errf(err, -errno, "KVM_SET_FPU failed: %s", strerror(errno));
		goto fail;
	}
	ret = setup_lapic(vcpu, err);
	if (ret < 0)
		goto fail;
	free(cpuid);
	*out = vcpu;
	return 0;
fail:
	free(cpuid);
	vcpu_destroy(vcpu);
	return ret;
}

int vcpu_set_boot_state(struct vcpu *vcpu, struct vmm_err *err)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	int ret;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return vmm_errf(err, -errno, "KVM_GET_SREGS failed: %s", strerror(errno));
	memset(&regs, 0, sizeof(regs));
	ret = x86_setup_entry(&vcpu->vm->mem, &vcpu->vm->entry, &regs, &sregs);
	if (ret < 0)
		return vmm_errf(err, ret, "cannot write boot page tables/GDT: guest RAM too small");
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return vmm_errf(err, -errno, "KVM_SET_SREGS failed: %s", strerror(errno));
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return vmm_errf(err, -errno, "KVM_SET_REGS failed: %s", strerror(errno));
	return 0;
}

static void handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	/*
	 * String I/O (rep outsb) arrives as `count` back-to-back accesses.
	 * Once one of them has ended the run (exit port, reset, panic), the
	 * rest would only repeat it, and log it, up to a page of times.
	 */
	for (uint32_t i = 0; i < run->io.count; i++) {
		bus_dispatch(&vcpu->vm->pio, run->io.port, data + (size_t)i * run->io.size,
			     run->io.size, is_write);
		if (atomic_load_explicit(&vcpu->vm->exit_claimed, memory_order_relaxed))
			break;
	}
}

static void handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint32_t len = run->mmio.len;

	if (len > sizeof(run->mmio.data))
		len = sizeof(run->mmio.data);
	bus_dispatch(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data, len, run->mmio.is_write);
}

/* The guest cannot go on: say where it stopped and what to try. */
static void report_emulation_failure(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	char bytes[3 * 16 + 1] = "unknown";
	char msg[512];
	unsigned cpl = 0;

	memset(&regs, 0, sizeof(regs));
	ioctl(vcpu->fd, KVM_GET_REGS, &regs);
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) == 0)
		cpl = sregs.cs.selector & 3;
	if (run->emulation_failure.ndata >= 3 &&
	    (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
		unsigned n = run->emulation_failure.insn_size;
		if (n > sizeof(run->emulation_failure.insn_bytes))
			n = sizeof(run->emulation_failure.insn_bytes);
		for (unsigned i = 0; i < n; i++)
			snprintf(bytes + 3 * i, sizeof(bytes) - 3 * i, "%02x%s",
				 run->emulation_failure.insn_bytes[i], i + 1 < n ? " " : "");
	}
	snprintf(msg, sizeof(msg),
		 "vCPU %u: KVM could not emulate the instruction at RIP 0x%llx (CPL %u), bytes "
		 "[%s]; %s",
		 vcpu->id, (unsigned long long)regs.rip, cpl, bytes,
		 vcpu->vm->pvm_host
		     ? "this host's KVM (PVM) emulates guest kernel code and lacks this "
		       "instruction: hide the CPU feature that makes the guest use it, or run "
		       "on hardware KVM"
		     : "the guest executed something KVM cannot emulate (MMIO with an unusual "
		       "instruction?)");
	vm_request_exit(vcpu->vm, MVM_EXIT_GUEST_FAULT, 0, msg);
}

/*
 * The 4-byte access of a completed ldmxcsr/stmxcsr, with the guest's own
 * page protections (vmm/pagewalk.c; KVM_TRANSLATE would call every page
 * writable and walk as CPL0).  A #PF or non-canonical address turns *d into
 * the exception the CPU raises and counts as handled; PW_NOT_RAM (operand or
 * page tables outside RAM) and PW_UNSUPPORTED make the caller give up.
 */
static enum pw_status mxcsr_access(struct vcpu *vcpu, struct emul_decision *d,
				   const struct kvm_regs *regs, const struct kvm_sregs *sregs,
				   uint64_t la, uint32_t *value, bool write)
{
	const struct pw_cpu cpu = {
	    .cr0 = sregs->cr0,
	    .cr3 = sregs->cr3,
	    .cr4 = sregs->cr4,
	    .efer = sregs->efer,
	    .rflags = regs->rflags,
	    .cpl = sregs->cs.selector & 3,
	    .long_mode = d->long_mode,
	    .maxphyaddr = vcpu->maxphyaddr,
	};
	struct pw_fault fault;
	enum pw_status st = pw_copy(&vcpu->vm->mem, &cpu, la, value, sizeof(*value), write, &fault);

	if (st == PW_PAGE_FAULT)
		emulate_mxcsr_page_fault(d, fault.error_code, fault.addr);
	else if (st == PW_NONCANONICAL)
		emulate_mxcsr_noncanonical(d);
	else if (st != PW_OK)
		log_debug(&vcpu->vm->log, "vCPU %u: %s operand at 0x%llx: %s", vcpu->id,
			  emul_insn_name(d->insn), (unsigned long long)la, pw_status_name(st));
	return st;
}

/*
 * ldmxcsr/stmxcsr m32 (emulate.h EMUL_MXCSR): the fault checks, the 4-byte
 * access, and MXCSR itself.  MXCSR goes through KVM_GET/SET_XSAVE(2), the
 * legacy region's bytes 24-27 (SDM vol. 1 13.4.1): the PVM host returns 0
 * for kvm_fpu.mxcsr (seen here), so KVM_GET/SET_FPU cannot be trusted.  On true *d
 * is ready for emulate_apply() (a SKIP, or the fault the CPU would raise).
 */
#define XSAVE_MXCSR_WORD     6	 /* byte 24 of the legacy region */
#define XSAVE_XSTATE_BV_WORD 128 /* byte 512: the XSAVE header's XSTATE_BV, low half */
#define XFEATURE_SSE_BIT     (1u << 1)

static bool complete_mxcsr(struct vcpu *vcpu, struct emul_decision *d, const struct kvm_regs *regs,
			   const struct kvm_sregs *sregs)
{
	int xsave2 = ioctl(vcpu->vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	size_t size =
	    xsave2 > (int)sizeof(struct kvm_xsave) ? (size_t)xsave2 : sizeof(struct kvm_xsave);
	unsigned long get = xsave2 > 0 ? KVM_GET_XSAVE2 : KVM_GET_XSAVE;
	struct kvm_xsave *xs;
	bool ok = false;
	enum pw_status st;
	uint64_t la;
	uint32_t value;

	if (emulate_mxcsr_fault(d, sregs->cr0, sregs->cr4))
		return true;
	xs = calloc(1, size);
	if (!xs || ioctl(vcpu->fd, get, xs) < 0)
		goto out;
	la = emulate_mem_address(d, regs, sregs);
	if (d->insn == EMUL_INSN_LDMXCSR) {
		st = mxcsr_access(vcpu, d, regs, sregs, la, &value, false);
		if (st != PW_OK) {
			ok = st == PW_PAGE_FAULT || st == PW_NONCANONICAL;
			goto out;
		}
		if (emulate_ldmxcsr_value_fault(d, value)) {
			ok = true;
			goto out;
		}
		xs->region[XSAVE_MXCSR_WORD] = value;
		/*
		 * KVM copies MXCSR only when the header's XSTATE_BV has FP, SSE
		 * or YMM (copy_uabi_to_xstate()); a guest that never touched
		 * SSE has them in their init state, and the write would be
		 * dropped.  Marking SSE in use takes the XMM registers from
		 * this buffer, which KVM_GET_XSAVE filled with their values.
		 */
		xs->region[XSAVE_XSTATE_BV_WORD] |= XFEATURE_SSE_BIT;
		if (ioctl(vcpu->fd, KVM_SET_XSAVE, xs) < 0)
			goto out;
	} else {
		value = xs->region[XSAVE_MXCSR_WORD];
		st = mxcsr_access(vcpu, d, regs, sregs, la, &value, true);
		if (st != PW_OK) {
			ok = st == PW_PAGE_FAULT || st == PW_NONCANONICAL;
			goto out;
		}
	}
	emulate_mxcsr_done(d);
	ok = true;
out:
	free(xs);
	return ok;
}

/*
 * KVM's instruction emulator gave up but told us the bytes
 * (KVM_CAP_EXIT_ON_EMULATION_FAILURE).  A few instructions can be completed
 * here (vmm/emulate.c): int3 and ud2 become the exceptions they raise, fwait
 * with no pending x87 exception is a no-op, ldmxcsr/stmxcsr move MXCSR.  Returns true if the guest
 * can go on.
 */
static bool complete_emulation_failure(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_vcpu_events events;
	struct emul_decision d;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	size_t n;

	if (run->emulation_failure.ndata < 3 ||
	    !(run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES))
		return false;
	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &events) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_FPU, &fpu) < 0)
		return false;
	n = run->emulation_failure.insn_size;
	if (n > sizeof(run->emulation_failure.insn_bytes))
		n = sizeof(run->emulation_failure.insn_bytes);
	d = emulate_decide(run->emulation_failure.insn_bytes, n, sregs.cs.l, sregs.cs.selector & 3,
			   fpu.fsw);
	if (d.action == EMUL_UNHANDLED)
		return false;
	/*
	 * Advancing RIP past a software exception and injecting it is only
	 * right where the emulator failed on it (PVM); hardware KVM runs int3
	 * natively and would re-read the instruction.
	 */
	if (d.soft_exception && !vcpu->vm->pvm_host)
		return false;
	if (!emul_stats_record(&vcpu->emul_stats, d.insn, regs.rip, clock_ns())) {
		char msg[160];
		snprintf(msg, sizeof(msg), "vCPU %u: guest looped on %s at RIP 0x%llx", vcpu->id,
			 emul_insn_name(d.insn), (unsigned long long)regs.rip);
		vm_request_exit(vcpu->vm, MVM_EXIT_GUEST_FAULT, 0, msg);
		return true; /* handled: the run is ending */
	}
	if (d.action == EMUL_MXCSR && !complete_mxcsr(vcpu, &d, &regs, &sregs))
		return false;
	if (!emulate_apply(&d, &regs, &events))
		return false;
	/*
	 * A #PF delivers CR2.  KVM_SET_VCPU_EVENTS could carry it as the
	 * exception payload only with KVM_CAP_EXCEPTION_PAYLOAD, which changes
	 * how every pending exception is reported; writing CR2 just before the
	 * injection is the same to the guest, which cannot run in between.
	 */
	if (d.sets_cr2) {
		sregs.cr2 = d.cr2;
		if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
			return false;
	}
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0 ||
	    ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &events) < 0)
		return false;
	return true;
}

/* Returns false when this vCPU should stop running. */
static bool handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vm *vm = vcpu->vm;
	char msg[256];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(vcpu);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_SHUTDOWN:
		/* A triple fault: what PCs do on it is reset. */
		vm_request_exit(vm, MVM_EXIT_REBOOT, 0, "triple fault (KVM_EXIT_SHUTDOWN)");
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vm_request_exit(vm, MVM_EXIT_POWEROFF, 0, NULL);
			break;
		case KVM_SYSTEM_EVENT_RESET:
			vm_request_exit(vm, MVM_EXIT_REBOOT, 0, "reset system event");
			break;
		case KVM_SYSTEM_EVENT_CRASH:
			vm_request_exit(vm, MVM_EXIT_PANIC, 0, "crash system event");
			break;
		default:
			snprintf(msg, sizeof(msg), "vCPU %u: unknown system event %u", vcpu->id,
				 run->system_event.type);
			vm_request_exit(vm, MVM_EXIT_GUEST_FAULT, 0, msg);
		}
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
			if (complete_emulation_failure(vcpu))
				return !atomic_load(&vm->exit_claimed);
			report_emulation_failure(vcpu);
		} else {
			snprintf(msg, sizeof(msg), "vCPU %u: KVM internal error, suberror %u",
				 vcpu->id, run->internal.suberror);
			vm_request_exit(vm, MVM_EXIT_GUEST_FAULT, 0, msg);
		}
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(msg, sizeof(msg),
			 "vCPU %u: VM entry failed, hardware reason 0x%llx (invalid guest state)",
			 vcpu->id,
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vm_request_exit(vm, MVM_EXIT_GUEST_FAULT, 0, msg);
		return false;
	case KVM_EXIT_HLT:
		/* Only seen without an in-kernel LAPIC; ours has one. */
		return true;
	default:
		snprintf(msg, sizeof(msg), "vCPU %u: unexpected KVM exit reason %u", vcpu->id,
			 run->exit_reason);
		vm_request_exit(vm, MVM_EXIT_GUEST_FAULT, 0, msg);
		return false;
	}
}

/* Single writer: a plain add published with a relaxed store, read live elsewhere. */
static void stat_add(_Atomic uint64_t *counter, uint64_t n)
{
	atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/*
 * Pause: out of KVM_RUN (the pauser's kick got us here), counted as parked,
 * until the pause is lifted or the run stops.  The kick left immediate_exit
 * set; it is cleared before the next KVM_RUN, after the wait, when the
 * pauser's kick is long done (it kicks before it waits for us to park).  A
 * later stop sets `stopping` before its own kick, and the loop checks it
 * first.
 */
static void vcpu_park(struct vcpu *vcpu)
{
	struct vm_pause *p = &vcpu->vm->pause;

	pthread_mutex_lock(&p->lock);
	p->parked++;
	pthread_cond_broadcast(&p->cond);
	while (atomic_load(&p->requested) && !atomic_load(&vcpu->vm->stopping))
		pthread_cond_wait(&p->cond, &p->lock);
	p->parked--;
	__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&p->lock);
}

/* A returned vCPU thread counts as parked for every later pause. */
static void vcpu_exited(struct vcpu *vcpu)
{
	struct vm_pause *p = &vcpu->vm->pause;

	pthread_mutex_lock(&p->lock);
	p->exited++;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static void vcpu_loop(struct vcpu *vcpu);

static void *vcpu_thread(void *arg)
{
	vcpu_loop(arg);
	vcpu_exited(arg);
	return NULL;
}

static void vcpu_loop(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	sigset_t set;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&set);
	sigaddset(&set, MVM_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	/* Before the first KVM_RUN: the guest must not run a single exit unconfined. */
	{
		struct vmm_err e = {{0}};

		if (sc_filters_apply(&vm->seccomp, SC_ROLE_VCPU, name, &e) < 0) {
			vm_request_exit(vm, MVM_EXIT_HOST_ERROR, 0, e.msg);
			return;
		}
	}
	while (!atomic_load_explicit(&vm->stopping, memory_order_acquire)) {
		uint64_t entered;
		int r;

		if (atomic_load_explicit(&vm->pause.requested, memory_order_acquire)) {
			vcpu_park(vcpu);
			continue;
		}
		entered = clock_ns();
		r = ioctl(vcpu->fd, KVM_RUN, 0);
		stat_add(&vcpu->stats.run_ns, clock_ns() - entered);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			char msg[128];
			snprintf(msg, sizeof(msg), "vCPU %u: KVM_RUN failed: %s", vcpu->id,
				 strerror(errno));
			vm_request_exit(vm, MVM_EXIT_HOST_ERROR, 0, msg);
			break;
		}
		if (vcpu->run->exit_reason == KVM_EXIT_IO)
			stat_add(&vcpu->stats.exits_io, 1);
		else if (vcpu->run->exit_reason == KVM_EXIT_MMIO)
			stat_add(&vcpu->stats.exits_mmio, 1);
		else
			stat_add(&vcpu->stats.exits_other, 1);
		if (!handle_exit(vcpu))
			break;
	}
}

static void kick_handler(int sig)
{
	(void)sig; /* only here so that the signal interrupts KVM_RUN */
}

int vcpu_start(struct vcpu *vcpu)
{
	struct sigaction sa;
	sigset_t set, old;
	int ret;

	/*
	 * The kick signal's handler is process-wide; installing the same no-op
	 * handler again for every vCPU of every VM is harmless.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(MVM_KICK_SIGNAL, &sa, NULL);

	/* Block the kick signal while spawning; the thread unblocks it itself. */
	sigemptyset(&set);
	sigaddset(&set, MVM_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	ret = -pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret == 0)
		vcpu->thread_started = true;
	return ret;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (!vcpu->thread_started)
		return;
	/*
	 * immediate_exit first: if the thread is between its `stopping` check
	 * and KVM_RUN, KVM_RUN sees the flag and returns -EINTR at once; if it
	 * is inside KVM_RUN, the signal gets it out.
	 */
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(vcpu->thread, MVM_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *vcpu)
{
	if (vcpu->thread_started) {
		pthread_join(vcpu->thread, NULL);
		vcpu->thread_started = false;
	}
}

int vcpu_get_msr(struct vcpu *vcpu, uint32_t index, uint64_t *value)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entry;
	} msrs = {.hdr.nmsrs = 1, .entry.index = index};

	if (ioctl(vcpu->fd, KVM_GET_MSRS, &msrs) != 1)
		return -EIO;
	*value = msrs.entry.data;
	return 0;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (!vcpu)
		return;
	if (vcpu->run != MAP_FAILED && vcpu->run)
		munmap(vcpu->run, vcpu->vm->vcpu_mmap_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	free(vcpu);
}
