#!/bin/sh
# The init of minivmm's Linux test guests, shared by the initramfs (installed as
# /init by build-initramfs.sh) and the ext4 root file system (installed as
# /sbin/init by build-rootfs.sh, which also creates /etc/minivmm-rootfs).
# Markers use the stage's name: "minivmm-initramfs: ..." or "minivmm-rootfs: ...".
#   - prints "minivmm-STAGE: up", then "nproc=N", the MemTotal line of
#     /proc/meminfo and "cmdline=...";
#   - initramfs only: with `minivmm.root=DEV` or `root=DEV` on the command line,
#     loads /modules (virtio_mmio, virtio_blk: modules in Debian's cloud kernel),
#     waits for DEV, mounts it read-write and switch_roots to its init, found
#     as the kernel would inside that root (`init=`, else /sbin/init, /etc/init,
#     /bin/init, /bin/sh; symlinks followed inside the new root);
#     if that fails it says so and carries on below;
#   - with `minivmm.modules=1` loads /modules without any root= (virtio-rng's
#     /dev/hwrng, virtio-blk disks without switch_root);
#   - with `minivmm.net=ADDR/PREFIX[,GATEWAY]` or `minivmm.net=dhcp` loads the
#     modules, brings up lo and eth0 (virtio-net) with that static address or
#     by DHCP (busybox udhcpc) and prints "minivmm-STAGE: eth0 ADDR/PREFIX"
#     (or "... eth0 not configured"); nothing touches eth0 without it, except
#     on the root file system, where a NIC present at boot gets DHCP unless
#     `minivmm.net=none`;
#   - prints each virtio disk ("disk vda 64 MiB rw") and, with /dev/hwrng,
#     8 bytes of entropy from it ("entropy virtio_rng: 1f2e...");
#   - runs the command given on the kernel command line as `run=...` (if any;
#     no spaces: use ${IFS} or a script);
#   - shuts down cleanly on the power button (minivmm's SendCtrlAltDel): with
#     ACPI, busybox acpid hears KEY_POWER on /dev/input/event* and signals
#     init; with acpi=off, the kernel turns the Ctrl-Alt-Del minivmm types
#     into SIGINT to init (kernel.ctrl-alt-del = 0, set here).  Init prints
#     "minivmm-STAGE: power button: shutting down", syncs, remounts / read-only
#     and powers off (ACPI S5), or without ACPI, where a PC cannot power
#     itself off, reboots (minivmm then ends with status 100, as Firecracker);
#   - ends as `minivmm.action=` says: poweroff (default, ACPI S5), reboot
#     (reboot -f), panic (sysrq c; with panic=-1 the kernel then reboots),
#     pvpanic (loads pvpanic-mmio first, so the panic is reported on port 0x505),
#     exit:N (writes N to minivmm's exit port 0xf4 through /dev/port: needs a
#     kernel with CONFIG_DEVPORT, which Debian's cloud kernel lacks), shell
#     (an interactive shell on the console; leaving it powers off), or none
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
# The power button, both ways it arrives (see the top), ends in this handler.
# It runs between commands: a long run= command delays it, the final wait not.
power_button() {
	echo "minivmm-$stage: power button: shutting down"
	sync
	[ "$stage" = rootfs ] && mount -o remount,ro / 2>/dev/null
	if [ -d /sys/firmware/acpi ]; then
		poweroff -f
	else
		reboot -f
	fi
}
trap power_button INT
echo 0 > /proc/sys/kernel/ctrl-alt-del 2>/dev/null
if [ -e /dev/input/event0 ] && command -v acpid >/dev/null; then
	# busybox acpid maps KEY_POWER to the action PWRF/00000080 under its -c dir.
	mkdir -p /etc/acpi/PWRF /var/run /var/log
	printf '#!/bin/sh\nkill -INT 1\n' > /etc/acpi/PWRF/00000080
	chmod +x /etc/acpi/PWRF/00000080
	acpid -c /etc/acpi -l /var/log/acpid.log
fi
echo "minivmm-$stage: up"
echo "nproc=$(nproc)"
grep MemTotal /proc/meminfo
echo "cmdline=$(cat /proc/cmdline)"
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1=//p" | tail -1; }

if [ "$stage" = initramfs ]; then
	root=$(arg minivmm.root)
	[ -n "$root" ] || root=$(arg root)
fi
# resolve_in ROOT PATH: PATH as the new root will see it, every symlink followed
# inside ROOT (an absolute link restarts at ROOT, `..` stops at it), as the kernel
# does after switch_root.  In a usrmerged root (Debian 12, Ubuntu, Fedora)
# /sbin -> usr/sbin and /sbin/init -> /lib/systemd/systemd: tested from here,
# that absolute link would resolve in the initramfs.  Fails after 40 links (a loop).
resolve_in() {
	local root=$1 rest=${2#/} cur="" c target hops=0
	while [ -n "$rest" ]; do
		c=${rest%%/*}
		if [ "$c" = "$rest" ]; then rest=""; else rest=${rest#*/}; fi
		case $c in
		'' | .) continue ;;
		..) cur=${cur%/*}; continue ;;
		esac
		if [ -L "$root$cur/$c" ]; then
			hops=$((hops + 1))
			[ $hops -le 40 ] || return 1
			target=$(readlink "$root$cur/$c")
			case $target in /*) cur="" ;; esac
			rest=${target#/}${rest:+/$rest}
		else
			cur=$cur/$c
		fi
	done
	echo "${cur:-/}"
}
# find_init ROOT: the init to switch to, as the kernel picks it: `init=` if given
# (and nothing else), otherwise the first of /sbin/init, /etc/init, /bin/init,
# /bin/sh that is an executable file inside ROOT.  Prints it; on failure prints
# what it looked for.
find_init() {
	local want p real
	want=$(arg init)
	for p in ${want:-/sbin/init /etc/init /bin/init /bin/sh}; do
		real=$(resolve_in "$1" "$p") && [ -f "$1$real" ] && [ -x "$1$real" ] &&
			{ echo "$p"; return 0; }
	done
	echo "${want:-/sbin/init}"
	return 1
}
load_modules() {
	for m in $(cat /modules.load 2>/dev/null); do insmod "/modules/$m" 2>/dev/null; done
}
if [ -n "${root:-}" ]; then
	load_modules
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
	elif ! init=$(find_init /newroot); then
		echo "minivmm-initramfs: $root has no ${init:-/sbin/init}"
		umount /newroot
	else
		echo "minivmm-initramfs: switch_root to $root, init $init"
		umount /proc /sys
		mount --move /dev /newroot/dev
		exec switch_root /newroot "$init"
	fi
fi

net=$(arg minivmm.net)
# The root file system is what `make run` boots with --net user and no command
# line of its own: a NIC that is already there (built-in driver) gets DHCP.
# `minivmm.net=none` leaves it alone.
if [ -z "$net" ] && [ "$stage" = rootfs ] && [ -e /sys/class/net/eth0 ]; then
	net=dhcp
fi
[ "$net" = none ] && net=""
if [ -n "$net" ] || [ "$(arg minivmm.modules)" = 1 ]; then
	# A no-op on the root fs (no /modules): the initramfs loaded them before switch_root.
	load_modules
fi
if [ -n "$net" ]; then
	ip link set lo up
	i=0
	while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	ip link set eth0 up 2>/dev/null
	case $net in
	dhcp)
		# udhcpc only hands the lease to a script; this one applies it.
		cat > /tmp/udhcpc.script <<'DHCP'
#!/bin/sh
case $1 in
deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
bound | renew)
	ip -4 addr flush dev "$interface"
	ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}"
	for r in $router; do route add default gw "$r" dev "$interface" && break; done
	: > /etc/resolv.conf
	for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done ;;
esac
exit 0
DHCP
		chmod +x /tmp/udhcpc.script
		mkdir -p /etc
		udhcpc -i eth0 -s /tmp/udhcpc.script -f -n -q -t 10 -T 2 >/dev/null 2>&1 ;;
	*)
		ip addr add "${net%%,*}" dev eth0
		case $net in *,*) ip route add default via "${net#*,}" dev eth0 ;; esac ;;
	esac
	addr=$(ip -4 -o addr show dev eth0 2>/dev/null | sed -n 's/.* inet \([^ ]*\).*/\1/p' | head -1)
	echo "minivmm-$stage: eth0 ${addr:-not configured}"
fi

# What the guest sees, one line each (the report `make run` shows): disks and
# entropy; CPUs, memory and eth0 are above.
for d in /sys/block/vd*; do
	[ -e "$d/size" ] || continue
	ro=rw
	[ "$(cat "$d/ro" 2>/dev/null)" = 1 ] && ro=ro
	echo "minivmm-$stage: disk ${d##*/} $(($(cat "$d/size") / 2048)) MiB $ro"
done
if [ -e /dev/hwrng ]; then
	echo "minivmm-$stage: entropy $(cat /sys/class/misc/hw_random/rng_current 2>/dev/null):" \
		"$(timeout 10 head -c 8 /dev/hwrng | od -An -tx1 | tr -d ' \n')"
fi

cmd=$(arg run)
[ -n "$cmd" ] && sh -c "$cmd"
action=$(arg minivmm.action)
echo "minivmm-$stage: action ${action:-poweroff}"
case ${action:-poweroff} in
poweroff) poweroff -f ;;
reboot) reboot -f ;;
# Before a panic: the tty sends our lines from a buffer while panic's printk
# writes the UART directly, so without a pause the two interleave mid-line
# (seen: no intact "Kernel panic - not syncing" in the log).
panic)
	sleep 1
	echo c > /proc/sysrq-trigger ;;
pvpanic)
	for m in $(cat /modules.load 2>/dev/null); do insmod "/modules/$m" 2>/dev/null; done
	sleep 1
	echo c > /proc/sysrq-trigger ;;
exit:*)
	n=${action#exit:}
	[ -e /dev/port ] || echo "minivmm-$stage: no /dev/port (kernel without CONFIG_DEVPORT)"
	printf "\\$(printf %o "$n")" | dd of=/dev/port bs=1 seek=244 2>/dev/null ;;
shell)
	# An interactive shell on the serial console (no job control: /dev/console
	# is not a controlling tty); leaving it powers off.
	echo "minivmm-$stage: shell (exit to power off)"
	sh
	poweroff -f ;;
none) ;;
*) echo "minivmm-$stage: unknown action $action" ;;
esac
# In the background with wait: a trapped signal (the power button) ends the
# wait at once, where a foreground sleep would hold it for up to an hour.
while :; do
	sleep 3600 &
	wait $!
done
