/* SPDX-License-Identifier: MIT */
/*
 * Guest page-table walk for data accesses (see pagewalk.h).  Section numbers
 * are SDM vol. 3: 4.3 (32-bit paging), 4.4 (PAE), 4.5 (4- and 5-level),
 * 4.6 (access rights), 4.7 (#PF error code), 4.8 (accessed and dirty flags).
 */
#include "vmm/pagewalk.h"

#include <asm/processor-flags.h>
#include <string.h>

#define PTE_P  (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_A  (1ull << 5)
#define PTE_D  (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_XD (1ull << 63)

#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)
#define CR4_PKS	 (1ull << 24) /* not in every asm/processor-flags.h */

/* PAE PDPTE bits 2:1 and 8:5 are reserved (4.4.1); it has no A, R/W or U/S. */
#define PDPTE_RSVD_LOW 0x1e6ull

#define PW_LEVELS_MAX 5
/* A/D updates race with other vCPUs editing the tables; retry, but not forever. */
#define PW_RETRIES 8

enum pw_mode { MODE_32BIT, MODE_PAE, MODE_IA32E };

struct used_entry {
	void *host;
	uint64_t val;
	unsigned size;
};

static uint64_t load_entry(const void *p, unsigned size)
{
	/*
	 * Another vCPU may be writing this entry: one atomic load, so the
	 * checks and the frame below all see the same value.
	 */
	if (size == 8)
		return __atomic_load_n((const uint64_t *)p, __ATOMIC_ACQUIRE);
	return __atomic_load_n((const uint32_t *)p, __ATOMIC_ACQUIRE);
}

/*
 * Sets A (and D) with a locked compare-exchange, as the CPU's locked
 * update does (4.8): if the guest changed the entry since we read it, the
 * walk is redone on the new value rather than marking a different mapping.
 */
static bool set_flags(const struct used_entry *e, uint64_t flags)
{
	if ((e->val & flags) == flags)
		return true;
	if (e->size == 8) {
		uint64_t expected = e->val;
		return __atomic_compare_exchange_n((uint64_t *)e->host, &expected, e->val | flags,
						   false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	}
	uint32_t expected = (uint32_t)e->val;
	return __atomic_compare_exchange_n((uint32_t *)e->host, &expected,
					   (uint32_t)(e->val | flags), false, __ATOMIC_SEQ_CST,
					   __ATOMIC_SEQ_CST);
}

static enum pw_status page_fault(struct pw_fault *fault, uint64_t la, uint32_t error_code)
{
	fault->addr = la;
	fault->error_code = error_code;
	return PW_PAGE_FAULT;
}

static unsigned phys_bits(const struct pw_cpu *cpu)
{
	return cpu->maxphyaddr >= 32 && cpu->maxphyaddr <= 52 ? cpu->maxphyaddr : 52;
}

static bool canonical(uint64_t la, unsigned bits)
{
	return (uint64_t)((int64_t)(la << (64 - bits)) >> (64 - bits)) == la;
}

/* Reserved bits of an entry at `level` (1 = PTE) that maps a page if `leaf`. */
static uint64_t reserved_bits(const struct pw_cpu *cpu, enum pw_mode mode, unsigned level,
			      bool leaf)
{
	unsigned maxpa = phys_bits(cpu);
	uint64_t r = 0;

	if (mode == MODE_32BIT) {
		/*
		 * 4 MiB page (4.3, PSE-36): bits 20:13 hold physical bits 39:32;
		 * those at or above MAXPHYADDR are reserved, and so is bit 21.
		 */
		if (leaf && level == 2) {
			r = 1ull << 21;
			for (unsigned b = 13; b <= 20; b++)
				if (b - 13 + 32 >= maxpa)
					r |= 1ull << b;
		}
		return r;
	}
	/* Bits MAXPHYADDR..51; XD when EFER.NXE=0 (4.4.2, 4.5.4). */
	r = ((1ull << 52) - 1) & ~((1ull << maxpa) - 1);
	if (!(cpu->efer & EFER_NXE))
		r |= PTE_XD;
	if (mode == MODE_IA32E && level >= 4)
		r |= PTE_PS; /* a PML4E or PML5E never maps a page */
	if (leaf && level == 2)
		r |= 0x1fe000ull; /* 2 MiB frame: bits 20:13 (bit 12 is PAT) */
	if (leaf && level == 3)
		r |= 0x3fffe000ull; /* 1 GiB frame: bits 29:13 */
	return r;
}

/*
 * One walk.  PW_OK with *retry set means an A/D update lost a race and the
 * caller should walk again.
 */
static enum pw_status walk(const struct guest_mem *gm, const struct pw_cpu *cpu, uint64_t la,
			   bool write, uint64_t *gpa, struct pw_fault *fault, bool *retry)
{
	const bool user = cpu->cpl == 3;
	const uint32_t access = (write ? PW_PF_W : 0) | (user ? PW_PF_U : 0);
	const uint64_t pa_mask = ((1ull << phys_bits(cpu)) - 1) & ~0xfffull;
	struct used_entry used[PW_LEVELS_MAX];
	unsigned nused = 0, level, esize;
	bool rw = true, us = true;
	enum pw_mode mode;
	uint64_t table, v = 0, page_size = 0, frame = 0;

	*retry = false;
	if (cpu->efer & EFER_LMA) {
		mode = MODE_IA32E;
		esize = 8;
		level = (cpu->cr4 & X86_CR4_LA57) ? 5 : 4;
		table = cpu->cr3 & pa_mask;
	} else if (cpu->cr4 & X86_CR4_PAE) {
		/*
		 * The CPU loads the four PDPTEs when CR3 is written; reading
		 * them from memory now is what a guest that keeps its PDPT
		 * current sees, and all a VMM without that cache can do.
		 */
		uint64_t addr = (cpu->cr3 & 0xffffffe0ull) + ((la >> 30) & 3) * 8;
		const void *p = gm_ptr(gm, addr, 8);

		if (!p)
			return PW_NOT_RAM;
		v = load_entry(p, 8);
		if (!(v & PTE_P))
			return page_fault(fault, la, access);
		if (v & (reserved_bits(cpu, MODE_PAE, 3, false) | PDPTE_RSVD_LOW | PTE_XD))
			return page_fault(fault, la, access | PW_PF_P | PW_PF_RSVD);
		mode = MODE_PAE;
		esize = 8;
		level = 2;
		table = v & pa_mask;
	} else {
		mode = MODE_32BIT;
		esize = 4;
		level = 2;
		table = cpu->cr3 & 0xfffff000ull;
	}

	for (;; level--) {
		unsigned shift = esize == 8 ? 12 + 9 * (level - 1) : 12 + 10 * (level - 1);
		uint64_t index = (la >> shift) & (esize == 8 ? 511 : 1023);
		/* table < 2^52 and index * esize < 4096: no overflow. */
		void *p = gm_ptr(gm, table + index * esize, esize);
		bool leaf;

		if (!p)
			return PW_NOT_RAM; /* a hostile CR3 or entry pointing outside RAM */
		v = load_entry(p, esize);
		if (!(v & PTE_P))
			return page_fault(fault, la, access);
		leaf =
		    level == 1 || ((v & PTE_PS) &&
				   (mode != MODE_32BIT || (cpu->cr4 & X86_CR4_PSE)) && level <= 3);
		if (v & reserved_bits(cpu, mode, level, leaf))
			return page_fault(fault, la, access | PW_PF_P | PW_PF_RSVD);
		/* 4.6: a page is writable / user-accessible only if every level says so. */
		rw &= (v & PTE_RW) != 0;
		us &= (v & PTE_US) != 0;
		used[nused++] = (struct used_entry){p, v, esize};
		if (leaf) {
			page_size = 1ull << shift;
			if (mode == MODE_32BIT && level == 2)
				frame = (v & 0xffc00000ull) | (((v >> 13) & 0xffull) << 32);
			else if (mode == MODE_32BIT)
				frame = v & 0xfffff000ull;
			else
				frame = v & pa_mask & ~(page_size - 1);
			break;
		}
		table = esize == 8 ? v & pa_mask : v & 0xfffff000ull;
	}

	/* 4.6.1: data access rights. */
	if (user) {
		if (!us || (write && !rw))
			return page_fault(fault, la, access | PW_PF_P);
	} else {
		/* SMAP: an explicit supervisor access to a user page needs RFLAGS.AC. */
		if (us && (cpu->cr4 & X86_CR4_SMAP) && !(cpu->rflags & X86_EFLAGS_AC))
			return page_fault(fault, la, access | PW_PF_P);
		/* CR0.WP=0 lets supervisor stores through read-only pages. */
		if (write && !rw && (cpu->cr0 & X86_CR0_WP))
			return page_fault(fault, la, access | PW_PF_P);
	}
	/* 4.6.2: protection keys exist only with IA-32e paging. */
	if (mode == MODE_IA32E &&
	    ((us && (cpu->cr4 & X86_CR4_PKE)) || (!us && (cpu->cr4 & CR4_PKS))))
		return PW_UNSUPPORTED;

	/* 4.8: accessed on every entry used, dirty on the one that maps the page. */
	for (unsigned i = 0; i < nused; i++) {
		uint64_t flags = PTE_A | (i + 1 == nused && write ? PTE_D : 0);

		if (!set_flags(&used[i], flags)) {
			*retry = true;
			return PW_OK;
		}
	}
	*gpa = frame | (la & (page_size - 1));
	return PW_OK;
}

enum pw_status pw_translate(const struct guest_mem *gm, const struct pw_cpu *cpu, uint64_t la,
			    bool write, uint64_t *gpa, struct pw_fault *fault)
{
	if (!cpu->long_mode)
		la = (uint32_t)la;
	else if (!canonical(la, (cpu->cr4 & X86_CR4_LA57) ? 57 : 48))
		return PW_NONCANONICAL;
	if (!(cpu->cr0 & X86_CR0_PG)) {
		*gpa = la;
		return PW_OK;
	}
	for (unsigned i = 0; i < PW_RETRIES; i++) {
		bool retry;
		enum pw_status st = walk(gm, cpu, la, write, gpa, fault, &retry);

		if (st != PW_OK || !retry)
			return st;
	}
	return PW_UNSUPPORTED;
}

enum pw_status pw_copy(const struct guest_mem *gm, const struct pw_cpu *cpu, uint64_t la, void *buf,
		       size_t len, bool write, struct pw_fault *fault)
{
	const uint64_t mask = cpu->long_mode ? UINT64_MAX : UINT32_MAX;
	uint64_t chunk_la[2], gpa;
	size_t chunk_len[2];
	uint8_t *host[2], *p = buf;
	unsigned n = 1;

	if (len == 0 || len > 4096)
		return PW_UNSUPPORTED;
	la &= mask;
	chunk_la[0] = la;
	chunk_len[0] = 4096 - (la & 4095);
	if (chunk_len[0] >= len) {
		chunk_len[0] = len;
	} else {
		n = 2;
		chunk_la[1] = (la + chunk_len[0]) & mask; /* wraps at 4 GiB outside 64-bit mode */
		chunk_len[1] = len - chunk_len[0];
		if (cpu->long_mode && chunk_la[1] < la)
			return PW_NONCANONICAL; /* runs off the top of the address space */
	}
	/* Both pages first: the CPU faults before any byte of the access lands. */
	for (unsigned i = 0; i < n; i++) {
		enum pw_status st = pw_translate(gm, cpu, chunk_la[i], write, &gpa, fault);

		if (st != PW_OK)
			return st;
		host[i] = gm_ptr(gm, gpa, chunk_len[i]);
		if (!host[i])
			return PW_NOT_RAM;
	}
	for (unsigned i = 0; i < n; i++) {
		if (write)
			memcpy(host[i], p, chunk_len[i]);
		else
			memcpy(p, host[i], chunk_len[i]);
		p += chunk_len[i];
	}
	return PW_OK;
}

const char *pw_status_name(enum pw_status st)
{
	switch (st) {
	case PW_OK:
		return "ok";
	case PW_PAGE_FAULT:
		return "page fault";
	case PW_NONCANONICAL:
		return "non-canonical address";
	case PW_NOT_RAM:
		return "not guest RAM";
	case PW_UNSUPPORTED:
		return "unsupported";
	}
	return "unknown";
}
