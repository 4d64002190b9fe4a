#!/usr/bin/env bash
#
# common.sh: helpers shared by the xenbox provisioners. Sourced, never run.
#
# The provisioners are the single source of truth for what a xenbox dom0 contains. Vagrant
# runs them in the box, the Packer plugin runs them while baking the box, and the test harness
# runs them on the build host (to build the hypervisor, gdbsx and PV-GRUB once, cached) and in
# the dom0 image's chroot (to install them).
#
# Environment read by every provisioner:
#   XENBOX_DESTDIR    root of the installation (default /); the harness installs into a chroot
#   XENBOX_BUILD_DIR  where sources are fetched and built (default /var/cache/xenbox/build)
#   XENBOX_VERBOSE    1 to trace every command

# shellcheck disable=SC2034 # the variables below are used by the scripts that source this
XENBOX_DESTDIR="${XENBOX_DESTDIR:-/}"
XENBOX_BUILD_DIR="${XENBOX_BUILD_DIR:-/var/cache/xenbox/build}"
XENBOX_LIB_DIR="/usr/local/lib/xenbox"
XEN_SOURCE_PACKAGE="xen"

# A failure inside $(...) stops the provisioner too.
shopt -s inherit_errexit

if [[ "${XENBOX_VERBOSE:-0}" == 1 ]]; then
	set -x
fi

# log MESSAGE: one line per step, prefixed with the provisioner's name.
log() {
	printf '==> %s: %s\n' "$(basename "$0" .sh)" "$*" >&2
}

# fatal MESSAGE: say what failed and what to do, then stop.
fatal() {
	printf '==> %s: error: %s\n' "$(basename "$0" .sh)" "$*" >&2
	exit 1
}

# require_root: the provisioners install packages and write under /boot and /usr/local.
require_root() {
	[[ "$(id -u)" == 0 ]] || fatal "run as root (sudo $0)"
}

# dest PATH: PATH inside the installation root.
dest() {
	local path="$1"
	if [[ "$XENBOX_DESTDIR" == / ]]; then
		printf '%s\n' "$path"
	else
		printf '%s%s\n' "${XENBOX_DESTDIR%/}" "$path"
	fi
}

# apt_install PACKAGE...: install the packages that are not installed yet, and nothing else.
apt_install() {
	local missing=() package
	for package in "$@"; do
		if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed'; then
			missing+=("$package")
		fi
	done
	if ((${#missing[@]} == 0)); then
		return 0
	fi
	log "installing ${missing[*]}"
	if [[ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit)" ]]; then
		apt-get update -q >&2
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

# enable_deb_src: Debian's source packages are needed to rebuild Xen pieces.
enable_deb_src() {
	local list=/etc/apt/sources.list.d/xenbox-src.sources
	if grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ ||
		grep -qs '^deb-src' /etc/apt/sources.list; then
		return 0
	fi
	log "enabling Debian source packages in $list"
	cat >"$list" <<'SOURCES'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
	apt-get update -q >&2
}

# xen_source_dir: fetch Debian's Xen source once into XENBOX_BUILD_DIR and print its path.
xen_source_dir() {
	local dir
	dir="$(find "$XENBOX_BUILD_DIR" -maxdepth 1 -type d -name "${XEN_SOURCE_PACKAGE}-4.17*" \
		-print -quit 2>/dev/null || true)"
	if [[ -n "$dir" && -f "$dir/xen/Makefile" ]]; then
		printf '%s\n' "$dir"
		return 0
	fi
	enable_deb_src
	apt_install dpkg-dev xz-utils
	mkdir -p "$XENBOX_BUILD_DIR"
	log "fetching Debian's Xen source into $XENBOX_BUILD_DIR"
	(cd "$XENBOX_BUILD_DIR" && apt-get source -q "$XEN_SOURCE_PACKAGE" >&2)
	dir="$(find "$XENBOX_BUILD_DIR" -maxdepth 1 -type d -name "${XEN_SOURCE_PACKAGE}-4.17*" \
		-print -quit)"
	[[ -n "$dir" ]] || fatal "apt-get source $XEN_SOURCE_PACKAGE left no xen-4.17* directory"
	printf '%s\n' "$dir"
}

# xen_source_version DIR: the upstream Xen version of a source tree, e.g. 4.17.5.
xen_source_version() {
	local dir="$1" major minor extra
	major="$(sed -n 's/^export XEN_VERSION[[:space:]]*=[[:space:]]*//p' "$dir/xen/Makefile")"
	minor="$(sed -n 's/^export XEN_SUBVERSION[[:space:]]*=[[:space:]]*//p' "$dir/xen/Makefile")"
	extra="$(sed -n 's/^export XEN_EXTRAVERSION[[:space:]]*?=[[:space:]]*//p' "$dir/xen/Makefile")"
	extra="${extra%%\$*}"
	printf '%s.%s%s\n' "$major" "$minor" "$extra"
}

# install_file SOURCE PATH MODE: atomically install SOURCE at PATH inside the installation
# root; does nothing when PATH already has the same content.
install_file() {
	local source="$1" path target
	path="$(dest "$2")"
	target="$path"
	if [[ -f "$target" ]] && cmp -s "$source" "$target"; then
		return 0
	fi
	mkdir -p "$(dirname "$target")"
	install -m "$3" "$source" "$target.tmp.$$"
	mv -f "$target.tmp.$$" "$target"
	log "installed $2"
}
