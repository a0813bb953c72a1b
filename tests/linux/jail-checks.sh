#!/bin/bash
# The microVM kernel booted by a jailed minivmm (--jail, README "Jail"):
# the same command lines as microvm-checks.sh plus --jail, as uid 65534 in a
# cgroup with limits (where cgroup v2 can be had):
#   - the README's `--kernel bzImage --disk root.img`: root on the writable
#     disk, its /sbin/init runs and powers off (status 0);
#   - the initramfs with a read-only data disk and user-mode networking:
#     disk size, DHCP address, poweroff.
# Needs root (skipped otherwise) and a hardware-style /dev/kvm (the SVM test
# host); skipped on PVM unless LINUX_CHECKS_ON_PVM=1.
#
# Usage: tests/linux/jail-checks.sh [--kernel-dir DIR] [--initrd INITRAMFS]
#                                   [--rootfs ROOT_IMG] [--minivmm BIN]
# Prints "ok N - ..." / "not ok N - ..." lines and "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 125
# shellcheck source=tests/linux/lib.sh
. tests/linux/lib.sh
parse_args jail-checks "kernel-dir initrd rootfs minivmm" "$@"

echo "# jailed microVM kernel checks on $(kvm_kind)"
if [ "$(id -u)" -ne 0 ]; then
	echo "# skipped: the jail checks run as root (tests/hostvm/run)"
	finish
fi
skip_on_pvm jail-checks
need_files --made-by "tests/linux/prepare, guest-images/build-microvm-kernel.sh" \
	"$kernel_dir/bzImage" "$initrd" "$rootfs" "$minivmm"
make_tmp jail-checks
mkdir "$tmp/jail"
jail="$tmp/jail,uid=65534,gid=65534"
# cgroup v2 with the controllers to hand out: mount it where nothing is (the
# SVM test host mounts none); on a hybrid v1/v2 host go without limits.
[ -e /sys/fs/cgroup/cgroup.controllers ] || mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null
if grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
	jail="$jail,cgroup=minivmm-checks,cpus=1,mem=512M,pids=32"
else
	echo "# no cgroup v2 with controllers here: jailed without cgroup limits"
fi

# 1. The README's command, jailed; the image must be the jailed user's to write.
cp "$rootfs" "$tmp/root.img"
chown 65534:65534 "$tmp/root.img"
boot card --kernel "$kernel_dir/bzImage" --disk "$tmp/root.img" --timeout 120 --jail "$jail"
expect_status card 0 "jailed: the root file system's init powered off"
expect card "jailed: ext4 root mounted from vda" 'EXT4-fs \(vda\): mounted'
expect card "jailed: reached the disk's /sbin/init" '^minivmm-rootfs: up'
if e2fsck -fn "$tmp/root.img" >/dev/null 2>&1; then
	ok "jailed: the guest's writes left a clean ext4 on the host's image"
else
	notok "jailed: e2fsck finds the image unclean after the jailed boot"
fi

# 2. Initramfs, a read-only data disk, user-mode networking.
data=$tmp/data.img
truncate -s 24M "$data"
# shellcheck disable=SC2016  # expanded by the guest's shell, not here
script='echo${IFS}mv:vda-sectors=$(cat${IFS}/sys/block/vda/size)'
boot devices --kernel "$kernel_dir/bzImage" --initrd "$initrd" --mem 256M --timeout 120 \
	--disk "$data,ro,serial=data" --net user \
	--cmdline "console=ttyS0 panic=-1 minivmm.net=dhcp run=$script" --jail "$jail"
expect_status devices 0 "jailed: poweroff"
expect devices "jailed: virtio-blk disk of 24 MiB (49152 sectors)" '^mv:vda-sectors=49152$'
expect devices "jailed: DHCP address from user networking" 'minivmm-initramfs: eth0 10\.0\.2\.15/24'
rmdir "$tmp/jail" && ok "jailed: the jail's directory is left empty on the host" ||
	notok "jailed: the jail's directory is not empty: $(ls -A "$tmp/jail")"
finish
