#!/usr/bin/env bash
#
# libvirtd.sh: run libvirtd (and virtlogd) for the Vagrant test, inside a network namespace
# with no way out of this machine.
#
# vagrant-libvirt gives each box a NAT network (its management network) and libvirt defines a
# NAT "default" network: on the host they would route the VM to the outside. Here libvirtd runs
# in a network namespace of its own that has only `lo` up and no link to the host, so its
# bridges, dnsmasq and NAT rules live there, and so do Vagrant's SSH to the VM and its port
# forwards on 127.0.0.1: run vagrant, virsh and xenbox through `exec`. libvirtd's unix socket is
# a file, so a plain `virsh` from the host reaches the daemon too. PID 1 need not be systemd.
#
# Usage: libvirtd.sh start STATE_DIR          create the namespace, start virtlogd and
#                                             libvirtd in it, wait until libvirtd answers
#        libvirtd.sh stop STATE_DIR           remove the domains, networks and volumes named
#                                             with the prefix, stop the daemons by their PIDs,
#                                             delete the namespace
#        libvirtd.sh exec STATE_DIR CMD...    run CMD inside the namespace
#
# Environment:
#   XENBOX_LIBVIRT_PREFIX   name prefix of what the test creates in libvirt (domains, networks,
#                           volumes); recorded at start, removed at stop (default xenbox-test-)
#   XENBOX_LIBVIRT_NETNS    network namespace name (default xenbox-libvirt)
#   XENBOX_LIBVIRT_TIMEOUT  seconds to wait for libvirtd (default 60)
#
# Changes: creates the network namespace; starts virtlogd and libvirtd (their PID files, logs
# and the prefix are under STATE_DIR); libvirtd writes its usual state under /run/libvirt,
# /var/lib/libvirt and /etc/libvirt. Refuses to start when a libvirtd it did not start is
# running. Both commands are idempotent.
set -euo pipefail
shopt -s inherit_errexit

NETNS="${XENBOX_LIBVIRT_NETNS:-xenbox-libvirt}"
LIBVIRT_SOCKET=/run/libvirt/libvirt-sock
VIRSH=(virsh -q -c qemu:///system)

log() {
	printf '==> libvirtd: %s\n' "$*" >&2
}

fatal() {
	printf '==> libvirtd: error: %s\n' "$*" >&2
	exit 1
}

# running PIDFILE: whether the process whose PID is in PIDFILE is alive.
running() {
	local pid
	[[ -f "$1" ]] || return 1
	pid="$(cat "$1")"
	[[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# netns_exists: whether the namespace is there (`ip netns list` may add " (id: N)").
netns_exists() {
	ip netns list | awk -v name="$NETNS" '$1 == name { found = 1 } END { exit !found }'
}

# create_netns: the namespace with only the loopback up and nothing linking it to the host.
create_netns() {
	if ! netns_exists; then
		log "creating network namespace $NETNS (loopback only)"
		ip netns add "$NETNS"
	fi
	ip netns exec "$NETNS" ip link set lo up
}

# refuse_foreign_libvirtd STATE: another libvirtd would share our socket and our prefix's names.
refuse_foreign_libvirtd() {
	local state="$1"
	if running "$state/libvirtd.pid"; then
		return 0
	fi
	if [[ -S "$LIBVIRT_SOCKET" ]] && timeout 5 "${VIRSH[@]}" version >/dev/null 2>&1; then
		fatal "a libvirtd this harness did not start answers on $LIBVIRT_SOCKET; stop it" \
			"(or run the test where none runs): its networks would not be confined"
	fi
	if [[ -f /run/libvirtd.pid ]] && running /run/libvirtd.pid; then
		fatal "libvirtd (PID $(cat /run/libvirtd.pid)) is running and was not started here; stop it"
	fi
}

# start_virtlogd STATE: libvirtd's qemu driver hands guest consoles to virtlogd.
start_virtlogd() {
	local state="$1"
	if running "$state/virtlogd.pid"; then
		return 0
	fi
	log "starting virtlogd in $NETNS"
	ip netns exec "$NETNS" virtlogd --daemon --pid-file "$state/virtlogd.pid"
	wait_for_file "$state/virtlogd.pid"
}

# start_libvirtd STATE
start_libvirtd() {
	local state="$1"
	if running "$state/libvirtd.pid"; then
		return 0
	fi
	log "starting libvirtd in $NETNS"
	ip netns exec "$NETNS" env LIBVIRT_LOG_OUTPUTS="3:file:$state/libvirtd.log" \
		libvirtd --daemon --pid-file "$state/libvirtd.pid"
	wait_for_file "$state/libvirtd.pid"
}

# wait_for_file PATH: daemons write their PID file shortly after forking.
wait_for_file() {
	local tries=0
	until [[ -s "$1" ]]; do
		((tries += 1))
		((tries < 100)) || fatal "no $1 after 10 s"
		sleep 0.1
	done
}

# wait_for_libvirtd STATE
wait_for_libvirtd() {
	local state="$1" deadline
	deadline=$((SECONDS + ${XENBOX_LIBVIRT_TIMEOUT:-60}))
	until "${VIRSH[@]}" version >/dev/null 2>&1; do
		running "$state/libvirtd.pid" || fatal "libvirtd exited; see $state/libvirtd.log"
		((SECONDS < deadline)) || fatal "libvirtd did not answer; see $state/libvirtd.log"
		sleep 0.5
	done
	log "libvirtd answers on $LIBVIRT_SOCKET"
}

# remove_domains PREFIX
remove_domains() {
	local domain
	for domain in $("${VIRSH[@]}" list --all --name | grep "^$1" || true); do
		log "removing domain $domain"
		"${VIRSH[@]}" destroy "$domain" >/dev/null 2>&1 || true
		"${VIRSH[@]}" undefine "$domain" --managed-save --snapshots-metadata --nvram \
			>/dev/null 2>&1 || "${VIRSH[@]}" undefine "$domain" >/dev/null
	done
}

# remove_networks PREFIX
remove_networks() {
	local network
	for network in $("${VIRSH[@]}" net-list --all --name | grep "^$1" || true); do
		log "removing network $network"
		"${VIRSH[@]}" net-destroy "$network" >/dev/null 2>&1 || true
		"${VIRSH[@]}" net-undefine "$network" >/dev/null
	done
}

# remove_volumes PREFIX: in every pool (vagrant-libvirt uses "default").
remove_volumes() {
	local pool volume
	for pool in $("${VIRSH[@]}" pool-list --name); do
		for volume in $("${VIRSH[@]}" vol-list "$pool" | awk '{ print $1 }' | grep "^$1" || true); do
			log "removing volume $volume of pool $pool"
			"${VIRSH[@]}" vol-delete "$volume" --pool "$pool" >/dev/null
		done
	done
}

# stop_networks: dnsmasq processes of any network still active outlive libvirtd otherwise.
stop_networks() {
	local network
	for network in $("${VIRSH[@]}" net-list --name); do
		log "stopping network $network"
		"${VIRSH[@]}" net-destroy "$network" >/dev/null
	done
}

# stop_daemon STATE NAME: by the PID this harness recorded, waiting for it to end.
stop_daemon() {
	local pidfile="$1/$2.pid" pid tries=0
	if ! running "$pidfile"; then
		rm -f "$pidfile"
		return 0
	fi
	pid="$(cat "$pidfile")"
	log "stopping $2 (PID $pid)"
	kill "$pid"
	while kill -0 "$pid" 2>/dev/null; do
		((tries += 1))
		if ((tries == 100)); then
			kill -KILL "$pid" 2>/dev/null || true
		fi
		sleep 0.1
	done
	rm -f "$pidfile"
}

# delete_netns
delete_netns() {
	if netns_exists; then
		log "deleting network namespace $NETNS"
		ip netns delete "$NETNS"
	fi
}

start() {
	local state="$1"
	mkdir -p "$state"
	state="$(cd "$state" && pwd)"
	refuse_foreign_libvirtd "$state"
	printf '%s\n' "${XENBOX_LIBVIRT_PREFIX:-xenbox-test-}" >"$state/prefix"
	create_netns
	start_virtlogd "$state"
	start_libvirtd "$state"
	wait_for_libvirtd "$state"
}

stop() {
	local state="$1" prefix
	[[ -d "$state" ]] || return 0
	if running "$state/libvirtd.pid"; then
		prefix="$(cat "$state/prefix")"
		[[ -n "$prefix" ]] || fatal "empty prefix in $state/prefix: not removing everything"
		remove_domains "$prefix"
		remove_networks "$prefix"
		remove_volumes "$prefix"
		stop_networks
	fi
	stop_daemon "$state" libvirtd
	stop_daemon "$state" virtlogd
	delete_netns
}

in_netns() {
	local state="$1"
	shift
	running "$state/libvirtd.pid" || fatal "libvirtd is not running; run: $0 start $state"
	exec ip netns exec "$NETNS" "$@"
}

main() {
	[[ $# -ge 2 ]] || fatal "usage: $0 start|stop|exec STATE_DIR [CMD...]"
	local command="$1"
	shift
	case "$command" in
	start) start "$1" ;;
	stop) stop "$1" ;;
	exec) in_netns "$@" ;;
	*) fatal "unknown command $command; use start, stop or exec" ;;
	esac
}

main "$@"
