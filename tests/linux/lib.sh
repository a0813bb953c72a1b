# shellcheck shell=bash
# Shared by the tests/linux/*-checks.sh scripts (sourced after their
# `cd` to the repository root): TAP-like result lines and the final
# "N passed, N failed", the options and their defaults, which KVM this is, the
# PVM skip, the temporary directory, and booting minivmm with a log per boot.
#
# State the helpers share with the scripts:
#   passed, failed, n   the counts behind the result lines
#   kernel, initrd, rootfs, kernel_dir, minivmm
#                       the options' values (parse_args)
#   boot_args           minivmm arguments every boot starts with (default none)
#   tmp                 the run's temporary directory (make_tmp)
#   pids                processes stopped on exit (make_tmp's cleanup)
#   log, start          the current boot's log ($tmp/NAME.log) and its $SECONDS
#   status              the last finished boot's exit status
#   vm                  the pid of the boot start_boot started
#   report_tag          TAG of the guest's "TAG: KEY=VALUE" lines (val)

passed=0
failed=0
n=0
ok() {
	n=$((n + 1))
	passed=$((passed + 1))
	echo "ok $n - $*"
}
notok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $*"
}
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

cache=${MINIVMM_CACHE:-$HOME/.cache/minivmm}
# shellcheck disable=SC2034  # the scripts' option defaults, used there
{
	kernel=$cache/debian-kernel/cloud/vmlinuz
	kernel_dir=$cache/microvm-kernel
	initrd=$cache/guest-initramfs.cpio.gz
	rootfs=$cache/root.img
	report_tag=
}
minivmm=${MINIVMM_BIN:-build/minivmm}
boot_args=()
pids=()
# parse_args SCRIPT "OPTION..." ARG...: each "--OPTION VALUE" for one of the
# allowed OPTIONs sets the variable of that name (dashes become underscores).
parse_args() {
	local script=$1 allowed=" $2 " opt
	shift 2
	while [ $# -gt 0 ]; do
		opt=${1#--}
		if [ "$opt" = "$1" ] || [[ $allowed != *" $opt "* ]]; then
			echo "$script: unknown argument $1" >&2
			exit 2
		fi
		if [ $# -lt 2 ]; then
			echo "$script: $1 needs a value" >&2
			exit 2
		fi
		printf -v "${opt//-/_}" '%s' "$2"
		shift 2
	done
}

kvm_kind() {
	if [ -e /sys/module/kvm_pvm ]; then
		echo "direct /dev/kvm (PVM, emulated CPL0)"
	elif [ -n "${MINIVMM_HOSTVM:-}" ]; then
		echo "SVM test host's /dev/kvm (kvm_amd under QEMU TCG, hardware-style)"
	else
		echo "direct /dev/kvm (hardware-style)"
	fi
}
# skip_on_pvm WHAT: a Linux boot takes minutes where guest kernel code is
# emulated; LINUX_CHECKS_ON_PVM=1 runs them anyway.
skip_on_pvm() {
	if [ -e /sys/module/kvm_pvm ] && [ -z "${LINUX_CHECKS_ON_PVM:-}" ]; then
		echo "# skipped: a Linux boot takes minutes on PVM; run $1 in tests/hostvm/run"
		finish
	fi
}
# need_files [--made-by WHAT] FILE...: each readable, else one failed check
# saying what makes it (default: tests/linux/prepare); and a usable /dev/kvm.
need_files() {
	local made_by=tests/linux/prepare f
	if [ "${1:-}" = --made-by ]; then
		made_by=$2
		shift 2
	fi
	for f in "$@"; do
		if [ ! -r "$f" ]; then
			notok "$f is missing (run $made_by, and make)"
			finish
		fi
	done
	if [ ! -w /dev/kvm ]; then
		notok "/dev/kvm is not usable here"
		finish
	fi
}

# make_tmp NAME: a fresh $tmp under /tmp (inside the SVM test host the share is
# read-only), removed on exit after the processes in $pids are stopped.
make_tmp() {
	tmp=$(mktemp -d "/tmp/$1.XXXXXX")
	trap cleanup EXIT
}
# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
	local p
	for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
md5() { md5sum | cut -d' ' -f1; }

# boot NAME MINIVMM_ARGS...: one boot in the foreground, minivmm's output (the
# console included) in $tmp/NAME.log, status in $status.  A hung minivmm is
# stopped by timeout(1) after 300 s.
boot() {
	local name=$1
	shift
	start=$SECONDS
	log=$tmp/$name.log
	timeout -k 5 300 "$minivmm" "${boot_args[@]}" --no-console-stdin "$@" </dev/null >"$log" 2>&1
	status=$?
	echo "# boot '$name': status $status after $((SECONDS - start)) s"
}
# start_boot [--killable] NAME MINIVMM_ARGS...: one boot in the background (pid
# in $vm), the console in $tmp/NAME.log, minivmm's messages in $tmp/NAME.err.
# A hung minivmm is stopped by timeout(1) after 300 s; --killable runs it without
# timeout(1), so that `kill -9 $vm` reaches minivmm itself.
start_boot() {
	local guard=(timeout -k 5 300)
	if [ "$1" = --killable ]; then
		guard=()
		shift
	fi
	local name=$1
	shift
	start=$SECONDS
	log=$tmp/$name.log
	"${guard[@]}" "$minivmm" "${boot_args[@]}" --no-console-stdin --no-console-stdout \
		--console-log "$log" "$@" </dev/null >"$tmp/$name.err" 2>&1 &
	vm=$!
	pids+=("$vm")
}
# wait_for REGEX: until the console shows a line matching REGEX (0), or minivmm
# is gone or 300 s have passed since the boot started (1).
wait_for() {
	while ! grep -qE -- "$1" "$log" 2>/dev/null; do
		kill -0 "$vm" 2>/dev/null || return 1
		[ $((SECONDS - start)) -lt 300 ] || return 1
		# Not faster: the SVM test host has one vCPU, the guest needs it.
		sleep 0.5
	done
}
# wait_boot NAME: waits for start_boot's minivmm; status in $status.
wait_boot() {
	wait "$vm" 2>/dev/null
	status=$?
	echo "# boot '$1': status $status after $((SECONDS - start)) s"
}

# The current boot's log without the serial console's carriage returns.
log_text() { tr -d '\r' < "$log"; }
# Not `grep -q`: it stops at the first match, the writer then dies of SIGPIPE,
# and under pipefail a found line would read as "not found" (seen with a
# long panic log).
has() { log_text | grep -E -- "$1" >/dev/null; }
# val KEY: the value of the guest's last "$report_tag: KEY=VALUE" line.
val() { log_text | sed -n "s/^$report_tag: $1=//p" | tail -1; }
shown_logs=" "
# show_log NAME: the end of $tmp/NAME.log after a failed check, once per boot.
show_log() {
	case $shown_logs in *" $1 "*) return ;; esac
	shown_logs="$shown_logs$1 "
	echo "# --- last 40 lines of the '$1' boot:"
	tr -d '\r' < "$tmp/$1.log" | tail -40 | sed 's/^/#   /'
}
# expect NAME DESCRIPTION REGEX: the log has a line matching REGEX.
expect() {
	if has "$3"; then ok "$1: $2"; else notok "$1: $2 (no line matching '$3')"; show_log "$1"; fi
}
# expect_not NAME DESCRIPTION REGEX: no line of the log matches REGEX.
expect_not() {
	if ! has "$3"; then ok "$1: $2"; else
		notok "$1: $2 (found: $(log_text | grep -E -- "$3" | head -1))"
		show_log "$1"
	fi
}
# expect_status NAME STATUS WHY: the boot ended with exit status STATUS.
expect_status() {
	if [ "$status" -eq "$2" ]; then ok "$1: exit status $2 ($3)"; else
		notok "$1: exit status $status, expected $2 ($3)"
		show_log "$1"
	fi
}
# same NAME DESCRIPTION GOT WANT: GOT is not empty and is WANT.
same() {
	if [ -n "$3" ] && [ "$3" = "$4" ]; then ok "$1: $2 ($3)"; else
		notok "$1: $2: got '$3', expected '$4'"
		show_log "$1"
	fi
}
