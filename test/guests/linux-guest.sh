#!/usr/bin/env bash
#
# linux-guest.sh: pack a small Linux PV guest the way unik packs a Xen PV kernel for AWS, to
# test the box's network with a guest that really uses it.
#
# The guest is Debian's kernel (the dom0's own, which boots as a PV domU too) with a busybox
# initrd whose init loads xen-netfront, takes a DHCP lease on eth0, fetches
# http://169.254.169.254/latest/user-data and prints it on the console between markers:
#     xenbox-guest: user-data=<<<TEXT>>>
# then idles. The image has unik's AWS layout (ext2 on the whole disk, /boot/program.bin,
# /boot/grub/menu.lst and grub.conf, device.map), so PV-GRUB boots it and `xenbox images`
# pairs it with its debug dir by content. program.bin is the kernel as an ELF (extracted from
# the compressed vmlinuz), since xenbox reads the ELF class of a debug dir's program.bin.
#
# Usage: linux-guest.sh DOM0_DIR OUTDIR
#   DOM0_DIR  what test/harness/dom0-image.sh printed: vmlinuz, and dom0.img holding the
#             kernel's modules, busybox and the C library
#   OUTDIR    unik's temp dir to add the artifacts to (made if missing)
#
# Prints "image=PATH" and "debug_dir=PATH" on stdout; everything else goes to stderr.
#
# Environment: none.
#
# Changes: adds bootable-image-directory.N/ and boot-creator-result.img.M to OUTDIR (N and M
# independent random numbers); may apt-get install cpio. Work
# happens in OUTDIR/.linux-guest.XXXXXX, removed on exit. No root, no loop mounts.
set -euo pipefail
shopt -s inherit_errexit

IMAGE_SLACK_MIB=24
work_dir=""

log() {
	printf '==> linux-guest: %s\n' "$*" >&2
}

fatal() {
	printf '==> linux-guest: error: %s\n' "$*" >&2
	exit 1
}

cleanup() {
	if [[ -n "$work_dir" ]]; then
		rm -rf "$work_dir"
	fi
}

# install_host_tools: cpio packs the initrd, debugfs reads dom0.img, mkfs.ext2 makes the image.
install_host_tools() {
	local tool
	for tool in cpio debugfs mkfs.ext2 xz; do
		if ! command -v "$tool" >/dev/null; then
			log "installing cpio, e2fsprogs and xz-utils"
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q cpio e2fsprogs xz-utils >&2
			return 0
		fi
	done
}

# dump_busybox DOM0_IMAGE ROOT: dom0's busybox and the C library it links, read from dom0's
# image. (Debian's static busybox crashes in wget inside the guest.)
dump_busybox() {
	local image="$1" root="$2" file
	mkdir -p "$root/lib/x86_64-linux-gnu" "$root/lib64"
	for file in /usr/bin/busybox /usr/lib/x86_64-linux-gnu/libc.so.6 \
		/usr/lib/x86_64-linux-gnu/libresolv.so.2 /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2; do
		debugfs -R "dump $file $root/lib/x86_64-linux-gnu/${file##*/}" "$image" >/dev/null 2>&1
		[[ -s "$root/lib/x86_64-linux-gnu/${file##*/}" ]] || fatal "no $file in $image"
	done
	mv "$root/lib/x86_64-linux-gnu/busybox" "$root/bin/busybox"
	chmod 0755 "$root/bin/busybox" "$root/lib/x86_64-linux-gnu/"*
	ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root/lib64/ld-linux-x86-64.so.2"
}

# extract_vmlinux VMLINUZ OUT: the ELF kernel inside Debian's xz-compressed bzImage.
extract_vmlinux() {
	local vmlinuz="$1" out="$2" offset
	offset="$(LC_ALL=C grep -obUaP -m 1 '\xFD7zXZ\x00' "$vmlinuz" | cut -d: -f1 | head -n 1)"
	[[ -n "$offset" ]] || fatal "$vmlinuz holds no xz stream; is it Debian's amd64 kernel?"
	# xz stops at the end of the stream; the bytes after it are the bzImage's, not the kernel's.
	xz -dc --single-stream <(tail -c +"$((offset + 1))" "$vmlinuz") >"$out"
	[[ "$(head -c 4 "$out" | od -An -c | tr -d ' ')" == 177ELF ]] ||
		fatal "the kernel unpacked from $vmlinuz is not an ELF file"
}

# dump_netfront DOM0_IMAGE OUT: xen-netfront.ko of the dom0's kernel, read from its image.
dump_netfront() {
	local image="$1" out="$2" version
	version="$(debugfs -R 'ls -p /usr/lib/modules' "$image" 2>/dev/null |
		awk -F/ '$6 ~ /^[0-9]/ { print $6 }' | sort -V | tail -n 1)"
	[[ -n "$version" ]] || fatal "no kernel modules in $image"
	debugfs -R "dump /usr/lib/modules/$version/kernel/drivers/net/xen-netfront.ko $out" \
		"$image" >/dev/null 2>&1
	[[ -s "$out" ]] || fatal "no xen-netfront.ko for $version in $image"
}

# write_init ROOT: the guest's whole userland, as PID 1.
write_init() {
	local root="$1"
	cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox --install -s /bin
insmod /lib/xen-netfront.ko
ip link set lo up
echo "xenbox-guest: asking for a DHCP lease on eth0"
if udhcpc -i eth0 -n -q -t 20 -T 2 -s /bin/udhcpc-script; then
	ip -4 -o addr show dev eth0
	# Limitation: busybox's wget segfaults in this guest (not on the build host), so the
	# request is written by hand through nc; the body follows the blank line after the headers.
	printf 'GET /latest/user-data HTTP/1.0\r\nHost: 169.254.169.254\r\n\r\n' |
		nc -w 10 169.254.169.254 80 >/response || echo "xenbox-guest: fetching user-data failed"
	sed '1,/^\r*$/d' /response >/user-data
	echo "xenbox-guest: user-data=<<<$(cat /user-data)>>>"
else
	echo "xenbox-guest: no DHCP lease"
fi
while :; do sleep 3600; done
INIT
	cat >"$root/bin/udhcpc-script" <<'SCRIPT'
#!/bin/busybox sh
case "$1" in
bound | renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/$mask" dev "$interface"
	ip link set "$interface" up
	if [ -n "$router" ]; then
		ip route add default via "${router%% *}" dev "$interface"
	fi
	;;
deconfig)
	ip link set "$interface" up
	;;
esac
SCRIPT
	chmod 0755 "$root/init" "$root/bin/udhcpc-script"
}

# make_initrd ROOT OUT: the initramfs the kernel unpacks and runs /init from.
make_initrd() {
	local root="$1" out="$2"
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -9 >"$out"
}

# write_menu FILE: unik's menu, plus the initrd line GRUB's legacy parser understands.
write_menu() {
	cat >"$1" <<'MENU'
default=0
fallback=1
timeout=1
hiddenmenu

title Unik
root (hd0)
kernel /boot/program.bin console=hvc0 loglevel=4
initrd /boot/initrd.img
MENU
}

# make_image BOOT_TREE OUT: one ext2 filesystem on the whole disk, as unik's AWS images are.
make_image() {
	local tree="$1" out="$2" size_mib
	size_mib=$(($(du -sm --apparent-size "$tree" | cut -f1) + IMAGE_SLACK_MIB))
	truncate -s "${size_mib}M" "$out"
	mkfs.ext2 -q -F -L boot -I 128 -d "$tree" "$out" >&2
}

main() {
	local dom0_dir="${1:-}" out_dir="${2:-}" debug_dir image
	[[ -n "$dom0_dir" && -n "$out_dir" && $# == 2 ]] ||
		fatal "usage: linux-guest.sh DOM0_DIR OUTDIR"
	[[ -f "$dom0_dir/vmlinuz" && -f "$dom0_dir/dom0.img" ]] ||
		fatal "$dom0_dir has no vmlinuz and dom0.img; give what dom0-image.sh printed"
	install_host_tools
	mkdir -p "$out_dir"
	work_dir="$(mktemp -d "$out_dir/.linux-guest.XXXXXX")"
	trap cleanup EXIT

	mkdir -p "$work_dir/initrd/"{bin,dev,lib,proc,sys} "$work_dir/tree/boot/grub"
	dump_busybox "$dom0_dir/dom0.img" "$work_dir/initrd"
	dump_netfront "$dom0_dir/dom0.img" "$work_dir/initrd/lib/xen-netfront.ko"
	write_init "$work_dir/initrd"
	make_initrd "$work_dir/initrd" "$work_dir/tree/boot/initrd.img"

	extract_vmlinux "$dom0_dir/vmlinuz" "$work_dir/tree/boot/program.bin"
	write_menu "$work_dir/tree/boot/grub/menu.lst"
	cp "$work_dir/tree/boot/grub/menu.lst" "$work_dir/tree/boot/grub/grub.conf"
	printf '(hd0) /dev/sda1\n' >"$work_dir/tree/boot/grub/device.map"

	debug_dir="$out_dir/bootable-image-directory.$RANDOM$RANDOM"
	image="$out_dir/boot-creator-result.img.$RANDOM$RANDOM"
	mkdir -p "$work_dir/debug"
	cp "$work_dir/tree/boot/program.bin" "$work_dir/debug/program.bin"
	make_image "$work_dir/tree" "$work_dir/image"
	mv "$work_dir/debug" "$debug_dir"
	mv "$work_dir/image" "$image"
	printf 'image=%s\ndebug_dir=%s\n' "$image" "$debug_dir"
}

main "$@"
