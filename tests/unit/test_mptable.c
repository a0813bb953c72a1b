/* SPDX-License-Identifier: MIT */
/*
 * The Intel MP tables, parsed back from fake guest memory the way Linux's
 * arch/x86/kernel/mpparse.c reads them: found by scanning the EBDA's first
 * KiB for "_MP_" on a 16-byte boundary, both checksums, entry types in the
 * spec's order, the count the header claims.  Offsets are restated from the
 * MP spec 1.4 here on purpose, so a wrong offset in boot/mptable.c cannot
 * hide behind a shared constant.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/acpi.h"
#include "boot/layout.h"
#include "boot/mptable.h"
#include "vmm/memory.h"
#include "vmm/minivmm.h"
#include "tests/unit/fake_ram.h"

#define RAM_BYTES 0x100000ull

static struct guest_mem gm;
static uint8_t *ram;

static void setup(void)
{
	ram = fake_ram_new(&gm, RAM_BYTES);
}

static void teardown(void)
{
	free(ram);
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

struct parsed {
	unsigned ncpus, nbus, nioapic, nioint, nlint;
	uint8_t apic_id[256];
	uint8_t cpu_flags[256];
	int pin_of_isa_irq[256]; /* -1: no entry */
	int pin_used[32];
	uint8_t lint_type[2], lint_dest[2];
	uint8_t ioapic_id;
	uint32_t ioapic_addr;
};

/* Linux's scan: 16-byte steps through [639 KiB, 640 KiB), "_MP_", length 1, checksum. */
static const uint8_t *find_fps(void)
{
	for (uint64_t a = 639 * 1024; a < 640 * 1024; a += 16) {
		const uint8_t *p = gm_ptr(&gm, a, 16);

		if (p && !memcmp(p, "_MP_", 4) && p[8] == 1 && sum(p, 16) == 0 &&
		    (p[9] == 1 || p[9] == 4))
			return p;
	}
	return NULL;
}

static void parse(struct parsed *out)
{
	const uint8_t *fps = find_fps(), *t, *e, *end;
	uint32_t len, last_type = 0;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < 256; i++)
		out->pin_of_isa_irq[i] = -1;
	ck_assert_ptr_nonnull(fps);
	ck_assert_uint_eq(fps[9], 4);  /* spec 1.4 */
	ck_assert_uint_eq(fps[11], 0); /* a configuration table, not a default config */
	ck_assert_uint_eq(fps[12], 0); /* virtual wire, no IMCR */
	t = gm_ptr(&gm, le32(fps + 4), 44);
	ck_assert_ptr_nonnull(t);
	ck_assert_mem_eq(t, "PCMP", 4);
	len = le16(t + 4);
	t = gm_ptr(&gm, le32(fps + 4), len);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_le(le32(fps + 4) + len, MPTABLE_END);
	ck_assert_uint_eq(sum(t, len), 0);
	ck_assert_uint_eq(t[6], 4);
	ck_assert_uint_eq(le32(t + 36), LAPIC_ADDR);
	ck_assert_uint_eq(le16(t + 40), 0); /* no extended entries */
	ck_assert_uint_eq(le32(t + 28), 0); /* no OEM table */

	e = t + 44;
	end = t + len;
	for (unsigned n = 0; n < le16(t + 34); n++) {
		ck_assert(e < end);
		/* The spec wants the entries sorted by type. */
		ck_assert_uint_ge(e[0], last_type);
		last_type = e[0];
		switch (e[0]) {
		case 0:
			ck_assert(e + 20 <= end);
			out->apic_id[out->ncpus] = e[1];
			ck_assert_uint_ge(e[2], 0x10); /* integrated APIC */
			out->cpu_flags[out->ncpus] = e[3];
			out->ncpus++;
			e += 20;
			break;
		case 1:
			ck_assert_mem_eq(e + 2, "ISA   ", 6);
			ck_assert_uint_eq(e[1], 0);
			out->nbus++;
			e += 8;
			break;
		case 2:
			out->ioapic_id = e[1];
			ck_assert_uint_eq(e[3] & 1, 1); /* usable */
			out->ioapic_addr = le32(e + 4);
			out->nioapic++;
			e += 8;
			break;
		case 3:
			ck_assert_uint_eq(e[1], 0);	   /* INT */
			ck_assert_uint_eq(le16(e + 2), 5); /* active high, edge */
			ck_assert_uint_eq(e[4], 0);	   /* the ISA bus */
			ck_assert_uint_eq(e[6], IOAPIC_ID);
			ck_assert_uint_lt(e[7], IOAPIC_PINS);
			ck_assert_int_eq(out->pin_of_isa_irq[e[5]], -1); /* one entry per source */
			ck_assert_int_eq(out->pin_used[e[7]], 0);	 /* one source per pin */
			out->pin_of_isa_irq[e[5]] = e[7];
			out->pin_used[e[7]] = 1;
			out->nioint++;
			e += 8;
			break;
		case 4:
			ck_assert_uint_lt(out->nlint, 2);
			out->lint_type[out->nlint] = e[1];
			out->lint_dest[out->nlint] = e[6];
			ck_assert_uint_eq(e[7], out->nlint); /* LINT0, then LINT1 */
			out->nlint++;
			e += 8;
			break;
		default:
			ck_abort_msg("unknown MP entry type %u", e[0]);
		}
	}
	ck_assert_ptr_eq(e, end); /* the count and the length agree */
}

START_TEST(floating_pointer_where_linux_scans)
{
	struct vmm_err err = {{0}};
	struct mptable_config cfg = {.ncpus = 1};

	ck_assert_int_eq(mptable_build(&gm, &cfg, &err), 0);
	/* Linux scans [639 KiB, 640 KiB) of base memory: the EBDA's first KiB. */
	ck_assert_uint_ge(MPTABLE_ADDR, 639 * 1024);
	ck_assert_uint_le(MPTABLE_ADDR + 16, 640 * 1024);
	ck_assert_ptr_eq(find_fps(), ram + MPTABLE_ADDR);
	ck_assert_uint_eq(le32(ram + MPTABLE_ADDR + 4), MPTABLE_ADDR + 16);
}
END_TEST

START_TEST(processors_match_the_madt)
{
	struct vmm_err err = {{0}};
	struct mptable_config cfg = {.ncpus = 4};
	struct parsed p;

	ck_assert_int_eq(mptable_build(&gm, &cfg, &err), 0);
	parse(&p);
	ck_assert_uint_eq(p.ncpus, 4);
	for (unsigned i = 0; i < 4; i++) {
		ck_assert_uint_eq(p.apic_id[i], i);
		ck_assert_uint_eq(p.cpu_flags[i] & 1, 1);	   /* enabled */
		ck_assert_uint_eq(!!(p.cpu_flags[i] & 2), i == 0); /* one boot CPU: vCPU 0 */
	}
	ck_assert_uint_eq(p.nbus, 1);
	ck_assert_uint_eq(p.nioapic, 1);
	ck_assert_uint_eq(p.ioapic_id, IOAPIC_ID);
	ck_assert_uint_eq(p.ioapic_addr, IOAPIC_ADDR);
	ck_assert_uint_eq(p.nlint, 2);
	ck_assert_uint_eq(p.lint_type[0], 3); /* ExtINT on LINT0 */
	ck_assert_uint_eq(p.lint_dest[0], 0); /* of the boot CPU */
	ck_assert_uint_eq(p.lint_type[1], 1); /* NMI on LINT1 */
	ck_assert_uint_eq(p.lint_dest[1], 0xff);
}
END_TEST

START_TEST(isa_irqs_and_virtio_gsis_routed)
{
	/* 16 virtio slots: GSIs 5..20, as vm.c's slot table hands them out. */
	uint32_t gsis[VIRTIO_MMIO_MAX];
	struct vmm_err err = {{0}};
	struct mptable_config cfg = {.ncpus = 2, .gsis = gsis, .ngsis = VIRTIO_MMIO_MAX};
	struct parsed p;

	for (unsigned i = 0; i < VIRTIO_MMIO_MAX; i++)
		gsis[i] = VIRTIO_MMIO_GSI0 + i;
	ck_assert_int_eq(mptable_build(&gm, &cfg, &err), 0);
	parse(&p);
	/* ISA: identity (IRQ 0 on pin 0, where KVM delivers the PIT), no IRQ 2 (cascade). */
	ck_assert_int_eq(p.pin_of_isa_irq[2], -1);
	for (int irq = 0; irq < 16; irq++)
		if (irq != 2)
			ck_assert_int_eq(p.pin_of_isa_irq[irq], irq);
	/* Every virtio GSI reaches its own pin; above 15 through its own entry. */
	for (unsigned i = 0; i < VIRTIO_MMIO_MAX; i++)
		ck_assert_int_eq(p.pin_of_isa_irq[gsis[i]], (int)gsis[i]);
	ck_assert_uint_eq(p.nioint, 15 + (VIRTIO_MMIO_GSI0 + VIRTIO_MMIO_MAX - 16));
	/* Pins no device uses stay unrouted. */
	ck_assert_int_eq(p.pin_used[VIRTIO_MMIO_GSI0 + VIRTIO_MMIO_MAX], 0);
	ck_assert_int_eq(p.pin_used[2], 0);
}
END_TEST

START_TEST(duplicate_and_low_gsis_add_nothing)
{
	uint32_t gsis[] = {5, 6, 17, 17, 9};
	struct vmm_err err = {{0}};
	struct mptable_config cfg = {.ncpus = 1, .gsis = gsis, .ngsis = 5};
	struct parsed p;

	ck_assert_int_eq(mptable_build(&gm, &cfg, &err), 0);
	parse(&p);
	ck_assert_uint_eq(p.nioint, 15 + 1);
	ck_assert_int_eq(p.pin_of_isa_irq[17], 17);
}
END_TEST

START_TEST(largest_configs_fit_beside_acpi)
{
	uint32_t gsis[VIRTIO_MMIO_MAX];
	struct acpi_mmio_device devs[VIRTIO_MMIO_MAX];
	struct acpi_config acfg = {.ncpus = MVM_MAX_CPUS,
				   .mmio_devices = devs,
				   .n_mmio_devices = VIRTIO_MMIO_MAX,
				   .pvpanic = true};
	struct vmm_err err = {{0}};
	struct mptable_config cfg = {.ncpus = MVM_MAX_CPUS, .gsis = gsis, .ngsis = VIRTIO_MMIO_MAX};
	uint64_t rsdp;
	struct parsed p;

	for (unsigned i = 0; i < VIRTIO_MMIO_MAX; i++) {
		gsis[i] = VIRTIO_MMIO_GSI0 + i;
		devs[i] = (struct acpi_mmio_device){.base = VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_SIZE,
						    .size = VIRTIO_MMIO_SIZE,
						    .gsi = gsis[i],
						    .hid = "LNRO0005"};
	}
	/* 64 vCPUs (minivmm's most) and every virtio slot: in bounds, ACPI intact. */
	ck_assert_int_eq(acpi_build(&gm, &acfg, &rsdp, &err), 0);
	ck_assert_int_eq(mptable_build(&gm, &cfg, &err), 0);
	ck_assert_uint_le(MPTABLE_ADDR + mptable_size(&cfg), ACPI_TABLES_ADDR);
	parse(&p);
	ck_assert_uint_eq(p.ncpus, MVM_MAX_CPUS);
	ck_assert_uint_eq(p.apic_id[MVM_MAX_CPUS - 1], MVM_MAX_CPUS - 1);
	ck_assert_mem_eq(ram + rsdp, "RSD PTR ", 8);
	ck_assert_uint_eq(acpi_sum8(ram + rsdp, 36), 0);

	/* The MP spec's own limit, 255 APIC IDs, also fits. */
	cfg.ncpus = MPTABLE_MAX_CPUS;
	ck_assert_int_eq(mptable_build(&gm, &cfg, &err), 0);
	parse(&p);
	ck_assert_uint_eq(p.ncpus, MPTABLE_MAX_CPUS);
}
END_TEST

START_TEST(bad_configs_rejected)
{
	uint32_t bad_gsi[] = {5, IOAPIC_PINS};
	struct vmm_err err = {{0}};
	struct mptable_config cfg = {.ncpus = 0};
	struct guest_mem small;
	uint8_t *buf;

	ck_assert_int_eq(mptable_build(&gm, &cfg, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "MP table"));
	cfg.ncpus = MPTABLE_MAX_CPUS + 1;
	ck_assert_int_eq(mptable_build(&gm, &cfg, &err), -EINVAL);
	cfg = (struct mptable_config){.ncpus = 1, .gsis = bad_gsi, .ngsis = 2};
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(mptable_build(&gm, &cfg, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "GSI 24"));
	cfg = (struct mptable_config){.ncpus = 1, .gsis = NULL, .ngsis = 1};
	ck_assert_int_eq(mptable_build(&gm, &cfg, &err), -EINVAL);
	/* Nothing was written by the failures. */
	ck_assert_ptr_null(find_fps());

	/* Guest RAM that ends inside the table: -ENOSPC, nothing written. */
	buf = calloc(1, MPTABLE_ADDR + 64);
	ck_assert_ptr_nonnull(buf);
	memset(&small, 0, sizeof(small));
	gm_add_region(&small, 0, MPTABLE_ADDR + 64, buf);
	cfg = (struct mptable_config){.ncpus = 8};
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(mptable_build(&small, &cfg, &err), -ENOSPC);
	ck_assert_str_ne(err.msg, "");
	for (uint64_t a = 0; a < MPTABLE_ADDR + 64; a++)
		ck_assert_uint_eq(buf[a], 0);
	free(buf);
}
END_TEST

Suite *mptable_suite(void)
{
	Suite *s = suite_create("mptable");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, floating_pointer_where_linux_scans);
	tcase_add_test(tc, processors_match_the_madt);
	tcase_add_test(tc, isa_irqs_and_virtio_gsis_routed);
	tcase_add_test(tc, duplicate_and_low_gsis_add_nothing);
	tcase_add_test(tc, largest_configs_fit_beside_acpi);
	tcase_add_test(tc, bad_configs_rejected);
	suite_add_tcase(s, tc);
	return s;
}
