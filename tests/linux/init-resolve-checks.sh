#!/bin/bash
# Checks how the initramfs's /init (guest-images/init.sh) picks the init of the
# root it switches to, on directory trees built here, with busybox's sh as in
# the guest: symlinks are followed inside the new root (usrmerged roots: /sbin
# -> usr/sbin, /sbin/init -> /lib/systemd/systemd), `init=` is honoured as the
# kernel does (only that one), and loops end.  No VM needed.
# Prints "ok/not ok" lines and "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 125
busybox=$(command -v busybox || echo /bin/busybox)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0 n=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }

# The two functions, cut out of init.sh (it runs as PID 1 when sourced whole).
sed -n '/^resolve_in() {/,/^}/p; /^find_init() {/,/^}/p' guest-images/init.sh > "$tmp/funcs.sh"
if ! grep -q '^find_init() {' "$tmp/funcs.sh"; then
	notok "guest-images/init.sh defines resolve_in and find_init"
	echo "$passed passed, $failed failed"
	exit 1
fi
# pick ROOT [INIT=]: find_init's answer under busybox sh, or "FAIL:<what it printed>".
pick() {
	timeout 10 "$busybox" sh -c '. "$1"; test_init=$2; arg() { [ "$1" = init ] && echo "$test_init"; }; find_init "$3" || echo FAIL' \
		pick "$tmp/funcs.sh" "${2:-}" "$1" | tr '\n' ' ' | sed 's/ $//; s/ FAIL$/:FAIL/'
}
expect() { # DESCRIPTION GOT WANT
	if [ "$2" = "$3" ]; then ok "$1 ($2)"; else notok "$1: got '$2', expected '$3'"; fi
}
exe() { mkdir -p "$(dirname "$1")" && printf '#!/bin/sh\n' > "$1" && chmod 755 "$1"; }

# 1. Debian 12's layout: both links absolute or via usr; the target exists only
#    inside the root.
r=$tmp/usrmerged
mkdir -p "$r/usr/sbin" "$r/usr/lib/systemd"
exe "$r/usr/lib/systemd/systemd"
ln -s usr/sbin "$r/sbin"
ln -s usr/lib "$r/lib"
ln -s /lib/systemd/systemd "$r/usr/sbin/init"
expect "usrmerged root: /sbin/init -> /lib/systemd/systemd found" "$(pick "$r")" /sbin/init

# 2. An absolute link whose target exists here (on the host / in the initramfs)
#    but not in the root must not count.
r=$tmp/dangling
mkdir -p "$r/sbin"
ln -s /bin/sh "$r/sbin/init"
expect "absolute link resolved inside the root, not here" "$(pick "$r")" "/sbin/init:FAIL"

# 3. `..` stops at the root, as in a chroot.
r=$tmp/dotdot
mkdir -p "$r/sbin" "$r/lib/systemd"
exe "$r/lib/systemd/systemd"
ln -s ../../../../../lib/systemd/systemd "$r/sbin/init"
expect ".. beyond the root stays in it" "$(pick "$r")" /sbin/init

# 4. A loop ends (40 links) instead of hanging.
r=$tmp/loop
mkdir -p "$r/sbin" "$r/bin"
ln -s /sbin/b "$r/sbin/init"
ln -s /sbin/init "$r/sbin/b"
expect "symlink loop: no init, no hang" "$(pick "$r")" "/sbin/init:FAIL"

# 5. The kernel's fallbacks when there is no init= and no /sbin/init.
exe "$r/bin/sh"
expect "no /sbin/init: /bin/sh, as the kernel falls back" "$(pick "$r")" /bin/sh

# 6. init= is honoured, and only it.
r=$tmp/custom
exe "$r/sbin/init"
exe "$r/opt/my-init"
ln -s /opt/my-init "$r/usr-init"
expect "init=/usr-init (a link) is used" "$(pick "$r" /usr-init)" /usr-init
expect "init= that does not exist fails even with /sbin/init there" "$(pick "$r" /nope)" "/nope:FAIL"

# 7. A directory or a non-executable file is not an init.
r=$tmp/notexec
mkdir -p "$r/sbin/init" "$r/bin"
printf 'x\n' > "$r/bin/sh"
expect "directory /sbin/init and non-executable /bin/sh: none" "$(pick "$r")" "/sbin/init:FAIL"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
