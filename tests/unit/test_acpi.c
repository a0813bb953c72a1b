/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables, checked byte by byte on fake guest memory.  Offsets are
 * restated here from the ACPI 6.3 specification on purpose, so a wrong
 * offset in boot/acpi.c cannot hide behind a shared constant.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/acpi.h"
#include "boot/layout.h"
#include "vmm/memory.h"
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

/* A table at gpa, bounds- and checksum-checked. */
static const uint8_t *table_at(uint64_t gpa, const char *sig)
{
	const uint8_t *t = gm_ptr(&gm, gpa, 36);
	uint32_t len;

	ck_assert_ptr_nonnull(t);
	len = le32(t + 4);
	ck_assert_uint_ge(len, 36);
	ck_assert_uint_ge(gpa, ACPI_TABLES_ADDR);
	ck_assert_uint_le(gpa + len, ACPI_TABLES_END);
	ck_assert_ptr_nonnull(gm_ptr(&gm, gpa, len));
	ck_assert_mem_eq(t, sig, 4);
	ck_assert_uint_eq(acpi_sum8(t, len), 0);
	ck_assert_mem_eq(t + 10, ACPI_OEM_ID, 6);
	ck_assert_mem_eq(t + 16, ACPI_OEM_TABLE_ID, 8);
	return t;
}

struct tables {
	const uint8_t *rsdp, *xsdt, *fadt, *madt, *dsdt;
};

static void build_ok(const struct acpi_config *cfg, struct tables *tb)
{
	struct vmm_err err = {{0}};
	uint64_t rsdp_gpa = 0;
	uint64_t xsdt_gpa;

	ck_assert_msg(acpi_build(&gm, cfg, &rsdp_gpa, &err) == 0, "acpi_build: %s", err.msg);
	ck_assert_uint_eq(rsdp_gpa, ACPI_TABLES_ADDR);
	tb->rsdp = gm_ptr(&gm, rsdp_gpa, 36);
	ck_assert_ptr_nonnull(tb->rsdp);
	ck_assert_mem_eq(tb->rsdp, "RSD PTR ", 8);
	xsdt_gpa = le64(tb->rsdp + 24);
	tb->xsdt = table_at(xsdt_gpa, "XSDT");
	ck_assert_uint_eq(le32(tb->xsdt + 4), 36 + 2 * 8);
	tb->fadt = table_at(le64(tb->xsdt + 36), "FACP");
	tb->madt = table_at(le64(tb->xsdt + 44), "APIC");
	tb->dsdt = table_at(le64(tb->fadt + 140), "DSDT");
}

static const struct acpi_config one_cpu = {.ncpus = 1};

START_TEST(rsdp_checksums_and_fields)
{
	struct tables tb;

	build_ok(&one_cpu, &tb);
	ck_assert_uint_eq(acpi_sum8(tb.rsdp, 20), 0);
	ck_assert_uint_eq(acpi_sum8(tb.rsdp, 36), 0);
	ck_assert_mem_eq(tb.rsdp + 9, ACPI_OEM_ID, 6);
	ck_assert_uint_eq(tb.rsdp[15], 2);	   /* revision */
	ck_assert_uint_eq(le32(tb.rsdp + 16), 0);  /* no RSDT */
	ck_assert_uint_eq(le32(tb.rsdp + 20), 36); /* length */
	/* The legacy scan looks at 16-byte boundaries in 0xe0000-0xfffff. */
	ck_assert_uint_eq(ACPI_TABLES_ADDR % 16, 0);
	ck_assert_uint_ge(ACPI_TABLES_ADDR, 0xe0000);
}
END_TEST

START_TEST(xsdt_and_dsdt_pointers)
{
	struct tables tb;

	build_ok(&one_cpu, &tb);
	ck_assert_uint_eq(tb.xsdt[8], 1);
	/* X_DSDT and the 32-bit DSDT agree. */
	ck_assert_uint_eq(le32(tb.fadt + 40), le64(tb.fadt + 140));
	ck_assert_uint_eq(tb.dsdt[8], 2); /* 64-bit AML integers */
	/* Creator is us, not a compiler. */
	ck_assert_mem_eq(tb.dsdt + 28, "MVMM", 4);
}
END_TEST

static void check_gas_io8(const uint8_t *g, uint64_t port)
{
	ck_assert_uint_eq(g[0], 1); /* SystemIO */
	ck_assert_uint_eq(g[1], 8); /* bit width */
	ck_assert_uint_eq(g[2], 0); /* bit offset */
	ck_assert_uint_eq(g[3], 1); /* byte access */
	ck_assert_uint_eq(le64(g + 4), port);
}

START_TEST(fadt_hardware_reduced)
{
	struct tables tb;
	uint32_t flags;
	uint16_t boot_arch;

	build_ok(&one_cpu, &tb);
	ck_assert_uint_eq(le32(tb.fadt + 4), 276);
	ck_assert_uint_eq(tb.fadt[8], 6);	  /* revision */
	ck_assert_uint_eq(tb.fadt[131], 3);	  /* minor version: ACPI 6.3 */
	ck_assert_uint_eq(le32(tb.fadt + 36), 0); /* no FACS */
	ck_assert_uint_eq(le16(tb.fadt + 46), 0); /* no SCI */
	ck_assert_uint_eq(le32(tb.fadt + 56), 0); /* no PM1a event block */
	ck_assert_uint_eq(le32(tb.fadt + 64), 0); /* no PM1a control block */
	flags = le32(tb.fadt + 112);
	ck_assert(flags & (1u << 20));	 /* HW_REDUCED_ACPI */
	ck_assert(flags & (1u << 10));	 /* RESET_REG_SUP */
	ck_assert(flags & (1u << 4));	 /* PWR_BUTTON: no fixed power button */
	ck_assert(!(flags & (1u << 0))); /* no WBINVD claim */
	boot_arch = le16(tb.fadt + 109);
	ck_assert(boot_arch & (1u << 2));    /* VGA not present */
	ck_assert(!(boot_arch & (1u << 1))); /* no 8042: Linux must not probe it */
	ck_assert(!(boot_arch & (1u << 0))); /* no legacy devices */
	check_gas_io8(tb.fadt + 116, ACPI_RESET_PORT);
	ck_assert_uint_eq(tb.fadt[128], ACPI_RESET_VALUE);
	check_gas_io8(tb.fadt + 244, ACPI_SLEEP_CONTROL_PORT);
	check_gas_io8(tb.fadt + 256, ACPI_SLEEP_STATUS_PORT);
	ck_assert_mem_eq(tb.fadt + 268, "MINIVMM", 7);
}
END_TEST

static void check_madt(uint32_t ncpus)
{
	struct acpi_config cfg = {.ncpus = ncpus};
	struct tables tb;
	const uint8_t *e, *end;
	uint32_t lapics = 0, ioapics = 0, isos = 0;

	memset(ram, 0, RAM_BYTES);
	build_ok(&cfg, &tb);
	ck_assert_uint_eq(le32(tb.madt + 36), LAPIC_ADDR);
	ck_assert_uint_eq(le32(tb.madt + 40), 1); /* PCAT_COMPAT */
	e = tb.madt + 44;
	end = tb.madt + le32(tb.madt + 4);
	while (e < end) {
		ck_assert_uint_ge(e[1], 2);
		ck_assert(e + e[1] <= end);
		switch (e[0]) {
		case 0:
			ck_assert_uint_eq(e[1], 8);
			ck_assert_uint_eq(e[2], lapics);   /* processor UID */
			ck_assert_uint_eq(e[3], lapics);   /* APIC ID */
			ck_assert_uint_eq(le32(e + 4), 1); /* enabled */
			lapics++;
			break;
		case 1:
			ck_assert_uint_eq(e[1], 12);
			ck_assert_uint_eq(e[2], IOAPIC_ID);
			ck_assert_uint_eq(le32(e + 4), IOAPIC_ADDR);
			ck_assert_uint_eq(le32(e + 8), IOAPIC_GSI_BASE);
			ioapics++;
			break;
		case 2:
			ck_assert_uint_eq(e[1], 10);
			ck_assert_uint_eq(e[2], 0);	     /* ISA */
			ck_assert_uint_eq(e[3], 0);	     /* IRQ0 ... */
			ck_assert_uint_eq(le32(e + 4), 2);   /* ... is GSI 2 */
			ck_assert_uint_eq(le16(e + 8), 0x5); /* edge, active high */
			isos++;
			break;
		default:
			ck_abort_msg("unexpected MADT entry type %u", e[0]);
		}
		e += e[1];
	}
	ck_assert_ptr_eq(e, end);
	ck_assert_uint_eq(lapics, ncpus);
	ck_assert_uint_eq(ioapics, 1);
	ck_assert_uint_eq(isos, 1);
}

START_TEST(madt_one_lapic_per_cpu)
{
	check_madt(1);
	check_madt(4);
	check_madt(16);
	check_madt(64);
	check_madt(ACPI_MAX_CPUS);
}
END_TEST

static const uint8_t *find(const uint8_t *hay, size_t len, const void *needle, size_t n)
{
	return memmem(hay, len, needle, n);
}

static unsigned count(const uint8_t *hay, size_t len, const void *needle, size_t n)
{
	unsigned c = 0;
	const uint8_t *p = hay, *end = hay + len;

	while ((p = memmem(p, (size_t)(end - p), needle, n)) != NULL) {
		c++;
		p += n;
	}
	return c;
}

START_TEST(dsdt_s5_and_com1)
{
	static const uint8_t s5[] = {'_',  'S',	 '5', '_', 0x12, 0x07, 0x04, 0x0a, ACPI_S5_SLP_TYP,
				     0x00, 0x00, 0x00};
	static const uint8_t com1_crs[] = {0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00,
					   0x08, 0x22, 0x10, 0x00, 0x79, 0x00};
	static const uint8_t pnp0501[] = {'_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01};
	struct tables tb;
	uint32_t len;

	build_ok(&one_cpu, &tb);
	len = le32(tb.dsdt + 4);
	ck_assert_ptr_nonnull(find(tb.dsdt, len, s5, sizeof(s5)));
	ck_assert_ptr_nonnull(find(tb.dsdt, len, "\\_S5_", 5)); /* in the root scope */
	ck_assert_ptr_nonnull(find(tb.dsdt, len, "_SB_", 4));
	ck_assert_ptr_nonnull(find(tb.dsdt, len, "COM1", 4));
	ck_assert_ptr_nonnull(find(tb.dsdt, len, pnp0501, sizeof(pnp0501)));
	ck_assert_ptr_nonnull(find(tb.dsdt, len, com1_crs, sizeof(com1_crs)));
	ck_assert_ptr_null(find(tb.dsdt, len, "QEMU0001", 8));
	ck_assert_ptr_null(find(tb.dsdt, len, "LNRO0005", 8));
}
END_TEST

START_TEST(dsdt_pvpanic_and_mmio_devices)
{
	struct acpi_mmio_device devs[3];
	struct acpi_config cfg = {
	    .ncpus = 2, .mmio_devices = devs, .n_mmio_devices = 3, .pvpanic = true};
	static const uint8_t pvpanic_io[] = {0x47, 0x01, 0x05, 0x05, 0x05, 0x05, 0x01, 0x01};
	struct tables tb;
	uint32_t len;

	for (unsigned i = 0; i < 3; i++) {
		devs[i].base = VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_SIZE;
		devs[i].size = VIRTIO_MMIO_SIZE;
		devs[i].gsi = VIRTIO_MMIO_GSI0 + i;
		devs[i].hid = "LNRO0005";
	}
	build_ok(&cfg, &tb);
	len = le32(tb.dsdt + 4);
	ck_assert_ptr_nonnull(find(tb.dsdt, len, "QEMU0001", 8));
	ck_assert_ptr_nonnull(find(tb.dsdt, len, pvpanic_io, sizeof(pvpanic_io)));
	ck_assert_uint_eq(count(tb.dsdt, len, "LNRO0005", 8), 3);
	ck_assert_ptr_nonnull(find(tb.dsdt, len, "VR00", 4));
	ck_assert_ptr_nonnull(find(tb.dsdt, len, "VR02", 4));
	ck_assert_ptr_null(find(tb.dsdt, len, "VR03", 4));
	for (unsigned i = 0; i < 3; i++) {
		uint32_t base = (uint32_t)devs[i].base;
		const uint8_t mem[] = {
		    0x86, 0x09, 0x00, 0x01, (uint8_t)base, (uint8_t)(base >> 8),
		    (uint8_t)(base >> 16), (uint8_t)(base >> 24), 0x00, 0x10, 0x00, 0x00,
		    /* Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) */
		    0x89, 0x06, 0x00, 0x03, 0x01, (uint8_t)devs[i].gsi, 0, 0, 0};

		ck_assert_ptr_nonnull(find(tb.dsdt, len, mem, sizeof(mem)));
	}
}
END_TEST

START_TEST(dsdt_power_button_through_ged)
{
	struct acpi_config cfg = {.ncpus = 1, .power_button = true, .power_button_gsi = 21};
	/* PNP0C0C as EisaId, the GED's _HID and its one edge interrupt (GSI 21). */
	static const uint8_t pnp0c0c[] = {0x0c, 0x41, 0xd0, 0x0c, 0x0c};
	static const uint8_t ged_irq[] = {0x89, 0x06, 0x00, 0x03, 0x01, 21, 0, 0, 0};
	/* _EVT: If (Arg0 == 21) { Notify (\_SB.PWRB, 0x80) } */
	static const uint8_t evt[] = {'_',  'E',  'V', 'T',  0x01, 0xa0, 0x12, 0x93,
				      0x68, 0x0a, 21,  0x86, '\\', 0x2e, '_',  'S',
				      'B',  '_',  'P', 'W',  'R',  'B',	 0x0a, 0x80};
	struct vmm_err err = {{0}};
	struct tables tb;
	uint64_t rsdp;
	uint32_t len;

	build_ok(&cfg, &tb);
	len = le32(tb.dsdt + 4);
	ck_assert_ptr_nonnull(find(tb.dsdt, len, "ACPI0013", 8));
	ck_assert_ptr_nonnull(find(tb.dsdt, len, pnp0c0c, sizeof(pnp0c0c)));
	ck_assert_ptr_nonnull(find(tb.dsdt, len, ged_irq, sizeof(ged_irq)));
	ck_assert_ptr_nonnull(find(tb.dsdt, len, evt, sizeof(evt)));

	/* Without it: none of that. */
	build_ok(&one_cpu, &tb);
	len = le32(tb.dsdt + 4);
	ck_assert_ptr_null(find(tb.dsdt, len, "ACPI0013", 8));
	ck_assert_ptr_null(find(tb.dsdt, len, "PWRB", 4));

	/* A GSI the IOAPIC does not have. */
	cfg.power_button_gsi = IOAPIC_PINS;
	ck_assert_int_eq(acpi_build(&gm, &cfg, &rsdp, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "power button"));
}
END_TEST

START_TEST(tables_are_deterministic_and_per_vm)
{
	struct acpi_config cfg = {.ncpus = 4, .pvpanic = true};
	struct vmm_err err = {{0}};
	struct guest_mem gm2 = {0};
	uint8_t *ram2 = calloc(1, RAM_BYTES);
	uint64_t rsdp;

	ck_assert_int_eq(gm_add_region(&gm2, 0, RAM_BYTES, ram2), 0);
	ck_assert_int_eq(acpi_build(&gm, &cfg, &rsdp, &err), 0);
	cfg.ncpus = 8;
	ck_assert_int_eq(acpi_build(&gm2, &cfg, &rsdp, &err), 0);
	cfg.ncpus = 4;
	ck_assert_int_eq(acpi_build(&gm2, &cfg, &rsdp, &err), 0);
	/* Same config, same bytes, even over a bigger earlier build. */
	ck_assert_mem_eq(ram + ACPI_TABLES_ADDR, ram2 + ACPI_TABLES_ADDR,
			 ACPI_TABLES_END - ACPI_TABLES_ADDR);
	/* Nothing written outside the ACPI area. */
	for (uint64_t a = 0; a < ACPI_TABLES_ADDR; a++)
		ck_assert_uint_eq(ram[a], 0);
	free(ram2);
}
END_TEST

START_TEST(bad_configs_rejected)
{
	struct acpi_mmio_device dev = {VIRTIO_MMIO_BASE, VIRTIO_MMIO_SIZE, VIRTIO_MMIO_GSI0,
				       "LNRO0005"};
	struct acpi_mmio_device bad;
	struct acpi_config cfg;
	struct vmm_err err;
	uint64_t rsdp = 0x1234;

	static const struct {
		uint64_t base, size;
		uint32_t gsi;
		const char *hid;
	} bad_devs[] = {
	    {VIRTIO_MMIO_BASE, VIRTIO_MMIO_SIZE, 5, NULL},
	    {VIRTIO_MMIO_BASE, VIRTIO_MMIO_SIZE, 5, "lnro0005"},
	    {VIRTIO_MMIO_BASE, VIRTIO_MMIO_SIZE, 5, "LNRO00055"},
	    {VIRTIO_MMIO_BASE, VIRTIO_MMIO_SIZE, 5, "LNRO\"05"},
	    {VIRTIO_MMIO_BASE, VIRTIO_MMIO_SIZE, 5, ""},
	    {VIRTIO_MMIO_BASE, 0, 5, "LNRO0005"},
	    {0x100000000ull, 0x1000, 5, "LNRO0005"},
	    {0xfffff000ull, 0x2000, 5, "LNRO0005"},
	    {UINT64_MAX - 0xfff, 0x1000, 5, "LNRO0005"},
	    {VIRTIO_MMIO_BASE, UINT64_MAX, 5, "LNRO0005"},
	    {VIRTIO_MMIO_BASE, VIRTIO_MMIO_SIZE, IOAPIC_PINS, "LNRO0005"},
	    {VIRTIO_MMIO_BASE, VIRTIO_MMIO_SIZE, UINT32_MAX, "LNRO0005"},
	};

	for (size_t i = 0; i < sizeof(bad_devs) / sizeof(bad_devs[0]); i++) {
		bad = (struct acpi_mmio_device){bad_devs[i].base, bad_devs[i].size, bad_devs[i].gsi,
						bad_devs[i].hid};
		cfg = (struct acpi_config){.ncpus = 1, .mmio_devices = &bad, .n_mmio_devices = 1};
		memset(&err, 0, sizeof(err));
		ck_assert_int_eq(acpi_build(&gm, &cfg, &rsdp, &err), -EINVAL);
		ck_assert_str_ne(err.msg, "");
	}

	static const struct acpi_config bad_cfgs[] = {
	    {.ncpus = 0},
	    {.ncpus = ACPI_MAX_CPUS + 1},
	    {.ncpus = UINT32_MAX},
	    {.ncpus = 1, .mmio_devices = NULL, .n_mmio_devices = 1},
	    {.ncpus = 1, .mmio_devices = NULL, .n_mmio_devices = ACPI_MAX_MMIO_DEVICES + 1},
	};
	for (size_t i = 0; i < sizeof(bad_cfgs) / sizeof(bad_cfgs[0]); i++) {
		memset(&err, 0, sizeof(err));
		ck_assert_int_eq(acpi_build(&gm, &bad_cfgs[i], &rsdp, &err), -EINVAL);
		ck_assert_str_ne(err.msg, "");
	}
	/* Nothing was written and the out parameter was left alone. */
	ck_assert_uint_eq(rsdp, 0x1234);
	for (uint64_t a = ACPI_TABLES_ADDR; a < ACPI_TABLES_END; a++)
		ck_assert_uint_eq(ram[a], 0);

	/* The last valid device and GSI are accepted. */
	dev.base = (1ull << 32) - VIRTIO_MMIO_SIZE;
	dev.gsi = IOAPIC_PINS - 1;
	cfg = (struct acpi_config){.ncpus = 1, .mmio_devices = &dev, .n_mmio_devices = 1};
	ck_assert_int_eq(acpi_build(&gm, &cfg, &rsdp, &err), 0);
}
END_TEST

START_TEST(largest_config_fits)
{
	struct acpi_mmio_device devs[ACPI_MAX_MMIO_DEVICES];
	struct acpi_config cfg = {.ncpus = ACPI_MAX_CPUS,
				  .mmio_devices = devs,
				  .n_mmio_devices = ACPI_MAX_MMIO_DEVICES,
				  .pvpanic = true};
	struct tables tb;
	uint32_t len;

	for (unsigned i = 0; i < ACPI_MAX_MMIO_DEVICES; i++)
		devs[i] = (struct acpi_mmio_device){VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_SIZE,
						    VIRTIO_MMIO_SIZE, i % IOAPIC_PINS, "LNRO0005"};
	build_ok(&cfg, &tb);
	len = le32(tb.dsdt + 4);
	ck_assert_uint_eq(count(tb.dsdt, len, "LNRO0005", 8), ACPI_MAX_MMIO_DEVICES);
	ck_assert_ptr_nonnull(find(tb.dsdt, len, "VR99", 4));
}
END_TEST

/* Bytes the tables of cfg need, measured on a roomy guest. */
static uint64_t tables_size(const struct acpi_config *cfg)
{
	struct tables tb;

	memset(ram, 0, RAM_BYTES);
	build_ok(cfg, &tb);
	return (uint64_t)(tb.dsdt - (ram + ACPI_TABLES_ADDR)) + le32(tb.dsdt + 4);
}

START_TEST(enospc_when_ram_is_short)
{
	struct acpi_mmio_device devs[16];
	struct acpi_config cfg = {
	    .ncpus = 64, .mmio_devices = devs, .n_mmio_devices = 16, .pvpanic = true};
	struct vmm_err err;
	struct guest_mem small;
	uint64_t need, rsdp = 0;
	uint8_t *buf;

	for (unsigned i = 0; i < 16; i++)
		devs[i] =
		    (struct acpi_mmio_device){VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_SIZE,
					      VIRTIO_MMIO_SIZE, VIRTIO_MMIO_GSI0 + i, "LNRO0005"};
	need = tables_size(&cfg);
	ck_assert_uint_gt(need, 0x400);
	buf = calloc(1, ACPI_TABLES_ADDR + need);

	/* Exactly enough RAM: fits. */
	memset(&small, 0, sizeof(small));
	gm_add_region(&small, 0, ACPI_TABLES_ADDR + need, buf);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(acpi_build(&small, &cfg, &rsdp, &err), 0);

	/* One byte short: -ENOSPC, a message, nothing written. */
	memset(buf, 0, ACPI_TABLES_ADDR + need);
	memset(&small, 0, sizeof(small));
	gm_add_region(&small, 0, ACPI_TABLES_ADDR + need - 1, buf);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(acpi_build(&small, &cfg, &rsdp, &err), -ENOSPC);
	ck_assert_ptr_nonnull(strstr(err.msg, "ACPI"));
	for (uint64_t a = 0; a < ACPI_TABLES_ADDR + need; a++)
		ck_assert_uint_eq(buf[a], 0);

	/* A tiny area: the DSDT alone does not fit. */
	memset(&small, 0, sizeof(small));
	gm_add_region(&small, 0, ACPI_TABLES_ADDR + 0x100, buf);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(acpi_build(&small, &cfg, &rsdp, &err), -ENOSPC);
	ck_assert_str_ne(err.msg, "");

	/* No RAM behind ACPI_TABLES_ADDR at all. */
	memset(&small, 0, sizeof(small));
	gm_add_region(&small, 0, 0x10000, buf);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(acpi_build(&small, &one_cpu, &rsdp, &err), -ENOSPC);
	ck_assert_str_ne(err.msg, "");
	free(buf);
}
END_TEST

Suite *acpi_suite(void)
{
	Suite *s = suite_create("acpi");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, rsdp_checksums_and_fields);
	tcase_add_test(tc, xsdt_and_dsdt_pointers);
	tcase_add_test(tc, fadt_hardware_reduced);
	tcase_add_test(tc, madt_one_lapic_per_cpu);
	tcase_add_test(tc, dsdt_s5_and_com1);
	tcase_add_test(tc, dsdt_pvpanic_and_mmio_devices);
	tcase_add_test(tc, dsdt_power_button_through_ged);
	tcase_add_test(tc, tables_are_deterministic_and_per_vm);
	tcase_add_test(tc, bad_configs_rejected);
	tcase_add_test(tc, largest_config_fits);
	tcase_add_test(tc, enospc_when_ram_is_short);
	suite_add_tcase(s, tc);
	return s;
}
