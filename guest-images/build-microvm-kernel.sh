#!/bin/bash
# Builds minivmm's microVM kernel from Debian's linux-source-6.1: `make
# tinyconfig` plus the committed fragment microvm-kernel.config (8250 console,
# ACPI, PVH, virtio-mmio with command-line devices, virtio blk/net/rng/vsock,
# ext4; everything built in, no modules). About 11 minutes on two cores, so the
# result is cached outside the clone and rebuilt only when the fragment, this
# script or the source package version change.
#
# Leaves in $MINIVMM_CACHE/microvm-kernel/: bzImage, vmlinux (the ELF with the
# PVH note), config, release. Prints "microvm DIR".  While it works it shows one
# progress line on stderr (stage, files done, percent; tools/progress) and keeps
# the compiler's output in $MINIVMM_CACHE/microvm-kernel/build.log.
# Needs: linux-source-6.1 flex bison bc libelf-dev (apt-get install, as root).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${MINIVMM_CACHE:-$HOME/.cache/minivmm}
out=$cache/microvm-kernel
fragment=$here/microvm-kernel.config
tarball=/usr/src/linux-source-6.1.tar.xz

die() {
	echo "build-microvm-kernel: $*" >&2
	exit 1
}

[ -f "$tarball" ] || die "$tarball missing: apt-get install linux-source-6.1"
for tool in make gcc flex bison bc; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "needs $tool: apt-get install build-essential flex bison bc libelf-dev"
done
[ -f /usr/include/gelf.h ] || die "needs libelf headers: apt-get install libelf-dev"

srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || stat -c %Y "$tarball")
stamp=$(cat "$fragment" "$0" | md5sum | cut -c1-12)-$srcver
if [ -f "$out/bzImage" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "microvm $out"
	exit 0
fi

mkdir -p "$out"
src=$out/src
log=$out/build.log
progress=$here/../tools/progress
say() { echo "build-microvm-kernel: $*" >&2; }
if [ "$(cat "$src/.minivmm-srcver" 2>/dev/null)" != "$srcver" ]; then
	rm -rf "$src" "$out/build"
	mkdir -p "$src"
	say "building the microVM kernel (once; a few minutes on two cores) from linux-source-6.1 $srcver"
	# About 79,000 entries in 6.1's tarball; -v lists one a line for the count.
	set +e
	tar -xvJf "$tarball" -C "$src" --strip-components=1 2>&1 |
		"$progress" --what microvm-kernel --stage unpacking --total 79000 --unit files --match . --log /dev/null
	rc=${PIPESTATUS[0]}
	set -e
	[ "$rc" -eq 0 ] || die "cannot unpack $tarball (tar status $rc)"
	echo "$srcver" > "$src/.minivmm-srcver"
fi

build=$out/build
jobs=$(nproc)
# A build from scratch records how many files it compiled: the next one's 100%.
fresh=""
[ -f "$build/vmlinux" ] || fresh=1
total=$(cat "$out/files" 2>/dev/null || echo 1300)
say "configuring (tinyconfig + microvm-kernel.config)"
{
	make -C "$src" O="$build" tinyconfig
	"$src/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "$fragment"
	make -C "$src" O="$build" olddefconfig
} > "$log" 2>&1 || die "configuring failed; see $log"

# Every option the fragment asks for must have survived Kconfig's dependency
# resolution; a silently dropped option is a kernel that cannot find its disk.
missing=""
while IFS= read -r line; do
	case $line in
	CONFIG_*=n) opt=${line%%=*}
		grep -q "^$opt=" "$build/.config" && missing="$missing $line" ;;
	CONFIG_*=*) grep -qxF "$line" "$build/.config" || missing="$missing $line" ;;
	esac
done < "$fragment"
[ -z "$missing" ] || die "Kconfig dropped:$missing (see $build/.config)"

# kbuild prints one "  CC      path.o" (or AS) line per file it compiles: the
# progress count.  An incremental build (the cache's stamp changed but the
# configuration did not) compiles few or none and ends early.
set +e
make -C "$src" O="$build" -j"$jobs" bzImage 2>&1 |
	"$progress" --what microvm-kernel --stage compiling --total "$total" --unit files \
		--match '^  (CC|AS) ' --log "$log"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" -eq 0 ] || { tail -20 "$log" >&2; die "build failed (status $rc); see $log"; }
[ -z "$fresh" ] || grep -cE '^  (CC|AS) ' "$log" > "$out/files" || true
cp "$build/arch/x86/boot/bzImage" "$out/bzImage.new" && mv "$out/bzImage.new" "$out/bzImage"
cp "$build/vmlinux" "$out/vmlinux.new" && mv "$out/vmlinux.new" "$out/vmlinux"
cp "$build/.config" "$out/config"
make -s -C "$src" O="$build" kernelrelease > "$out/release" 2>/dev/null || true
echo "$stamp" > "$out/stamp"
echo "microvm $out"
