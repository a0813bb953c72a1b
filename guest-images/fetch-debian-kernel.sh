#!/bin/bash
# Fetches Debian's stock kernels into the cache (outside the clone) and keeps
# what the tests need from each:
#   generic  linux-image-amd64        the L1 test host's kernel (has 9p, kvm-amd and
#                                     tun, for tests/linux/net-checks.sh's TAP device)
#   cloud    linux-image-cloud-amd64  the guest kernel minivmm boots in tests/linux
#                                     (virtio-mmio, -blk, -net, -rng and pvpanic)
# For each flavour it leaves, in $MINIVMM_CACHE/debian-kernel/FLAVOUR/:
#   vmlinuz, config, release (uname -r), package (name_version),
#   modules/NAME.ko (uncompressed) and modules.load (insmod order, deps first).
# The metapackage only depends on the real package (linux-image-6.1.0-NN-amd64):
# that name comes from `apt-cache depends`, then `apt-get download` + `dpkg-deb -x`.
# A flavour already cached for the current package version is reused as is; with
# no apt lists (offline, not root) an existing cache is used whatever its version.
# apt is asked at most once a day (MINIVMM_REFRESH_KERNEL=1 forces it).
#
# Usage: guest-images/fetch-debian-kernel.sh [generic] [cloud]   (default: both)
# Prints one line per flavour: "FLAVOUR DIR".
set -euo pipefail

cache=${MINIVMM_CACHE:-$HOME/.cache/minivmm}
base=$cache/debian-kernel

die() {
	echo "fetch-debian-kernel: $*" >&2
	exit 1
}

for tool in apt-cache apt-get dpkg-deb; do
	command -v "$tool" >/dev/null 2>&1 || die "needs $tool (a Debian system with apt)"
done

# Modules each flavour keeps, in load order; the closure over `modinfo -F depends`
# is added when modinfo is there (it is in Debian's kmod package).
modules_for() {
	case $1 in
	generic) echo "virtio_ring virtio virtio_mmio netfs fscache 9pnet 9pnet_virtio 9p overlay irqbypass ccp kvm kvm-amd tun vhost_iotlb vhost vsock vmw_vsock_virtio_transport_common vhost_vsock" ;;
	cloud) echo "pvpanic-mmio virtio_mmio virtio_blk virtio_net virtio-rng vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport" ;;
	esac
}

meta_for() {
	case $1 in
	generic) echo linux-image-amd64 ;;
	cloud) echo linux-image-cloud-amd64 ;;
	*) die "unknown flavour '$1' (generic or cloud)" ;;
	esac
}

# The real package behind a metapackage, or nothing.
resolve() {
	apt-cache depends "$1" 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

# Prints NAME.ko paths for the modules named in $2.., dependencies first.
# $1 is the extracted lib/modules/RELEASE directory.
closure() {
	moddir=$1
	shift
	seen=" "
	visit() {
		# Module names use - and _ interchangeably; files keep the kernel's spelling.
		local name=$1 file deps d
		case $seen in *" $name "*) return 0 ;; esac
		file=$(find "$moddir" -name "$name.ko*" | head -1)
		[ -n "$file" ] || file=$(find "$moddir" -name "$(echo "$name" | tr _ -).ko*" | head -1)
		[ -n "$file" ] || file=$(find "$moddir" -name "$(echo "$name" | tr - _).ko*" | head -1)
		[ -n "$file" ] || die "module $name not found in $moddir"
		seen="$seen$name "
		if command -v modinfo >/dev/null 2>&1 || [ -x /usr/sbin/modinfo ]; then
			deps=$(PATH=$PATH:/usr/sbin:/sbin modinfo -F depends "$file" 2>/dev/null | tr , ' ')
			for d in $deps; do
				visit "$d"
			done
		fi
		echo "$file"
	}
	for m in "$@"; do
		visit "$m"
	done
}

fetch() {
	flavour=$1
	meta=$(meta_for "$flavour")
	dir=$base/$flavour
	# Asking apt costs seconds on every run; a cache checked within a day is reused.
	if [ -z "${MINIVMM_REFRESH_KERNEL:-}" ] && [ -f "$dir/vmlinuz" ] && [ -f "$dir/modules.load" ] &&
		[ "$(cat "$dir/wanted" 2>/dev/null)" = "$(modules_for "$flavour")" ] &&
		[ -n "$(find "$dir/checked" -mmin -1440 2>/dev/null)" ]; then
		echo "$flavour $dir"
		return 0
	fi
	pkg=$(resolve "$meta")
	if [ -z "$pkg" ] && [ "$(id -u)" = 0 ]; then
		echo "fetch-debian-kernel: apt-get update (no package lists for $meta)" >&2
		apt-get update -qq >/dev/null 2>&1 || true
		pkg=$(resolve "$meta")
	fi
	if [ -z "$pkg" ]; then
		[ -f "$dir/vmlinuz" ] && [ -f "$dir/package" ] && {
			echo "fetch-debian-kernel: cannot resolve $meta; using cached $(cat "$dir/package")" >&2
			echo "$flavour $dir"
			return 0
		}
		die "cannot resolve $meta to a kernel package: run 'apt-get update' as root"
	fi
	version=$(apt-cache policy "$pkg" 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }')
	if [ -f "$dir/package" ] && [ "$(cat "$dir/package")" = "${pkg}_$version" ] &&
		[ "$(cat "$dir/wanted" 2>/dev/null)" = "$(modules_for "$flavour")" ] &&
		[ -f "$dir/vmlinuz" ] && [ -f "$dir/modules.load" ]; then
		touch "$dir/checked"
		echo "$flavour $dir"
		return 0
	fi

	mkdir -p "$base"
	work=$(mktemp -d "$base/.fetch.XXXXXX")
	# apt-get download writes into the current directory; as root its _apt
	# sandbox cannot write to a mktemp dir (a harmless warning), so make it readable.
	chmod 755 "$work"
	size=$(apt-cache show "$pkg=$version" 2>/dev/null | awk '$1 == "Size:" { printf "%d MB", $2 / 1e6; exit }')
	echo "fetch-debian-kernel: downloading $pkg $version${size:+ ($size)} from the Debian archive ($flavour kernel)" >&2
	(cd "$work" && apt-get download -q "$pkg" >/dev/null 2>"$work/apt.err") ||
		{ cat "$work/apt.err" >&2; rm -rf "$work"; die "apt-get download $pkg failed"; }
	deb=$(ls "$work"/*.deb 2>/dev/null | head -1)
	[ -n "$deb" ] || { rm -rf "$work"; die "apt-get download $pkg produced no .deb"; }
	dpkg-deb -x "$deb" "$work/x"
	vmlinuz=$(ls "$work"/x/boot/vmlinuz-* 2>/dev/null | head -1)
	[ -n "$vmlinuz" ] || { rm -rf "$work"; die "$pkg has no /boot/vmlinuz-*"; }
	release=${vmlinuz##*/vmlinuz-}
	moddir=$work/x/lib/modules/$release

	new=$work/out
	mkdir -p "$new/modules"
	cp "$vmlinuz" "$new/vmlinuz"
	cp "$work/x/boot/config-$release" "$new/config" 2>/dev/null || true
	echo "$release" > "$new/release"
	: > "$new/modules.load"
	# shellcheck disable=SC2046
	closure "$moddir" $(modules_for "$flavour") > "$work/load" ||
		{ rm -rf "$work"; die "cannot collect the modules for $flavour"; }
	while read -r file; do
		name=${file##*/}
		case $name in
		*.ko.xz) xz -dc "$file" > "$new/modules/${name%.xz}"; name=${name%.xz} ;;
		*.ko.zst) zstd -qdc "$file" > "$new/modules/${name%.zst}"; name=${name%.zst} ;;
		*.ko.gz) gzip -dc "$file" > "$new/modules/${name%.gz}"; name=${name%.gz} ;;
		*) cp "$file" "$new/modules/$name" ;;
		esac
		echo "$name" >> "$new/modules.load"
	done < "$work/load"
	modules_for "$flavour" > "$new/wanted"
	echo "${pkg}_$version" > "$new/package"
	touch "$new/checked"
	rm -rf "$dir"
	mv "$new" "$dir"
	rm -rf "$work"
	echo "fetch-debian-kernel: $flavour = $pkg $version ($release)" >&2
	echo "$flavour $dir"
}

[ $# -gt 0 ] || set -- generic cloud
for f in "$@"; do
	fetch "$f"
done
