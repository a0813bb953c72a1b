/* SPDX-License-Identifier: MIT */
/*
 * kvm_floor: the least a VMM can do, as the floor for bench/startup_floor.py.
 * Creates a VM with 2 MiB of RAM and one vCPU, enters a 6-instruction guest
 * directly in 64-bit mode (identity-mapped 2 MiB page, segment state set
 * through KVM_SET_SREGS, no GDT in memory), copies the bytes it writes to
 * COM1 (port 0x3f8) to stdout, and exits 0 at its hlt.  No CPUID, no
 * irqchip, no devices, no kernel file: what is left is process start, the
 * KVM object creation and the first VM entry.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEM_SIZE  (2u << 20)
#define CODE_ADDR 0x1000u
#define PML4_ADDR 0x2000u
#define PDPT_ADDR 0x3000u
#define PD_ADDR	  0x4000u
#define COM1	  0x3f8
#define PTE_P	  (1ull << 0)
#define PTE_RW	  (1ull << 1)
#define PTE_PS	  (1ull << 7)
#define CR0_PE	  (1ull << 0)
#define CR0_ET	  (1ull << 4)
#define CR0_PG	  (1ull << 31)
#define CR4_PAE	  (1ull << 5)
#define EFER_LME  (1ull << 8)
#define EFER_LMA  (1ull << 10)

/* mov dx,0x3f8; mov al,'o'; out dx,al; mov al,'k'; out dx,al; mov al,'\n'; out dx,al; hlt */
static const uint8_t guest_code[] = {0x66, 0xba, 0xf8, 0x03, 0xb0, 'o',	 0xee,
				     0xb0, 'k',	 0xee, 0xb0, '\n', 0xee, 0xf4};

static int fail(const char *what)
{
	perror(what);
	return 1;
}

int main(void)
{
	struct kvm_userspace_memory_region region;
	struct kvm_segment seg;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	uint64_t *pt;
	uint8_t *mem;
	int kvm, vm, vcpu, run_size;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap");
	memcpy(mem + CODE_ADDR, guest_code, sizeof(guest_code));
	/* Identity map of the first 2 MiB: PML4[0] -> PDPT[0] -> PD[0] (2 MiB page). */
	pt = (uint64_t *)(mem + PML4_ADDR);
	pt[0] = PDPT_ADDR | PTE_P | PTE_RW;
	pt = (uint64_t *)(mem + PDPT_ADDR);
	pt[0] = PD_ADDR | PTE_P | PTE_RW;
	pt = (uint64_t *)(mem + PD_ADDR);
	pt[0] = 0 | PTE_P | PTE_RW | PTE_PS;
	region = (struct kvm_userspace_memory_region){.slot = 0,
						      .guest_phys_addr = 0,
						      .memory_size = MEM_SIZE,
						      .userspace_addr = (uintptr_t)mem};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < 0)
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");

	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	sregs.cr3 = PML4_ADDR;
	sregs.cr4 = CR4_PAE;
	sregs.cr0 = CR0_PE | CR0_ET | CR0_PG;
	sregs.efer = EFER_LME | EFER_LMA;
	seg = (struct kvm_segment){.base = 0,
				   .limit = 0xffffffff,
				   .selector = 8,
				   .type = 11,
				   .present = 1,
				   .dpl = 0,
				   .db = 0,
				   .s = 1,
				   .l = 1,
				   .g = 1};
	sregs.cs = seg;
	seg.type = 3;
	seg.selector = 16;
	seg.l = 0;
	seg.db = 1;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_ADDR;
	regs.rflags = 2;
	regs.rsp = MEM_SIZE;
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");

	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			return fail("KVM_RUN");
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == COM1 &&
			    write(1, (uint8_t *)run + run->io.data_offset, run->io.size) < 0)
				return fail("write");
			break;
		case KVM_EXIT_HLT:
			return 0;
		default:
			fprintf(stderr, "kvm_floor: unexpected exit %u\n", run->exit_reason);
			return 1;
		}
	}
}
