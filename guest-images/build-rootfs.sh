#!/bin/sh
# Builds an ext4 root file system image for Linux guests, without root
# privileges (mkfs.ext4 -d fills it from a directory): busybox-static and, as
# /sbin/init, guest-images/init.sh (the initramfs's /init too), which prints
# "minivmm-rootfs: up", runs `run=...` and ends as `minivmm.action=` says.
# The initramfs of build-initramfs.sh switches to it with root=/dev/vdX.
# Usage: guest-images/build-rootfs.sh [-o OUTPUT] [-s MIB]
#   OUTPUT  default ${MINIVMM_CACHE:-~/.cache/minivmm}/root.img (raw ext4)
#   MIB     image size, default 64
# Needs: busybox-static, e2fsprogs >= 1.43 (Debian packages).  Does not need root.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${MINIVMM_CACHE:-$HOME/.cache/minivmm}/root.img
size=64
while [ $# -gt 0 ]; do
	case $1 in
	-o) out=${2:?-o needs a path}; shift 2 ;;
	-s) size=${2:?-s needs MiB}; shift 2 ;;
	*) echo "build-rootfs: usage: build-rootfs.sh [-o OUTPUT] [-s MIB]" >&2; exit 1 ;;
	esac
done
case $size in '' | *[!0-9]*) echo "build-rootfs: -s wants MiB, got '$size'" >&2; exit 1 ;; esac
mkfs=$(PATH=$PATH:/sbin:/usr/sbin command -v mkfs.ext4 || true)
[ -n "$mkfs" ] || { echo "build-rootfs: needs mkfs.ext4 (apt-get install e2fsprogs)" >&2; exit 1; }
busybox=""
for b in /bin/busybox /usr/bin/busybox "$(command -v busybox || true)"; do
	[ -n "$b" ] && [ -x "$b" ] || continue
	# No libraries in the image: only a static busybox will do.
	case $(LC_ALL=C ldd "$b" 2>&1) in
	*"not a dynamic executable"* | *"statically linked"*) busybox=$b; break ;;
	esac
done
if [ -z "$busybox" ]; then
	echo "build-rootfs: needs busybox-static (apt-get install busybox-static)" >&2
	exit 1
fi

root=$(mktemp -d)
trap 'rm -rf "$root" "$out.tmp"' EXIT
mkdir -p "$root/bin" "$root/sbin" "$root/etc" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$here/init.sh" "$root/sbin/init"
chmod 755 "$root/sbin/init"
echo "minivmm test root file system" > "$root/etc/minivmm-rootfs"
chmod 1777 "$root/tmp"
mkdir -p "$(dirname "$out")"
rm -f "$out.tmp"
truncate -s "${size}M" "$out.tmp"
# -d copies owners as they are (the build user's); the guest runs as root anyway.
"$mkfs" -q -F -t ext4 -L minivmm-root -E root_owner=0:0 -d "$root" "$out.tmp"
mv "$out.tmp" "$out"
echo "built $out"
