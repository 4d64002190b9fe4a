#!/usr/bin/env bash
#
# xen.sh: turn a Debian 12 machine into a Xen dom0 that xenbox can drive.
#
# Installs Debian's Xen 4.17 (hypervisor and xl toolstack), gives dom0 a fixed amount of memory,
# keeps every guest's console in a log file (the "system log" EC2 shows), and creates the
# directories xenbox uses. Booting the gdbsx-enabled hypervisor is hypervisor.sh's job.
#
# Usage: xen.sh
#
# Environment:
#   XENBOX_DOM0_MEM    dom0 memory, as Xen's dom0_mem takes it (default 1024M)
#   XENBOX_PACKAGES    extra Debian packages to install, space separated
#   XENBOX_DESTDIR, XENBOX_VERBOSE: see common.sh
#
# Changes: installs xen-system-amd64, xen-utils-4.17, gdb and friends; writes
# /etc/default/grub.d/xenbox-xen.cfg and /etc/default/xen; creates /var/lib/xenbox and
# /var/log/xenbox.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"

XEN_PACKAGES=(xen-hypervisor-4.17-amd64 xen-utils-4.17 gdb libboost-regex1.74.0 iproute2 procps
	kmod)

# install_packages: Xen, the toolstack and what xenbox runs in dom0.
install_packages() {
	local packages=("${XEN_PACKAGES[@]}")
	# shellcheck disable=SC2206 # XENBOX_PACKAGES is a space separated list by design
	packages+=(${XENBOX_PACKAGES:-})
	apt_install "${packages[@]}"
}

# write_if_changed PATH: write standard input to PATH (inside the installation root) only when
# it differs, atomically.
write_if_changed() {
	local path
	path="$(dest "$1")"
	mkdir -p "$(dirname "$path")"
	cat >"$path.tmp.$$"
	if cmp -s "$path.tmp.$$" "$path"; then
		rm -f "$path.tmp.$$"
	else
		mv -f "$path.tmp.$$" "$path"
		log "wrote $1"
	fi
}

# configure_dom0_memory: a fixed dom0 size leaves the rest of the machine to guests.
configure_dom0_memory() {
	local memory="${XENBOX_DOM0_MEM:-1024M}"
	[[ "$memory" =~ ^[0-9]+[MG]$ ]] ||
		fatal "XENBOX_DOM0_MEM=$memory: use a size like 1024M or 2G"
	write_if_changed /etc/default/grub.d/xenbox-xen.cfg <<GRUB
# Written by xenbox's xen provisioner. Xen and dom0 log to the first serial port, which
# Packer, libvirt and VirtualBox keep.
GRUB_CMDLINE_XEN_DEFAULT="dom0_mem=${memory},max:${memory} loglvl=all guest_loglvl=all console=com1,vga com1=115200,8n1"
GRUB_CMDLINE_LINUX_XEN_REPLACE_DEFAULT="console=hvc0 console=tty0"
GRUB
}

# configure_console_logs: xenconsoled keeps each guest's console in
# /var/log/xen/console/guest-NAME.log. Debian's xen init script passes XENCONSOLED_ARGS from
# /etc/default/xen.
configure_console_logs() {
	local config args='XENCONSOLED_ARGS="--log=guest --log-dir=/var/log/xen/console"'
	config="$(dest /etc/default/xen)"
	if [[ -f "$config" ]] && grep -qxF "$args" "$config"; then
		return 0
	fi
	{
		if [[ -f "$config" ]]; then
			grep -v '^XENCONSOLED_ARGS=' "$config"
		fi
		printf '%s\n' "$args"
	} | write_if_changed /etc/default/xen
	log "guest consoles are logged under /var/log/xen/console"
}

# create_directories: where xenbox keeps images, domain configs, sessions and logs.
create_directories() {
	mkdir -p "$(dest /var/lib/xenbox/images)" "$(dest /var/lib/xenbox/domains)" \
		"$(dest /var/lib/xenbox/sessions)" "$(dest /var/log/xenbox)" \
		"$(dest /var/log/xen/console)" "$(dest "$XENBOX_LIB_DIR")"
}

main() {
	require_root
	install_packages
	configure_dom0_memory
	configure_console_logs
	create_directories
}

main "$@"
