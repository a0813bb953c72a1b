#!/bin/bash
# libminivmm.so.1 exports exactly the functions vmm/minivmm.h declares
# (vmm/libminivmm.map): nothing internal leaks, nothing declared is missing;
# its soname is libminivmm.so.1; the public header compiles on its own
# (it may include only system headers).  Prints "N passed, N failed".
# Usage: tests/library/check-exports.sh [BUILD_DIR]
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 125
build=${1:-${BUILD:-build}}
so=$build/libminivmm.so.1
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
notok() { failed=$((failed + 1)); echo "not ok - $*"; }

if [ ! -r "$so" ]; then
	notok "$so is missing (run make)"
	echo "$passed passed, $failed failed"
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Functions: an identifier followed by "(" in a declaration, not typedef'd
# pointers ("(*mvm_..._fn)").
grep -oE '\bmvm_[a-z0-9_]+\(' vmm/minivmm.h | tr -d '(' | sort -u >"$tmp/header"
nm -D --defined-only "$so" | awk '$2 ~ /^[TtWwDdBbRr]$/ { sub(/@.*/, "", $3); print $3 }' |
	sort -u >"$tmp/exported"
if [ -s "$tmp/header" ] && cmp -s "$tmp/header" "$tmp/exported"; then
	ok "exports = minivmm.h's $(wc -l <"$tmp/header") functions"
else
	notok "exports differ from minivmm.h (< header only, > exported only):"
	diff "$tmp/header" "$tmp/exported" | grep '^[<>]' | sed 's/^/#   /'
fi
grep -oE '^[[:space:]]+mvm_[a-z0-9_]+;' vmm/libminivmm.map | tr -d ' \t;' | sort -u >"$tmp/map"
if cmp -s "$tmp/header" "$tmp/map"; then
	ok "vmm/libminivmm.map lists exactly minivmm.h's functions"
else
	notok "vmm/libminivmm.map differs from minivmm.h (< header only, > map only):"
	diff "$tmp/header" "$tmp/map" | grep '^[<>]' | sed 's/^/#   /'
fi
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" = libminivmm.so.1 ]; then ok "soname $soname"; else notok "soname '$soname', expected libminivmm.so.1"; fi
# Only the header's directory on the include path: any project header it
# pulled in would not be found.
mkdir "$tmp/inc"
cp vmm/minivmm.h "$tmp/inc/"
if echo '#include <minivmm.h>
int main(void) { return mvm_vm_state_name(MVM_STATE_RUNNING) == 0; }' |
	${CC:-cc} -std=c99 -Wall -Wextra -Werror -pedantic -fsyntax-only -I"$tmp/inc" -x c - 2>"$tmp/cc.err"; then
	ok "minivmm.h compiles on its own (C99, -pedantic)"
else
	notok "minivmm.h does not compile on its own:"
	sed 's/^/#   /' "$tmp/cc.err"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
