#!/usr/bin/env bash
#
# pvgrub.sh: build PV-GRUB images that boot a disk's /boot/grub/menu.lst the way AWS's do.
#
# AWS's PV-GRUB "hd0" kernels read (hd0)/boot/grub/menu.lst (a filesystem on the whole disk) and
# the "hd00" kernels read (hd0,0)/boot/grub/menu.lst (the first partition). Debian's PV-GRUB 2
# only looks for grub.cfg, so this step builds one GRUB 2 Xen image per layout with
# `grub-mkimage -O x86_64-xen` and an embedded configuration that reads the legacy menu. When no
# menu is found the image says so on the console and powers the domain off, instead of leaving
# a grub> prompt spinning a vCPU.
#
# GRUB 2 is built from the GRUB 2.06 source Debian ships (its upstream tarball), for the Xen
# platform only, with one change: the Xen loader passes the kernel command line as written
# instead of re-quoting it (stock GRUB 2 turns the quotes of a rumprun JSON command line into
# \"), so the kernel gets the menu.lst text byte for byte, as from AWS's PV-GRUB.
#
# Usage: pvgrub.sh [build|install|all]    (default: all)
#   build    build the variants asked for into XENBOX_BUILD_DIR/pvgrub and print that directory
#   install  install the variants asked for, built or from XENBOX_PVGRUB_DIR when set, and
#            remove the installed variants not asked for
#
# Environment:
#   XENBOX_PVGRUB_VARIANTS  the layouts to build and install, space separated: hd0, hd00 or
#                           both (default "hd0 hd00"; empty means the default). `xenbox doctor`
#                           expects both, and an image of a layout left out cannot boot
#                           through PV-GRUB.
#   XENBOX_PVGRUB_DIR       a directory with prebuilt pv-grub-VARIANT-x86_64.bin of each variant
#                           asked for, to install instead of building
#   XENBOX_DESTDIR, XENBOX_BUILD_DIR, XENBOX_VERBOSE: see common.sh
#
# Changes: writes /usr/local/lib/xenbox/pv-grub-VARIANT-x86_64.bin of each variant asked for
# and removes that of each variant not asked for.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"

GRUB_MODULES=(legacycfg normal configfile ext2 part_msdos linux gzio xzio echo test halt sleep)
KNOWN_VARIANTS=(hd0 hd00)
VARIANTS=()
PATCH="$(cd "$(dirname "$0")" && pwd)/patches/grub-xen-verbatim-cmdline.patch"

# choose_variants: VARIANTS from XENBOX_PVGRUB_VARIANTS, each once, in KNOWN_VARIANTS' order.
choose_variants() {
	local asked=() variant known
	read -r -a asked <<<"${XENBOX_PVGRUB_VARIANTS:-${KNOWN_VARIANTS[*]}}"
	for variant in "${asked[@]}"; do
		if ! is_known_variant "$variant"; then
			fatal "XENBOX_PVGRUB_VARIANTS has '$variant'; the variants are" \
				"${KNOWN_VARIANTS[*]} (space separated)"
		fi
	done
	for known in "${KNOWN_VARIANTS[@]}"; do
		for variant in "${asked[@]}"; do
			if [[ "$variant" == "$known" ]]; then
				VARIANTS+=("$known")
				break
			fi
		done
	done
}

# is_known_variant NAME: whether NAME is a PV-GRUB variant this script builds.
is_known_variant() {
	local known
	for known in "${KNOWN_VARIANTS[@]}"; do
		[[ "$1" == "$known" ]] && return 0
	done
	return 1
}

# build_grub: GRUB 2 for the Xen platform, patched; prints the source tree's path.
build_grub() {
	local work="$XENBOX_BUILD_DIR/grub2" tree stamp
	apt_install build-essential bison flex python3 gawk dpkg-dev xz-utils patch
	tree="$work/grub-2.06"
	stamp="$(sha256sum "$PATCH" | cut -c1-16)"
	if [[ -f "$tree/built.$stamp" && -x "$tree/grub-mkimage" ]]; then
		printf '%s\n' "$tree"
		return 0
	fi
	enable_deb_src
	mkdir -p "$work"
	if ! compgen -G "$work/grub2_*.orig.tar.xz" >/dev/null; then
		log "fetching Debian's GRUB 2 source"
		(cd "$work" && apt-get source -q --download-only grub2 >&2)
	fi
	rm -rf "$tree"
	tar -C "$work" -xf "$(compgen -G "$work/grub2_*.orig.tar.xz" | head -n 1)"
	[[ -d "$tree" ]] || fatal "the GRUB source tarball did not unpack to $tree"
	patch -s -d "$tree" -p1 <"$PATCH"
	log "building GRUB 2 for Xen (a few minutes)"
	(
		cd "$tree"
		./configure -q --with-platform=xen --target=x86_64 --disable-werror --disable-nls \
			--disable-device-mapper --disable-grub-mkfont --disable-grub-themes \
			--disable-libzfs --disable-grub-mount --disable-efiemu >&2
		make -s -j"$(nproc)" -C grub-core >&2
		make -s -j"$(nproc)" -C grub-core/lib/gnulib >&2
		make -s -j"$(nproc)" grub-mkimage >&2
	)
	touch "$tree/built.$stamp"
	printf '%s\n' "$tree"
}

# embedded_config VARIANT: the configuration baked into the image for one layout.
embedded_config() {
	local root
	case "$1" in
	hd0) root='(hd0)' ;;
	hd00) root='(hd0,msdos1)' ;;
	esac
	# The embedded configuration runs before the normal module's script parser exists, so it
	# is a plain list of commands: boot the menu, and if that returns, say why and power off.
	cat <<CONFIG
legacy_configfile ${root}/boot/grub/menu.lst
echo "xenbox PV-GRUB ($1): cannot boot ${root}/boot/grub/menu.lst; powering off"
halt
CONFIG
}

# build_pvgrub: one image per variant, rebuilt only when its configuration changes.
build_pvgrub() {
	local out="$XENBOX_BUILD_DIR/pvgrub" variant grub image
	grub="$(build_grub)"
	mkdir -p "$out"
	for variant in "${VARIANTS[@]}"; do
		image="$out/pv-grub-$variant-x86_64.bin"
		embedded_config "$variant" >"$out/$variant.cfg.new"
		if [[ -f "$image" && "$image" -nt "$grub/grub-mkimage" ]] &&
			cmp -s "$out/$variant.cfg.new" "$out/$variant.cfg"; then
			rm -f "$out/$variant.cfg.new"
			continue
		fi
		log "building PV-GRUB for the $variant layout"
		"$grub/grub-mkimage" -d "$grub/grub-core" -O x86_64-xen -c "$out/$variant.cfg.new" \
			-p /boot/grub -o "$image.tmp" "${GRUB_MODULES[@]}"
		mv -f "$image.tmp" "$image"
		mv -f "$out/$variant.cfg.new" "$out/$variant.cfg"
	done
	printf '%s\n' "$out"
}

# install_pvgrub DIR: install the images of the variants asked for from DIR.
install_pvgrub() {
	local dir="$1" variant
	for variant in "${VARIANTS[@]}"; do
		[[ -f "$dir/pv-grub-$variant-x86_64.bin" ]] ||
			fatal "$dir has no pv-grub-$variant-x86_64.bin; run pvgrub.sh build"
	done
	for variant in "${VARIANTS[@]}"; do
		install_file "$dir/pv-grub-$variant-x86_64.bin" \
			"$XENBOX_LIB_DIR/pv-grub-$variant-x86_64.bin" 0644
	done
}

# remove_unasked_pvgrub: remove the installed images of the variants not asked for, so a run
# with fewer variants leaves only those.
remove_unasked_pvgrub() {
	local known image
	for known in "${KNOWN_VARIANTS[@]}"; do
		if [[ " ${VARIANTS[*]} " == *" $known "* ]]; then
			continue
		fi
		image="$XENBOX_LIB_DIR/pv-grub-$known-x86_64.bin"
		if [[ -e "$(dest "$image")" ]]; then
			rm -f "$(dest "$image")"
			log "removed $image (not in XENBOX_PVGRUB_VARIANTS)"
		fi
	done
}

main() {
	local action="${1:-all}" dir
	choose_variants
	case "$action" in
	build)
		build_pvgrub
		;;
	install | all)
		require_root
		if [[ -n "${XENBOX_PVGRUB_DIR:-}" ]]; then
			dir="$XENBOX_PVGRUB_DIR"
		elif [[ "$action" == all ]]; then
			dir="$(build_pvgrub)"
		else
			fatal "install needs XENBOX_PVGRUB_DIR or run 'all' to build"
		fi
		install_pvgrub "$dir"
		remove_unasked_pvgrub
		;;
	*)
		fatal "unknown action '$action'; use build, install or all"
		;;
	esac
}

main "$@"
