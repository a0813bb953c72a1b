#!/bin/bash
# A real distribution's root: Debian 12 made by debootstrap (minbase, systemd-sysv,
# udev; guest-images/build-debian-root.sh), booted with Debian's cloud kernel and
# the project's initramfs.  The initramfs must find /sbin/init inside that root
# (an absolute symlink to /lib/systemd/systemd through the /sbin -> usr/sbin
# link), systemd must reach multi-user.target (seen on the serial console), and
# the image's minivmm-poweroff.service (minivmm.action=poweroff) powers off:
# minivmm exits 0.  The image is booted from a sparse copy in /tmp.
# Meant for a hardware-style /dev/kvm (the SVM test host); skipped on PVM.
#
# Usage: tests/linux/debian-checks.sh [--kernel VMLINUZ] [--initrd INITRAMFS]
#                                     [--debian-root IMG] [--minivmm BIN]
# Prints "ok N - ..." / "not ok N - ..." lines and "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 125
# shellcheck source=tests/linux/lib.sh
. tests/linux/lib.sh
debian_root=$cache/debian-root.img
parse_args debian-checks "kernel initrd debian-root minivmm" "$@"

echo "# Debian 12 root (debootstrap, systemd) on $(kvm_kind)"
skip_on_pvm debian-checks
need_files --made-by "tests/linux/prepare, guest-images/build-debian-root.sh (root)" \
	"$kernel" "$initrd" "$debian_root" "$minivmm"
make_tmp debian-checks

cp --sparse=always "$debian_root" "$tmp/root.img"
boot debian --kernel "$kernel" --initrd "$initrd" --disk "$tmp/root.img" --mem 512M \
	--timeout "${DEBIAN_BOOT_LIMIT:-400}" \
	--cmdline "console=ttyS0 root=/dev/vda rw panic=-1 minivmm.action=poweroff"
expect debian "the initramfs found init inside the new root" \
	'^minivmm-initramfs: switch_root to /dev/vda, init /sbin/init'
expect debian "systemd is PID 1" 'systemd\[1\]: systemd [0-9]+ running in system mode|Welcome to .*Debian GNU/Linux 12'
expect debian "multi-user.target reached" 'Reached target .*Multi-User System'
expect_not debian "no failed units" '\[FAILED\]'
expect debian "powered off (ACPI S5 after systemd's poweroff)" 'reboot: Power down'
expect_status debian 0 "ACPI power-off from systemd"
echo "# Debian 12 to multi-user and power-off: $((SECONDS - start)) s under minivmm here"
finish
