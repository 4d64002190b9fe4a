#!/usr/bin/env bash
#
# dom0-image.sh: build (once, cached) everything needed to boot a xenbox dom0 under QEMU.
#
# The test harness and `make demo` boot Xen under QEMU instead of a Vagrant box. This script
# builds the same dom0 the box has, from the same provisioners: the hypervisor with gdbsx
# support, gdbsx and PV-GRUB are built on this machine (fast), then a Debian 12 tree made by
# debootstrap gets them installed by the provisioners run in a chroot, and becomes an ext4
# image. Artifacts are cached under the cache directory, keyed by the hash of their inputs.
#
# The image also holds the xenbox binary built from this repository (/usr/local/bin/xenbox, for
# the metadata service), so the binary is one of the inputs.
#
# Usage: dom0-image.sh    prints the directory holding xen, vmlinuz, initrd.img, dom0.img and
#                         the SSH key (id_ed25519) that logs in as root
#
# Environment:
#   XDG_CACHE_HOME        the cache lives in ${XDG_CACHE_HOME:-~/.cache}/xenbox
#   XENBOX_DEBIAN_MIRROR  Debian mirror for debootstrap (default http://deb.debian.org/debian)
#   GO                    the go command building xenbox (default: go on PATH, else
#                         /usr/local/go/bin/go)
#
# Changes: installs the build tools it needs with apt-get; writes only under the cache.
set -euo pipefail
shopt -s inherit_errexit

HARNESS_DIR="$(cd "$(dirname "$0")" && pwd)"
REPO_DIR="$(cd "$HARNESS_DIR/../.." && pwd)"
PROVISIONERS="$REPO_DIR/provisioners"
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/xenbox"
MIRROR="${XENBOX_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DOM0_PACKAGES=systemd-sysv,udev,dbus,linux-image-amd64,initramfs-tools,openssh-server,\
xen-hypervisor-4.17-amd64,xen-utils-4.17,gdb,libboost-regex1.74.0,iproute2,procps,kmod,\
e2fsprogs,iptables,less,busybox
DOM0_IMAGE_SIZE=4G

log() {
	printf '==> dom0-image: %s\n' "$*" >&2
}

fatal() {
	printf '==> dom0-image: error: %s\n' "$*" >&2
	exit 1
}

# build_xenbox OUT: the xenbox binary dom0 runs the metadata service with; static, and built
# reproducibly so that an unchanged source gives the same cache key.
build_xenbox() {
	local out="$1" go="${GO:-}"
	if [[ -z "$go" ]]; then
		go="$(command -v go || printf '/usr/local/go/bin/go')"
	fi
	[[ -x "$go" ]] || fatal "no go command to build xenbox; set GO or put go on PATH"
	mkdir -p "$(dirname "$out")"
	(cd "$REPO_DIR" && CGO_ENABLED=0 "$go" build -trimpath -buildvcs=false -o "$out" \
		./tools/cmd/xenbox) || fatal "go build of xenbox failed"
}

# inputs_key XENBOX: a hash of everything the image is made from, the xenbox binary included.
inputs_key() {
	local xenbox="$1"
	(
		cd "$REPO_DIR"
		cat test/harness/dom0-image.sh provisioners/*.sh provisioners/patches/* \
			provisioners/vif-metadata provisioners/vif-metadata.hook "$xenbox"
		printf '%s\n' "$DOM0_PACKAGES" "$DOM0_IMAGE_SIZE"
	) | sha256sum | cut -c1-16
}

# install_host_tools: what building the image needs on this machine.
install_host_tools() {
	local missing=() tool
	for tool in debootstrap mkfs.ext4 qemu-system-x86_64 ssh-keygen; do
		command -v "$tool" >/dev/null || missing+=("$tool")
	done
	((${#missing[@]} == 0)) && return 0
	log "installing build tools (missing: ${missing[*]})"
	apt-get update -q >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		debootstrap e2fsprogs qemu-system-x86 qemu-utils openssh-client >&2
}

# build_xen_pieces OUT: the hypervisor, gdbsx and PV-GRUB, built here by the provisioners.
build_xen_pieces() {
	local out="$1" build="$CACHE_DIR/build" xen_gz gdbsx pvgrub
	export XENBOX_BUILD_DIR="$build"
	xen_gz="$("$PROVISIONERS/hypervisor.sh" build)"
	gdbsx="$("$PROVISIONERS/gdbsx.sh" build)"
	pvgrub="$("$PROVISIONERS/pvgrub.sh" build)"
	mkdir -p "$out/prebuilt"
	cp "$xen_gz" "$out/prebuilt/xen-gdbsx.gz"
	cp "$xen_gz.version" "$out/prebuilt/xen-gdbsx.gz.version"
	cp "$gdbsx" "$gdbsx.xen-version" "$out/prebuilt/"
	cp "$pvgrub"/pv-grub-*.bin "$out/prebuilt/"
	zcat "$xen_gz" >"$out/xen"
}

# bootstrap_tree TREE: a minimal Debian 12 with Xen's toolstack and a kernel. The bare
# debootstrap result is cached on its own, keyed by the package list, since it is the slowest
# step and changes least.
bootstrap_tree() {
	local tree="$1" key tarball
	key="$(printf '%s\n' "$DOM0_PACKAGES" "$MIRROR" | sha256sum | cut -c1-16)"
	tarball="$CACHE_DIR/debootstrap/bookworm-$key.tar"
	if [[ ! -f "$tarball" ]]; then
		log "debootstrap of Debian 12 (a few minutes)"
		mkdir -p "$tree" "$(dirname "$tarball")"
		debootstrap --variant=minbase --include="$DOM0_PACKAGES" bookworm "$tree" "$MIRROR" \
			>"$tree.debootstrap.log" 2>&1 ||
			fatal "debootstrap failed; see $tree.debootstrap.log"
		tar -C "$tree" -cf "$tarball.tmp" .
		mv -f "$tarball.tmp" "$tarball"
		return 0
	fi
	mkdir -p "$tree"
	tar -C "$tree" -xf "$tarball"
}

# run_provisioners TREE OUT XENBOX: the provisioners, in a chroot, installing the prebuilt
# pieces and the xenbox binary.
run_provisioners() {
	local tree="$1" out="$2" xenbox="$3"
	mkdir -p "$tree/tmp/xenbox"
	cp -r "$PROVISIONERS" "$tree/tmp/xenbox/provisioners"
	cp -r "$out/prebuilt" "$tree/tmp/xenbox/prebuilt"
	install -D -m 0755 "$xenbox" "$tree/usr/local/bin/xenbox"
	mount -t proc proc "$tree/proc"
	# shellcheck disable=SC2064 # expand now: the trap must unmount this tree
	trap "umount '$tree/proc'" EXIT
	chroot "$tree" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin bash -euc '
		cd /tmp/xenbox
		provisioners/xen.sh
		XENBOX_HYPERVISOR=prebuilt/xen-gdbsx.gz provisioners/hypervisor.sh install
		XENBOX_GDBSX=prebuilt/gdbsx provisioners/gdbsx.sh install
		XENBOX_PVGRUB_DIR=prebuilt provisioners/pvgrub.sh install
		provisioners/network.sh
		provisioners/metadata.sh
	' >&2
	umount "$tree/proc"
	trap - EXIT
	rm -rf "$tree/tmp/xenbox"
}

# configure_access TREE OUT: root logs in over SSH with the harness key; dom0 gets its
# address from QEMU's user network by DHCP.
configure_access() {
	local tree="$1" out="$2"
	ssh-keygen -q -t ed25519 -N '' -C xenbox-harness -f "$out/id_ed25519"
	install -d -m 0700 "$tree/root/.ssh"
	install -m 0600 "$out/id_ed25519.pub" "$tree/root/.ssh/authorized_keys"
	printf 'xenbox-dom0\n' >"$tree/etc/hostname"
	printf '127.0.0.1 localhost\n127.0.1.1 xenbox-dom0\n' >"$tree/etc/hosts"
	printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >"$tree/etc/fstab"
	cat >"$tree/etc/systemd/network/10-uplink.network" <<'NETWORK'
[Match]
Name=en* eth*

[Network]
DHCP=ipv4
NETWORK
	chroot "$tree" systemctl enable systemd-networkd ssh >/dev/null 2>&1
	printf 'UseDNS no\n' >"$tree/etc/ssh/sshd_config.d/xenbox.conf"
}

# extract_boot_files TREE OUT: the dom0 kernel and initrd, for QEMU's multiboot loader.
extract_boot_files() {
	local tree="$1" out="$2" kernel initrd
	kernel="$(find "$tree/boot" -name 'vmlinuz-*' | sort | tail -n 1)"
	initrd="$(find "$tree/boot" -name 'initrd.img-*' | sort | tail -n 1)"
	[[ -n "$kernel" && -n "$initrd" ]] || fatal "no kernel or initrd in $tree/boot"
	cp "$kernel" "$out/vmlinuz"
	cp "$initrd" "$out/initrd.img"
}

main() {
	local key out work xenbox
	[[ "$(id -u)" == 0 ]] || fatal "run as root: debootstrap and chroot need it"
	xenbox="$CACHE_DIR/xenbox-bin/xenbox.$$"
	build_xenbox "$xenbox"
	key="$(inputs_key "$xenbox")"
	out="$CACHE_DIR/dom0/$key"
	# One build at a time: builds share the Xen and GRUB build trees, and two runs of the same
	# inputs would otherwise remove each other's work.
	mkdir -p "$CACHE_DIR/dom0"
	exec 9>"$CACHE_DIR/dom0/build.lock"
	flock 9
	if [[ -f "$out/ready" ]]; then
		rm -f "$xenbox"
		printf '%s\n' "$out"
		return 0
	fi
	install_host_tools
	work="$CACHE_DIR/dom0/$key.tmp"
	rm -rf "$work"
	mkdir -p "$work"

	build_xen_pieces "$work"
	bootstrap_tree "$work/tree"
	run_provisioners "$work/tree" "$work" "$xenbox"
	configure_access "$work/tree" "$work"
	extract_boot_files "$work/tree" "$work"

	log "making the dom0 image"
	mkfs.ext4 -q -F -L xenbox-dom0 -d "$work/tree" "$work/dom0.img" "$DOM0_IMAGE_SIZE" >&2
	rm -rf "$work/tree"
	rm -f "$xenbox"
	touch "$work/ready"
	rm -rf "$out"
	mv "$work" "$out"
	prune_old_images
	printf '%s\n' "$out"
}

# prune_old_images: keep the newest three images, each a few GiB, and drop what interrupted
# builds left (no build runs while the lock is held).
prune_old_images() {
	local old
	find "$CACHE_DIR/dom0" -mindepth 1 -maxdepth 1 -type d -name '*.tmp' -exec rm -rf {} +
	while read -r old; do
		log "removing the old dom0 image $old"
		rm -rf "$old"
	done < <(find "$CACHE_DIR/dom0" -mindepth 2 -maxdepth 2 -name ready -printf '%T@ %h\n' |
		sort -rn | tail -n +4 | cut -d' ' -f2-)
}

main "$@"
