# shellcheck shell=bash
# Shared by the tests/linux/*-checks.sh scripts: TAP-like result lines, the
# final "N passed, N failed", which KVM this is, and the PVM skip.
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
# need_files FILE...: each readable, else one failed check saying what makes it.
need_files() {
	for f in "$@"; do
		if [ ! -r "$f" ]; then
			notok "$f is missing (run tests/linux/prepare, guest-images/build-microvm-kernel.sh and make)"
			finish
		fi
	done
	if [ ! -w /dev/kvm ]; then
		notok "/dev/kvm is not usable here"
		finish
	fi
}
