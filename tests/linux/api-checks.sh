#!/bin/bash
# The HTTP API with the microVM kernel and the busybox initramfs (README "HTTP
# API"), driven the way Firecracker's clients drive it: curl --unix-socket.
#   1. minivmm --api-sock, configured over the socket (machine-config,
#      boot-source, a drive, metrics), InstanceStart; GET / says Running;
#      PATCH /vm Paused stops a counting guest process, Resumed lets it
#      continue; metrics move; configuration after start is refused (400);
#      InstanceHalt ends the process.
#   2. SendCtrlAltDel: with ACPI the guest powers off cleanly (status 0);
#      with acpi=off (Kata) it shuts down cleanly and resets (100).
#   3. Firecracker's --config-file: boots at once, GET / says Running, the
#      guest's own poweroff ends minivmm with status 0.
# Meant for a hardware-style /dev/kvm (the SVM test host).
#
# Usage: tests/linux/api-checks.sh [--kernel-dir DIR] [--initrd INITRAMFS] [--minivmm BIN]
# Prints "ok N - ..." / "not ok N - ..." lines and "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 125
# shellcheck source=tests/linux/lib.sh
. tests/linux/lib.sh
parse_args api-checks "kernel-dir initrd minivmm" "$@"

echo "# API socket checks on $(kvm_kind)"
skip_on_pvm api-checks
need_files --made-by "tests/linux/prepare, guest-images/build-microvm-kernel.sh" \
	"$kernel_dir/bzImage" "$initrd" "$minivmm"
command -v curl >/dev/null || { notok "curl is not installed (tools/deps)"; finish; }
make_tmp api-checks

# api METHOD PATH [BODY]: one request; the reply body in $reply, the HTTP status in $code.
api() {
	local out
	out=$(curl -s --max-time 30 --unix-socket "$sock" -X "$1" -w '\n%{http_code}' \
		${3:+-H 'Content-Type: application/json' -d "$3"} "http://localhost$2")
	code=${out##*$'\n'}
	reply=${out%$'\n'*}
}
# want NAME DESCRIPTION CODE [REGEX]: the last reply had status CODE (and matches REGEX).
want() {
	if [ "$code" = "$3" ] && { [ -z "${4:-}" ] || grep -qE -- "$4" <<<"$reply"; }; then
		ok "$1: $2"
	else
		notok "$1: $2: HTTP $code $reply"
	fi
}
# count: the guest's counter, the last "tick N" line on the console.
count() { tr -d '\r' < "$log" | sed -n 's/^tick \([0-9]*\)$/\1/p' | tail -1; }
wait_sock() {
	local i
	for i in $(seq 1 100); do [ -S "$sock" ] && return 0; sleep 0.1; done
	return 1
}
# The guest counts once a second on its console ("tick N"), for a day.  No
# shell keywords: init runs `sh -c "$run"`, and a `while` spelt with ${IFS}
# is not a keyword; xargs runs `echo tick N;sleep 1` per number instead.  In
# JSON each backslash is doubled.
# shellcheck disable=SC2016  # expanded by the guest's shell, not here
counter='seq${IFS}86400|xargs${IFS}-n1${IFS}sh${IFS}-c${IFS}echo\${IFS}tick\${IFS}\$0\;sleep\${IFS}1'
counter_json=${counter//\\/\\\\}

# 1. Configure over the socket, start, pause/resume, metrics, halt.
sock=$tmp/api.sock
log=$tmp/runtime.log
truncate -s 8M "$tmp/data.img"
start=$SECONDS
timeout -k 5 300 "$minivmm" --api-sock "$sock" --id api-test --no-console-stdin \
	</dev/null >"$log" 2>&1 &
vm=$!
pids+=("$vm")
if wait_sock; then ok "runtime: the socket appears"; else notok "runtime: no socket"; finish; fi
api GET /
want runtime "GET / before start: Not started, our id" 200 '"state":"Not started".*"id":"api-test"|"id":"api-test".*"state":"Not started"'
api PATCH /vm '{"state":"Paused"}'
want runtime "pause before start is refused" 400 'fault_message'
api PUT /machine-config '{"vcpu_count":1,"mem_size_mib":256}'
want runtime "PUT /machine-config" 204
api PUT /boot-source "{\"kernel_image_path\":\"$kernel_dir/bzImage\",\"initrd_path\":\"$initrd\",\"boot_args\":\"console=ttyS0 panic=-1 minivmm.action=none run=$counter_json\"}"
want runtime "PUT /boot-source" 204
api PUT /drives/data "{\"drive_id\":\"data\",\"path_on_host\":\"$tmp/data.img\",\"is_root_device\":false,\"is_read_only\":true}"
want runtime "PUT /drives/data" 204
api PUT /metrics "{\"metrics_path\":\"$tmp/metrics.json\"}"
want runtime "PUT /metrics" 204
api PUT /actions '{"action_type":"InstanceStart"}'
want runtime "InstanceStart" 204
api GET /
want runtime "GET / after start: Running" 200 '"state":"Running"'
api PUT /boot-source "{\"kernel_image_path\":\"$kernel_dir/bzImage\"}"
want runtime "configuration after start is refused" 400 'only before InstanceStart'
if wait_for '^tick 3'; then ok "runtime: the guest counts"; else notok "runtime: no counting"; show_log runtime; fi
api GET /metrics
m1=$reply
want runtime "GET /metrics" 200 '"vcpu0":\{'
api PATCH /vm '{"state":"Paused"}'
want runtime "PATCH /vm Paused" 204
api GET /
want runtime "GET / says Paused" 200 '"state":"Paused"'
sleep 1
c1=$(count)
sleep 4
c2=$(count)
same runtime "the counter stands still while paused" "$c2" "$c1"
api PATCH /vm '{"state":"Resumed"}'
want runtime "PATCH /vm Resumed" 204
sleep 4
c3=$(count)
if [ -n "$c3" ] && [ -n "$c2" ] && [ "$c3" -gt "$c2" ]; then ok "runtime: counting again after resume ($c2 -> $c3)"; else
	notok "runtime: counter after resume: '$c2' -> '$c3'"
fi
api GET /metrics
m2=$reply
r1=$(grep -oE '"run_ns":[0-9]+' <<<"$m1" | head -1 | cut -d: -f2)
r2=$(grep -oE '"run_ns":[0-9]+' <<<"$m2" | head -1 | cut -d: -f2)
if [ -n "$r1" ] && [ -n "$r2" ] && [ "$r2" -gt "$r1" ]; then ok "runtime: vcpu0 run_ns moved ($r1 -> $r2)"; else
	notok "runtime: metrics did not move: '$r1' -> '$r2' ($m2)"
fi
api PUT /actions '{"action_type":"FlushMetrics"}'
want runtime "FlushMetrics" 204
if grep -q '"vcpu0":{' "$tmp/metrics.json" 2>/dev/null; then ok "runtime: FlushMetrics wrote a JSON line to metrics_path"; else
	notok "runtime: no metrics line in metrics_path: $(head -c 200 "$tmp/metrics.json" 2>&1)"
fi
# Kata's hot-plug: a new image behind an existing drive; the guest sees the new size.
truncate -s 16M "$tmp/data2.img"
api PATCH /drives/data "{\"drive_id\":\"data\",\"path_on_host\":\"$tmp/data2.img\"}"
want runtime "PATCH /drives/data with a new path_on_host" 204
if wait_for 'vda.*(new size|capacity change)'; then ok "runtime: the guest saw vda's new size"; else
	notok "runtime: no capacity change in the guest's log"
	show_log runtime
fi
api PATCH /drives/data "{\"drive_id\":\"data\",\"path_on_host\":\"$tmp/missing.img\"}"
want runtime "PATCH /drives to a missing file: 4xx/5xx naming it" "$code" 'missing.img'
[ "$code" != 204 ] || notok "runtime: PATCH to a missing file answered 204"
api PUT /actions '{"action_type":"InstanceHalt"}'
want runtime "InstanceHalt" 204
wait "$vm" 2>/dev/null
status=$?
if [ "$status" -ne 124 ] && [ "$status" -ne 137 ]; then ok "runtime: InstanceHalt ended the process (status $status)"; else
	notok "runtime: minivmm did not end after InstanceHalt (status $status)"
fi
if [ ! -e "$sock" ]; then ok "runtime: the socket is removed"; else notok "runtime: the socket is left behind"; fi
expect_not runtime "no thread was killed by seccomp" 'forbidden syscall'

# 2. SendCtrlAltDel, both ways a guest can hear it:
#    - with ACPI (the default): the GED's power-button event; init's acpid
#      shuts down cleanly and powers off (status 0);
#    - as Kata boots, with acpi=off: minivmm types Ctrl-Alt-Del on the i8042,
#      the kernel sends init SIGINT, init shuts down cleanly and, on a machine
#      without ACPI, can only reset (status 100, as Firecracker).
# send_ctrl_alt_del TAG EXTRA_ARGS WANT_STATUS WANT_LOG_REGEX
send_ctrl_alt_del() {
	local tag=$1 extra=$2 want=$3 how=$4
	sock=$tmp/$tag.sock
	log=$tmp/$tag.log
	start=$SECONDS
	timeout -k 5 300 "$minivmm" --api-sock "$sock" --no-console-stdin </dev/null >"$log" 2>&1 &
	vm=$!
	pids+=("$vm")
	wait_sock || { notok "$tag: no socket"; return; }
	api PUT /boot-source "{\"kernel_image_path\":\"$kernel_dir/bzImage\",\"initrd_path\":\"$initrd\",\"boot_args\":\"console=ttyS0 $extra panic=-1 minivmm.action=none\"}"
	api PUT /actions '{"action_type":"InstanceStart"}'
	want "$tag" "InstanceStart" 204
	wait_for 'minivmm-initramfs: up' || true
	# Pressed every 3 s until the guest is gone: a press before init's
	# handler listens is lost, as on real hardware (the power checks do the same).
	api PUT /actions '{"action_type":"SendCtrlAltDel"}'
	want "$tag" "SendCtrlAltDel accepted" 204
	for _ in $(seq 1 40); do
		kill -0 "$vm" 2>/dev/null || break
		sleep 3
		api PUT /actions '{"action_type":"SendCtrlAltDel"}'
	done
	wait "$vm" 2>/dev/null
	status=$?
	expect_status "$tag" "$want" "clean shutdown${extra:+, $extra}"
	expect "$tag" "minivmm pressed the button the guest hears" "$how"
	expect "$tag" "init's power-button handler ran" '^minivmm-initramfs: power button: shutting down'
}
send_ctrl_alt_del button-acpi "" 0 'power button: pressed \(ACPI GED'
send_ctrl_alt_del button-noacpi acpi=off 100 'power button: Ctrl-Alt-Del sent \(acpi=off\)'

# 3. Firecracker's --config-file: boots at once, no configuration calls.
sock=$tmp/config.sock
log=$tmp/config.log
cat >"$tmp/vm.json" <<EOF
{
  "boot-source": {"kernel_image_path": "$kernel_dir/bzImage", "initrd_path": "$initrd",
                  "boot_args": "console=ttyS0 panic=-1 run=sleep\${IFS}3"},
  "drives": [{"drive_id": "data", "path_on_host": "$tmp/data.img", "is_root_device": false,
              "is_read_only": true}],
  "machine-config": {"vcpu_count": 2, "mem_size_mib": 256, "smt": false},
  "network-interfaces": []
}
EOF
start=$SECONDS
timeout -k 5 300 "$minivmm" --api-sock "$sock" --config-file "$tmp/vm.json" --no-console-stdin \
	</dev/null >"$log" 2>&1 &
vm=$!
pids+=("$vm")
wait_sock || notok "config-file: no socket"
api GET /
want config-file "GET / says Running without InstanceStart" 200 '"state":"Running"'
wait "$vm" 2>/dev/null
status=$?
expect_status config-file 0 "the guest's poweroff ends minivmm"
expect config-file "two vCPUs from machine-config" '^nproc=2'
expect config-file "the drive from the file" 'disk vda 8 MiB'
finish
