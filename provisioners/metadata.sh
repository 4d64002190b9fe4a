#!/usr/bin/env bash
#
# metadata.sh: give the box's guests EC2's instance metadata service at 169.254.169.254.
#
# A unik guest blocks at boot until it reads http://169.254.169.254/latest/user-data. This
# installs the vif hook that redirects each guest's requests for that address to
# `xenbox metadata serve` in dom0, makes bridged frames go through iptables (br_netfilter and
# net.bridge.bridge-nf-call-iptables=1, now and at every boot), and installs a systemd unit
# running the service on the bridge's address.
#
# Usage: metadata.sh
#
# Environment:
#   XENBOX_METADATA_BRIDGE     bridge the guests sit on, written to the config on first run
#                              (default xenbr0)
#   XENBOX_METADATA_USER_DATA  user-data served to guests whose record has none, as text (at
#                              most 16384 bytes); unset or empty serves `{}`. Applied on every
#                              run: a run without it takes back what an earlier run set.
#   XENBOX_DESTDIR, XENBOX_VERBOSE: see common.sh
#
# Changes: installs iptables; writes /etc/xen/scripts/vif-post.d/xenbox-metadata.hook,
# /usr/local/lib/xenbox/vif-metadata, /etc/default/xenbox-metadata (only when missing),
# /etc/modules-load.d/xenbox-metadata.conf, /etc/sysctl.d/90-xenbox-metadata.conf,
# /etc/systemd/system/xenbox-metadata.service (enabled) and /var/lib/xenbox/metadata; with
# XENBOX_METADATA_USER_DATA writes /etc/xenbox/default-user-data and the unit's drop-in
# xenbox-metadata.service.d/default-user-data.conf, without it removes both; loads
# br_netfilter and sets the sysctl, and restarts the service, when installing into this machine.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"

HERE="$(cd "$(dirname "$0")" && pwd)"
SERVICE=xenbox-metadata.service
SYSCTL_CONF=/etc/sysctl.d/90-xenbox-metadata.conf
MODULES_CONF=/etc/modules-load.d/xenbox-metadata.conf
DEFAULT_USER_DATA=/etc/xenbox/default-user-data
DEFAULT_USER_DATA_DROP_IN="/etc/systemd/system/$SERVICE.d/default-user-data.conf"
# EC2's limit on user-data, which the service enforces too.
MAX_USER_DATA_BYTES=16384

# check_user_data: refuse user-data the service would refuse, before changing anything.
check_user_data() {
	local bytes
	bytes="$(printf '%s' "${XENBOX_METADATA_USER_DATA:-}" | wc -c)"
	if ((bytes > MAX_USER_DATA_BYTES)); then
		fatal "XENBOX_METADATA_USER_DATA is $bytes bytes, over EC2's user-data limit of" \
			"$MAX_USER_DATA_BYTES; shorten it"
	fi
}

# install_packages: iptables with its physdev and comment matches.
install_packages() {
	apt_install iptables kmod procps
}

# install_text PATH MODE: install standard input at PATH, only when it differs.
install_text() {
	local text
	text="$(mktemp)"
	cat >"$text"
	install_file "$text" "$1" "$2"
	rm -f "$text"
}

# remove_file PATH: remove PATH inside the installation root, when it is there.
remove_file() {
	if [[ -e "$(dest "$1")" ]]; then
		rm -f "$(dest "$1")"
		log "removed $1"
	fi
}

# install_hook: the hook vif-bridge sources, and the script it runs.
install_hook() {
	install_file "$HERE/vif-metadata" "$XENBOX_LIB_DIR/vif-metadata" 0755
	install_file "$HERE/vif-metadata.hook" /etc/xen/scripts/vif-post.d/xenbox-metadata.hook 0755
}

# install_config: the settings shared by the hook and the service; a file the user edited
# is kept.
install_config() {
	if [[ -f "$(dest /etc/default/xenbox-metadata)" ]]; then
		return 0
	fi
	install_text /etc/default/xenbox-metadata 0644 <<CONFIG
# xenbox's EC2 metadata service: read by the vif hook and by xenbox-metadata.service.
# Bridge the guests sit on.
XENBOX_METADATA_BRIDGE=${XENBOX_METADATA_BRIDGE:-xenbr0}
# Address the service listens on and guests are redirected to; empty means the bridge's.
XENBOX_METADATA_ADDRESS=
# Port the service listens on.
XENBOX_METADATA_PORT=80
CONFIG
}

# enable_bridge_netfilter: frames crossing the bridge reach iptables only with br_netfilter
# loaded and the sysctl at 1; without it the hook's rules never match.
enable_bridge_netfilter() {
	printf 'br_netfilter\n' | install_text "$MODULES_CONF" 0644
	printf 'net.bridge.bridge-nf-call-iptables = 1\n' | install_text "$SYSCTL_CONF" 0644
	if [[ "$XENBOX_DESTDIR" != / ]]; then
		return 0
	fi
	if [[ ! -d /proc/sys/net/bridge ]]; then
		modprobe br_netfilter || fatal "cannot load br_netfilter; guests will not reach " \
			"the metadata service (is the kernel built with CONFIG_BRIDGE_NETFILTER?)"
	fi
	if [[ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables)" != 1 ]]; then
		sysctl -q -w net.bridge.bridge-nf-call-iptables=1
		log "bridged frames now go through iptables"
	fi
}

# install_service: the unit running `xenbox metadata serve`; it restarts until the bridge is
# up with an address.
install_service() {
	mkdir -p "$(dest /var/lib/xenbox/metadata)"
	install_text "/etc/systemd/system/$SERVICE" 0644 <<UNIT
[Unit]
Description=xenbox EC2 instance metadata service for the Xen guests
After=network-online.target xen.service
Wants=network-online.target

[Service]
EnvironmentFile=-/etc/default/xenbox-metadata
ExecStart=/usr/local/bin/xenbox metadata serve --records /var/lib/xenbox/metadata
Restart=always
RestartSec=3

[Install]
WantedBy=multi-user.target
UNIT
	install_default_user_data
	enable_service
}

# install_default_user_data: the user-data asked for, and a drop-in pointing the service at it;
# without any, neither, so the service serves `{}`. The drop-in is separate from
# /etc/default/xenbox-metadata, which is the user's once written.
install_default_user_data() {
	if [[ -z "${XENBOX_METADATA_USER_DATA:-}" ]]; then
		remove_file "$DEFAULT_USER_DATA_DROP_IN"
		remove_file "$DEFAULT_USER_DATA"
		return 0
	fi
	printf '%s' "$XENBOX_METADATA_USER_DATA" | install_text "$DEFAULT_USER_DATA" 0644
	install_text "$DEFAULT_USER_DATA_DROP_IN" 0644 <<DROP_IN
# Written by xenbox's metadata.sh from XENBOX_METADATA_USER_DATA; removed by a run without it.
[Service]
Environment=XENBOX_METADATA_DEFAULT_USER_DATA=$DEFAULT_USER_DATA
DROP_IN
}

# enable_service: enabled at boot; started now when systemd runs this machine.
enable_service() {
	local wants
	wants="$(dest /etc/systemd/system/multi-user.target.wants)"
	if [[ ! -L "$wants/$SERVICE" ]]; then
		mkdir -p "$wants"
		ln -sfn "/etc/systemd/system/$SERVICE" "$wants/$SERVICE"
		log "enabled $SERVICE"
	fi
	if [[ "$XENBOX_DESTDIR" == / && -d /run/systemd/system ]]; then
		systemctl daemon-reload
		if [[ -x /usr/local/bin/xenbox ]]; then
			systemctl restart "$SERVICE"
		else
			log "install /usr/local/bin/xenbox, then: systemctl start $SERVICE"
		fi
	fi
}

main() {
	require_root
	check_user_data
	install_packages
	install_hook
	install_config
	enable_bridge_netfilter
	install_service
}

main "$@"
