#!/bin/bash
# Checks tools/deps' decisions without touching the machine's packages: dpkg,
# apt-get, id and sudo are fakes put first on a PATH that holds nothing else
# (symlinks to the few real tools the script uses), so whether the real
# machine has sudo or the packages does not matter.
#   FAKE_INSTALLED     packages the fake `dpkg -s` reports "install ok installed"
#   FAKE_CONFIG_ONLY   packages it reports "deinstall ok config-files" (exit 0)
#   FAKE_UID           what the fake `id -u` prints
#   FAKE_APT_FAIL=1    the fake apt-get install fails
# Every fake call is appended to $calls.  Prints "ok/not ok" lines and
# "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 125
deps=$PWD/tools/deps
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0 n=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }

bin=$tmp/bin
mkdir -p "$bin"
for t in bash grep sed cat env printf; do
	ln -s "$(command -v "$t")" "$bin/$t"
done
calls=$tmp/calls
cat > "$bin/dpkg" <<'FAKE'
#!/bin/bash
echo "dpkg $*" >> "$FAKE_CALLS"
[ "$1" = -s ] || exit 2
for p in $FAKE_INSTALLED; do
	[ "$p" = "$2" ] && { printf 'Package: %s\nStatus: install ok installed\n' "$2"; exit 0; }
done
for p in ${FAKE_CONFIG_ONLY:-}; do
	[ "$p" = "$2" ] && { printf 'Package: %s\nStatus: deinstall ok config-files\n' "$2"; exit 0; }
done
echo "dpkg-query: package '$2' is not installed" >&2
exit 1
FAKE
cat > "$bin/apt-get" <<'FAKE'
#!/bin/bash
echo "apt-get $*" >> "$FAKE_CALLS"
[ "$1" = install ] && [ -n "${FAKE_APT_FAIL:-}" ] && exit 100
exit 0
FAKE
cat > "$bin/id" <<'FAKE'
#!/bin/bash
echo "${FAKE_UID:-0}"
FAKE
cat > "$bin/sudo" <<'FAKE'
#!/bin/bash
echo "sudo $*" >> "$FAKE_CALLS"
exec "$@"
FAKE
chmod +x "$bin"/dpkg "$bin"/apt-get "$bin"/id "$bin"/sudo

all=$("$deps" --list)
build=$("$deps" --list build)
# run_deps NAME ARGS...: tools/deps with the fakes; output in $out, status in $rc.
run_deps() {
	: > "$calls"
	out=$(env -i PATH="$bin" FAKE_CALLS="$calls" FAKE_INSTALLED="${installed-}" \
		FAKE_CONFIG_ONLY="${config_only-}" FAKE_UID="${uid-0}" FAKE_APT_FAIL="${apt_fail-}" \
		"$bin/bash" "$deps" "$@" 2>&1)
	rc=$?
}
check() { # DESCRIPTION CONDITION...
	local what=$1
	shift
	if "$@"; then ok "$what"; else
		notok "$what"
		echo "# output: $out" | sed '2,$s/^/#   /'
		echo "# calls: $(tr '\n' ';' < "$calls")"
	fi
}
has() { grep -qE -- "$1" <<<"$out"; }
called() { grep -qE -- "$1" "$calls"; }

# The list holds what the other engineers' work needs (seccomp, fuzzing) and the
# Debian root test's debootstrap; every package once.
for p in libseccomp-dev clang libclang-rt-14-dev llvm debootstrap linux-source-6.1 qemu-system-x86; do
	check "--list names $p" grep -qx "$p" <<<"$all"
done
check "--list has no duplicates" [ "$(sort <<<"$all" | uniq -d)" = "" ]
check "build group is a strict subset without the kernel source" \
	bash -c '! grep -qx linux-source-6.1 <<<"$1" && grep -qx libiniparser-dev <<<"$1"' _ "$build"

# 1. Everything installed: nothing to do, apt-get never called.
installed=$(tr '\n' ' ' <<<"$all") config_only="" uid=0
run_deps --dry-run
check "all installed: dry run exits 0" [ "$rc" -eq 0 ]
check "all installed: dry run says so" has "all $(wc -l <<<"$all") packages installed"
check "all installed: dpkg -s asked once per package" [ "$(grep -c '^dpkg -s' "$calls")" -eq "$(wc -l <<<"$all")" ]
run_deps
check "all installed: silent, no apt-get" bash -c '[ -z "$1" ] && ! grep -q apt-get "$2"' _ "$out" "$calls"

# 2. Two missing, one of them only "config-files" (dpkg -s succeeds for it).
installed=$(grep -vx -e check -e libslirp-dev <<<"$all" | tr '\n' ' ') config_only=libslirp-dev
run_deps --dry-run
check "missing: dry run exits 0" [ "$rc" -eq 0 ]
check "missing: names exactly the two packages" has '^deps: installing 2 missing package\(s\): libslirp-dev check$'
check "missing: shows the install command" has '^deps: would run: .*apt-get install -y -q --no-install-recommends libslirp-dev check$'
check "missing: dry run runs no apt-get" bash -c '! grep -q "^apt-get" "$1"' _ "$calls"

# 3. As root: apt-get update, then install of exactly the missing ones.
run_deps
check "root: exits 0" [ "$rc" -eq 0 ]
check "root: apt-get update" called '^apt-get update'
check "root: apt-get install of the missing packages only" called '^apt-get install -y -q --no-install-recommends libslirp-dev check$'
check "root: no sudo" bash -c '! grep -q "^sudo" "$1"' _ "$calls"

# 4. Groups: `build` checks build packages only.
installed=$(grep -vx -e linux-source-6.1 <<<"$all" | tr '\n' ' ') config_only=""
run_deps --dry-run build
check "group build: a missing kernel package is not its business" has '^deps: all [0-9]+ packages installed \(build\)$'
run_deps --dry-run run
check "group run: includes the kernel source" has 'missing package\(s\): linux-source-6.1$'

# 5. Not root, sudo there: says so and goes through sudo.
uid=1000
run_deps
check "user with sudo: says it uses sudo" has 'not root: installing through sudo'
check "user with sudo: sudo apt-get install" called '^sudo env DEBIAN_FRONTEND=noninteractive apt-get install .* linux-source-6.1$'
check "user with sudo: exits 0" [ "$rc" -eq 0 ]

# 6. Not root, no sudo: names what to install, installs nothing, fails.
mv "$bin/sudo" "$bin/sudo.off"
run_deps
check "user without sudo: exits 1" [ "$rc" -eq 1 ]
check "user without sudo: tells the command" has 'as root, run: apt-get install linux-source-6.1$'
check "user without sudo: no apt-get" bash -c '! grep -q "^apt-get" "$1"' _ "$calls"
mv "$bin/sudo.off" "$bin/sudo"

# 7. apt-get install failing is a failure, not silence.
uid=0 apt_fail=1
run_deps
check "apt-get failure: exits 1" [ "$rc" -eq 1 ]
check "apt-get failure: says which packages" has 'apt-get install failed for: linux-source-6.1'
apt_fail=""

# 8. Opt-out and bad usage.
out=$(env -i PATH="$bin" FAKE_CALLS="$calls" MINIVMM_NO_DEPS=1 "$bin/bash" "$deps" 2>&1)
check "MINIVMM_NO_DEPS: dpkg never asked" bash -c '[ -z "$1" ]' _ "$out"
run_deps frobnicate
check "unknown group: exit 2" [ "$rc" -eq 2 ]

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
