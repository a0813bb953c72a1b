#!/bin/bash
# Real-Linux virtio-net and virtio-rng checks: minivmm boots Debian's stock
# cloud kernel with the tiny initramfs (guest-images/build-initramfs.sh), whose
# /init loads virtio_net and virtio-rng and brings up eth0 when the command line
# says minivmm.net=ADDR/PREFIX or minivmm.net=dhcp.  A guest script, appended to
# the initramfs as a second cpio archive, reports what the guest sees and moves
# files both ways with busybox httpd/wget (md5 on both ends):
#   1. user: --net user,hostfwd=...: DHCP, a file from a host httpd through
#      10.0.2.2, one from the guest's httpd through the hostfwd port; plus
#      virtio-rng: /dev/hwrng yields data, rng_current is virtio_rng, and with
#      the CPU's RDRAND untrusted (random.trust_cpu=off) the crng is ready
#      soon after /init loads virtio-rng instead of waiting for entropy.
#   2. tap: --net tap=...: a TAP device in a private network namespace, a static
#      address, ping, a file each way.
#   3. rng-off: --rng off: no virtio entropy device, nothing behind /dev/hwrng
#      (the node itself stays: the cloud kernel's hw_random core is built in),
#      and, as the control for 1., no crng yet when the script runs.
# The whole script runs in its own network namespace (unshare -n, re-executing
# itself; unshare -rn when not root), so the TAP device, its address and every
# server exist only there.
# Meant for a hardware-style /dev/kvm, like tests/linux/blk-checks.sh (skipped
# on PVM unless LINUX_CHECKS_ON_PVM=1).
#
# Usage: tests/linux/net-checks.sh [--kernel VMLINUZ] [--initrd INITRAMFS] [--minivmm BIN]
#   defaults: $MINIVMM_CACHE/debian-kernel/cloud/vmlinuz,
#             $MINIVMM_CACHE/guest-initramfs.cpio.gz (tests/linux/prepare makes both),
#             build/minivmm
#   NET_FILE_MIB (default 6): size of each file moved.
#   NET_CHECKS_VERBOSE=1: show every boot's console log and minivmm's messages.
# Prints TAP-like "ok N - ..." / "not ok N - ..." lines and "N passed, N failed";
# exits 0 only if every check passed.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 125
# shellcheck source=tests/linux/lib.sh
. tests/linux/lib.sh
file_mib=${NET_FILE_MIB:-6}
args=("$@")
parse_args net-checks "kernel initrd minivmm" "$@"

if [ -z "${NET_CHECKS_NETNS:-}" ]; then
	echo "# linux virtio-net and virtio-rng checks on $(kvm_kind)"
	skip_on_pvm net-checks
	# Everything below happens in a network namespace of its own.
	userns=()
	[ "$(id -u)" = 0 ] || userns=(-r)
	if unshare "${userns[@]}" -n true 2>/dev/null; then
		NET_CHECKS_NETNS=1 exec unshare "${userns[@]}" -n -- "$0" "${args[@]}"
	fi
	notok "cannot create a network namespace (unshare ${userns[*]} -n)"
	finish
fi

need_files "$kernel" "$initrd" "$minivmm"
bb=$(command -v busybox || echo /bin/busybox)
if ! "$bb" --list 2>/dev/null | grep -x httpd >/dev/null; then
	notok "needs busybox with httpd and wget on the host (apt-get install busybox-static)"
	finish
fi
if ! command -v ip >/dev/null; then
	notok "needs ip (apt-get install iproute2)"
	finish
fi

make_tmp net-checks
report_tag=net
ip link set lo up

# The host's side: one httpd (this namespace only) serving a directory per boot
# with host.bin; "done" appears there once the host has fetched the guest's file.
http_port=8080
guest_port=8081
fwd_port=10022
mkdir -p "$tmp/www/user" "$tmp/www/tap"
head -c $((file_mib << 20)) /dev/urandom > "$tmp/www/host.bin"
host_md5=$(md5 < "$tmp/www/host.bin")
ln "$tmp/www/host.bin" "$tmp/www/user/host.bin"
ln "$tmp/www/host.bin" "$tmp/www/tap/host.bin"
"$bb" httpd -f -p "$http_port" -h "$tmp/www" &
pids+=($!)

# The guest's side, appended to the initramfs as /net-check.sh.  Its
# settings come as netcheck.KEY=VALUE on the kernel command line.
mkdir -p "$tmp/cpio"
cat > "$tmp/cpio/net-check.sh" <<'GUEST'
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^netcheck\.$1=//p" | tail -1; }
say() { echo "net: $*"; }
crng() { dmesg | sed -n 's/^\[ *\([0-9.]*\)\] random: crng init done.*/\1/p' | head -1; }
url=$(arg url)
say "script-start=$(cut -d' ' -f1 /proc/uptime)"
say "crng-at-start=$(crng)"
# The hw_random core is built in: /dev/hwrng is there even with no device
# behind it (then reads fail with ENODEV and rng_current is "none").
hwrng=no
[ -c /dev/hwrng ] && hwrng=yes
say "hwrng=$hwrng"
say "rng-current=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)"
say "virtio-ids=$(cat /sys/bus/virtio/devices/*/device 2>/dev/null | sort | tr '\n' ' ')"
timeout 30 head -c 4096 /dev/hwrng > /tmp/rng1 2>/dev/null
timeout 30 head -c 4096 /dev/hwrng > /tmp/rng2 2>/dev/null
say "rng-bytes=$(wc -c < /tmp/rng1)"
say "rng-nonzero=$(tr -d '\000' < /tmp/rng1 | wc -c)"
[ -s /tmp/rng1 ] && [ "$(md5sum < /tmp/rng1)" != "$(md5sum < /tmp/rng2)" ] && say "rng-reads-differ=yes"
if [ "$(arg crngwait)" = 1 ]; then
	i=0
	while [ -z "$(crng)" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
fi
say "crng=$(crng)"
if [ -n "$url" ]; then
	say "eth0=$(ip -4 -o addr show dev eth0 | sed -n 's/.* inet \([^ ]*\).*/\1/p')"
	say "route=$(ip route show default | head -1)"
	host=${url#http://}
	host=${host%%:*}
	if [ "$(arg ping)" = 1 ]; then
		ping -c 3 -W 10 "$host" > /tmp/ping 2>&1
		say "ping=$(grep -o '[0-9]* packets received' /tmp/ping | cut -d' ' -f1)"
	fi
	mkdir -p /tmp/www
	dd if=/dev/urandom of=/tmp/www/guest.bin bs=65536 count=$(($(arg mib) * 16)) 2>/dev/null
	say "guest-md5=$(md5sum < /tmp/www/guest.bin | cut -d' ' -f1)"
	httpd -p "$(arg port)" -h /tmp/www
	say "serving"
	t0=$(cut -d' ' -f1 /proc/uptime)
	timeout 240 wget -q -O /tmp/host.bin "$url/host.bin"
	say "fetch-status=$? start=$t0 end=$(cut -d' ' -f1 /proc/uptime)"
	say "host-md5=$(md5sum < /tmp/host.bin | cut -d' ' -f1)"
	i=0
	while ! wget -q -O /dev/null "$url/done" 2>/dev/null && [ $i -lt 240 ]; do
		sleep 1
		i=$((i + 1))
	done
	say "host-done-after=$i"
fi
exit 0
GUEST
(cd "$tmp/cpio" && echo net-check.sh | cpio -o -H newc -R 0:0 --quiet) > "$tmp/extra.cpio"
# Uncompressed: the kernel rejects an archive appended to a gzip'ed one here
# ("invalid magic at start of compressed archive"); cpio's 512-byte blocks keep
# the second archive aligned.
{ gzip -dc "$initrd" && cat "$tmp/extra.cpio"; } > "$tmp/initrd"

cmdline() {
	echo "console=ttyS0 quiet panic=-1 random.trust_cpu=off run=sh\${IFS}/net-check.sh $*"
}

boot_args=(--kernel "$kernel" --initrd "$tmp/initrd" --cpus 1 --mem 256M --timeout 240)

# fetch_guest NAME URL: the host fetches guest.bin once the guest serves it.
fetch_guest() {
	local got
	if ! wait_for '^net: serving'; then
		notok "$1: the guest never served its file"
		return
	fi
	local t=$SECONDS
	timeout 240 "$bb" wget -q -O "$tmp/$1-guest.bin" "$2/guest.bin" 2>"$tmp/$1-wget.err"
	echo "# $1: host fetched guest.bin: status $?, $((SECONDS - t)) s"
	: > "$tmp/www/$1/done"
	got=$(md5 < "$tmp/$1-guest.bin" 2>/dev/null)
	same "$1" "the host's copy of the guest's ${file_mib} MiB file matches" \
		"$got" "$(val guest-md5)"
}
# end_boot NAME: waits for minivmm's exit; checks the power-off status.
end_boot() {
	wait_boot "$1"
	same "$1" "exit status (ACPI S5 power-off)" "$status" 0
	echo "# $1: guest's view:" \
		"$(log_text | grep -E '^net: (script-start|crng|fetch-status|host-done)' | tr '\n' ' ')"
	[ -z "${NET_CHECKS_VERBOSE:-}" ] || sed 's/^/#   /' "$log" "$tmp/$1.err"
}
rng_checks() {
	same "$1" "/dev/hwrng exists" "$(val hwrng)" yes
	case " $(val virtio-ids) " in
	*" 0x0004 "*) ok "$1: a virtio entropy device (ID 4) is on the bus" ;;
	*) notok "$1: no virtio device with ID 4 (got: $(val virtio-ids))" ;;
	esac
	# The name is the driver's plus the device index: virtio_rng.0.
	same "$1" "rng_current names virtio_rng" "$(val rng-current | cut -d. -f1)" virtio_rng
	same "$1" "4 KiB read from /dev/hwrng" "$(val rng-bytes)" 4096
	local nz
	nz=$(val rng-nonzero)
	if [ -n "$nz" ] && [ "$nz" -gt 3900 ]; then ok "$1: /dev/hwrng data is not zeros ($nz of 4096 bytes nonzero)"; else
		notok "$1: /dev/hwrng data: ${nz:-no} nonzero bytes of 4096"
		show_log "$1"
	fi
	same "$1" "two reads of /dev/hwrng differ" "$(val rng-reads-differ)" yes
}

# 1. User-mode networking (and virtio-rng, on by default).
files="netcheck.port=$guest_port netcheck.mib=$file_mib"
start_boot user --net "user,hostfwd=tcp:127.0.0.1:$fwd_port-:$guest_port" --cmdline \
	"$(cmdline "minivmm.net=dhcp netcheck.crngwait=1 netcheck.url=http://10.0.2.2:$http_port/user $files")"
fetch_guest user "http://127.0.0.1:$fwd_port"
end_boot user
same user "eth0 configured by DHCP" "$(val eth0)" 10.0.2.15/24
same user "default route via 10.0.2.2" "$(val route | cut -d' ' -f1-3)" "default via 10.0.2.2"
same user "the guest's copy of the host's ${file_mib} MiB file (via 10.0.2.2) matches" \
	"$(val host-md5)" "$host_md5"
rng_checks user
crng_at=$(val crng)
script_at=$(val script-start)
echo "# user: crng init done at ${crng_at:-never} s; the guest script started at ${script_at:-?} s"
# /init loads virtio-rng just before the script; the crng must be ready within
# the script's 10 s wait (without a source of entropy it waits much longer).
if [ -n "$crng_at" ] && [ -n "$script_at" ] &&
	awk -v c="$crng_at" -v s="$script_at" 'BEGIN { exit !(c < s + 10) }'; then
	ok "user: crng ready ${crng_at} s after boot (script at ${script_at} s), RDRAND untrusted"
else
	notok "user: crng not ready within 10 s of the guest's script" \
		"(crng at '${crng_at}', script at '${script_at}')"
	show_log user
fi

# 2. A TAP device in this namespace; the guest has a static address.
tap_ok=1
if [ ! -c /dev/net/tun ]; then
	notok "tap: no /dev/net/tun (load the tun module)"
	tap_ok=0
elif ! ip tuntap add dev mvmtap0 mode tap 2>"$tmp/tap.err" ||
	! ip addr add 192.168.77.1/24 dev mvmtap0 || ! ip link set mvmtap0 up; then
	notok "tap: cannot create TAP mvmtap0: $(cat "$tmp/tap.err")"
	tap_ok=0
fi
if [ $tap_ok = 1 ]; then
	start_boot tap --net tap=mvmtap0 --cmdline "$(cmdline "minivmm.net=192.168.77.2/24" \
		"netcheck.ping=1 netcheck.url=http://192.168.77.1:$http_port/tap $files")"
	fetch_guest tap "http://192.168.77.2:$guest_port"
	end_boot tap
	same tap "eth0 has the static address" "$(val eth0)" 192.168.77.2/24
	same tap "the guest's 3 pings of the host answered" "$(val ping)" 3
	same tap "the guest's copy of the host's ${file_mib} MiB file matches" \
		"$(val host-md5)" "$host_md5"
	ip tuntap del dev mvmtap0 mode tap 2>/dev/null
fi

# 3. --rng off: no virtio-rng device behind /dev/hwrng.
start_boot rng-off --rng off --cmdline "$(cmdline "minivmm.modules=1")"
end_boot rng-off
# The kernel's hw_random core is built in and keeps its /dev/hwrng node even
# with no device: what must be gone is a device behind it.
case " $(val virtio-ids) " in
*" 0x0004 "*) notok "rng-off: a virtio entropy device (ID 4) is on the bus anyway" ;;
*) ok "rng-off: no virtio entropy device on the bus (IDs: $(val virtio-ids))" ;;
esac
same rng-off "rng_current with --rng off" "$(val rng-current)" none
same rng-off "nothing to read from /dev/hwrng (bytes read)" "$(val rng-bytes)" 0
# The control for the crng check above: with RDRAND untrusted and no
# virtio-rng, nothing credits 256 bits of entropy during such a short boot
# (interrupts credit 1 bit per 64), so the crng is not ready yet.
crng_at=$(val crng-at-start)
script_at=$(val script-start)
if [ -n "$script_at" ] && [ -z "$crng_at" ]; then
	ok "rng-off: control: without virtio-rng the crng is not ready at ${script_at} s"
else
	notok "rng-off: control: crng ready at '${crng_at}' s without virtio-rng" \
		"(script at '${script_at}' s)"
	show_log rng-off
fi

finish
