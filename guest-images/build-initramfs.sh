#!/bin/sh
# Builds a tiny initramfs for Linux guests: busybox-static and an /init that
#   - prints "minivmm-initramfs: up" (the marker a test or benchmark waits for),
#     then "nproc=N", the MemTotal line of /proc/meminfo and "cmdline=...";
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
#               its modules go into /modules for the pvpanic action
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
cat > "$root/init" <<'INIT'
#!/bin/sh
export PATH=/bin
/bin/busybox --install -s /bin
mount -t devtmpfs dev /dev
# The archive has no /dev/console (built without root): open it now.
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
echo "minivmm-initramfs: up"
echo "nproc=$(nproc)"
grep MemTotal /proc/meminfo
echo "cmdline=$(cat /proc/cmdline)"
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1=//p" | tail -1; }
cmd=$(arg run)
[ -n "$cmd" ] && sh -c "$cmd"
action=$(arg minivmm.action)
echo "minivmm-initramfs: action ${action:-poweroff}"
case ${action:-poweroff} in
poweroff) poweroff -f ;;
reboot) reboot -f ;;
panic) echo c > /proc/sysrq-trigger ;;
pvpanic)
	for m in $(cat /modules.load 2>/dev/null); do insmod "/modules/$m"; done
	echo c > /proc/sysrq-trigger ;;
exit:*)
	n=${action#exit:}
	[ -e /dev/port ] || echo "minivmm-initramfs: no /dev/port (kernel without CONFIG_DEVPORT)"
	printf "\\$(printf %o "$n")" | dd of=/dev/port bs=1 seek=244 2>/dev/null ;;
none) ;;
*) echo "minivmm-initramfs: unknown action $action" ;;
esac
while :; do sleep 3600; done
INIT
chmod +x "$root/init"
mkdir -p "$(dirname "$out")"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -9) > "$out.tmp"
mv "$out.tmp" "$out"
echo "built $out"
