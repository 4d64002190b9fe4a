#!/usr/bin/env bash
#
# demo.sh: the user's flow on the bundled sample unikernel, on Xen booted under QEMU.
#
# Packs the sample exactly as `unik build --no-cleanup` leaves an AWS image, boots the xenbox
# dom0 under QEMU, and from this machine runs what a user types: xenbox images, sync, debug and
# gdb, through PV-GRUB (as on EC2) and with --direct. gdb stops in the sample's tick() with the
# counter's value, continues to a second hit, and the guest console shows the rumprun JSON
# command line as it arrived.
#
# Usage: test/demo.sh    (make demo builds xenbox and the sample first)
#
# Environment:
#   XENBOX_DEMO_DIR  where the demo works (default build/demo); QEMU's state is in its xen/
#   and what test/harness/xen-qemu.sh reads.
#
# Changes: writes under XENBOX_DEMO_DIR and the xenbox cache; starts QEMU and stops it again.
set -euo pipefail
shopt -s inherit_errexit

REPO="$(cd "$(dirname "$0")/.." && pwd)"
DEMO="${XENBOX_DEMO_DIR:-$REPO/build/demo}"
XENBOX="$REPO/build/bin/xenbox"

say() {
	printf '\n\033[1m### %s\033[0m\n' "$*"
}

# xenbox ARGS...: the CLI as a user on the workstation runs it, shown before it runs.
xenbox() {
	printf '$ xenbox'
	printf ' %q' "$@"
	printf '\n'
	"$XENBOX" --unik-tmp "$DEMO/unik-tmp" --ssh-config "$DEMO/xen/ssh_config" \
		--ssh-host dom0 "$@"
}

dom0() {
	"$REPO/test/harness/xen-qemu.sh" ssh "$DEMO/xen" "$@"
}

stop_xen() {
	"$REPO/test/harness/xen-qemu.sh" stop "$DEMO/xen"
}

pack_sample() {
	say "packing the sample unikernel as unik does for AWS"
	rm -rf "$DEMO/unik-tmp"
	mkdir -p "$DEMO/unik-tmp"
	"$REPO/examples/sample-unikernel/pack-unik.sh" "$DEMO/unik-tmp" | tee "$DEMO/packed"
}

# sample_name: the name xenbox gives the packed image (unik-<the image's suffix>).
sample_name() {
	sed -n 's/^image=.*\.\([0-9]*\)$/unik-\1/p' "$DEMO/packed"
}

boot_xen() {
	say "booting Xen with the xenbox dom0 under QEMU (first run builds it: about 10 minutes)"
	stop_xen
	rm -rf "$DEMO/xen"
	"$REPO/test/harness/xen-qemu.sh" start "$DEMO/xen"
	trap stop_xen EXIT
}

# debug_and_show NAME DOMAIN FLAGS...: debug, then gdb to two hits of tick, then the console.
debug_and_show() {
	local name="$1" domain="$2"
	shift 2
	xenbox debug --name "$domain" --bridge "" --memory 32 "$@" "$name"
	xenbox gdb --name "$domain" --break tick "$name" -- -batch \
		-ex continue -ex 'print counter' -ex bt -ex continue -ex 'print counter'
	say "the guest console (the EC2 system log), kept in dom0"
	dom0 cat "/var/log/xen/console/guest-$domain.log" | grep -a 'xenbox-sample\|tick'
}

main() {
	local name
	[[ "$(id -u)" == 0 ]] || {
		echo "demo.sh: run as root: building the dom0 image uses debootstrap and chroot" >&2
		exit 1
	}
	mkdir -p "$DEMO"
	pack_sample
	boot_xen

	printf 'xenbox runs below with --unik-tmp %s --ssh-config %s --ssh-host dom0\n' \
		"$DEMO/unik-tmp" "$DEMO/xen/ssh_config"

	say "unik artifacts, each image paired with its debug dir by content"
	xenbox images
	name="$(sample_name)"

	say "copy the image into the box for domain demo-pvgrub (a second sync sends nothing)"
	xenbox sync --name demo-pvgrub "$name"
	xenbox sync --name demo-pvgrub "$name"

	say "debug through PV-GRUB, as on EC2"
	debug_and_show "$name" demo-pvgrub

	say "debug with --direct: program.bin booted with menu.lst's command line"
	debug_and_show "$name" demo-direct --direct

	say "nothing is left behind"
	dom0 'xl list; pgrep -a gdbsx || echo "no gdbsx running"'
}

main "$@"
