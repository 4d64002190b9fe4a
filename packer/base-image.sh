#!/usr/bin/env bash
#
# base-image.sh: a Debian 12 base image for `make box`, made offline on this machine.
#
# The template's default base image is Debian's generic cloud image, downloaded by URL. Build
# machines that reach only package registries cannot download it, so this script makes an
# equivalent from Debian's packages: debootstrap, a kernel, GRUB on the disk's MBR, sshd, and the
# `vagrant` user with Vagrant's insecure public key and passwordless sudo, as Vagrant base boxes
# have. The Debian packages the provisioners install are downloaded into the image's apt cache
# (not installed), so the provisioners run in the VM as they would online but with no network.
#
# The image is cached under the cache directory, keyed by the hash of this script and the
# package lists.
#
# Usage: base-image.sh    prints the path of the qcow2 image; its sha256 is in IMAGE.sha256
#
# Environment:
#   XDG_CACHE_HOME        the cache lives in ${XDG_CACHE_HOME:-~/.cache}/xenbox/base
#   XENBOX_DEBIAN_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#   VAGRANT_PUBLIC_KEY    Vagrant's insecure public key (default: the one Debian's vagrant
#                         package ships)
#
# Changes: installs debootstrap, GRUB's BIOS files and qemu-utils with apt-get when missing;
# writes only under the cache.
set -euo pipefail
shopt -s inherit_errexit

CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/xenbox/base"
MIRROR="${XENBOX_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
VAGRANT_PUBLIC_KEY="${VAGRANT_PUBLIC_KEY:-/usr/share/rubygems-integration/all/gems/vagrant-2.3.4/keys/vagrant.pub}"
IMAGE_SIZE=16G

# What a Vagrant base box has (libpam-systemd: SSH sessions end when the box reboots).
BASE_PACKAGES=systemd-sysv,udev,dbus,linux-image-amd64,initramfs-tools,grub-pc,openssh-server,\
sudo,iproute2,procps,kmod,ca-certificates,less,curl,libpam-systemd
# What the provisioners install (see their apt_install calls), fetched but not installed.
PROVISIONER_PACKAGES=(xen-hypervisor-4.17-amd64 xen-utils-4.17 gdb libboost-regex1.74.0
	dnsmasq-base iptables)

log() {
	printf '==> base-image: %s\n' "$*" >&2
}

fatal() {
	printf '==> base-image: error: %s\n' "$*" >&2
	exit 1
}

# inputs_key: a hash of everything the image is made from.
inputs_key() {
	{
		cat "$0" "$VAGRANT_PUBLIC_KEY"
		printf '%s\n' "$BASE_PACKAGES" "${PROVISIONER_PACKAGES[@]}" "$MIRROR"
	} | sha256sum | cut -c1-16
}

# install_host_tools: what building the image needs on this machine.
install_host_tools() {
	local missing=() tool
	for tool in debootstrap sfdisk mkfs.ext4 qemu-img; do
		command -v "$tool" >/dev/null || missing+=("$tool")
	done
	((${#missing[@]} == 0)) && return 0
	log "installing build tools (missing: ${missing[*]})"
	apt-get update -q >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		debootstrap fdisk e2fsprogs qemu-utils >&2
}

# bootstrap_tree TREE: Debian 12 with a kernel, GRUB and sshd; the debootstrap result is cached
# on its own, keyed by the package list.
bootstrap_tree() {
	local tree="$1" key tarball
	key="$(printf '%s\n' "$BASE_PACKAGES" "$MIRROR" | sha256sum | cut -c1-16)"
	tarball="$CACHE_DIR/debootstrap-bookworm-$key.tar"
	mkdir -p "$tree"
	if [[ ! -f "$tarball" ]]; then
		log "debootstrap of Debian 12 (a few minutes)"
		debootstrap --variant=minbase --include="$BASE_PACKAGES" bookworm "$tree" "$MIRROR" \
			>"$tree.debootstrap.log" 2>&1 ||
			fatal "debootstrap failed; see $tree.debootstrap.log"
		tar -C "$tree" -cf "$tarball.tmp" .
		mv -f "$tarball.tmp" "$tarball"
		return 0
	fi
	tar -C "$tree" -xf "$tarball"
}

# configure_system TREE: name, console, network, sshd and the vagrant user.
configure_system() {
	local tree="$1"
	printf 'xenbox\n' >"$tree/etc/hostname"
	printf '127.0.0.1 localhost\n127.0.1.1 xenbox\n' >"$tree/etc/hosts"
	printf 'LABEL=xenbox-root / ext4 rw,errors=remount-ro 0 1\n' >"$tree/etc/fstab"
	cat >"$tree/etc/systemd/network/10-uplink.network" <<'NETWORK'
[Match]
Name=en* eth*

[Network]
DHCP=ipv4
NETWORK
	printf 'UseDNS no\n' >"$tree/etc/ssh/sshd_config.d/10-vagrant.conf"
	cat >"$tree/etc/default/grub" <<'GRUB'
GRUB_DEFAULT=0
GRUB_TIMEOUT=1
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT="console=tty0 console=ttyS0,115200n8"
GRUB_CMDLINE_LINUX="net.ifnames=0"
GRUB_TERMINAL="console serial"
GRUB_SERIAL_COMMAND="serial --speed=115200"
GRUB_DISABLE_OS_PROBER=true
GRUB
	chroot "$tree" useradd --create-home --shell /bin/bash --uid 1000 vagrant
	printf 'vagrant ALL=(ALL) NOPASSWD: ALL\nDefaults:vagrant !requiretty\n' \
		>"$tree/etc/sudoers.d/vagrant"
	chmod 0440 "$tree/etc/sudoers.d/vagrant"
	install -d -m 0700 -o 1000 -g 1000 "$tree/home/vagrant/.ssh"
	install -m 0600 -o 1000 -g 1000 "$VAGRANT_PUBLIC_KEY" "$tree/home/vagrant/.ssh/authorized_keys"
	chroot "$tree" systemctl enable systemd-networkd ssh >/dev/null 2>&1
}

# fetch_provisioner_packages TREE: the provisioners' packages in the image's apt cache, so
# apt-get installs them without a network.
fetch_provisioner_packages() {
	local tree="$1"
	printf 'deb %s bookworm main\n' "$MIRROR" >"$tree/etc/apt/sources.list"
	chroot "$tree" apt-get update -q >&2
	chroot "$tree" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --download-only \
		--no-install-recommends "${PROVISIONER_PACKAGES[@]}" >&2
}

# write_grub_config TREE UUID: a GRUB menu booting the kernel from the root filesystem. It is
# written here because update-grub needs the disk's device, which a build without partitioned
# loop devices does not have; the provisioners' update-grub in the VM replaces it.
write_grub_config() {
	local tree="$1" uuid="$2" kernel initrd
	kernel="$(cd "$tree/boot" && find . -name 'vmlinuz-*' | sort -V | tail -n 1)"
	initrd="$(cd "$tree/boot" && find . -name 'initrd.img-*' | sort -V | tail -n 1)"
	[[ -n "$kernel" && -n "$initrd" ]] || fatal "no kernel or initrd in $tree/boot"
	mkdir -p "$tree/boot/grub"
	cat >"$tree/boot/grub/grub.cfg" <<GRUB
# Written by xenbox's base-image.sh; update-grub replaces it.
serial --speed=115200
terminal_input console serial
terminal_output console serial
set default=0
set timeout=1
menuentry 'Debian GNU/Linux' {
	insmod part_msdos
	insmod ext2
	search --no-floppy --fs-uuid --set=root $uuid
	linux /boot/${kernel#./} root=UUID=$uuid ro console=tty0 console=ttyS0,115200n8 net.ifnames=0
	initrd /boot/${initrd#./}
}
GRUB
	# GRUB's modules, from the same GRUB as the core image below.
	cp -r "$tree/usr/lib/grub/i386-pc" "$tree/boot/grub/"
}

# make_disk TREE DISK: a raw disk with an MBR partition table, GRUB's boot sector, GRUB's core
# image in the gap before the first partition (where grub-install embeds it) and the tree as
# the ext4 filesystem of that partition. No loop device or mount is needed.
make_disk() {
	local tree="$1" disk="$2" uuid fs="$2.fs" core="$2.core"
	uuid="$(cat /proc/sys/kernel/random/uuid)"
	write_grub_config "$tree" "$uuid"
	chroot "$tree" grub-mkimage -O i386-pc -d /usr/lib/grub/i386-pc -o /core.img \
		-p '(hd0,msdos1)/boot/grub' biosdisk part_msdos ext2
	mv "$tree/core.img" "$core"
	(($(stat -c %s "$core") < 2047 * 512)) || fatal "GRUB's core image does not fit before the partition"

	truncate -s "$IMAGE_SIZE" "$disk"
	printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$disk" >&2
	mkfs.ext4 -q -F -L xenbox-root -U "$uuid" -d "$tree" "$fs" \
		"$(($(stat -c %s "$disk") / 1024 - 1024))k" >&2
	dd if="$tree/usr/lib/grub/i386-pc/boot.img" of="$disk" bs=440 count=1 conv=notrunc status=none
	dd if="$core" of="$disk" bs=512 seek=1 conv=notrunc status=none
	dd if="$fs" of="$disk" bs=1M seek=1 conv=notrunc,sparse status=none
	rm -f "$fs" "$core"
}

main() {
	local key out tree work
	[[ "$(id -u)" == 0 ]] || fatal "run as root: debootstrap, loop devices and chroot need it"
	[[ -f "$VAGRANT_PUBLIC_KEY" ]] ||
		fatal "no Vagrant insecure key at $VAGRANT_PUBLIC_KEY; install vagrant or set VAGRANT_PUBLIC_KEY"
	key="$(inputs_key)"
	out="$CACHE_DIR/$key"
	mkdir -p "$CACHE_DIR"
	exec 9>"$CACHE_DIR/build.lock"
	flock 9
	if [[ -f "$out/debian-12-base.qcow2" ]]; then
		printf '%s\n' "$out/debian-12-base.qcow2"
		return 0
	fi
	install_host_tools
	work="$out.tmp"
	rm -rf "$work"
	mkdir -p "$work"

	tree="$work/tree"
	bootstrap_tree "$tree"
	configure_system "$tree"
	fetch_provisioner_packages "$tree"

	log "making the disk"
	make_disk "$tree" "$work/disk.raw"
	rm -rf "$tree"
	qemu-img convert -O qcow2 "$work/disk.raw" "$work/debian-12-base.qcow2"
	rm -f "$work/disk.raw"
	(cd "$work" && sha256sum debian-12-base.qcow2 >debian-12-base.qcow2.sha256)

	rm -rf "$out"
	mv "$work" "$out"
	find "$CACHE_DIR" -mindepth 1 -maxdepth 1 -type d ! -name "$key" -exec rm -rf {} +
	log "base image ready: $out/debian-12-base.qcow2"
	printf '%s\n' "$out/debian-12-base.qcow2"
}

main "$@"
