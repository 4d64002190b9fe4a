#!/usr/bin/env bash
#
# pack-unik.sh: packs the sample unikernel exactly as unik packs a Xen PV kernel for AWS,
# so xenbox can be tested without unik.
#
# Usage: pack-unik.sh [--partitioned] [--cmdline TEXT] [--size MiB] OUTDIR
#
#   --partitioned   put the filesystem in the first MBR partition (type 0x83, at 1 MiB)
#                   and make the menu say "root (hd0,0)", like AWS's "hd00" layout;
#                   without it the filesystem covers the whole disk and the menu says
#                   "root (hd0)"
#   --cmdline TEXT  the kernel command line in menu.lst (default: rumprun-style JSON)
#   --size MiB      size of the disk image (default 16)
#
# Creates in OUTDIR (made if missing), as unik leaves them with --no-cleanup:
#   bootable-image-directory.N/   the debug dir: program.bin, objects and sources
#   boot-creator-result.img.M     the boot image: an ext2 filesystem labelled "boot"
#                                 with /boot/program.bin, /boot/grub/menu.lst,
#                                 /boot/grub/grub.conf (same text) and
#                                 /boot/grub/device.map
# N and M are independent random decimal numbers. Prints "image=PATH" and
# "debug_dir=PATH" on stdout; everything else goes to stderr.
#
# Environment read:
#   BUILD_DIR   where make builds program.bin (default: build/ beside this script)
#   MAKE        the make program (default: make)
#
# What it changes: builds program.bin in BUILD_DIR if it is out of date, and adds one
# new debug dir and one new image to OUTDIR on every run (nothing existing is
# touched). Work happens in OUTDIR/.pack-unik.XXXXXX, renamed into place only when
# complete and removed on exit, so a failed run leaves no half-written artifact.
# Needs mkfs.ext2 (e2fsprogs 1.43 or newer for -d); no root, no loop mounts.

set -euo pipefail

# rumprun's JSON, with its space after the second "blk": kept.
readonly DEFAULT_CMDLINE='{"net":{"if":"xenif0","cloner":"true","type":"inet","method":"dhcp"},'\
'"blk": {"source":"etfs","path":"sda1","fstype":"blk","mountpoint":"/bootpart"}}'
readonly PARTITION_START_SECTOR=2048
readonly SECTOR_BYTES=512

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR

partitioned=false
cmdline="$DEFAULT_CMDLINE"
size_mib=16
out_dir=""
work_dir=""

fail() {
	echo "pack-unik.sh: $*" >&2
	exit 1
}

usage() {
	echo "usage: pack-unik.sh [--partitioned] [--cmdline TEXT] [--size MiB] OUTDIR" >&2
	exit 2
}

parse_args() {
	while (($# > 0)); do
		case "$1" in
		--partitioned) partitioned=true ;;
		--cmdline)
			(($# >= 2)) || usage
			cmdline="$2"
			shift
			;;
		--size)
			(($# >= 2)) || usage
			size_mib="$2"
			shift
			;;
		-h | --help) usage ;;
		-*) usage ;;
		*)
			[[ -z "$out_dir" ]] || usage
			out_dir="$1"
			;;
		esac
		shift
	done

	[[ -n "$out_dir" ]] || usage
	if ! [[ "$size_mib" =~ ^[0-9]+$ ]] || ((size_mib < 2)); then
		fail "--size must be a whole number of MiB, at least 2, not '$size_mib'"
	fi
	[[ "$cmdline" != *$'\n'* ]] || fail "--cmdline must be one line"
}

build_kernel() {
	local build_dir="${BUILD_DIR:-$SCRIPT_DIR/build}"

	"${MAKE:-make}" -C "$SCRIPT_DIR" OUT="$build_dir" >&2
	kernel_build_dir="$(cd "$build_dir" && pwd)"
	[[ -f "$kernel_build_dir/program.bin" ]] || fail "make did not produce program.bin"
}

make_work_dir() {
	mkdir -p "$out_dir"
	out_dir="$(cd "$out_dir" && pwd)"
	work_dir="$(mktemp -d "$out_dir/.pack-unik.XXXXXX")"
	trap 'rm -rf "$work_dir"' EXIT
}

# The menu unik writes for AWS: one hidden entry booting /boot/program.bin.
menu_text() {
	local root="(hd0)"

	if [[ "$partitioned" == true ]]; then
		root="(hd0,0)"
	fi

	printf 'default=0\nfallback=1\ntimeout=1\nhiddenmenu\n\n'
	printf 'title Unik\nroot %s\nkernel /boot/program.bin %s\n' "$root" "$cmdline"
}

stage_debug_dir() {
	local debug="$work_dir/debug"

	mkdir -p "$debug/src"
	cp -p "$kernel_build_dir"/program.bin "$kernel_build_dir"/*.o "$debug/"
	cp -p "$SCRIPT_DIR"/src/* "$debug/src/"
	cp -p "$SCRIPT_DIR/Makefile" "$debug/"
}

stage_boot_tree() {
	local tree="$work_dir/tree"

	mkdir -p "$tree/boot/grub"
	cp "$kernel_build_dir/program.bin" "$tree/boot/program.bin"
	menu_text >"$tree/boot/grub/menu.lst"
	cp "$tree/boot/grub/menu.lst" "$tree/boot/grub/grub.conf"
	printf '(hd0) /dev/sda1\n' >"$tree/boot/grub/device.map"
}

make_whole_disk_image() {
	local image="$work_dir/image"

	truncate -s "${size_mib}M" "$image"
	mkfs.ext2 -q -F -L boot -I 128 -d "$work_dir/tree" "$image" >&2 ||
		fail "make the ext2 filesystem of the boot image with mkfs.ext2 failed"
}

make_partitioned_image() {
	local image="$work_dir/image"
	local offset=$((PARTITION_START_SECTOR * SECTOR_BYTES))
	local total_sectors=$((size_mib * 1024 * 1024 / SECTOR_BYTES))
	local partition_sectors=$((total_sectors - PARTITION_START_SECTOR))

	truncate -s "${size_mib}M" "$image"
	mkfs.ext2 -q -F -L boot -I 128 -d "$work_dir/tree" -E "offset=$offset" \
		"$image" "$((partition_sectors * SECTOR_BYTES / 1024))k" >&2 ||
		fail "make the ext2 filesystem of the boot image's partition with mkfs.ext2 failed"
	write_mbr "$image" "$PARTITION_START_SECTOR" "$partition_sectors"
	[[ "$(stat -c %s "$image")" -eq $((total_sectors * SECTOR_BYTES)) ]] ||
		fail "mkfs.ext2 changed the size of the partitioned image"
}

# Prints a 32-bit little-endian value as printf %b escapes.
le32() {
	local value="$1"

	printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((value & 255)) $((value >> 8 & 255)) \
		$((value >> 16 & 255)) $((value >> 24 & 255))
}

# Prints the 3-byte CHS address of an LBA sector (255 heads, 63 sectors per track) as
# printf %b escapes; sectors past cylinder 1023 get the conventional 0xfe 0xff 0xff.
chs() {
	local lba="$1"
	local cylinder=$((lba / (255 * 63)))
	local head=$((lba / 63 % 255))
	local sector=$((lba % 63 + 1))

	if ((cylinder > 1023)); then
		printf '\\xfe\\xff\\xff'
		return
	fi
	printf '\\x%02x\\x%02x\\x%02x' "$head" $(((cylinder >> 2 & 0xc0) | sector)) \
		$((cylinder & 255))
}

# Writes an MBR with one Linux (0x83) partition and the boot signature.
write_mbr() {
	local image="$1" start="$2" sectors="$3"
	local entry

	entry="\\x00$(chs "$start")\\x83$(chs $((start + sectors - 1)))"
	entry+="$(le32 "$start")$(le32 "$sectors")"
	printf '%b' "$entry" | dd of="$image" bs=1 seek=446 conv=notrunc status=none
	printf '\x55\xaa' | dd of="$image" bs=1 seek=510 conv=notrunc status=none
}

# A random decimal suffix, like those of Go's os.MkdirTemp and os.CreateTemp.
random_suffix() {
	od -An -N4 -tu4 /dev/urandom | tr -d ' \n'
}

unused_name() {
	local prefix="$1" path

	while :; do
		path="$prefix$(random_suffix)"
		[[ -e "$path" ]] || break
	done
	printf '%s' "$path"
}

publish() {
	local image debug_dir

	image="$(unused_name "$out_dir/boot-creator-result.img.")"
	debug_dir="$(unused_name "$out_dir/bootable-image-directory.")"

	mv -T "$work_dir/debug" "$debug_dir"
	mv -T "$work_dir/image" "$image"

	printf 'image=%s\ndebug_dir=%s\n' "$image" "$debug_dir"
}

main() {
	parse_args "$@"
	build_kernel
	make_work_dir
	stage_debug_dir
	stage_boot_tree

	if [[ "$partitioned" == true ]]; then
		make_partitioned_image
	else
		make_whole_disk_image
	fi

	publish
}

main "$@"
