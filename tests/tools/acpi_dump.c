/* SPDX-License-Identifier: MIT */
/*
 * acpi_dump DIR [NCPUS] [--mmio N] [--pvpanic] [--power-button GSI]
 *
 * Builds the ACPI tables minivmm would give a VM with NCPUS vCPUs (default 1),
 * N fake "LNRO0005" virtio-mmio devices laid out as boot/layout.h says, and
 * optionally the pvpanic device and the power button (Generic Event Device on
 * GSI), into fake guest memory; follows the
 * pointers from the RSDP and writes every table to DIR/<SIG>.dat (RSDP.dat,
 * XSDT.dat, FACP.dat, APIC.dat, DSDT.dat) for `iasl -d`
 * (tests/acpi/check_iasl.sh).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/acpi.h"
#include "boot/layout.h"
#include "vmm/memory.h"

#define FAKE_RAM_BYTES 0x100000ull /* the first MiB holds the whole ACPI area */

static void usage(void)
{
	fprintf(stderr,
		"usage: acpi_dump DIR [NCPUS] [--mmio N] [--pvpanic] [--power-button GSI]\n");
}

static int write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "acpi_dump: cannot create %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "acpi_dump: cannot write %s\n", path);
		return -1;
	}
	return 0;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* Writes the table at gpa to DIR/<SIG>.dat; returns its host pointer or NULL. */
static const uint8_t *dump_table(const struct guest_mem *gm, const char *dir, uint64_t gpa)
{
	const uint8_t *hdr = gm_ptr(gm, gpa, 36);
	const uint8_t *t;
	char sig[5];
	uint32_t len;

	if (!hdr) {
		fprintf(stderr, "acpi_dump: table pointer 0x%llx is outside guest RAM\n",
			(unsigned long long)gpa);
		return NULL;
	}
	len = get32(hdr + 4);
	t = gm_ptr(gm, gpa, len);
	if (len < 36 || !t) {
		fprintf(stderr, "acpi_dump: table at 0x%llx has bad length %u\n",
			(unsigned long long)gpa, len);
		return NULL;
	}
	memcpy(sig, t, 4);
	sig[4] = '\0';
	for (int i = 0; i < 4; i++)
		if (sig[i] < '0' || sig[i] > 'Z')
			sig[i] = '_'; /* keep a corrupt signature from naming a path */
	return write_file(dir, sig, t, len) ? NULL : t;
}

int main(int argc, char **argv)
{
	struct acpi_mmio_device devs[VIRTIO_MMIO_MAX];
	struct acpi_config cfg = {.ncpus = 1};
	struct vmm_err err = {{0}};
	struct guest_mem gm = {0};
	const uint8_t *rsdp, *xsdt, *fadt;
	const char *dir = NULL;
	uint64_t rsdp_gpa;
	uint8_t *ram;
	int ret, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pvpanic")) {
			cfg.pvpanic = true;
		} else if (!strcmp(argv[i], "--power-button") && i + 1 < argc) {
			cfg.power_button = true;
			cfg.power_button_gsi = (uint32_t)strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--mmio") && i + 1 < argc) {
			cfg.n_mmio_devices = (unsigned)strtoul(argv[++i], NULL, 0);
		} else if (argv[i][0] == '-') {
			usage();
			return 2;
		} else if (!dir) {
			dir = argv[i];
		} else {
			cfg.ncpus = (uint32_t)strtoul(argv[i], NULL, 0);
		}
	}
	if (!dir || cfg.n_mmio_devices > VIRTIO_MMIO_MAX) {
		usage();
		return 2;
	}
	for (unsigned d = 0; d < cfg.n_mmio_devices; d++) {
		devs[d].base = VIRTIO_MMIO_BASE + d * VIRTIO_MMIO_SIZE;
		devs[d].size = VIRTIO_MMIO_SIZE;
		devs[d].gsi = VIRTIO_MMIO_GSI0 + d;
		devs[d].hid = "LNRO0005";
	}
	cfg.mmio_devices = devs;

	ram = calloc(1, FAKE_RAM_BYTES);
	if (!ram || gm_add_region(&gm, 0, FAKE_RAM_BYTES, ram)) {
		fprintf(stderr, "acpi_dump: cannot set up fake guest memory\n");
		return 1;
	}
	ret = acpi_build(&gm, &cfg, &rsdp_gpa, &err);
	if (ret) {
		fprintf(stderr, "acpi_dump: %s\n", err.msg);
		return 1;
	}

	rsdp = gm_ptr(&gm, rsdp_gpa, 36);
	if (!rsdp || write_file(dir, "RSDP", rsdp, 36))
		return 1;
	xsdt = dump_table(&gm, dir, get64(rsdp + 24));
	if (!xsdt)
		return 1;
	fadt = NULL;
	for (uint32_t off = 36; off + 8 <= get32(xsdt + 4); off += 8) {
		const uint8_t *t = dump_table(&gm, dir, get64(xsdt + off));

		if (!t)
			return 1;
		if (!memcmp(t, "FACP", 4))
			fadt = t;
	}
	if (!fadt) {
		fprintf(stderr, "acpi_dump: the XSDT lists no FACP\n");
		return 1;
	}
	if (!dump_table(&gm, dir, get64(fadt + 140))) /* X_DSDT */
		return 1;
	free(ram);
	return 0;
}
