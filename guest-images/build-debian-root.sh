#!/bin/bash
# Builds a real distribution's root file system: Debian 12 (bookworm) made by
# `debootstrap --variant=minbase --include=systemd-sysv,udev` into an ext4
# image, the kind of usrmerged root (/sbin -> usr/sbin, /sbin/init an absolute
# link to /lib/systemd/systemd) a user brings.  Booted with Debian's cloud kernel
# and guest-images/build-initramfs.sh's initramfs (tests/linux/debian-checks.sh).
# Two additions, both inert unless asked for on the kernel command line:
#   - minivmm-poweroff.service powers off once multi-user.target is reached
#     when the command line has minivmm.action=poweroff (how a test ends a boot);
#   - root has no password, so the serial console's login prompt lets a user in.
# The image is cached and rebuilt only when `recipe` below changes (bump it when
# what goes into the image changes; MINIVMM_REFRESH_DEBIAN=1 forces a rebuild).  Downloads about 50 MB of packages from deb.debian.org (or $DEBIAN_MIRROR).
#
# Usage: guest-images/build-debian-root.sh [-o OUTPUT]
#   OUTPUT  default ${MINIVMM_CACHE:-~/.cache/minivmm}/debian-root.img (raw ext4, 1 GiB sparse)
# Prints "debian-root PATH".  Needs root (debootstrap makes device nodes and
# chowns), debootstrap and e2fsprogs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=${MINIVMM_CACHE:-$HOME/.cache/minivmm}
out=$cache/debian-root.img
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
while [ $# -gt 0 ]; do
	case $1 in
	-o) out=${2:?-o needs a path}; shift 2 ;;
	*) echo "build-debian-root: usage: build-debian-root.sh [-o OUTPUT]" >&2; exit 1 ;;
	esac
done
die() {
	echo "build-debian-root: $*" >&2
	exit 1
}

recipe=1
stamp=bookworm-minbase-systemd-$recipe
if [ -z "${MINIVMM_REFRESH_DEBIAN:-}" ] && [ -f "$out" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "debian-root $out"
	exit 0
fi
[ "$(id -u)" = 0 ] || die "needs root (debootstrap creates device nodes and owners): run as root or with sudo"
PATH=$PATH:/usr/sbin:/sbin
command -v debootstrap >/dev/null || die "needs debootstrap (apt-get install debootstrap)"
command -v mkfs.ext4 >/dev/null || die "needs mkfs.ext4 (apt-get install e2fsprogs)"

mkdir -p "$(dirname "$out")"
work=$(mktemp -d "$(dirname "$out")/.debian-root.XXXXXX")
trap 'rm -rf "$work"' EXIT
dir=$work/root
log=$work/debootstrap.log
echo "build-debian-root: debootstrap bookworm (minbase + systemd-sysv, udev) from $mirror, about 50 MB" >&2
# debootstrap prints one "I: Retrieving/Validating/Unpacking/Configuring X" line
# per package and step (about 4 per package, ~120 packages): shown as one line.
set +e
debootstrap --variant=minbase --include=systemd-sysv,udev bookworm "$dir" "$mirror" 2>&1 |
	"$repo/tools/progress" --what debian-root --stage debootstrap --total 480 --unit steps \
		--match '^I: (Retrieving|Validating|Extracting|Unpacking|Configuring) ' --log "$log"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
	tail -20 "$log" >&2
	die "debootstrap failed (status $rc; log above)"
fi

# Ends a boot at multi-user when asked: After= orders it behind the target, so
# systemd has printed "Reached target Multi-User System" on the console first.
cat > "$dir/etc/systemd/system/minivmm-poweroff.service" <<'UNIT'
[Unit]
Description=Power off once multi-user.target is reached (minivmm.action=poweroff)
ConditionKernelCommandLine=minivmm.action=poweroff
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/bin/systemctl --no-block poweroff
UNIT
mkdir -p "$dir/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/minivmm-poweroff.service \
	"$dir/etc/systemd/system/multi-user.target.wants/minivmm-poweroff.service"
chroot "$dir" passwd -d root >/dev/null
echo minivmm-debian > "$dir/etc/hostname"
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' > "$dir/etc/fstab"
# The apt caches are half of a minbase tree and useless in a test image.
rm -rf "$dir/var/cache/apt/archives"/*.deb "$dir/var/lib/apt/lists"/*

mib=$(du -sm "$dir" | cut -f1)
size=$(((mib * 3 / 2 + 256) / 64 * 64))
truncate -s "${size}M" "$work/img"
mkfs.ext4 -q -F -L debian-root -d "$dir" "$work/img"
mv "$work/img" "$out"
echo "$stamp" > "$out.stamp"
echo "build-debian-root: $out (${size} MiB, ${mib} MiB used)" >&2
echo "debian-root $out"
