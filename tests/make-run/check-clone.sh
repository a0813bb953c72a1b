#!/bin/bash
# The README's first command as a new user runs it: clones this repository
# (its committed HEAD) into a temporary folder and runs `make run` there, with
# the caches already filled by `make test`'s set-up (so it builds minivmm but
# neither a kernel nor an image).  Checks the guest's report (CPUs, memory,
# disk, eth0's address from user networking, entropy), the summary line and
# minivmm's exit status 0.  Then `make shell` there, typed at through script(1).
# Where there is no usable /dev/kvm, both boot inside the SVM test host, which
# this test then exercises too.
# Prints "ok/not ok" lines and "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 125
repo=$PWD
passed=0 failed=0 n=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
tmp=$(mktemp -d /tmp/minivmm-clone.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
log=$tmp/make-run.log

if ! git clone -q --no-hardlinks "$repo" "$tmp/minivmm" 2>"$log"; then
	notok "git clone of $repo: $(tail -1 "$log")"
	echo "$passed passed, $failed failed"
	exit 1
fi
start=$SECONDS
(cd "$tmp/minivmm" && make -j2 run) </dev/null >"$log" 2>&1
rc=$?
echo "# make run in a fresh clone: status $rc after $((SECONDS - start)) s"
text() { tr -d '\r' < "$log"; }
expect() { # DESCRIPTION REGEX
	if text | grep -E -- "$2" >/dev/null; then ok "$1"; else
		notok "$1 (no line matching '$2')"
		shown=${shown:-$(text | tail -40 | sed 's/^/#   /' | tee /dev/stderr >/dev/null)}
	fi
}
if [ "$rc" -eq 0 ]; then ok "make run exits 0 (the guest powered off)"; else notok "make run exited with status $rc"; fi
expect "packages checked, nothing to install" '^tools/deps run$'
expect "built minivmm in the clone" 'build/libminivmm\.a'
expect "the card's command, with user networking" 'run: build/minivmm --kernel .*/bzImage --disk build/run/root\.img --net user$'
expect "the root file system's init ran" '^minivmm-rootfs: up'
expect "the guest reports its CPUs" '^nproc=[0-9]+$'
expect "the guest reports its memory" '^MemTotal: +[0-9]+ kB'
expect "the guest sees its disk" '^minivmm-rootfs: disk vda 64 MiB rw$'
expect "the guest got an address by DHCP" '^minivmm-rootfs: eth0 10\.0\.2\.15/24$'
expect "the guest reads entropy from virtio-rng" '^minivmm-rootfs: entropy virtio_rng[.0-9]*: [0-9a-f]{16}$'
expect "summary of what the guest saw" '^run: the guest saw: [0-9]+ CPU\(s\), [0-9]+ MiB memory, disk 64 MiB rw, eth0 10\.0\.2\.15/24, entropy virtio_rng[.0-9]*$'
expect "summary of minivmm's status" '^run: minivmm exited with status 0 after'
if text | grep -E 'building the microVM kernel|building the example root' >/dev/null; then
	notok "the caches were reused (something was rebuilt)"
else
	ok "the caches were reused: no kernel or image built"
fi
if [ ! -e /dev/kvm ] || [ -e /sys/module/kvm_pvm ] || [ ! -w /dev/kvm ]; then
	expect "no usable /dev/kvm: said so, and ran in the SVM test host" '^run: .*running the same boot inside the SVM test host'
fi

# `make shell` in the same clone, typed at through a pseudo-terminal (script(1)):
# the input waits for the guest's shell, then a command and `exit`.
slog=$tmp/make-shell.log
feed() {
	for _ in $(seq 1 400); do
		grep -q 'shell (exit to power off)' "$slog" 2>/dev/null && break
		sleep 1
	done
	sleep 2
	printf 'echo hello-$((6*7))\r'
	sleep 5
	printf 'exit\r'
	# Keep stdin open until the run is over: an early EOF could end script(1).
	for _ in $(seq 1 200); do
		grep -qE 'HOSTVM-EXIT|run: minivmm exited|guest requested poweroff' "$slog" 2>/dev/null && break
		sleep 1
	done
}
if command -v script >/dev/null; then
	start=$SECONDS
	feed | (cd "$tmp/minivmm" && timeout 600 script -qfec "make shell" "$slog") >/dev/null 2>&1
	rc=$?
	echo "# make shell: status $rc after $((SECONDS - start)) s"
	log=$slog
	expect "make shell: the guest offers its shell" 'shell \(exit to power off\)'
	expect "make shell: a typed command runs in the guest" '^hello-42'
	expect "make shell: leaving the shell powers off" 'guest requested poweroff'
	if [ "$rc" -eq 0 ]; then ok "make shell exits 0"; else notok "make shell exited with status $rc"; fi
else
	notok "make shell: script(1) missing (Debian's bsdutils)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
