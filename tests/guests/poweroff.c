/* SPDX-License-Identifier: MIT */
/*
 * poweroff: ACPI S5 the way Linux does it on a hardware-reduced platform:
 * SLP_TYP from \_S5 and SLP_EN written to the FADT sleep control register
 * (ACPI 6.5 §4.8.3.7).  Still running afterwards is a failure.
 */
#include "tests/guests/lib/guest.h"

const char guest_name[] = "poweroff";

int guest_main(const struct boot_info *bi)
{
	struct acpi_info ai;
	uint32_t value;

	acpi_scan(&ai, bi->rsdp_addr, false);
	if (!report(ai.has_sleep_control, "FADT has a sleep control register") ||
	    !report(ai.s5_slp_typ >= 0, "DSDT has \\_S5 (SLP_TYP %d)", ai.s5_slp_typ))
		report_done();
	value = (((uint32_t)ai.s5_slp_typ << ACPI_SLP_TYP_SHIFT) & ACPI_SLP_TYP_MASK) | ACPI_SLP_EN;
	printf("poweroff: SLP_TYP=%d: writing 0x%x to %s 0x%lx\n", ai.s5_slp_typ, value,
	       ai.sleep_control.space_id == ACPI_GAS_IO ? "port" : "address",
	       ai.sleep_control.address);
	if (!report(acpi_gas_write(&ai.sleep_control, value), "sleep control register writable"))
		report_done();
	guest_grace_period();
	report(false, "powered off (still running after the S5 write)");
	report_done();
}
