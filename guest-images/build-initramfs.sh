#!/bin/sh
# Builds a tiny initramfs for Linux guests: busybox-static and, as /init,
# guest-images/init.sh (shared with build-rootfs.sh's root file system), which
#   - prints "minivmm-initramfs: up" (the marker a test or benchmark waits for),
#     then "nproc=N", the MemTotal line of /proc/meminfo and "cmdline=...";
#   - with `root=/dev/vda` (or `minivmm.root=`) loads the virtio modules, mounts
#     that disk and switch_roots to its /sbin/init (see init.sh);
#   - with `minivmm.modules=1` loads the modules without root=; with
#     `minivmm.net=ADDR/PREFIX[,GATEWAY]` or `minivmm.net=dhcp` also brings up
#     eth0 (virtio-net) that way (see init.sh);
#   - runs the command given on the kernel command line as `run=...` (if any;
#     no spaces: use ${IFS} or a script);
#   - ends as `minivmm.action=` says: poweroff (default, ACPI S5), reboot
#     (reboot -f), panic (sysrq c; with panic=-1 the kernel then reboots),
#     pvpanic (loads pvpanic-mmio first, so the panic is reported on port 0x505),
#     exit:N (writes N to minivmm's exit port 0xf4 through /dev/port: needs a
#     kernel with CONFIG_DEVPORT, which Debian's cloud kernel lacks), or none
#     (sleeps forever).
# Usage: guest-images/build-initramfs.sh [-o OUTPUT] [-m KERNEL_DIR]
#   OUTPUT      default guest-images/out/initramfs.cpio.gz (gzip-compressed newc cpio)
#   KERNEL_DIR  a directory from fetch-debian-kernel.sh (modules/, modules.load):
#               its modules go into /modules for the pvpanic action, root=,
#               minivmm.modules=1 and minivmm.net=
# Needs: busybox-static, cpio, gzip (Debian packages).  Does not need root.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$here/out/initramfs.cpio.gz
kdir=""
while [ $# -gt 0 ]; do
	case $1 in
	-o) out=${2:?-o needs a path}; shift 2 ;;
	-m) kdir=${2:?-m needs a directory}; shift 2 ;;
	*) echo "build-initramfs: usage: build-initramfs.sh [-o OUTPUT] [-m KERNEL_DIR]" >&2; exit 1 ;;
	esac
done
for tool in cpio gzip; do
	command -v $tool >/dev/null 2>&1 || { echo "build-initramfs: needs $tool (apt-get install $tool)" >&2; exit 1; }
done
busybox=""
for b in /bin/busybox /usr/bin/busybox "$(command -v busybox || true)"; do
	[ -n "$b" ] && [ -x "$b" ] || continue
	# /init runs before any library exists: only a static busybox will do.
	case $(LC_ALL=C ldd "$b" 2>&1) in
	*"not a dynamic executable"* | *"statically linked"*) busybox=$b; break ;;
	esac
done
if [ -z "$busybox" ]; then
	echo "build-initramfs: needs busybox-static (apt-get install busybox-static)" >&2
	exit 1
fi
if [ -n "$kdir" ] && [ ! -f "$kdir/modules.load" ]; then
	echo "build-initramfs: $kdir/modules.load missing (run fetch-debian-kernel.sh)" >&2
	exit 1
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/modules"
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
if [ -n "$kdir" ]; then
	cp "$kdir"/modules/*.ko "$root/modules/" 2>/dev/null || true
	cp "$kdir/modules.load" "$root/modules.load"
fi
cp "$here/init.sh" "$root/init"
chmod +x "$root/init"
mkdir -p "$(dirname "$out")"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -9) > "$out.tmp"
mv "$out.tmp" "$out"
echo "built $out"
