#!/usr/bin/env bash
#
# hypervisor.sh: give dom0 a Xen hypervisor that supports gdbsx, and boot it by default.
#
# Debian's xen-hypervisor-4.17 is a release build without CONFIG_GDBSX (it only exists under
# CONFIG_EXPERT or CONFIG_DEBUG), so gdbsx fails with "Hyp is NOT enabled for gdbsx". This step
# rebuilds only the hypervisor (xen/) from Debian's own Xen source with CONFIG_EXPERT=y and
# CONFIG_GDBSX=y, and installs it next to Debian's as /boot/xen-VERSION-gdbsx.gz.
#
# Usage: hypervisor.sh [build|install|all]    (default: all)
#   build    compile into XENBOX_BUILD_DIR and print the path of the xen.gz built
#   install  install the hypervisor built, or XENBOX_HYPERVISOR when set, and make it the default
#
# Environment:
#   XENBOX_HYPERVISOR  a prebuilt xen.gz to install instead of building (much faster than
#                      compiling inside an emulated VM); its version is read from
#                      XENBOX_HYPERVISOR.version next to it when present
#   XENBOX_DESTDIR, XENBOX_BUILD_DIR, XENBOX_VERBOSE: see common.sh
#
# Changes: installs build tools and Debian's Xen source when building; writes
# /boot/xen-VERSION-gdbsx.gz and /etc/default/grub.d/xenbox.cfg, and runs update-grub when GRUB
# is installed.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"

HYPERVISOR_CONFIG=(CONFIG_EXPERT=y CONFIG_GDBSX=y)

# configure_hypervisor DIR: Xen's default x86 configuration plus gdbsx support.
configure_hypervisor() {
	local dir="$1" option
	if [[ -f "$dir/xen/.config" ]] && grep -qx 'CONFIG_GDBSX=y' "$dir/xen/.config"; then
		return 0
	fi
	log "configuring the hypervisor with ${HYPERVISOR_CONFIG[*]}"
	make -s -C "$dir/xen" XEN_TARGET_ARCH=x86_64 defconfig >&2
	for option in "${HYPERVISOR_CONFIG[@]}"; do
		sed -i "/^# ${option%%=*} is not set/d; /^${option%%=*}=/d" "$dir/xen/.config"
		printf '%s\n' "$option" >>"$dir/xen/.config"
	done
	make -s -C "$dir/xen" XEN_TARGET_ARCH=x86_64 olddefconfig >&2
	grep -qx 'CONFIG_GDBSX=y' "$dir/xen/.config" ||
		fatal "CONFIG_GDBSX did not stick in $dir/xen/.config"
}

# build_hypervisor: compile xen/ and print the path of xen.gz.
build_hypervisor() {
	local dir
	apt_install build-essential flex bison m4 python3 gawk
	dir="$(xen_source_dir)"
	configure_hypervisor "$dir"
	if [[ ! -f "$dir/xen/xen.gz" || "$dir/xen/.config" -nt "$dir/xen/xen.gz" ]]; then
		log "building the hypervisor (about 2 minutes on 2 cores)"
		make -s -C "$dir/xen" XEN_TARGET_ARCH=x86_64 -j"$(nproc)" >&2
	fi
	xen_source_version "$dir" >"$dir/xen/xen.gz.version"
	printf '%s\n' "$dir/xen/xen.gz"
}

# install_hypervisor XEN_GZ: install it under /boot with the version in its name, read from
# XEN_GZ.version (written by the build).
install_hypervisor() {
	local image="$1" version=4.17
	if [[ -f "$image.version" ]]; then
		version="$(cat "$image.version")"
	fi
	install_file "$image" "/boot/xen-${version}-gdbsx.gz" 0644
}

# boot_by_default: make GRUB boot the gdbsx hypervisor first, when dom0 boots with GRUB.
boot_by_default() {
	local config
	config="$(dest /etc/default/grub.d/xenbox.cfg)"
	mkdir -p "$(dirname "$config")"
	cat >"$config.tmp" <<'GRUB'
# Written by xenbox's hypervisor provisioner: boot Xen. The first "with Xen hypervisor" entry
# boots the newest hypervisor, and the gdbsx build's version sorts above Debian's.
XEN_OVERRIDE_GRUB_DEFAULT=1
GRUB_DEFAULT="${GRUB_DISTRIBUTOR:-Debian} GNU/Linux, with Xen hypervisor"
GRUB_TIMEOUT=1
GRUB
	if cmp -s "$config.tmp" "$config"; then
		rm -f "$config.tmp"
	else
		mv -f "$config.tmp" "$config"
	fi
	if [[ "$XENBOX_DESTDIR" == / ]] && command -v update-grub >/dev/null; then
		update-grub >/dev/null 2>&1 || fatal "update-grub failed; run it by hand to see why"
	fi
}

main() {
	local action="${1:-all}" image
	case "$action" in
	build)
		build_hypervisor
		;;
	install | all)
		require_root
		if [[ -n "${XENBOX_HYPERVISOR:-}" ]]; then
			[[ -f "$XENBOX_HYPERVISOR" ]] || fatal "XENBOX_HYPERVISOR=$XENBOX_HYPERVISOR: no such file"
			image="$XENBOX_HYPERVISOR"
		elif [[ "$action" == all ]]; then
			image="$(build_hypervisor)"
		else
			fatal "install needs XENBOX_HYPERVISOR (a xen.gz) or run 'all' to build it"
		fi
		install_hypervisor "$image"
		boot_by_default
		;;
	*)
		fatal "unknown action '$action'; use build, install or all"
		;;
	esac
}

main "$@"
