#!/bin/bash
# Real-Linux virtio-blk checks: minivmm boots Debian's stock cloud kernel, whose
# initramfs (guest-images/build-initramfs.sh) loads virtio_mmio + virtio_blk and
# switch_roots to an ext4 root file system on a virtio disk
# (guest-images/build-rootfs.sh).  A guest script on a third, read-only disk
# reports the disks as Linux sees them (size, serial, read-only flag), reads a
# pattern the host wrote and writes one the host then reads back.
# Meant for a hardware-style /dev/kvm, like tests/linux/boot-checks.sh (skipped
# on PVM unless LINUX_CHECKS_ON_PVM=1).  Writable copies of the images live in
# a fresh directory under /tmp (inside the SVM test host the share is read-only).
#
# Usage: tests/linux/blk-checks.sh [--kernel VMLINUZ] [--initrd INITRAMFS]
#                                  [--rootfs ROOT_IMG] [--minivmm BIN]
#   defaults: $MINIVMM_CACHE/debian-kernel/cloud/vmlinuz,
#             $MINIVMM_CACHE/guest-initramfs.cpio.gz, $MINIVMM_CACHE/root.img
#             (tests/linux/prepare makes all three), build/minivmm
#   KILL_REPEATS (default 3): boots that are killed with SIGKILL right after the
#             guest said its write is synced; the data must be in the image.
# Prints TAP-like "ok N - ..." / "not ok N - ..." lines and "N passed, N failed";
# exits 0 only if every check passed.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 125
# shellcheck source=tests/linux/lib.sh
. tests/linux/lib.sh
repeats=${KILL_REPEATS:-3}
parse_args blk-checks "kernel initrd rootfs minivmm" "$@"

echo "# linux virtio-blk checks on $(kvm_kind)"
skip_on_pvm blk-checks
need_files "$kernel" "$initrd" "$rootfs" "$minivmm"
make_tmp blk-checks
boot_args=(--kernel "$kernel" --initrd "$initrd")
report_tag=blk
# range FILE SKIP_4K COUNT_4K: md5 of that range of an image.
range() { dd if="$1" bs=4096 skip="$2" count="$3" 2>/dev/null | md5; }

data_mib=24
# The host's pattern: 1 MiB at 1 MiB; the guest's goes to 4 MiB.
truncate -s ${data_mib}M "$tmp/data.img"
head -c 1048576 /dev/urandom | dd of="$tmp/data.img" bs=4096 seek=256 conv=notrunc 2>/dev/null
host_md5=$(range "$tmp/data.img" 256 256)

# The guest's part, run by the root file system's init as run=sh${IFS}/dev/vdc.
# The disk is padded with zeros after `exit`, which sh never reads.
cat > "$tmp/script.img" <<'GUEST'
echo "blk: vda-sectors=$(cat /sys/block/vda/size)"
echo "blk: vdb-sectors=$(cat /sys/block/vdb/size)"
echo "blk: vda-serial=$(cat /sys/block/vda/serial)"
echo "blk: vdb-serial=$(cat /sys/block/vdb/serial)"
echo "blk: vdb-ro=$(cat /sys/block/vdb/ro) vdc-ro=$(cat /sys/block/vdc/ro)"
echo "blk: root=$(grep ' / ' /proc/mounts | cut -d' ' -f1-3)"
echo "blk: host-pattern=$(dd if=/dev/vdb bs=4096 skip=256 count=256 2>/dev/null | md5sum | cut -d' ' -f1)"
dd if=/dev/urandom of=/tmp/pattern bs=4096 count=256 2>/dev/null
echo "blk: guest-pattern=$(md5sum < /tmp/pattern | cut -d' ' -f1)"
dd if=/tmp/pattern of=/dev/vdb bs=4096 seek=1024 2>/dev/null
sync
echo "blk: synced"
exit 0
GUEST
truncate -s 64K "$tmp/script.img"

cmdline() { echo "console=ttyS0 quiet panic=-1 root=/dev/vda run=sh\${IFS}/dev/vdc minivmm.action=$1"; }
disks=(--disk "$tmp/root.img,serial=rootdisk" --disk "$tmp/data.img,serial=datadisk"
	--disk "$tmp/script.img,ro,serial=script")

# 1. A clean boot to the root file system's init and power-off.
cp "$rootfs" "$tmp/root.img"
boot clean --cpus 1 --mem 256M --timeout 240 "${disks[@]}" --cmdline "$(cmdline poweroff)"
same clean "exit status (ACPI S5 power-off)" "$status" 0
expect clean "reached the root fs's /sbin/init" '^minivmm-rootfs: up'
same clean "/ is /dev/vda, ext4, read-write" "$(val root)" "/dev/vda / ext4"
same clean "vda size in sectors" "$(val vda-sectors)" $(($(stat -c %s "$rootfs") / 512))
same clean "vdb size in sectors" "$(val vdb-sectors)" $((data_mib * 2048))
same clean "vda serial" "$(val vda-serial)" rootdisk
same clean "vdb serial" "$(val vdb-serial)" datadisk
same clean "vdb writable, vdc (,ro) read-only" "$(val vdb-ro)" "0 vdc-ro=1"
same clean "guest reads the host's pattern" "$(val host-pattern)" "$host_md5"
guest_md5=$(val guest-pattern)
same clean "the guest's write to vdb is in data.img" "$(range "$tmp/data.img" 1024 256)" "$guest_md5"
same clean "the host's pattern is untouched" "$(range "$tmp/data.img" 256 256)" "$host_md5"
got=$(PATH=$PATH:/sbin:/usr/sbin debugfs -R 'cat /tmp/pattern' "$tmp/root.img" 2>/dev/null | md5)
same clean "the guest's file on the ext4 root is in root.img" "$got" "$guest_md5"
if PATH=$PATH:/sbin:/usr/sbin e2fsck -fn "$tmp/root.img" >"$tmp/fsck.log" 2>&1; then
	ok "clean: root.img passes e2fsck -fn after power-off"
else
	notok "clean: e2fsck -fn root.img failed"
	sed 's/^/#   /' "$tmp/fsck.log" | tail -20
fi

# 2. SIGKILL right after the guest's "synced": what it synced is in the image.
for i in $(seq 1 "$repeats"); do
	name=kill$i
	start_boot --killable "$name" --cpus 1 --mem 256M --timeout 200 "${disks[@]}" \
		--cmdline "$(cmdline none)"
	# Stop waiting once the guest is past its script (it never said "synced").
	wait_for '^(blk: synced|minivmm-[a-z]+: action)'
	kill -9 "$vm" 2>/dev/null
	wait_boot "$name"
	same "$name" "killed by SIGKILL (status 137) after 'synced'" "$status" 137
	guest_md5=$(val guest-pattern)
	same "$name" "the synced write is in data.img" "$(range "$tmp/data.img" 1024 256)" "$guest_md5"
done

finish
