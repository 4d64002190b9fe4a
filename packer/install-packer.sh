#!/usr/bin/env bash
#
# install-packer.sh: Packer and its qemu and virtualbox plugins, built from their Go module
# source and cached.
#
# `make box` needs Packer >= 1.11 (older ones cannot load packer-plugin-sdk plugins) and the
# qemu builder; the template's VirtualBox source needs the virtualbox builder, and Packer
# refuses a template whose required plugins are missing. Release downloads are not reachable
# from build machines that see only package registries, so all three are built from the Go
# module proxy: `go install` refuses Packer because of the replace directive in its go.mod, so
# each module directory is copied and built.
#
# Usage: install-packer.sh    prints the path of the packer binary; the plugin directory to
#                             use as PACKER_PLUGIN_PATH is plugins/ beside it
#
# Environment:
#   XDG_CACHE_HOME   the cache lives in ${XDG_CACHE_HOME:-~/.cache}/xenbox/packer/<versions>
#   GO               the go command (default: go on PATH, else /usr/local/go/bin/go)
#
# Changes: writes only under the cache.
set -euo pipefail
shopt -s inherit_errexit

REPO_DIR="$(cd "$(dirname "$0")/.." && pwd)"
PACKER_VERSION=1.16.0
QEMU_PLUGIN_VERSION=1.1.7
# The qemu plugin asks for packer-plugin-sdk v0.6.11, which the Go module proxy does not serve
# (nor the 1.1.6 source); it builds and runs with v0.6.10, the SDK the xenbox plugin uses too.
QEMU_PLUGIN_SDK=v0.6.10
# Limitation: the virtualbox plugin is 1.0.0 of June 2021, built on packer-plugin-sdk 0.2.3: the
# only version the Go module proxy serves with a valid checksum. It has none of the later
# releases' fixes and options, e.g. for VirtualBox 7's NAT, which hides the host's 127.0.0.1
# and so Packer's HTTP server (the template turns --nat-localhostreachable1 on itself); and
# Packer 1.16 loads it only as long as it accepts that SDK's x5.0 plugin protocol.
VIRTUALBOX_PLUGIN_VERSION=1.0.0
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/xenbox/packer/packer-$PACKER_VERSION-qemu-$QEMU_PLUGIN_VERSION-sdk-$QEMU_PLUGIN_SDK"

log() {
	printf '==> install-packer: %s\n' "$*" >&2
}

fatal() {
	printf '==> install-packer: error: %s\n' "$*" >&2
	exit 1
}

# build_module MODULE@VERSION OUT [SDK [LDFLAGS]]: go build of a module's main package from
# its own source tree, with its own go.mod (and replace directives) in force; SDK, when not
# empty, pins packer-plugin-sdk to that version; LDFLAGS go to go build's -ldflags. Nothing is
# done when OUT exists.
build_module() {
	local module="$1" out="$2" sdk="${3:-}" ldflags="${4:-}" dir work
	[[ -x "$out" ]] && return 0
	if ! dir="$("$GO" mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" ||
		[[ -z "$dir" || ! -d "$dir" ]]; then
		fatal "go mod download $module failed; is the Go module proxy reachable?"
	fi
	work="$(mktemp -d "$CACHE_DIR.src.XXXXXX")"
	cp -r "$dir/." "$work"
	chmod -R u+w "$work"
	log "building $module (a few minutes the first time)"
	if [[ -n "$sdk" ]]; then
		if ! pin_sdk "$work" "$sdk"; then
			rm -rf "$work"
			fatal "cannot pin $module to packer-plugin-sdk $sdk"
		fi
	fi
	if ! (cd "$work" &&
		CGO_ENABLED=0 "$GO" build -trimpath -ldflags="$ldflags" -o "$out.tmp" .); then
		rm -rf "$work"
		fatal "go build of $module failed"
	fi
	mv -f "$out.tmp" "$out"
	rm -rf "$work"
}

# pin_sdk DIR VERSION: a plugin's source built against another packer-plugin-sdk. Its HCL2
# specs are generated again with that SDK's packer-sdc, or they name options the SDK's
# decoder rejects (winrm_connect_timeout, say).
pin_sdk() {
	local dir="$1" sdk="$2" bin
	bin="$(mktemp -d)"
	local status=0
	# Chained with &&: errexit does not apply in a function called from an if.
	# packer-sdc comes from this module, which pins it to the same SDK version.
	(cd "$dir" &&
		"$GO" mod edit -require="github.com/hashicorp/packer-plugin-sdk@$sdk" &&
		"$GO" mod tidy &&
		(cd "$REPO_DIR" && "$GO" build -o "$bin/packer-sdc" \
			github.com/hashicorp/packer-plugin-sdk/cmd/packer-sdc) &&
		PATH="$bin:$PATH" "$GO" generate -run mapstructure-to-hcl2 ./...) || status=$?
	rm -rf "$bin"
	return "$status"
}

# install_packer_and_qemu: Packer and the qemu plugin in its plugin directory.
install_packer_and_qemu() {
	[[ -f "$CACHE_DIR/ready" ]] && return 0
	build_module "github.com/hashicorp/packer@v$PACKER_VERSION" "$CACHE_DIR/packer"
	build_module "github.com/hashicorp/packer-plugin-qemu@v$QEMU_PLUGIN_VERSION" \
		"$CACHE_DIR/packer-plugin-qemu" "$QEMU_PLUGIN_SDK"
	PACKER_PLUGIN_PATH="$CACHE_DIR/plugins" "$CACHE_DIR/packer" plugins install \
		--path "$CACHE_DIR/packer-plugin-qemu" github.com/hashicorp/qemu >&2 ||
		fatal "packer could not install the qemu plugin"
	touch "$CACHE_DIR/ready"
}

# install_virtualbox_plugin: the virtualbox plugin in the same plugin directory. Its tagged
# source still says 0.0.2-dev in main.Version and main.VersionPrerelease, so the build sets
# them to the module's version, the one the template requires.
install_virtualbox_plugin() {
	local ready="$CACHE_DIR/virtualbox-$VIRTUALBOX_PLUGIN_VERSION.ready"
	[[ -f "$ready" ]] && return 0
	build_module "github.com/hashicorp/packer-plugin-virtualbox@v$VIRTUALBOX_PLUGIN_VERSION" \
		"$CACHE_DIR/packer-plugin-virtualbox" "" \
		"-X main.Version=$VIRTUALBOX_PLUGIN_VERSION -X main.VersionPrerelease="
	PACKER_PLUGIN_PATH="$CACHE_DIR/plugins" "$CACHE_DIR/packer" plugins install \
		--path "$CACHE_DIR/packer-plugin-virtualbox" github.com/hashicorp/virtualbox >&2 ||
		fatal "packer could not install the virtualbox plugin"
	touch "$ready"
}

main() {
	GO="${GO:-$(command -v go || printf '/usr/local/go/bin/go')}"
	[[ -x "$GO" ]] || fatal "no go command; set GO or put go on PATH"
	mkdir -p "$(dirname "$CACHE_DIR")"
	exec 9>"$CACHE_DIR.lock"
	flock 9
	mkdir -p "$CACHE_DIR"
	install_packer_and_qemu
	install_virtualbox_plugin
	printf '%s\n' "$CACHE_DIR/packer"
}

main "$@"
