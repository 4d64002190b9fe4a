#!/usr/bin/env bash
#
# build-box.sh: `make box`, the xenbox Vagrant box for libvirt, baked by Packer on this machine.
#
# Steps, each timed into build/box-timings.txt:
#   packer      Packer and its qemu plugin, built from the Go module proxy (cached)
#   plugin      the xenbox Packer plugin and the linux/amd64 xenbox binary, built from here
#   hypervisor  the hypervisor with gdbsx support, gdbsx and PV-GRUB, built by the provisioners
#               on this machine (cached): much faster than compiling inside an emulated VM
#   base        the base image: made offline by packer/base-image.sh (cached), or Debian's
#               cloud image by URL with XENBOX_BASE_IMAGE=cloud
#   packer-build  packer build of packer/xenbox.pkr.hcl: boot, provision, reboot into Xen,
#               verify, and package into build/xenbox-libvirt.box + build/metadata.json
#
# Usage: build-box.sh [box|lint|env]
#   box   build the box (default)
#   env   install Packer and the plugins, and print the exports that put them to use:
#         eval "$(packer/build-box.sh env)"; packer inspect packer/xenbox.pkr.hcl
#   lint  packer fmt -check and packer validate of the template, and packer-sdc plugin-check
#         of the plugin (needs Packer and the plugins, so it installs them first)
#
# Environment:
#   XENBOX_BASE_IMAGE    offline (default), cloud, or the path of a Debian 12 qcow2 image that
#                        has the vagrant user (then no prebuilt packages are assumed: online)
#   XENBOX_QEMU_ACCEL    kvm, hvf or tcg (default: kvm when a real KVM module is loaded, else tcg)
#   XENBOX_BOX_COMPRESS  1 to compress the box's disk (default 0: faster builds, bigger box)
#   XENBOX_PACKER_VARS   more arguments for packer build, e.g. '-var vm_memory=4096'
#   XDG_CACHE_HOME, GO   see packer/install-packer.sh
#
# Changes: writes build/ (the box, its catalog, build/packer-libvirt while building) and the
# cache; installs build tools with apt-get when missing. Needs root for the base image.
set -euo pipefail
shopt -s inherit_errexit

REPO_DIR="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$REPO_DIR/build"
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/xenbox"
TIMINGS="$BUILD/box-timings.txt"
VAGRANT_KEY=/usr/share/rubygems-integration/all/gems/vagrant-2.3.4/keys/vagrant

log() {
	printf '==> build-box: %s\n' "$*" >&2
}

fatal() {
	printf '==> build-box: error: %s\n' "$*" >&2
	exit 1
}

# timed STAGE COMMAND...: run COMMAND and append its wall time to the timings file.
timed() {
	local stage="$1" start status=0
	shift
	start="$(date +%s.%N)"
	"$@" || status=$?
	printf '%-12s %8.1f s\n' "$stage" "$(echo "$(date +%s.%N) - $start" | bc)" >>"$TIMINGS.tmp"
	return "$status"
}

# accelerator: KVM only when a real KVM module is loaded (a nested "PVM" /dev/kvm hangs Xen).
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

install_host_tools() {
	local missing=() tool
	for tool in qemu-system-x86_64 qemu-img bc python3; do
		command -v "$tool" >/dev/null || missing+=("$tool")
	done
	((${#missing[@]} == 0)) && return 0
	log "installing build tools (missing: ${missing[*]})"
	apt-get update -q >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		qemu-system-x86 qemu-utils bc python3 >&2
}

stage_packer() {
	PACKER="$("$REPO_DIR/packer/install-packer.sh")"
	export PACKER_PLUGIN_PATH="$CACHE_DIR/packer/plugins"
	mkdir -p "$PACKER_PLUGIN_PATH"
	# The qemu plugin installed beside this Packer build, linked into the shared plugin dir.
	cp -r "$(dirname "$PACKER")/plugins/." "$PACKER_PLUGIN_PATH/"
}

# stage_plugin: this checkout's plugin, replacing any earlier build of the same version.
stage_plugin() {
	local bin="$BUILD/packer-plugin-xenbox"
	(cd "$REPO_DIR" && CGO_ENABLED=0 "$GO" build -trimpath -o "$bin" ./packer/plugin) ||
		fatal "go build of the Packer plugin failed"
	(cd "$REPO_DIR" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 "$GO" build -trimpath \
		-o "$BUILD/linux-amd64/xenbox" ./tools/cmd/xenbox) ||
		fatal "go build of xenbox for the box failed"
	rm -rf "$PACKER_PLUGIN_PATH/github.com/xenbox/xenbox"
	"$PACKER" plugins install --path "$bin" github.com/xenbox/xenbox >&2 ||
		fatal "packer could not install the xenbox plugin from $bin"
}

stage_hypervisor() {
	local provisioners="$REPO_DIR/provisioners" xen_gz gdbsx pvgrub prebuilt="$BUILD/prebuilt"
	export XENBOX_BUILD_DIR="$CACHE_DIR/build"
	xen_gz="$("$provisioners/hypervisor.sh" build)"
	gdbsx="$("$provisioners/gdbsx.sh" build)"
	pvgrub="$("$provisioners/pvgrub.sh" build)"
	rm -rf "$prebuilt"
	mkdir -p "$prebuilt/pvgrub"
	cp "$xen_gz" "$prebuilt/xen-gdbsx.gz"
	cp "$xen_gz.version" "$prebuilt/xen-gdbsx.gz.version"
	cp "$gdbsx" "$prebuilt/gdbsx"
	cp "$gdbsx.xen-version" "$prebuilt/gdbsx.xen-version"
	cp "$pvgrub"/pv-grub-*.bin "$prebuilt/pvgrub/"
	PACKER_VARS+=(-var "hypervisor=$prebuilt/xen-gdbsx.gz" -var "gdbsx=$prebuilt/gdbsx"
		-var "pvgrub_dir=$prebuilt/pvgrub")
}

stage_base() {
	local image
	case "${XENBOX_BASE_IMAGE:-offline}" in
	offline)
		image="$("$REPO_DIR/packer/base-image.sh")"
		PACKER_VARS+=(-var "base_image=$image"
			-var "base_image_checksum=sha256:$(cut -d' ' -f1 "$image.sha256")"
			-var cloud_init=false -var offline=true)
		;;
	cloud) ;;
	*)
		image="$XENBOX_BASE_IMAGE"
		[[ -f "$image" ]] || fatal "XENBOX_BASE_IMAGE=$image: no such image; use offline, cloud or a qcow2 path"
		PACKER_VARS+=(-var "base_image=$image" -var base_image_checksum=none -var cloud_init=false)
		;;
	esac
}

stage_packer_build() {
	local compress=false extra=()
	case "${XENBOX_BOX_COMPRESS:-0}" in
	1) compress=true ;;
	0) ;;
	*) fatal "XENBOX_BOX_COMPRESS=$XENBOX_BOX_COMPRESS: use 1 or 0" ;;
	esac
	# shellcheck disable=SC2206 # a space separated list of -var arguments by design
	extra=(${XENBOX_PACKER_VARS:-})
	rm -rf "$BUILD/packer-libvirt"
	(cd "$REPO_DIR" && "$PACKER" build -color=false -only=qemu.libvirt \
		-var "accelerator=$(accelerator)" -var "disk_compression=$compress" \
		-var "ssh_private_key_file=$VAGRANT_KEY" "${PACKER_VARS[@]}" "${extra[@]}" \
		packer/xenbox.pkr.hcl) || fatal "packer build failed; the VM's console, if it started, is in build/box-serial.log"
	rm -rf "$BUILD/packer-libvirt"
}

# give_back_build_dir: under sudo, build/ goes back to the user, whose `make build` writes
# there next.
give_back_build_dir() {
	if [[ -n "${SUDO_USER:-}" && "$SUDO_USER" != root ]]; then
		chown -R "$SUDO_USER:$(id -gn "$SUDO_USER")" "$BUILD"
	fi
}

# lint: the template is formatted and valid, and the plugin follows the SDK's conventions.
lint() {
	local dir
	"$PACKER" fmt -check -diff "$REPO_DIR/packer" || fatal "packer fmt needed: run $PACKER fmt packer/"
	dir="$(mktemp -d)"
	# Local stand-ins for the base image and the installer ISO: validating the defaults would
	# fetch their checksums from Debian's servers.
	: >"$dir/stand-in.iso"
	local digest
	digest="sha256:$(sha256sum <"$dir/stand-in.iso" | cut -d' ' -f1)"
	(cd "$REPO_DIR" && "$PACKER" validate -var offline=true -var cloud_init=false \
		-var "base_image=$dir/stand-in.iso" -var "base_image_checksum=$digest" \
		-var "virtualbox_iso_url=$dir/stand-in.iso" -var "virtualbox_iso_checksum=$digest" \
		-var "xenbox_binary=$BUILD/linux-amd64/xenbox" packer/xenbox.pkr.hcl) ||
		{ rm -rf "$dir"; fatal "packer validate of packer/xenbox.pkr.hcl failed"; }
	cp "$BUILD/packer-plugin-xenbox" "$dir/"
	(cd "$REPO_DIR" && "$GO" build -o "$dir/packer-sdc" github.com/hashicorp/packer-plugin-sdk/cmd/packer-sdc)
	(cd "$dir" && ./packer-sdc plugin-check packer-plugin-xenbox) >&2 ||
		{ rm -rf "$dir"; fatal "packer-sdc plugin-check of the xenbox plugin failed"; }
	rm -rf "$dir"
}

main() {
	local action="${1:-box}"
	# Packer would ask checkpoint.hashicorp.com for updates; build machines reach no such host.
	export CHECKPOINT_DISABLE=1
	GO="${GO:-$(command -v go || printf '/usr/local/go/bin/go')}"
	[[ -x "$GO" ]] || fatal "no go command; set GO or put go on PATH"
	PACKER_VARS=()
	mkdir -p "$BUILD"
	case "$action" in
	lint)
		stage_packer
		stage_plugin
		lint
		return 0
		;;
	env)
		stage_packer >&2
		stage_plugin >&2
		# shellcheck disable=SC2016 # $PATH is for the shell that evals this line
		printf 'export PATH="%s:$PATH" PACKER_PLUGIN_PATH="%s" CHECKPOINT_DISABLE=1\n' \
			"$(dirname "$PACKER")" "$PACKER_PLUGIN_PATH"
		return 0
		;;
	box) ;;
	*) fatal "unknown action '$action'; use box, lint or env" ;;
	esac

	[[ "$(id -u)" == 0 ]] || fatal "run as root: the base image and the hypervisor build need it"
	[[ -f "$VAGRANT_KEY" ]] || fatal "no Vagrant insecure key at $VAGRANT_KEY; install vagrant"
	rm -f "$TIMINGS.tmp"
	install_host_tools

	timed packer stage_packer
	timed plugin stage_plugin
	timed hypervisor stage_hypervisor
	timed base stage_base
	timed packer-build stage_packer_build
	mv -f "$TIMINGS.tmp" "$TIMINGS"
	give_back_build_dir
	log "box ready: build/xenbox-libvirt.box; add it with: vagrant box add build/metadata.json"
}

main "$@"
