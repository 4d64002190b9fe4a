#!/usr/bin/env bash
#
# xen-qemu.sh: boot the xenbox dom0 (built by dom0-image.sh) on Xen under QEMU, and reach it.
#
# Xen is loaded by QEMU's multiboot loader with the dom0 kernel and initrd as modules. The dom0
# disk is a copy-on-write overlay of the cached image, so every run starts clean. QEMU's user
# network is restricted (no route out of the VM); the only way in is SSH forwarded on 127.0.0.1.
#
# Usage: xen-qemu.sh start STATE_DIR   boot and wait until root can log in over SSH
#        xen-qemu.sh stop STATE_DIR    power off (then kill QEMU by its PID) and remove nothing
#        xen-qemu.sh ssh STATE_DIR [COMMAND...]
#        xen-qemu.sh ssh-config STATE_DIR   print an ssh_config for host "dom0"
#
# Environment:
#   XENBOX_QEMU_ACCEL   kvm or tcg (default: kvm when a real KVM module is loaded, else tcg)
#   XENBOX_QEMU_MEMORY  MiB for the whole machine (default 3072); dom0 gets 1024
#   XENBOX_QEMU_CPUS    vCPUs (default 2)
#   XENBOX_QEMU_CPU     QEMU CPU model (default qemu64; "max" under TCG crashes the PV dom0)
#   XENBOX_BOOT_TIMEOUT seconds to wait for SSH (default 600)
#   XENBOX_DOM0_DIR     use this dom0-image.sh output instead of building or finding one
#   XENBOX_HYPERVISOR   gdbsx (default): the rebuilt hypervisor; stock: Debian's release build,
#                       without gdbsx support, to test that xenbox explains the rebuild
#
# Changes: writes under STATE_DIR only (overlay disk, serial log, pid, ssh config).
set -euo pipefail
shopt -s inherit_errexit

HARNESS_DIR="$(cd "$(dirname "$0")" && pwd)"

log() {
	printf '==> xen-qemu: %s\n' "$*" >&2
}

fatal() {
	printf '==> xen-qemu: error: %s\n' "$*" >&2
	exit 1
}

# accelerator: KVM only when it is real hardware virtualisation; nested "PVM" KVM hangs stock
# kernels, so it is treated as absent.
accelerator() {
	if [[ -n "${XENBOX_QEMU_ACCEL:-}" ]]; then
		printf '%s\n' "$XENBOX_QEMU_ACCEL"
	elif [[ -w /dev/kvm && ! -d /sys/module/kvm_pvm ]] &&
		[[ -d /sys/module/kvm_intel || -d /sys/module/kvm_amd ]]; then
		printf 'kvm\n'
	else
		printf 'tcg\n'
	fi
}

# hypervisor IMAGES STATE: the uncompressed Xen that QEMU's multiboot loader boots.
hypervisor() {
	local images="$1" state="$2" stock
	case "${XENBOX_HYPERVISOR:-gdbsx}" in
	gdbsx)
		printf '%s\n' "$images/xen"
		;;
	stock)
		stock="$(debugfs -R 'ls -p /boot' "$images/dom0.img" 2>/dev/null |
			awk -F/ '$6 ~ /^xen-4\.17-amd64\.gz$/ { print $6 }' | head -n 1)"
		[[ -n "$stock" ]] || fatal "no Debian hypervisor /boot/xen-4.17-amd64.gz in the dom0 image"
		debugfs -R "dump /boot/$stock $state/xen-stock.gz" "$images/dom0.img" >/dev/null 2>&1
		gunzip -f "$state/xen-stock.gz"
		printf '%s\n' "$state/xen-stock"
		;;
	*)
		fatal "XENBOX_HYPERVISOR=${XENBOX_HYPERVISOR}: use gdbsx or stock"
		;;
	esac
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# write_ssh_config STATE IMAGES PORT: the key is copied into STATE, so that the dom0 stays
# reachable when a newer build prunes the cached image it came from.
write_ssh_config() {
	local state="$1" images="$2" port="$3"
	install -m 0600 "$images/id_ed25519" "$state/id_ed25519"
	cat >"$state/ssh_config" <<CONFIG
Host dom0
  HostName 127.0.0.1
  Port $port
  User root
  IdentityFile $state/id_ed25519
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
  ConnectTimeout 10
  ServerAliveInterval 15
CONFIG
}

start() {
	local state="$1" images accel port memory xen
	mkdir -p "$state"
	state="$(cd "$state" && pwd)"
	if [[ -f "$state/qemu.pid" ]] && kill -0 "$(cat "$state/qemu.pid")" 2>/dev/null; then
		fatal "a dom0 already runs for $state (pid $(cat "$state/qemu.pid")); stop it first"
	fi
	images="${XENBOX_DOM0_DIR:-$("$HARNESS_DIR/dom0-image.sh")}"
	accel="$(accelerator)"
	port="$(free_port)"
	memory="${XENBOX_QEMU_MEMORY:-3072}"
	write_ssh_config "$state" "$images" "$port"
	xen="$(hypervisor "$images" "$state")"
	qemu-img create -q -f qcow2 -F raw -b "$images/dom0.img" "$state/dom0.qcow2"

	log "booting Xen under QEMU ($accel, ${memory} MiB), SSH on 127.0.0.1:$port"
	qemu-system-x86_64 -accel "$accel" -cpu "${XENBOX_QEMU_CPU:-qemu64}" -smp "${XENBOX_QEMU_CPUS:-2}" -m "$memory" \
		-display none -monitor none -serial "file:$state/serial.log" \
		-kernel "$xen" \
		-append "console=com1 dom0_mem=1024M,max:1024M loglvl=all guest_loglvl=all" \
		-initrd "$images/vmlinuz root=/dev/vda rw console=hvc0 net.ifnames=0,$images/initrd.img" \
		-drive "file=$state/dom0.qcow2,if=virtio,format=qcow2" \
		-netdev "user,id=uplink,restrict=on,hostfwd=tcp:127.0.0.1:$port-:22" \
		-device virtio-net-pci,netdev=uplink \
		-daemonize -pidfile "$state/qemu.pid"
	wait_for_ssh "$state"
}

wait_for_ssh() {
	local state="$1" deadline
	deadline=$((SECONDS + ${XENBOX_BOOT_TIMEOUT:-600}))
	until ssh -F "$state/ssh_config" -o ConnectTimeout=5 dom0 true 2>/dev/null; do
		if ! kill -0 "$(cat "$state/qemu.pid")" 2>/dev/null; then
			fatal "QEMU exited; the last lines of $state/serial.log: $(tail -n 5 "$state/serial.log")"
		fi
		if ((SECONDS > deadline)); then
			fatal "dom0 did not answer SSH in time; see $state/serial.log"
		fi
		sleep 3
	done
	log "dom0 is up after ${SECONDS}s"
}

stop() {
	local state="$1" pid
	[[ -f "$state/qemu.pid" ]] || return 0
	pid="$(cat "$state/qemu.pid")"
	if kill -0 "$pid" 2>/dev/null; then
		ssh -F "$state/ssh_config" -o ConnectTimeout=5 dom0 'systemctl poweroff' \
			>/dev/null 2>&1 || true
		for _ in $(seq 1 20); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 1
		done
		kill "$pid" 2>/dev/null || true
	fi
	rm -f "$state/qemu.pid"
}

main() {
	local command="${1:-}" state="${2:-}"
	[[ -n "$command" && -n "$state" ]] || fatal "usage: $0 start|stop|ssh|ssh-config STATE_DIR"
	shift 2
	case "$command" in
	start) start "$state" ;;
	stop) stop "$state" ;;
	ssh) exec ssh -F "$state/ssh_config" dom0 "$@" ;;
	ssh-config) cat "$state/ssh_config" ;;
	*) fatal "unknown command '$command'" ;;
	esac
}

main "$@"
