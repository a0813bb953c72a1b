#!/bin/bash
# The library as an embedder gets it, against the microVM kernel:
#   - `make install DESTDIR=... PREFIX=/usr` lays out bin/, lib/ (.so, .so.1,
#     .so.1.0.0, .a), include/minivmm.h and lib/pkgconfig/minivmm.pc;
#   - examples/ builds with pkg-config alone (PKG_CONFIG_LIBDIR and
#     PKG_CONFIG_SYSROOT_DIR pointing into the staging tree, nothing else)
#     and links libminivmm.so.1;
#   - examples/embed boots the busybox initramfs, exchanges a line with the
#     guest over vsock, pauses, resumes, presses the power button and waits;
#   - tests/library/pause_check (built the same way): while paused, the
#     guest's counter stops, its clock does not jump, the vCPU threads use
#     no CPU; a stop while paused ends the run at once;
#   - tests/library/disk_swap_check: mvm_vm_replace_disk() to a bigger image
#     while the guest runs; the guest sees the new size and data, the old
#     image is unlocked, refusals (no such disk or file, paused) keep it.
# The guest's helpers (tests/library/vsock_echo.c, built static, a counting
# script and a disk watcher) are appended to the initramfs as a second cpio.
# Meant for a hardware-style /dev/kvm (the SVM test host); skipped on PVM
# unless LINUX_CHECKS_ON_PVM=1.
#
# Usage: tests/linux/library-checks.sh [--kernel-dir DIR] [--initrd INITRAMFS]
# Prints "ok N - ..." / "not ok N - ..." lines and "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 125
# shellcheck source=tests/linux/lib.sh
. tests/linux/lib.sh
parse_args library-checks "kernel-dir initrd" "$@"
BUILD=${BUILD:-build}

echo "# library checks on $(kvm_kind)"
skip_on_pvm library-checks
need_files --made-by "tests/linux/prepare, guest-images/build-microvm-kernel.sh, make" \
	"$kernel_dir/bzImage" "$initrd" "$BUILD/libminivmm.so.1" "$BUILD/minivmm.pc"
make_tmp library-checks
stage=$tmp/stage

# relay_check PROG LABEL ARG...: runs $tmp/PROG (a check built against the
# library, printing "ok"/"not ok" lines) and counts each of its lines as ours,
# prefixed "LABEL: "; a program that printed none is one failure.
relay_check() {
	local prog=$1 label=$2 line found=0
	shift 2
	start=$SECONDS
	timeout -k 5 600 "$tmp/$prog" "$@" >"$tmp/$prog.log" 2>&1 </dev/null
	echo "# $prog: status $? after $((SECONDS - start)) s"
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "$label: ${line#ok * - }"; found=1 ;;
		"not ok "*) notok "$label: ${line#not ok * - }"; found=1 ;;
		*" passed, "*" failed") ;;
		*) echo "# $line" ;;
		esac
	done <"$tmp/$prog.log"
	[ "$found" = 1 ] || notok "$prog printed no result"
}

# 1. make install into a staging tree.
if make -s install DESTDIR="$stage" PREFIX=/usr BUILD="$BUILD" >"$tmp/install.log" 2>&1; then
	ok "make install DESTDIR=... PREFIX=/usr"
else
	notok "make install failed: $(tail -3 "$tmp/install.log" | tr '\n' ' ')"
fi
for f in bin/minivmm lib/libminivmm.so.1.0.0 lib/libminivmm.so.1 lib/libminivmm.so lib/libminivmm.a \
	include/minivmm.h lib/pkgconfig/minivmm.pc; do
	if [ -e "$stage/usr/$f" ]; then ok "installed usr/$f"; else notok "usr/$f not installed"; fi
done

# 2. The example, with pkg-config alone: no -I or -L of ours.
export PKG_CONFIG_LIBDIR=$stage/usr/lib/pkgconfig PKG_CONFIG_PATH='' PKG_CONFIG_SYSROOT_DIR=$stage
cp -r examples "$tmp/examples"
if make -s -C "$tmp/examples" >"$tmp/build.log" 2>&1; then
	ok "examples/ built with pkg-config ($(pkg-config --cflags --libs minivmm))"
else
	notok "examples/ did not build: $(tail -5 "$tmp/build.log" | tr '\n' ' ')"
fi
if readelf -d "$tmp/examples/embed" 2>/dev/null | grep -q 'NEEDED.*\[libminivmm.so.1\]'; then
	ok "embed needs libminivmm.so.1"
else
	notok "embed does not link libminivmm.so.1"
fi
# shellcheck disable=SC2046  # pkg-config's words are separate arguments
for prog in pause_check disk_swap_check; do
	# shellcheck disable=SC2046  # pkg-config's words are separate arguments
	cc -O2 -Wall -Wextra -o "$tmp/$prog" "tests/library/$prog.c" tests/library/common.c \
		$(pkg-config --cflags minivmm) $(pkg-config --libs minivmm) -lpthread 2>"$tmp/pc.log" ||
		notok "$prog did not build: $(head -3 "$tmp/pc.log" | tr '\n' ' ')"
done
export LD_LIBRARY_PATH=$stage/usr/lib

# 3. The guest's helpers: a second (uncompressed) cpio after the unpacked
#    initramfs; the kernel unpacks both, the later one adding files.
mkdir -p "$tmp/extra"
if ! cc -static -O2 -o "$tmp/extra/vsock_echo" tests/library/vsock_echo.c 2>"$tmp/ve.log"; then
	notok "vsock_echo did not build: $(head -3 "$tmp/ve.log" | tr '\n' ' ')"
	finish
fi
# shellcheck disable=SC2016  # the guest's shell expands these
printf '#!/bin/sh\ni=0\nwhile :; do\n\ti=$((i + 1))\n\techo "tick=$i $(cat /proc/uptime)"\n\tsleep 0.1\ndone\n' \
	>"$tmp/extra/tick.sh"
# shellcheck disable=SC2016  # the guest's shell expands these
printf '%s\n' '#!/bin/sh' \
	'show() { echo 3 >/proc/sys/vm/drop_caches; echo "disk: size=$(cat /sys/block/vda/size) data=$(head -c 8 /dev/vda)"; }' \
	'first=$(cat /sys/block/vda/size)' 'show' \
	'while [ "$(cat /sys/block/vda/size)" = "$first" ]; do sleep 0.2; done' 'show' >"$tmp/extra/disk.sh"
chmod +x "$tmp/extra/tick.sh" "$tmp/extra/disk.sh"
(cd "$tmp/extra" && find . | cpio -o -H newc --owner 0:0 2>/dev/null) >"$tmp/extra.cpio"
{ gzip -dc "$initrd" 2>/dev/null || cat "$initrd"; cat "$tmp/extra.cpio"; } >"$tmp/initrd.cpio"

# 4. The example against the guest.
log=$tmp/embed.log
start=$SECONDS
# shellcheck disable=SC2016  # ${IFS} is the guest shell's
timeout -k 5 600 "$tmp/examples/embed" "$kernel_dir/bzImage" "$tmp/initrd.cpio" \
	'console=ttyS0 minivmm.action=none run=/vsock_echo${IFS}1234' >"$log" 2>&1 </dev/null
status=$?
echo "# embed: status $status after $((SECONDS - start)) s"
expect_status embed 0 "every step worked"
expect embed "the guest answered over vsock" '^embed: the guest answered over vsock: echo: hello from the host'
expect embed "paused" '^embed: state Paused'
expect embed "resumed" '^embed: state Running'
expect embed "the exit callback ran" '^embed: the run ends: '
expect embed "the power button powered the guest off (ACPI GED -> acpid)" '^embed: ended: poweroff'

# 5. Pause/resume in detail.
relay_check pause_check pause "$kernel_dir/bzImage" "$tmp/initrd.cpio"

# 6. Disk swap.
mkdir -p "$tmp/disks"
relay_check disk_swap_check "disk swap" "$kernel_dir/bzImage" "$tmp/initrd.cpio" "$tmp/disks"
finish
