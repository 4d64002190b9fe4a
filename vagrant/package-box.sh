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
	image="$(readlink -f "$image")"
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
	compgen -G "$export_dir/*.vmdk" >/dev/null ||
		fatal "--input $export_dir: the .ovf export has no .vmdk disk"
	for file in "$export_dir"/*.ovf "$export_dir"/*.vmdk; do
		[[ -f "$file" ]] || continue
		file="$(readlink -f "$file")"
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
import json, os, pathlib, sys, urllib.parse
catalog, name, version, provider, box, digest = sys.argv[1:]
entry = {"name": provider, "url": pathlib.Path(box).resolve().as_uri(),
         "checksum_type": "sha256", "checksum": digest}

def kept_versions(data):
    """The other providers' entries of an earlier catalog, under their own versions, when
    their box files are still there."""
    versions = []
    for v in data.get("versions") or []:
        if not isinstance(v, dict) or not isinstance(v.get("providers"), list):
            raise ValueError("a version without a providers list")
        providers = [p for p in v["providers"] if isinstance(p, dict)
                     and p.get("name") != provider
                     and os.path.exists(urllib.parse.unquote(
                         urllib.parse.urlparse(str(p.get("url", ""))).path))]
        if providers:
            versions.append({"version": v.get("version"), "providers": providers})
    return versions

try:
    with open(catalog) as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    versions = kept_versions(data)
except FileNotFoundError:
    versions = []
except (OSError, ValueError, TypeError, AttributeError) as error:
    print(f"==> package-box: warning: {catalog}: {error}; writing a new catalog",
          file=sys.stderr)
    versions = []
same = [v for v in versions if v["version"] == version]
if same:
    same[0]["providers"].append(entry)
else:
    versions.append({"version": version, "providers": [entry]})
data = {"name": name, "description": "Xen dom0 with gdbsx, PV-GRUB and an EC2 metadata service "
        "for debugging unikernels", "versions": versions}
with open(catalog + ".tmp", "w") as f:
    json.dump(data, f, indent=2)
    f.write("\n")
os.replace(catalog + ".tmp", catalog)
PYTHON
}

main() {
	local provider="" input="" out="" name=xenbox/xenbox version box
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
	[[ "$name" =~ ^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+$ ]] ||
		fatal "--name $name: Vagrant box names look like owner/name"

	case "$provider" in
	libvirt | virtualbox) ;;
	*) fatal "--provider $provider: use libvirt or virtualbox" ;;
	esac
	if ! mkdir -p "$out" 2>/dev/null || [[ ! -w "$out" ]]; then
		fatal "--out $out: cannot write there; pick a writable directory"
	fi
	# Leftovers of runs killed before their trap could run.
	find "$out" -maxdepth 1 -name '.package-box.*' -mmin +60 -exec rm -rf {} +
	STAGE="$(mktemp -d "$out/.package-box.XXXXXX")"
	BOX_TMP="$out/xenbox-$provider.box.tmp"
	trap 'rm -rf "$STAGE" "$BOX_TMP"' EXIT
	trap 'exit 130' INT TERM HUP
	"stage_$provider" "$input" "$STAGE"

	box="$out/xenbox-$provider.box"
	log "writing $box"
	tar -C "$STAGE" -cf "$BOX_TMP" --sparse .
	mv -f "$BOX_TMP" "$box"
	write_catalog "$out/metadata.json" "$name" "$version" "$provider" "$box"
	log "box $name $version ($provider) ready; add it with: vagrant box add $out/metadata.json"
}

main "$@"
