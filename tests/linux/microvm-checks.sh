#!/bin/bash
# The microVM kernel (guest-images/build-microvm-kernel.sh: virtio-mmio, blk,
# net, rng, vsock, ext4, pvpanic all built in, no modules) under minivmm:
#   - the README's own command, `minivmm --kernel bzImage --disk root.img`,
#     with no initrd and no --cmdline: root on /dev/vda, its /sbin/init runs,
#     and the guest's poweroff ends minivmm with status 0;
#   - with the tiny initramfs, as bzImage and as ELF vmlinux (PVH entry):
#     every virtio device found and driven by the built-in drivers (disk size,
#     DHCP over user networking, /dev/hwrng), no driver probe failing, and the
#     exit paths (poweroff 0, pvpanic 101, exit:N through /dev/port).
# Meant for a hardware-style /dev/kvm (the SVM test host); skipped on PVM
# unless LINUX_CHECKS_ON_PVM=1.
#
# Usage: tests/linux/microvm-checks.sh [--kernel-dir DIR] [--initrd INITRAMFS]
#                                      [--rootfs ROOT_IMG] [--minivmm BIN]
#   defaults: $MINIVMM_CACHE/microvm-kernel (bzImage, vmlinux),
#             $MINIVMM_CACHE/guest-initramfs.cpio.gz, $MINIVMM_CACHE/root.img
# Prints "ok N - ..." / "not ok N - ..." lines and "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 125
# shellcheck source=tests/linux/lib.sh
. tests/linux/lib.sh
parse_args microvm-checks "kernel-dir initrd rootfs minivmm" "$@"

echo "# microVM kernel checks on $(kvm_kind)"
skip_on_pvm microvm-checks
need_files --made-by "tests/linux/prepare, guest-images/build-microvm-kernel.sh" \
	"$kernel_dir/bzImage" "$kernel_dir/vmlinux" "$initrd" "$rootfs" "$minivmm"
make_tmp microvm-checks

# A kernel with both ACPI and VIRTIO_MMIO_CMDLINE_DEVICES finds each virtio
# device twice; the ACPI one wins and the command-line duplicate fails with
# -EBUSY (16).  Any other failed probe is a finding.
expect_no_probe_failure() {
	local bad
	bad=$(log_text | grep -E 'probe of .* failed' |
		grep -vE 'virtio-mmio: probe of virtio-mmio\.[0-9]+ failed with error -16' | head -1)
	if [ -z "$bad" ]; then ok "$1: no driver failed to probe (but the -EBUSY duplicates)"; else
		notok "$1: a driver failed to probe: $bad"
		show_log "$1"
	fi
}

# 1. The README's command: kernel and disk, nothing else (bounded here).
cp "$rootfs" "$tmp/root.img"
boot card --kernel "$kernel_dir/bzImage" --disk "$tmp/root.img" --timeout 120
expect_status card 0 "the root file system's init powered off"
expect card "default command line puts root on the first disk" 'Command line: console=ttyS0 root=/dev/vda rw'
expect card "ext4 root mounted from vda by the kernel itself" 'EXT4-fs \(vda\): mounted'
expect card "reached the disk's /sbin/init" '^minivmm-rootfs: up'
expect_no_probe_failure card

# 2. Every device, built-in drivers, through the initramfs (no modules there
#    to load: insmod finds none and the drivers are already up).
data=$tmp/data.img
truncate -s 24M "$data"
# shellcheck disable=SC2016  # expanded by the guest's shell, not here
script='echo${IFS}mv:vda-sectors=$(cat${IFS}/sys/block/vda/size);echo${IFS}mv:rng-current=$(cat${IFS}/sys/class/misc/hw_random/rng_current);echo${IFS}mv:hwrng-bytes=$(timeout${IFS}30${IFS}head${IFS}-c${IFS}64${IFS}/dev/hwrng|wc${IFS}-c)'
for fmt in bzImage vmlinux; do
	name=devices-$fmt
	boot "$name" --kernel "$kernel_dir/$fmt" --initrd "$initrd" --cpus 2 --mem 256M --timeout 120 \
		--disk "$data,ro,serial=data" --net user --rng on \
		--cmdline "console=ttyS0 panic=-1 minivmm.net=dhcp run=$script"
	expect_status "$name" 0 "poweroff"
	if [ "$fmt" = vmlinux ]; then
		expect "$name" "entered through PVH" 'PVH'
	else
		expect "$name" "decompressed on the host" 'decompressed on the host'
	fi
	expect "$name" "ACPI tables loaded (MINVMM DSDT)" 'ACPI: DSDT 0x.*MINVMM'
	expect_not "$name" "ACPI namespace loaded" 'Unable to load the System Description Tables'
	expect "$name" "two CPUs brought up" 'smp: Brought up 1 node, 2 CPUs'
	expect "$name" "virtio-blk disk of 24 MiB (49152 sectors)" '^mv:vda-sectors=49152$'
	expect "$name" "DHCP address from user networking" 'minivmm-initramfs: eth0 10\.0\.2\.15/24'
	expect "$name" "virtio_rng is the current hwrng" '^mv:rng-current=virtio_rng'
	expect "$name" "/dev/hwrng gives 64 bytes" '^mv:hwrng-bytes=64$'
	expect_no_probe_failure "$name"
done

# 3. Exit paths with built-in pvpanic and /dev/port.
boot pvpanic --kernel "$kernel_dir/bzImage" --initrd "$initrd" --timeout 120 \
	--cmdline "console=ttyS0 quiet panic=0 minivmm.action=pvpanic"
expect_status pvpanic 101 "guest panic reported through pvpanic"
boot exitport --kernel "$kernel_dir/bzImage" --initrd "$initrd" --timeout 120 \
	--cmdline "console=ttyS0 quiet panic=-1 minivmm.action=exit:7"
expect_status exitport 7 "the guest's status through port 0xf4 (/dev/port)"
finish
