#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tests/acpi/check_iasl.sh [ACPI_DUMP]
#
# Cross-checks minivmm's ACPI tables against ACPICA's own tool: for several
# VM shapes, dumps the tables with tests/tools/acpi_dump (default
# build/tools/acpi_dump) and
#  - runs `iasl -d` on every table: any error, warning or "Incorrect checksum"
#    fails it;
#  - recompiles the disassembly: it must compile cleanly, and for the data
#    tables (FACP, APIC, XSDT) give back our bytes except the checksum and
#    the compiler ID/revision that iasl puts in (so every field we wrote is
#    one iasl understood);
#  - the RSDP, which this iasl cannot disassemble from a binary file, is
#    compiled by iasl from the fields we wrote and must match byte for byte
#    (both checksums included).
# DSDT, FACP and APIC must exist in every shape; the power button's GED
# and _EVT must read back as written.  Prints "N passed, N failed".
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dump=${1:-$root/build/tools/acpi_dump}
case $dump in /*) ;; *) dump=$(pwd)/$dump ;; esac

if ! command -v iasl >/dev/null 2>&1; then
	echo "check_iasl: iasl not found (apt-get install acpica-tools)" >&2
	exit 2
fi
if [ ! -x "$dump" ]; then
	echo "check_iasl: $dump not built" >&2
	exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
passed=0
failed=0

pass() { passed=$((passed + 1)); }
fail() {
	failed=$((failed + 1))
	echo "FAIL [$shape] $1"
	if [ -n "${2:-}" ] && [ -f "$2" ]; then sed 's/^/    /' "$2" | head -20; fi
}

# Bytes 10 (checksum) and 29-36 (compiler ID and revision) may differ.
same_but_header() {
	cmp -l "$1" "$2" >"$3" 2>&1
	rc=$?
	[ $rc -eq 0 ] && return 0
	[ $rc -eq 1 ] || return 1
	awk '$1 != 10 && ($1 < 29 || $1 > 36) { bad = 1 } END { exit bad }' "$3"
}

check_rsdp() {
	# Fields from our bytes; iasl recomputes both checksums and the layout.
	oem=$(dd if=RSDP.dat bs=1 skip=9 count=6 2>/dev/null)
	rev=$(od -An -tx1 -j15 -N1 RSDP.dat | tr -d ' ')
	xsdt=$(od -An -tx8 -j24 -N8 RSDP.dat | tr -d ' ')
	cat >rsdp_ref.dsl <<-EOF
		[0008] Signature : "RSD PTR "
		[0001] Checksum : 00
		[0006] Oem ID : "$oem"
		[0001] Revision : $rev
		[0004] RSDT Address : 00000000
		[0004] Length : 00000024
		[0008] XSDT Address : $xsdt
		[0001] Extended Checksum : 00
		[0003] Reserved : 000000
	EOF
	if ! iasl rsdp_ref.dsl >rsdp_ref.log 2>&1; then
		fail "RSDP: iasl cannot compile the reference RSDP" rsdp_ref.log
	elif ! cmp rsdp_ref.aml RSDP.dat >rsdp_cmp.log 2>&1; then
		fail "RSDP: differs from iasl's RSDP with the same fields (checksum?)" rsdp_cmp.log
	else
		pass
	fi
}

check_table() {
	sig=$1
	if ! iasl -d "$sig.dat" >"$sig.dis.log" 2>&1 || [ ! -f "$sig.dsl" ]; then
		fail "$sig: iasl -d failed" "$sig.dis.log"
		return
	fi
	if grep -i -E 'error|warning|incorrect|invalid|unknown' "$sig.dis.log" >"$sig.grep" ||
	   grep -E 'Incorrect|Invalid|Unknown|Error|\*\*\*\*' "$sig.dsl" >>"$sig.grep"; then
		fail "$sig: iasl -d complains" "$sig.grep"
		return
	fi
	mkdir -p re
	cp "$sig.dsl" "re/$sig.dsl"
	if ! (cd re && iasl "$sig.dsl") >"$sig.re.log" 2>&1 ||
	   ! grep -q ' 0 Errors, 0 Warnings' "$sig.re.log"; then
		fail "$sig: the disassembly does not recompile cleanly" "$sig.re.log"
		return
	fi
	if [ "$sig" != DSDT ] && ! same_but_header "re/$sig.aml" "$sig.dat" "$sig.cmp"; then
		fail "$sig: recompiled bytes differ from ours (cmp -l: offset+1 theirs ours)" \
			"$sig.cmp"
		return
	fi
	pass
}

check_shape() {
	shape=$*
	dir=$tmp/$(echo "$shape" | tr -c 'a-zA-Z0-9\n' '_')
	mkdir -p "$dir"
	# shellcheck disable=SC2086 # word splitting of the shape is intended
	if ! "$dump" "$dir" $shape >"$dir/dump.log" 2>&1; then
		fail "acpi_dump $shape failed" "$dir/dump.log"
		return
	fi
	(
		cd "$dir" || exit 1
		for req in RSDP XSDT DSDT FACP APIC; do
			if [ ! -f "$req.dat" ]; then
				fail "$req.dat missing"
			fi
		done
		for f in *.dat; do
			case $f in
			RSDP.dat) check_rsdp ;;
			*.dat) check_table "${f%.dat}" ;;
			esac
		done
		echo "$passed $failed" >counts
	)
	if [ -f "$dir/counts" ]; then
		read -r passed failed <"$dir/counts"
	else
		failed=$((failed + 1))
	fi
}

check_shape 1
check_shape 4
check_shape 1 --pvpanic
check_shape 4 --mmio 2
check_shape 4 --mmio 2 --pvpanic
check_shape 64 --mmio 16 --pvpanic
check_shape 2 --mmio 3 --pvpanic --power-button 8
check_shape 64 --mmio 16 --pvpanic --power-button 21

# The power button as ACPICA reads it back: a PNP0C0C device, and the GED
# (ACPI0013) with its one edge interrupt on the GSI we asked for and an _EVT
# that notifies the button with 0x80 for that GSI.
check_power_button() {
	shape="power button"
	dir=$tmp/power_button
	mkdir -p "$dir"
	if ! "$dump" "$dir" 2 --mmio 3 --power-button 8 >"$dir/dump.log" 2>&1 ||
	   ! (cd "$dir" && iasl -d DSDT.dat >dis.log 2>&1); then
		fail "acpi_dump/iasl -d failed" "$dir/dump.log"
		return
	fi
	sed -n '/Device (GED0)/,/^        }/p' "$dir/DSDT.dsl" >"$dir/ged.dsl"
	for want in 'Name (_HID, "ACPI0013"' \
		'Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )' \
		'0x00000008,' 'Method (_EVT, 1, NotSerialized)' 'If ((Arg0 == 0x08))' \
		'Notify (\_SB.PWRB, 0x80)'; do
		if ! grep -q -F -- "$want" "$dir/ged.dsl"; then
			fail "DSDT: the GED lacks '$want'" "$dir/ged.dsl"
			return
		fi
	done
	if ! grep -A2 'Device (PWRB)' "$dir/DSDT.dsl" | grep -q 'EisaId ("PNP0C0C")'; then
		fail "DSDT: no PNP0C0C power button device" "$dir/DSDT.dsl"
		return
	fi
	pass
}
check_power_button

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
