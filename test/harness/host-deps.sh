#!/usr/bin/env bash
#
# host-deps.sh: install what building and testing xenbox needs on a Debian 12 or Ubuntu machine.
#
# Idempotent: installs only the packages that are missing. Go is not installed here (Debian 12's
# Go is too old for the module's dependencies); the script checks that a Go >= 1.25 is on PATH or
# in /usr/local/go and says where to get one otherwise.
#
# Usage: host-deps.sh
# Environment: none.
# Changes: apt-get installs packages when some are missing (needs root).
set -euo pipefail
shopt -s inherit_errexit

PACKAGES=(qemu-system-x86 qemu-utils debootstrap e2fsprogs fdisk build-essential flex bison m4
	gawk python3 libxen-dev grub-xen-bin dpkg-dev xz-utils patch gdb openssh-client
	openssh-server shellcheck binutils file iproute2 iptables curl kmod bc
	vagrant vagrant-libvirt libvirt-daemon-system libvirt-clients dnsmasq-base)

log() {
	printf '==> host-deps: %s\n' "$*" >&2
}

install_packages() {
	local missing=() package
	for package in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' ||
			missing+=("$package")
	done
	((${#missing[@]} == 0)) && return 0
	[[ "$(id -u)" == 0 ]] || {
		log "missing packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}"
		exit 1
	}
	log "installing ${missing[*]}"
	apt-get update -q >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${missing[@]}" >&2
}

check_go() {
	local go
	go="$(command -v go || true)"
	[[ -n "$go" ]] || go=/usr/local/go/bin/go
	if [[ ! -x "$go" ]]; then
		log "Go >= 1.25 is needed: install it from the Go project's tarball into /usr/local/go"
		exit 1
	fi
	if ! "$go" version | grep -Eq 'go1\.(2[5-9]|[3-9][0-9])'; then
		log "$("$go" version) is too old; Go >= 1.25 is needed"
		exit 1
	fi
}

install_packages
check_go
