#!/bin/sh
# Builds guest-images/out/initramfs.cpio.gz: busybox-static as /init's shell,
# an /init that mounts proc/sys/dev, prints "minivmm-initramfs: up", runs the
# command given on the kernel command line as `run=...` (if any) and powers off.
# Needs: busybox-static, cpio, gzip (Debian packages).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$here/out
mkdir -p "$out"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
busybox=$(command -v busybox || true)
[ -x /bin/busybox ] && busybox=/bin/busybox
if [ -z "$busybox" ] || ! file "$busybox" 2>/dev/null | grep -q static; then
	echo "build-initramfs: needs busybox-static (apt-get install busybox-static)" >&2
	exit 1
fi
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for app in sh mount cat echo poweroff reboot nproc grep dmesg sleep; do
	ln -s busybox "$root/bin/$app"
done
cat > "$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
echo "minivmm-initramfs: up"
echo "nproc=$(nproc)"
grep MemTotal /proc/meminfo
cmd=$(sed -n 's/.*run=\([^ ]*\).*/\1/p' /proc/cmdline)
[ -n "$cmd" ] && sh -c "$cmd"
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) > "$out/initramfs.cpio.gz"
echo "built $out/initramfs.cpio.gz"
