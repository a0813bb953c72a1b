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
cache=${MINIVMM_CACHE:-$HOME/.cache/minivmm}
kernel=$cache/debian-kernel/cloud/vmlinuz
initrd=$cache/guest-initramfs.cpio.gz
rootfs=$cache/root.img
minivmm=${MINIVMM_BIN:-build/minivmm}
repeats=${KILL_REPEATS:-3}
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=$2; shift 2 ;;
	--initrd) initrd=$2; shift 2 ;;
	--rootfs) rootfs=$2; shift 2 ;;
	--minivmm) minivmm=$2; shift 2 ;;
	*) echo "blk-checks: unknown argument $1" >&2; exit 2 ;;
	esac
done

passed=0
failed=0
n=0
ok() {
	n=$((n + 1))
	passed=$((passed + 1))
	echo "ok $n - $*"
}
notok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $*"
}
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

echo "# linux virtio-blk checks"
if [ -e /sys/module/kvm_pvm ] && [ -z "${LINUX_CHECKS_ON_PVM:-}" ]; then
	echo "# skipped: a Linux boot takes minutes on PVM; run them in tests/hostvm/run"
	finish
fi
for f in "$kernel" "$initrd" "$rootfs" "$minivmm"; do
	if [ ! -r "$f" ]; then
		notok "$f is missing (run tests/linux/prepare, and make)"
		finish
	fi
done
if [ ! -w /dev/kvm ]; then
	notok "/dev/kvm is not usable here"
	finish
fi

tmp=$(mktemp -d /tmp/blk-checks.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
md5() { md5sum | cut -d' ' -f1; }
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
show_log() {
	echo "# --- last 40 lines of the '$1' boot:"
	tr -d '\r' < "$2" | tail -40 | sed 's/^/#   /'
}
# val LOG KEY: the value of the guest's "blk: KEY=VALUE" line.
val() { tr -d '\r' < "$1" | sed -n "s/^blk: $2=//p" | tail -1; }
# same NAME LOG DESCRIPTION GOT WANT
same() {
	if [ -n "$4" ] && [ "$4" = "$5" ]; then ok "$1: $3 ($4)"; else
		notok "$1: $3: got '$4', expected '$5'"
		show_log "$1" "$2"
	fi
}

# 1. A clean boot to the root file system's init and power-off.
cp "$rootfs" "$tmp/root.img"
log=$tmp/clean.log
start=$SECONDS
timeout -k 5 300 "$minivmm" --kernel "$kernel" --initrd "$initrd" --no-console-stdin \
	--cpus 1 --mem 256M --timeout 240 "${disks[@]}" --cmdline "$(cmdline poweroff)" \
	</dev/null >"$log" 2>&1
status=$?
echo "# boot 'clean': status $status after $((SECONDS - start)) s"
same clean "$log" "exit status (ACPI S5 power-off)" "$status" 0
if tr -d '\r' < "$log" | grep -q '^minivmm-rootfs: up'; then ok "clean: reached the root fs's /sbin/init"; else
	notok "clean: no 'minivmm-rootfs: up' from the root fs's /sbin/init"
	show_log clean "$log"
fi
same clean "$log" "/ is /dev/vda, ext4, read-write" "$(val "$log" root)" "/dev/vda / ext4"
same clean "$log" "vda size in sectors" "$(val "$log" vda-sectors)" $(($(stat -c %s "$rootfs") / 512))
same clean "$log" "vdb size in sectors" "$(val "$log" vdb-sectors)" $((data_mib * 2048))
same clean "$log" "vda serial" "$(val "$log" vda-serial)" rootdisk
same clean "$log" "vdb serial" "$(val "$log" vdb-serial)" datadisk
same clean "$log" "vdb writable, vdc (,ro) read-only" "$(tr -d '\r' < "$log" | sed -n 's/^blk: vdb-ro=//p')" "0 vdc-ro=1"
same clean "$log" "guest reads the host's pattern" "$(val "$log" host-pattern)" "$host_md5"
guest_md5=$(val "$log" guest-pattern)
same clean "$log" "the guest's write to vdb is in data.img" "$(range "$tmp/data.img" 1024 256)" "$guest_md5"
same clean "$log" "the host's pattern is untouched" "$(range "$tmp/data.img" 256 256)" "$host_md5"
got=$(PATH=$PATH:/sbin:/usr/sbin debugfs -R 'cat /tmp/pattern' "$tmp/root.img" 2>/dev/null | md5)
same clean "$log" "the guest's file on the ext4 root is in root.img" "$got" "$guest_md5"
if PATH=$PATH:/sbin:/usr/sbin e2fsck -fn "$tmp/root.img" >"$tmp/fsck.log" 2>&1; then
	ok "clean: root.img passes e2fsck -fn after power-off"
else
	notok "clean: e2fsck -fn root.img failed"
	sed 's/^/#   /' "$tmp/fsck.log" | tail -20
fi

# 2. SIGKILL right after the guest's "synced": what it synced is in the image.
for i in $(seq 1 "$repeats"); do
	name=kill$i
	log=$tmp/$name.log
	start=$SECONDS
	"$minivmm" --kernel "$kernel" --initrd "$initrd" --no-console-stdin --no-console-stdout \
		--console-log "$log" --cpus 1 --mem 256M --timeout 200 "${disks[@]}" \
		--cmdline "$(cmdline none)" </dev/null >"$tmp/$name.err" 2>&1 &
	pid=$!
	# Stop waiting once the guest is past its script (it never said "synced").
	while kill -0 "$pid" 2>/dev/null && ! grep -qE '^(blk: synced|minivmm-[a-z]+: action)' "$log" 2>/dev/null &&
		[ $((SECONDS - start)) -lt 300 ]; do
		# Not faster: the SVM test host has one vCPU, the guest needs it.
		sleep 0.5
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	status=$?
	echo "# boot '$name': status $status after $((SECONDS - start)) s"
	same "$name" "$log" "killed by SIGKILL (status 137) after 'synced'" "$status" 137
	guest_md5=$(val "$log" guest-pattern)
	same "$name" "$log" "the synced write is in data.img" "$(range "$tmp/data.img" 1024 256)" "$guest_md5"
done

finish
