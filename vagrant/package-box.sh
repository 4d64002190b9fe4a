#!/usr/bin/env bash
#
# package-box.sh: turn the VM image Packer baked into a Vagrant box and a catalog for it.
#
# A libvirt box is a tar of the qcow2 disk (box.img), a metadata.json naming the provider, the
# format and the disk's size, and a Vagrantfile with the box's defaults. A VirtualBox box is a
# tar of the exported .ovf and its disks with a metadata.json naming the provider. Beside the
# box this writes OUT_DIR/metadata.json, a catalog that `vagrant box add OUT_DIR/metadata.json`
# (or a Vagrantfile's box_url) accepts: name, version, provider, file URL and sha256.
#
# Usage: package-box.sh --provider libvirt|virtualbox --input PATH --out DIR
#                       [--name NAME] [--version VERSION]
#   --input   libvirt: the qcow2 disk image; virtualbox: the directory with the .ovf export
#   --name    the box's name (default xenbox/xenbox)
#   --version the box's version (default 0.1.YYYYMMDDHHMM, newer than any earlier build)
#
# Changes: writes OUT_DIR/xenbox-PROVIDER.box and OUT_DIR/metadata.json, each through a
# temporary file renamed into place; a catalog already there keeps its other providers.
set -euo pipefail
shopt -s inherit_errexit

log() {
	printf '==> package-box: %s\n' "$*" >&2
}

fatal() {
	printf '==> package-box: error: %s\n' "$*" >&2
	exit 1
}

usage() {
	sed -n '/^# Usage:/,/^# Changes:/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

# virtual_size_gb IMAGE: the disk's virtual size in whole GiB, rounded up.
virtual_size_gb() {
	local bytes
	bytes="$(qemu-img info --output=json "$1" | sed -n 's/^ *"virtual-size": \([0-9]*\),*$/\1/p')"
	[[ -n "$bytes" ]] || fatal "cannot read the virtual size of $1 with qemu-img"
	printf '%s\n' $(((bytes + (1 << 30) - 1) >> 30))
}

# stage_libvirt IMAGE STAGE: the files of a libvirt box.
stage_libvirt() {
	local image="$1" stage="$2"
	[[ -f "$image" ]] || fatal "--input $image: no such qcow2 image; run packer build first"
	qemu-img info "$image" | grep -q '^file format: qcow2$' ||
		fatal "--input $image is not a qcow2 image; the libvirt box needs one"
	ln "$image" "$stage/box.img" 2>/dev/null || cp "$image" "$stage/box.img"
	printf '{"provider": "libvirt", "format": "qcow2", "virtual_size": %s}\n' \
		"$(virtual_size_gb "$image")" >"$stage/metadata.json"
	cat >"$stage/Vagrantfile" <<'VAGRANTFILE'
# Defaults of the xenbox box; the project's Vagrantfile sets the rest.
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |libvirt|
    libvirt.disk_bus = "virtio"
    libvirt.nic_model_type = "virtio"
  end
end
VAGRANTFILE
}

# stage_virtualbox DIR STAGE: the files of a VirtualBox box.
stage_virtualbox() {
	local export_dir="$1" stage="$2" file
	compgen -G "$export_dir/*.ovf" >/dev/null ||
		fatal "--input $export_dir: no .ovf export in it; run packer build -only=virtualbox-iso.* first"
	for file in "$export_dir"/*.ovf "$export_dir"/*.vmdk; do
		[[ -f "$file" ]] || continue
		ln "$file" "$stage/$(basename "$file")" 2>/dev/null || cp "$file" "$stage/"
	done
	printf '{"provider": "virtualbox"}\n' >"$stage/metadata.json"
}

# write_catalog CATALOG NAME VERSION PROVIDER BOX: the catalog, with this build's entry for
# PROVIDER replacing an older one.
write_catalog() {
	local catalog="$1" name="$2" version="$3" provider="$4" box="$5" sum
	sum="$(sha256sum "$box" | cut -d' ' -f1)"
	python3 - "$catalog" "$name" "$version" "$provider" "$box" "$sum" <<'PYTHON'
import json, os, sys
catalog, name, version, provider, box, digest = sys.argv[1:]
entry = {"name": provider, "url": "file://" + os.path.abspath(box),
         "checksum_type": "sha256", "checksum": digest}
try:
    with open(catalog) as f:
        data = json.load(f)
    providers = [p for v in data.get("versions", []) for p in v.get("providers", [])
                 if p.get("name") != provider and os.path.exists(p.get("url", "")[len("file://"):])]
except (OSError, ValueError):
    providers = []
data = {"name": name, "description": "Xen dom0 with gdbsx, PV-GRUB and an EC2 metadata service "
        "for debugging unikernels", "versions": [{"version": version,
                                                  "providers": providers + [entry]}]}
with open(catalog + ".tmp", "w") as f:
    json.dump(data, f, indent=2)
    f.write("\n")
os.replace(catalog + ".tmp", catalog)
PYTHON
}

main() {
	local provider="" input="" out="" name=xenbox/xenbox version stage box
	version="0.1.$(date -u +%Y%m%d%H%M)"
	while (($#)); do
		case "$1" in
		--provider) provider="${2:-}" ;;
		--input) input="${2:-}" ;;
		--out) out="${2:-}" ;;
		--name) name="${2:-}" ;;
		--version) version="${2:-}" ;;
		-h | --help) usage ;;
		*) fatal "unknown argument '$1'; see --help" ;;
		esac
		shift 2 || usage
	done
	[[ -n "$provider" && -n "$input" && -n "$out" ]] || usage
	[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
		fatal "--version $version: Vagrant box versions look like 1.2.3"

	mkdir -p "$out"
	stage="$(mktemp -d "$out/.package-box.XXXXXX")"
	# shellcheck disable=SC2064 # expand now: remove this stage directory
	trap "rm -rf '$stage'" EXIT
	case "$provider" in
	libvirt) stage_libvirt "$input" "$stage" ;;
	virtualbox) stage_virtualbox "$input" "$stage" ;;
	*) fatal "--provider $provider: use libvirt or virtualbox" ;;
	esac

	box="$out/xenbox-$provider.box"
	log "writing $box"
	tar -C "$stage" -cf "$box.tmp" --sparse .
	mv -f "$box.tmp" "$box"
	write_catalog "$out/metadata.json" "$name" "$version" "$provider" "$box"
	log "box $name $version ($provider) ready; add it with: vagrant box add $out/metadata.json"
}

main "$@"
