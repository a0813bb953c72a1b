/* SPDX-License-Identifier: MIT */
/*
 * reset: resets the machine by cmdline `method=`
 *   i8042   pulse the reset line through the keyboard controller (0xfe to 0x64)
 *   acpi    the FADT reset register and value
 *   triple      an empty IDT, then int3: a triple fault.  On an emulating
 *               KVM (HOST-KVM.md) int3 is an emulation failure the VMM must
 *               complete by injecting #BP, so this also tests that.
 *   triple_ud2  the same with ud2 (#UD)
 *   triple_pf   the same with a page fault (a read above the 4 GiB map)
 * Still running afterwards is a failure (exit status 1).
 */
#include "tests/guests/lib/guest.h"

const char guest_name[] = "reset";

#define I8042_PULSE_RESET 0xfe
/* entry.S maps the first 4 GiB only: a page fault. */
#define UNMAPPED_ADDR HIGH_RAM_START

/*
 * With an empty IDT no exception can be delivered: the first one becomes a
 * #GP that cannot be delivered either, then a #DF: shutdown, which a VMM
 * treats as a reset.  `how` picks the first exception.
 */
static void triple_fault(const char *how)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) empty_idt = {0, 0};

	asm volatile("lidt %0" : : "m"(empty_idt) : "memory");
	if (!strcmp(how, "ud2"))
		asm volatile("ud2");
	else if (!strcmp(how, "pf"))
		(void)mmio_read8(UNMAPPED_ADDR);
	/* int3 last: also the fallback if the others somehow return. */
	asm volatile("int3\n\tud2");
}

int guest_main(const struct boot_info *bi)
{
	char method[16];
	struct acpi_info ai;

	if (!report(cmdline_get(bi, "method", method, sizeof(method)),
		    "method=i8042|acpi|triple|triple_ud2|triple_pf on the command line"))
		report_done();
	printf("reset: method=%s\n", method);
	if (!strcmp(method, "i8042")) {
		outb(I8042_PULSE_RESET, I8042_CMD_PORT);
	} else if (!strcmp(method, "acpi")) {
		acpi_scan(&ai, bi->rsdp_addr, false);
		if (!report(ai.has_reset, "FADT has a reset register"))
			report_done();
		printf("reset: writing 0x%x to %s 0x%lx\n", ai.reset_value,
		       ai.reset_reg.space_id == ACPI_GAS_IO ? "port" : "address",
		       ai.reset_reg.address);
		if (!report(acpi_gas_write(&ai.reset_reg, ai.reset_value),
			    "reset register writable"))
			report_done();
	} else if (!strcmp(method, "triple")) {
		triple_fault("int3");
	} else if (!strcmp(method, "triple_ud2")) {
		triple_fault("ud2");
	} else if (!strcmp(method, "triple_pf")) {
		triple_fault("pf");
	} else {
		report(false, "known method (got \"%s\")", method);
		report_done();
	}
	guest_grace_period();
	report(false, "reset by %s (still running)", method);
	report_done();
}
