#!/usr/bin/env bash
#
# network.sh: give the box's guests a network: the xenbr0 bridge, DHCP on it, and NAT out.
#
# xenbox's xl configs put each guest's vif on xenbr0. By default xenbr0 is a bridge of its
# own with its own subnet, so dom0's management interface (the one Vagrant or SSH uses) is left
# alone: systemd-networkd creates it at every boot and gives it the first address of the
# subnet, dnsmasq answers DHCP on xenbr0 only (no DNS), and an iptables MASQUERADE rule lets
# guests out through whatever interface dom0 routes through. The metadata service
# (metadata.sh) listens on the bridge's address, port 80; bridged frames reaching iptables
# (br_netfilter and its sysctl) are metadata.sh's job too.
#
# XENBOX_BRIDGE_MODE=uplink instead bridges the uplink itself, as hand-made Xen set-ups do:
# xenbr0 takes the uplink's place and its DHCP lease, guests get addresses from the uplink's
# network. The SSH connection over the uplink drops while this is applied to a running box.
#
# Usage: network.sh
#
# Environment:
#   XENBOX_BRIDGE_MODE        standalone (default) or uplink
#   XENBOX_BRIDGE_SUBNET      standalone: the bridge's address and prefix (default 10.99.0.1/24)
#   XENBOX_BRIDGE_DHCP_RANGE  standalone: first,last address dnsmasq leases (default .100 to
#                             .199 of a /24 subnet; required for other prefixes)
#   XENBOX_BRIDGE_UPLINK      uplink: the interface bridged (default eth0)
#   XENBOX_DESTDIR, XENBOX_VERBOSE: see common.sh
#
# Changes: installs dnsmasq-base and iptables; writes /etc/systemd/network/20-xenbox-xenbr0.*
# (and 05-xenbox-uplink.network in uplink mode), /etc/sysctl.d/90-xenbox-network.conf,
# /etc/systemd/system/xenbox-dhcp.service and xenbox-nat.service (enabled); removes the files
# of the other mode. On a running systemd machine it applies them now.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"

BRIDGE=xenbr0
MODE="${XENBOX_BRIDGE_MODE:-standalone}"
SUBNET="${XENBOX_BRIDGE_SUBNET:-10.99.0.1/24}"
UPLINK="${XENBOX_BRIDGE_UPLINK:-eth0}"
NETWORK_DIR=/etc/systemd/network
NETDEV_FILE="$NETWORK_DIR/20-xenbox-$BRIDGE.netdev"
BRIDGE_NETWORK_FILE="$NETWORK_DIR/20-xenbox-$BRIDGE.network"
UPLINK_NETWORK_FILE="$NETWORK_DIR/05-xenbox-uplink.network"
SYSCTL_CONF=/etc/sysctl.d/90-xenbox-network.conf
DHCP_SERVICE=xenbox-dhcp.service
NAT_SERVICE=xenbox-nat.service
changed=false

# install_packages: dnsmasq for DHCP (its own unit below, not Debian's dnsmasq service) and
# iptables for NAT.
install_packages() {
	if [[ "$MODE" == standalone ]]; then
		apt_install dnsmasq-base iptables
	fi
}

# check_settings: refuse values that would write a broken config.
check_settings() {
	case "$MODE" in
	standalone | uplink) ;;
	*) fatal "XENBOX_BRIDGE_MODE=$MODE: use standalone or uplink" ;;
	esac
	[[ "$SUBNET" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$ ]] ||
		fatal "XENBOX_BRIDGE_SUBNET=$SUBNET: give the bridge's address and prefix, e.g. 10.99.0.1/24"
	[[ "$UPLINK" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$ ]] ||
		fatal "XENBOX_BRIDGE_UPLINK=$UPLINK is not an interface name"
}

# dhcp_range: the addresses dnsmasq leases, first,last.
dhcp_range() {
	local prefix="${SUBNET%.*}"
	if [[ -n "${XENBOX_BRIDGE_DHCP_RANGE:-}" ]]; then
		printf '%s\n' "$XENBOX_BRIDGE_DHCP_RANGE"
	elif [[ "$SUBNET" == */24 ]]; then
		printf '%s.100,%s.199\n' "$prefix" "$prefix"
	else
		fatal "XENBOX_BRIDGE_SUBNET=$SUBNET is not a /24: set XENBOX_BRIDGE_DHCP_RANGE=FIRST,LAST"
	fi
}

# install_text PATH MODE: install standard input at PATH, only when it differs.
install_text() {
	local text before
	text="$(mktemp)"
	cat >"$text"
	before="$(cksum 2>/dev/null <"$(dest "$1")" || true)"
	install_file "$text" "$1" "$2"
	rm -f "$text"
	if [[ "$before" != "$(cksum <"$(dest "$1")")" ]]; then
		changed=true
	fi
}

# remove_file PATH: remove a file a previous run in the other mode wrote.
remove_file() {
	if [[ -e "$(dest "$1")" ]]; then
		rm -f "$(dest "$1")"
		log "removed $1"
		changed=true
	fi
}

# write_bridge: xenbr0 as a networkd netdev, up at every boot even with no guest on it.
write_bridge() {
	install_text "$NETDEV_FILE" 0644 <<NETDEV
# xenbox: the bridge the Xen guests' vifs join.
[NetDev]
Name=$BRIDGE
Kind=bridge
NETDEV
}

# write_standalone_network: the bridge's own subnet; it keeps its address without carrier so
# that the metadata service and dnsmasq can bind it before the first guest starts.
write_standalone_network() {
	install_text "$BRIDGE_NETWORK_FILE" 0644 <<NETWORK
# xenbox: xenbr0 with its own subnet; guests get DHCP from xenbox-dhcp.service and NAT from
# xenbox-nat.service.
[Match]
Name=$BRIDGE

[Link]
RequiredForOnline=no

[Network]
Address=$SUBNET
ConfigureWithoutCarrier=yes
IgnoreCarrierLoss=yes
LinkLocalAddressing=no
IPv6AcceptRA=no
NETWORK
	remove_file "$UPLINK_NETWORK_FILE"
}

# write_uplink_network: the uplink becomes a port of xenbr0, which takes its DHCP lease. The
# file sorts before any other .network matching the uplink, so networkd uses it.
write_uplink_network() {
	install_text "$UPLINK_NETWORK_FILE" 0644 <<NETWORK
# xenbox: the uplink is a port of xenbr0.
[Match]
Name=$UPLINK

[Network]
Bridge=$BRIDGE
NETWORK
	install_text "$BRIDGE_NETWORK_FILE" 0644 <<NETWORK
# xenbox: xenbr0 bridges the uplink and takes its address by DHCP.
[Match]
Name=$BRIDGE

[Network]
DHCP=ipv4
NETWORK
}

# write_forwarding: NAT needs dom0 to forward the guests' packets, at every boot.
write_forwarding() {
	printf 'net.ipv4.ip_forward = 1\n' | install_text "$SYSCTL_CONF" 0644
}

# write_dhcp_service: dnsmasq answering DHCP on xenbr0 only; port=0 turns its DNS off and
# bind-dynamic lets it start before the bridge has its address.
write_dhcp_service() {
	local range address="${SUBNET%/*}"
	range="$(dhcp_range)"
	install_text "/etc/systemd/system/$DHCP_SERVICE" 0644 <<UNIT
[Unit]
Description=xenbox DHCP for the Xen guests on $BRIDGE
After=systemd-networkd.service
Wants=systemd-networkd.service

[Service]
ExecStart=/usr/sbin/dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 \\
	--interface=$BRIDGE --bind-dynamic --except-interface=lo \\
	--dhcp-range=$range,12h --dhcp-option=option:router,$address \\
	--dhcp-leasefile=/var/lib/xenbox/dhcp.leases --log-dhcp
Restart=always
RestartSec=3

[Install]
WantedBy=multi-user.target
UNIT
}

# write_nat_service: masquerade what guests send out of any interface but the bridge.
write_nat_service() {
	local rule="POSTROUTING -s $SUBNET ! -o $BRIDGE -m comment --comment xenbox-nat -j MASQUERADE"
	install_text "/etc/systemd/system/$NAT_SERVICE" 0644 <<UNIT
[Unit]
Description=xenbox NAT for the Xen guests on $BRIDGE
After=network-pre.target
Before=network.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'iptables -w -t nat -C $rule 2>/dev/null || iptables -w -t nat -A $rule'
ExecStop=/bin/sh -c 'while iptables -w -t nat -D $rule 2>/dev/null; do :; done'

[Install]
WantedBy=multi-user.target
UNIT
}

# remove_standalone_services: uplink mode has neither DHCP nor NAT of its own.
remove_standalone_services() {
	local service
	for service in "$DHCP_SERVICE" "$NAT_SERVICE"; do
		if [[ "$XENBOX_DESTDIR" == / && -d /run/systemd/system ]]; then
			systemctl disable --now "$service" >/dev/null 2>&1 || true
		fi
		remove_file "/etc/systemd/system/multi-user.target.wants/$service"
		remove_file "/etc/systemd/system/$service"
	done
	remove_file "$SYSCTL_CONF"
}

# enable SERVICE: started at every boot, like systemctl enable does.
enable() {
	local wants
	wants="$(dest /etc/systemd/system/multi-user.target.wants)"
	if [[ ! -L "$wants/$1" ]]; then
		mkdir -p "$wants"
		ln -sfn "/etc/systemd/system/$1" "$wants/$1"
		log "enabled $1"
		changed=true
	fi
}

# enable_networkd: the bridge only exists when systemd-networkd runs.
enable_networkd() {
	local wants
	wants="$(dest /etc/systemd/system/multi-user.target.wants)"
	if [[ ! -e "$wants/systemd-networkd.service" ]]; then
		mkdir -p "$wants"
		ln -sfn /lib/systemd/system/systemd-networkd.service "$wants/systemd-networkd.service"
		log "enabled systemd-networkd.service"
		changed=true
	fi
}

# apply_now: on a running systemd machine, make the written config live; nothing when this
# run changed nothing.
apply_now() {
	if [[ "$XENBOX_DESTDIR" != / || ! -d /run/systemd/system || "$changed" != true ]]; then
		return 0
	fi
	log "applying the network configuration"
	systemctl daemon-reload
	systemctl restart systemd-networkd
	if [[ "$MODE" == standalone ]]; then
		sysctl -q -p "$SYSCTL_CONF"
		systemctl restart "$NAT_SERVICE" "$DHCP_SERVICE"
	fi
}

main() {
	require_root
	check_settings
	install_packages
	mkdir -p "$(dest /var/lib/xenbox)"
	enable_networkd
	write_bridge
	if [[ "$MODE" == standalone ]]; then
		write_standalone_network
		write_forwarding
		write_dhcp_service
		write_nat_service
		enable "$DHCP_SERVICE"
		enable "$NAT_SERVICE"
	else
		write_uplink_network
		remove_standalone_services
	fi
	apply_now
}

main "$@"
