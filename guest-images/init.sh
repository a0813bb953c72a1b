#!/bin/sh
# The init of minivmm's Linux test guests, shared by the initramfs (installed as
# /init by build-initramfs.sh) and the ext4 root file system (installed as
# /sbin/init by build-rootfs.sh, which also creates /etc/minivmm-rootfs).
# Markers use the stage's name: "minivmm-initramfs: ..." or "minivmm-rootfs: ...".
#   - prints "minivmm-STAGE: up", then "nproc=N", the MemTotal line of
#     /proc/meminfo and "cmdline=...";
#   - initramfs only: with `minivmm.root=DEV` or `root=DEV` on the command line,
#     loads /modules (virtio_mmio, virtio_blk: modules in Debian's cloud kernel),
#     waits for DEV, mounts it read-write and switch_roots to its /sbin/init;
#     if that fails it says so and carries on below;
#   - runs the command given on the kernel command line as `run=...` (if any;
#     no spaces: use ${IFS} or a script);
#   - ends as `minivmm.action=` says: poweroff (default, ACPI S5), reboot
#     (reboot -f), panic (sysrq c; with panic=-1 the kernel then reboots),
#     pvpanic (loads pvpanic-mmio first, so the panic is reported on port 0x505),
#     exit:N (writes N to minivmm's exit port 0xf4 through /dev/port: needs a
#     kernel with CONFIG_DEVPORT, which Debian's cloud kernel lacks), or none
#     (sleeps forever).
export PATH=/bin:/sbin
stage=initramfs
[ -e /etc/minivmm-rootfs ] && stage=rootfs
/bin/busybox --install -s /bin 2>/dev/null
# After switch_root, /dev is the initramfs's devtmpfs, moved over; the images
# themselves have no device nodes (built without root).
[ -c /dev/null ] || mount -t devtmpfs dev /dev
# The archive has no /dev/console (built without root): open it now.
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
echo "minivmm-$stage: up"
echo "nproc=$(nproc)"
grep MemTotal /proc/meminfo
echo "cmdline=$(cat /proc/cmdline)"
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1=//p" | tail -1; }

if [ "$stage" = initramfs ]; then
	root=$(arg minivmm.root)
	[ -n "$root" ] || root=$(arg root)
fi
if [ -n "${root:-}" ]; then
	for m in $(cat /modules.load 2>/dev/null); do insmod "/modules/$m" 2>/dev/null; done
	i=0
	while [ ! -b "$root" ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	mkdir -p /newroot
	if [ ! -b "$root" ]; then
		echo "minivmm-initramfs: no block device $root after 30 s"
	elif ! mount -t ext4 -o rw "$root" /newroot; then
		echo "minivmm-initramfs: cannot mount $root"
	elif [ ! -x /newroot/sbin/init ]; then
		echo "minivmm-initramfs: $root has no /sbin/init"
		umount /newroot
	else
		echo "minivmm-initramfs: switch_root to $root"
		umount /proc /sys
		mount --move /dev /newroot/dev
		exec switch_root /newroot /sbin/init
	fi
fi

cmd=$(arg run)
[ -n "$cmd" ] && sh -c "$cmd"
action=$(arg minivmm.action)
echo "minivmm-$stage: action ${action:-poweroff}"
case ${action:-poweroff} in
poweroff) poweroff -f ;;
reboot) reboot -f ;;
panic) echo c > /proc/sysrq-trigger ;;
pvpanic)
	for m in $(cat /modules.load 2>/dev/null); do insmod "/modules/$m" 2>/dev/null; done
	echo c > /proc/sysrq-trigger ;;
exit:*)
	n=${action#exit:}
	[ -e /dev/port ] || echo "minivmm-$stage: no /dev/port (kernel without CONFIG_DEVPORT)"
	printf "\\$(printf %o "$n")" | dd of=/dev/port bs=1 seek=244 2>/dev/null ;;
none) ;;
*) echo "minivmm-$stage: unknown action $action" ;;
esac
while :; do sleep 3600; done
