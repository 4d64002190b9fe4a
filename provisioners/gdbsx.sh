#!/usr/bin/env bash
#
# gdbsx.sh: build gdbsx, Xen's gdb server stub for domains, and install it in dom0.
#
# Debian's xen-utils-4.17 does not ship gdbsx, and gdbsx must come from the same Xen version as
# the running hypervisor (the domctl interface version is checked), so it is built from Debian's
# own Xen source, statically, with the patches in patches/gdbsx-*.patch:
#   - hardware breakpoints (gdb's Z1 packet) in the vCPUs' debug registers: software breakpoints
#     written into the guest before PV-GRUB has loaded the kernel are overwritten by the kernel;
#     hardware ones match on the address and survive;
#   - an answer to gdb's detach, so that `detach` leaves the domain running and gdb content.
#
# Usage: gdbsx.sh [build|install|all]    (default: all)
#   build    compile into XENBOX_BUILD_DIR and print the path of the gdbsx binary
#   install  install the gdbsx built, or XENBOX_GDBSX when set
#
# Environment:
#   XENBOX_GDBSX  a prebuilt gdbsx to install instead of building; its Xen version is read from
#                 XENBOX_GDBSX.xen-version next to it
#   XENBOX_DESTDIR, XENBOX_BUILD_DIR, XENBOX_VERBOSE: see common.sh
#
# Changes: writes /usr/local/sbin/gdbsx and /usr/local/lib/xenbox/gdbsx.xen-version.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"

PATCHES=("$(cd "$(dirname "$0")" && pwd)"/patches/gdbsx-*.patch)

# build_gdbsx: compile gdbsx from the Xen source and print the binary's path. The Xen version
# goes next to it in gdbsx.xen-version.
build_gdbsx() {
	local source build patch
	apt_install build-essential libxen-dev patch
	source="$(xen_source_dir)"
	build="$XENBOX_BUILD_DIR/gdbsx"
	if [[ ! -x "$build/gdbsx" ]] || ! patches_applied "$build"; then
		log "building gdbsx from $(basename "$source")"
		rm -rf "$build"
		cp -r "$source/tools/debugger/gdbsx" "$build"
		for patch in "${PATCHES[@]}"; do
			patch -s -d "$build" -p1 <"$patch"
		done
		cat "${PATCHES[@]}" | sha256sum >"$build/patches.sha256"
		gcc -O2 -static -D__XEN_TOOLS__ -I"$source/tools/include" -o "$build/gdbsx" \
			"$build"/gx/gx_comm.c "$build"/gx/gx_main.c "$build"/gx/gx_utils.c \
			"$build"/gx/gx_local.c "$build"/xg/xg_main.c
	fi
	xen_source_version "$source" >"$build/gdbsx.xen-version"
	printf '%s\n' "$build/gdbsx"
}

# patches_applied BUILD: whether BUILD was made with the patches as they are now.
patches_applied() {
	[[ -f "$1/patches.sha256" ]] && cat "${PATCHES[@]}" | sha256sum | cmp -s - "$1/patches.sha256"
}

# install_gdbsx BINARY: install it with the Xen version it was built from.
install_gdbsx() {
	local binary="$1"
	[[ -f "$binary.xen-version" ]] ||
		fatal "$binary.xen-version is missing; it must say which Xen version gdbsx was built from"
	install_file "$binary" /usr/local/sbin/gdbsx 0755
	install_file "$binary.xen-version" "$XENBOX_LIB_DIR/gdbsx.xen-version" 0644
}

main() {
	local action="${1:-all}" binary
	case "$action" in
	build)
		build_gdbsx
		;;
	install | all)
		require_root
		if [[ -n "${XENBOX_GDBSX:-}" ]]; then
			[[ -f "$XENBOX_GDBSX" ]] || fatal "XENBOX_GDBSX=$XENBOX_GDBSX: no such file"
			binary="$XENBOX_GDBSX"
		elif [[ "$action" == all ]]; then
			binary="$(build_gdbsx)"
		else
			fatal "install needs XENBOX_GDBSX (a gdbsx binary) or run 'all' to build it"
		fi
		install_gdbsx "$binary"
		;;
	*)
		fatal "unknown action '$action'; use build, install or all"
		;;
	esac
}

main "$@"
