#!/bin/bash
# Real-Linux checks: minivmm boots Debian's stock cloud kernel with the tiny
# initramfs of guest-images/build-initramfs.sh, and the kernel's own log is the
# oracle for boot_params, e820, ACPI (MADT, FADT, DSDT) and the exit paths.
# Meant for a hardware-style /dev/kvm: inside the SVM test host
# (tests/hostvm/run), or directly on a machine with real KVM.  On a PVM host
# (/sys/module/kvm_pvm) a boot takes minutes: skipped unless LINUX_CHECKS_ON_PVM=1.
#
# Usage: tests/linux/boot-checks.sh [--kernel VMLINUZ] [--initrd INITRAMFS] [--minivmm BIN]
#   defaults: $MINIVMM_CACHE/debian-kernel/cloud/vmlinuz,
#             $MINIVMM_CACHE/guest-initramfs.cpio.gz (tests/linux/prepare makes both),
#             build/minivmm
# Prints TAP-like "ok N - ..." / "not ok N - ..." lines and "N passed, N failed";
# exits 0 only if every check passed.  Asserts no times (they go to bench/).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 125
# shellcheck source=tests/linux/lib.sh
. tests/linux/lib.sh
parse_args boot-checks "kernel initrd minivmm" "$@"

echo "# linux boot checks on $(kvm_kind)"
skip_on_pvm boot-checks
need_files "$kernel" "$initrd" "$minivmm"
make_tmp boot-checks
boot_args=(--kernel "$kernel" --initrd "$initrd")

# MemTotal is RAM less what the kernel keeps (code, memmap, reserved ranges):
# for these sizes 85-100 % of --mem.
expect_memtotal() {
	local mib=$2 kib
	kib=$(log_text | sed -n 's/^MemTotal: *\([0-9]*\) kB.*/\1/p' | tail -1)
	if [ -n "$kib" ] && [ "$kib" -le $((mib * 1024)) ] && [ "$kib" -ge $((mib * 1024 * 85 / 100)) ]; then
		ok "$1: MemTotal $kib kB fits --mem ${mib}M"
	else
		notok "$1: MemTotal '${kib:-none}' kB does not fit --mem ${mib}M (85-100 %)"
		show_log "$1"
	fi
}
hex16() { printf '0x%016x' "$1"; }

# 1. Power-off with the full kernel log: boot_params, e820, ACPI, MADT, cmdline.
cmdline="console=ttyS0 panic=-1 minivmm.action=poweroff"
boot poweroff --cpus 2 --mem 512M --timeout 240 --cmdline "$cmdline"
expect_status poweroff 0 "ACPI S5 power-off"
expect poweroff "reached /init" '^minivmm-initramfs: up'
expect poweroff "nproc is --cpus (2)" '^nproc=2$'
expect_memtotal poweroff 512
# minivmm appends one virtio_mmio.device= entry per virtio device: here the
# default virtio-rng in slot 0.
expect poweroff "command line echoed, with the virtio-mmio entry" \
	"Command line: $cmdline virtio_mmio.device=4K@0xd0000000:5\$"
expect poweroff "e820: low RAM below the EBDA" "BIOS-e820: \[mem $(hex16 0)-$(hex16 0x9fbff)\] usable"
expect poweroff "e820: EBDA..1 MiB reserved" "BIOS-e820: \[mem $(hex16 0x9fc00)-$(hex16 0xfffff)\] reserved"
expect poweroff "e820: RAM from 1 MiB to --mem" "BIOS-e820: \[mem $(hex16 0x100000)-$(hex16 $((512 * 1024 * 1024 - 1)))\] usable"
entries=$(log_text | grep -c 'BIOS-e820:')
if [ "$entries" -eq 3 ]; then ok "poweroff: e820 has exactly 3 entries"; else
	notok "poweroff: e820 has $entries entries, expected 3"
	show_log poweroff
fi
expect poweroff "ACPI RSDP with OEM MINVMM" 'ACPI: RSDP 0x[0-9A-F]+ [0-9A-F]+ \(v02 MINVMM'
for t in XSDT FACP APIC DSDT; do
	expect poweroff "ACPI $t with OEM MINVMM" "ACPI: $t 0x[0-9A-F]+ [0-9A-F]+ \(v[0-9]+ MINVMM"
done
expect poweroff "MADT: smpboot allows 2 CPUs" 'smpboot: Allowing 2 CPUs, 0 hotplug CPUs'
expect poweroff "both CPUs came up" 'smp: Brought up 1 node, 2 CPUs'
expect poweroff "kernel entered S5 through the FADT" 'ACPI: PM: Preparing to enter system sleep state S5'
expect_not poweroff "no panic, BUG or Oops in the log" 'Kernel panic|BUG:|Oops'

# 2. Reboot (reboot -f), one CPU, other memory size, quiet.
boot reboot --cpus 1 --mem 256M --timeout 120 --cmdline "console=ttyS0 quiet panic=-1 minivmm.action=reboot"
expect_status reboot 100 "guest reboot"
expect reboot "reached /init" '^minivmm-initramfs: up'
expect reboot "nproc is --cpus (1)" '^nproc=1$'
expect_memtotal reboot 256

# 3. Panic with panic=-1: the kernel reboots at once.
boot panic --cpus 2 --mem 256M --timeout 120 --cmdline "console=ttyS0 quiet panic=-1 minivmm.action=panic"
expect_status panic 100 "panic=-1 reboots"
expect panic "the kernel panicked" 'Kernel panic - not syncing'

# 4. Panic reported through pvpanic (ACPI QEMU0001, port 0x505), panic=0 so
#    only pvpanic can end the run.
boot pvpanic --cpus 1 --mem 256M --timeout 120 --cmdline "console=ttyS0 quiet panic=0 minivmm.action=pvpanic"
expect_status pvpanic 101 "pvpanic"
expect pvpanic "reached the pvpanic action" '^minivmm-initramfs: action pvpanic'

# (No exit-port boot: Debian's cloud kernel has CONFIG_DEVPORT unset, so user
# space cannot reach port 0xf4; the test guests cover the exit port.)

# 5. --timeout ends a guest that never stops.
boot timeout --cpus 1 --mem 256M --timeout 5 --cmdline "console=ttyS0 quiet panic=-1 minivmm.action=none"
expect_status timeout 102 "--timeout"

finish
