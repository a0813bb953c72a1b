#!/bin/bash
# Checks tools/progress, the one progress line of long steps (kernel build,
# debootstrap): off a terminal it prints plain lines at most every
# PROGRESS_INTERVAL seconds and a final one; it never claims 100% before its
# input ends (a stale total is capped at 99%); every input line reaches the log.
# Prints "ok/not ok" lines and "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 125
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0 n=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
expect() { # DESCRIPTION GOT WANT
	if [ "$2" = "$3" ]; then ok "$1"; else notok "$1: got '$2', expected '$3'"; fi
}
# compile N: N kbuild-like lines with noise between them.
compile() { local i; for i in $(seq 1 "$1"); do echo "  CC      f$i.o"; echo "warning: noise $i"; done; }

# Off a terminal, interval 0: one line per counted line, then the final one.
compile 5 | PROGRESS_INTERVAL=0 tools/progress --what k --stage compiling --total 10 --unit files \
	--match '^  CC ' --log "$tmp/log" 2>"$tmp/err" >"$tmp/out"
expect "nothing on stdout" "$(cat "$tmp/out")" ""
expect "a line per file off a terminal with interval 0" "$(wc -l < "$tmp/err")" 5
expect "percent of the total" "$(sed -n 3p "$tmp/err")" "k: compiling 3/10 files (30%)"
expect "every input line in the log" "$(wc -l < "$tmp/log")" 10

# A total that is too small: 99% until the end, then the real count at 100%.
compile 12 | PROGRESS_INTERVAL=0 tools/progress --what k --stage compiling --total 10 --unit files \
	--match '^  CC ' 2>"$tmp/err"
expect "capped at 99% while running" "$(sed -n 11p "$tmp/err")" "k: compiling 11/10 files (99%)"
expect "100% at the end" "$(tail -1 "$tmp/err")" "k: compiling 12/10 files (100%)"

# The default interval (15 s): a quick step prints only its final line.
compile 50 | tools/progress --what k --stage compiling --total 50 --unit files --match '^  CC ' 2>"$tmp/err"
expect "quick step: one line" "$(cat "$tmp/err")" "k: compiling 50/50 files (100%)"

# Unknown total: a count without a percentage.
printf 'I: Retrieving a\nI: Retrieving b\n' | tools/progress --what d --stage debootstrap --unit steps \
	--match '^I: ' 2>"$tmp/err"
expect "no total: count only" "$(cat "$tmp/err")" "d: debootstrap 2 steps"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
