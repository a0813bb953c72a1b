#!/bin/bash
# Real-Linux virtio-vsock checks: minivmm's hybrid vsock (README "vsock")
# with the guest's own AF_VSOCK stack, under the microVM kernel (vsock built
# in) and Debian's cloud kernel (vsock modules from the initramfs).  A guest
# script and tests/linux/vsock_tool.c (static) are appended to the test
# initramfs as a second cpio archive; the host side is
# tests/linux/vsock_host.py on the device's Unix socket:
#   1. host -> guest: CONNECT to a guest echo server, 64 connections at once,
#      64 KiB random each way on each, every byte compared;
#   2. guest -> host: the guest's client to a host listener on UDS_P, 64
#      connections at once to a host echo server (vsock_tool parallel);
#   3. VSOCK_MIB (default 64) MiB each way, md5 on both ends;
#   4. a host reader that does not read one connection while the guest
#      writes to it must not stall echo round trips on another;
#   5. CONNECT to a port nobody listens on: refused (no OK line);
#   6. (microVM kernel) the library's mvm_vm_vsock_connect() from a program
#      built on libminivmm (tests/tools/vsock_connect.c): echo through its fd.
# Meant for a hardware-style /dev/kvm (the SVM test host); skipped on PVM
# unless LINUX_CHECKS_ON_PVM=1.
#
# Usage: tests/linux/vsock-checks.sh [--kernel-dir DIR] [--kernel VMLINUZ]
#                                    [--initrd INITRAMFS] [--minivmm BIN]
#   defaults: $MINIVMM_CACHE/microvm-kernel (bzImage),
#             $MINIVMM_CACHE/debian-kernel/cloud/vmlinuz,
#             $MINIVMM_CACHE/guest-initramfs.cpio.gz, build/minivmm
#   VSOCK_CHECKS_KERNELS: "microvm debian" (default) or one of them.
# Prints "ok N - ..." / "not ok N - ..." lines and "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 125
# shellcheck source=tests/linux/lib.sh
. tests/linux/lib.sh
parse_args vsock-checks "kernel-dir kernel initrd minivmm" "$@"
mib=${VSOCK_MIB:-64}
tool=${BUILD:-build}/vsock_tool
host=tests/linux/vsock_host.py

echo "# linux virtio-vsock checks on $(kvm_kind)"
skip_on_pvm vsock-checks
need_files --made-by "tests/linux/prepare, make" "$initrd" "$minivmm" "$tool"
make_tmp vsock-checks
report_tag=vsock

# The guest's side.  Listeners first, then "ready"; then its own transfers
# to the host's listeners; then it waits for the host's "done" connection.
mkdir -p "$tmp/cpio"
cp "$tool" "$tmp/cpio/vsock_tool"
cat > "$tmp/cpio/vsock-check.sh" <<'GUEST'
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^vsockcheck\.$1=//p" | tail -1; }
say() { echo "vsock: $*"; }
t=/vsock_tool
bytes=$(($(arg mib) << 20))
say "devices=$(cat /sys/bus/virtio/devices/*/device 2>/dev/null | sort | tr '\n' ' ')"
say "vsock-dev=$([ -e /dev/vsock ] && echo yes || echo no)"
$t echo 5000 > /tmp/echo.out 2>&1 &
$t source 5001 "$bytes" > /tmp/source.out 2>&1 &
($t recv 5002 2>/tmp/recv.err | md5sum | cut -d' ' -f1 > /tmp/recv.md5) &
i=0
while [ "$(cat /tmp/echo.out /tmp/source.out /tmp/recv.err 2>/dev/null | grep -c listening)" -lt 3 ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
sleep 0.5
say "ready"
say "gen-md5=$($t gen "$bytes" 7 | md5sum | cut -d' ' -f1)"
$t gen "$bytes" 7 | $t send 2 6000 > /dev/null 2>/tmp/send.err
say "send-status=$?"
$t parallel 2 6001 64 65536 > /tmp/par.out 2>&1
say "parallel-status=$? $(cat /tmp/par.out | tr '\n' ' ')"
$t recv 5003 > /dev/null 2>&1
wait_recv=0
while [ ! -s /tmp/recv.md5 ] && [ $wait_recv -lt 300 ]; do
	sleep 1
	wait_recv=$((wait_recv + 1))
done
say "recv-md5=$(cat /tmp/recv.md5)"
say "end"
GUEST
(cd "$tmp/cpio" && printf '%s\n' vsock-check.sh vsock_tool | cpio -o -H newc -R 0:0 --quiet) \
	> "$tmp/extra.cpio"
{ gzip -dc "$initrd" && cat "$tmp/extra.cpio"; } > "$tmp/initrd"

head -c $((mib << 20)) /dev/urandom > "$tmp/host.bin"
host_md5=$(md5 < "$tmp/host.bin")
guest_md5=$("$tool" gen $((mib << 20)) 7 | md5)

# run_checks NAME KERNEL [MODULES]: one boot, every check.
run_checks() {
	local name=$1 kern=$2 extra=$3 uds=$tmp/$1.vsock out
	"$host" listen "$uds" 6000 "$tmp/$name-guest.bin" > "$tmp/$name-listen.out" 2>&1 &
	pids+=($!)
	"$host" echo-server "$uds" 6001 > /dev/null 2>&1 &
	pids+=($!)
	start_boot "$name" --kernel "$kern" --initrd "$tmp/initrd" --cpus 2 --mem 512M \
		--timeout 280 --vsock "cid=3,uds=$uds" \
		--cmdline "console=ttyS0 quiet panic=-1 $extra vsockcheck.mib=$mib run=sh\${IFS}/vsock-check.sh"
	if ! wait_for '^vsock: ready'; then
		notok "$name: the guest's listeners never came up"
		show_log "$name"
		sed 's/^/#   /' "$tmp/$name.err"
		kill "$vm" 2>/dev/null
		return
	fi
	same "$name" "the guest has /dev/vsock" "$(val vsock-dev)" yes
	# 5. Nobody listens on guest port 4999.
	out=$("$host" connect "$uds" 4999 2>&1)
	case $out in
	*error=*) ok "$name: CONNECT to a port without listener refused (${out#error=})" ;;
	*) notok "$name: CONNECT 4999 answered: $out" ;;
	esac
	# 1. 64 host connections at once to the guest's echo server.
	out=$("$host" echo "$uds" 5000 64 65536 2>&1)
	same "$name" "64 concurrent host->guest echo connections, 64 KiB each way" \
		"$(sed -n 's/^echo-ok=//p' <<<"$out")" 64
	echo "# $name: echo: $(tr '\n' ' ' <<<"$out")"
	# 4. A connection the host does not read must not stall another.
	out=$("$host" slow "$uds" 5001 5000 $((mib << 20)) 2>&1)
	echo "# $name: slow reader: $(tr '\n' ' ' <<<"$out")"
	same "$name" "echo round trips done while another connection is not read" \
		"$(sed -n 's/^fast-round-trips=//p' <<<"$out")" 50
	same "$name" "the unread connection then delivers all $mib MiB" \
		"$(sed -n 's/^slow-bytes=//p' <<<"$out")" $((mib << 20))
	# 3. host -> guest bulk.
	local t0=$SECONDS
	out=$("$host" send "$uds" 5002 "$tmp/host.bin" 2>&1)
	echo "# $name: host->guest $mib MiB in $((SECONDS - t0)) s: $(tr '\n' ' ' <<<"$out")"
	"$host" connect "$uds" 5003 > /dev/null 2>&1 # "done"
	wait_boot "$name"
	same "$name" "exit status (poweroff)" "$status" 0
	same "$name" "guest's md5 of the host's $mib MiB" "$(val recv-md5)" "$host_md5"
	same "$name" "guest's send to the host listener UDS_6000" "$(val send-status)" 0
	same "$name" "host's md5 of the guest's $mib MiB" "$(md5 < "$tmp/$name-guest.bin")" "$guest_md5"
	same "$name" "guest's 64 concurrent connections to the host echo server" \
		"$(val parallel-status | cut -d' ' -f1-4)" "0 vsock-tool: parallel 64"
	if [ -e "$uds" ]; then notok "$name: $uds left behind"; else ok "$name: socket removed at exit"; fi
	if grep -q 'virtio-vsock' "$tmp/$name.err"; then
		notok "$name: minivmm warned: $(grep -m1 'virtio-vsock' "$tmp/$name.err")"
	else
		ok "$name: no guest-error warning from the device"
	fi
	[ -z "${VSOCK_CHECKS_VERBOSE:-}" ] || sed 's/^/#   /' "$log" "$tmp/$name.err"
}

for k in ${VSOCK_CHECKS_KERNELS:-microvm debian}; do
	case $k in
	microvm)
		if [ -r "$kernel_dir/bzImage" ]; then
			run_checks microvm "$kernel_dir/bzImage" ""
			lib=${BUILD:-build}/tools/vsock_connect
			if [ ! -x "$lib" ]; then
				notok "library: $lib missing (make $lib)"
			else
				log=$tmp/library.log
				out=$(timeout 240 "$lib" "$kernel_dir/bzImage" "$tmp/initrd" \
					"console=ttyS0 quiet panic=-1 run=/vsock_tool\${IFS}echo\${IFS}5000" \
					"$tmp/library.vsock" 5000 "$log" 2>"$tmp/library.err")
				case $out in
				*"vsock-connect: ok"*) ok "library: mvm_vm_vsock_connect() echo ($out)" ;;
				*)
					notok "library: mvm_vm_vsock_connect(): $(grep vsock-connect "$tmp/library.err")"
					show_log library
					;;
				esac
			fi
		else
			notok "microvm: $kernel_dir/bzImage missing (guest-images/build-microvm-kernel.sh)"
		fi
		;;
	debian)
		# The cloud kernel has vsock as modules: the initramfs's /init loads
		# them with minivmm.modules=1 once fetch-debian-kernel.sh lists them.
		if ! gzip -dc "$initrd" | cpio -t --quiet 2>/dev/null | grep -q 'vmw_vsock_virtio_transport.ko'; then
			notok "debian: the initramfs has no vsock modules (run tests/linux/prepare)"
		else
			run_checks debian "$kernel" "minivmm.modules=1"
		fi
		;;
	esac
done
finish
