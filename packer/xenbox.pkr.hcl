# xenbox.pkr.hcl: bake the xenbox Vagrant box, a Debian 12 Xen dom0 ready for `xenbox debug`.
#
# Packer boots the base image, the xenbox provisioner runs the project's provisioners in it
# (the same scripts Vagrant runs), reboots it into the hypervisor with gdbsx support and checks
# it, and vagrant/package-box.sh packs the disk as a box with a catalog in box_dir.
#
#   make box                          offline, from a base image made on this machine
#   packer build -only=qemu.libvirt packer/xenbox.pkr.hcl    from Debian's cloud image
#   packer build -only=virtualbox-iso.virtualbox packer/xenbox.pkr.hcl
#       the VirtualBox box, installed from Debian's netinst ISO by packer/virtualbox/preseed.cfg
#       and provisioned with the hypervisor, gdbsx and PV-GRUB built in the VM (it needs
#       VirtualBox and the network). Run it after `make box`'s packer and plugin steps, with
#       their Packer and PACKER_PLUGIN_PATH: packer/install-packer.sh, then the xenbox plugin
#       and build/linux-amd64/xenbox built and installed as packer/build-box.sh does.
#
# Build from the repository's top directory: paths below are relative to it.

packer {
  required_version = ">= 1.11.0"
  required_plugins {
    qemu = {
      source  = "github.com/hashicorp/qemu"
      version = "= 1.1.7"
    }
    virtualbox = {
      source  = "github.com/hashicorp/virtualbox"
      version = "= 1.0.0"
    }
    xenbox = {
      source  = "github.com/xenbox/xenbox"
      version = "= 0.1.0"
    }
  }
}

# Base image.

variable "base_image" {
  type        = string
  description = "URL or path of the Debian 12 disk image the box starts from."
  default     = "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-generic-amd64.qcow2"
}

variable "base_image_checksum" {
  type        = string
  description = "Checksum of base_image, as Packer's iso_checksum takes it (\"sha256:...\" or \"file:URL\")."
  default     = "file:https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS"
}

variable "cloud_init" {
  type        = bool
  description = "Give the VM a cloud-init seed creating the vagrant user (true for Debian's cloud images; false for an image that already has the user, like the one packer/base-image.sh makes)."
  default     = true
}

variable "offline" {
  type        = bool
  description = "Cut the VM off from every network but its SSH forward. Needs a base image with the provisioners' packages in its apt cache and prebuilt hypervisor, gdbsx and PV-GRUB."
  default     = false
}

variable "ssh_private_key_file" {
  type        = string
  description = "Vagrant's insecure private key (its public half is in the box, as Vagrant base boxes have). Empty means ~/.vagrant.d/insecure_private_key."
  default     = ""
}

# VirtualBox installer ISO.

variable "virtualbox_iso_url" {
  type        = string
  description = "URL or path of the Debian 12 netinst ISO the VirtualBox build installs from."
  default     = "https://cdimage.debian.org/cdimage/archive/12.15.0/amd64/iso-cd/debian-12.15.0-amd64-netinst.iso"
  validation {
    condition     = can(regex("\\.iso$", var.virtualbox_iso_url))
    error_message = "The virtualbox_iso_url must name an .iso file."
  }
}

variable "virtualbox_iso_checksum" {
  type        = string
  description = "Checksum of virtualbox_iso_url, as Packer's iso_checksum takes it: \"sha256:...\" or \"file:\" and the URL or path of a checksum file listing the ISO."
  default     = "file:https://cdimage.debian.org/cdimage/archive/12.15.0/amd64/iso-cd/SHA256SUMS"
  validation {
    condition     = can(regex("^(file:.+|sha256:[0-9a-fA-F]{64}|sha512:[0-9a-fA-F]{128})$", var.virtualbox_iso_checksum))
    error_message = "The virtualbox_iso_checksum must be sha256:<64 hex digits>, sha512:<128 hex digits> or file:<checksum file>."
  }
}

variable "virtualbox_localhost_reachable" {
  type        = bool
  description = "Let the installer reach Packer's HTTP server on the host's 127.0.0.1 through VirtualBox's NAT (--nat-localhostreachable1). VirtualBox 7 needs it; set false for VirtualBox 6.1, which lacks the option."
  default     = true
}

# VM resources.

variable "accelerator" {
  type        = string
  description = "QEMU accelerator: kvm, hvf or tcg (software emulation, slow but works everywhere)."
  default     = "kvm"
  validation {
    condition     = contains(["kvm", "hvf", "tcg", "whpx"], var.accelerator)
    error_message = "The accelerator must be kvm, hvf, tcg or whpx."
  }
}

variable "cpu_model" {
  type        = string
  description = "QEMU CPU model. Xen's PV dom0 crashes under TCG with -cpu max; qemu64 works with any accelerator."
  default     = "qemu64"
}

variable "vm_memory" {
  type        = number
  description = "Memory of the build VM in MiB; dom0 gets dom0_memory of it under Xen."
  default     = 3072
  validation {
    condition     = var.vm_memory >= 2048
    error_message = "The vm_memory must be at least 2048 MiB: dom0 needs 1 GiB and the guests need room."
  }
}

variable "vm_cpus" {
  type        = number
  description = "vCPUs of the build VM."
  default     = 2
  validation {
    condition     = var.vm_cpus >= 1 && var.vm_cpus <= 64
    error_message = "The vm_cpus must be between 1 and 64."
  }
}

variable "disk_size" {
  type        = string
  description = "Size of the box's disk; at least the base image's virtual size."
  default     = "16G"
  validation {
    condition     = can(regex("^[0-9]+[GT]$", var.disk_size))
    error_message = "The disk_size must look like 16G."
  }
}

# What the box contains: the xenbox provisioner's options.

variable "xenbox_binary" {
  type        = string
  description = "The xenbox binary for linux/amd64 installed in the box (make box builds it)."
  default     = "build/linux-amd64/xenbox"
}

variable "hypervisor" {
  type        = string
  description = "A Xen hypervisor (xen.gz) built with gdbsx support outside the VM, uploaded instead of built in it. Empty builds it in the VM (needs the network and takes long under emulation)."
  default     = ""
}

variable "gdbsx" {
  type        = string
  description = "A gdbsx binary built outside the VM; empty builds it in the VM."
  default     = ""
}

variable "pvgrub_dir" {
  type        = string
  description = "A directory with prebuilt PV-GRUB images; empty builds them in the VM."
  default     = ""
}

variable "pvgrub_variants" {
  type        = list(string)
  description = "PV-GRUB images to install: hd0 reads (hd0)/boot/grub/menu.lst, hd00 reads (hd0,0)/boot/grub/menu.lst."
  default     = ["hd0", "hd00"]
  validation {
    condition     = length(var.pvgrub_variants) > 0 && alltrue([for v in var.pvgrub_variants : contains(["hd0", "hd00"], v)])
    error_message = "The pvgrub_variants must be a non-empty list of hd0 and hd00."
  }
}

variable "bridge_mode" {
  type        = string
  description = "standalone: xenbr0 has its own subnet with DHCP and NAT; uplink: xenbr0 bridges the VM's uplink."
  default     = "standalone"
  validation {
    condition     = contains(["standalone", "uplink"], var.bridge_mode)
    error_message = "The bridge_mode must be standalone or uplink."
  }
}

variable "bridge_dhcp_range" {
  type        = string
  description = "first,last addresses dnsmasq leases on xenbr0; empty means .100 to .199 of a /24 bridge_subnet (required for other prefixes)."
  default     = ""
}

variable "bridge_uplink" {
  type        = string
  description = "The interface xenbr0 bridges in uplink mode."
  default     = "eth0"
}

variable "bridge_subnet" {
  type        = string
  description = "xenbr0's address and prefix in standalone mode."
  default     = "10.99.0.1/24"
  validation {
    condition     = can(cidrhost(var.bridge_subnet, 0))
    error_message = "The bridge_subnet must be an address with a prefix, like 10.99.0.1/24."
  }
}

variable "dom0_memory" {
  type        = string
  description = "Memory of dom0 under Xen, as Xen's dom0_mem takes it."
  default     = "1024M"
  validation {
    condition     = can(regex("^[0-9]+[MG]$", var.dom0_memory))
    error_message = "The dom0_memory must look like 1024M or 2G."
  }
}

variable "default_user_data" {
  type        = string
  description = "User-data the metadata service gives guests that have none of their own; empty means {}."
  default     = ""
}

variable "extra_packages" {
  type        = list(string)
  description = "More Debian packages to install in the box."
  default     = []
}

# Output.

variable "output_dir" {
  type        = string
  description = "Where Packer writes the VM's disk; it must not exist."
  default     = "build/packer-libvirt"
}

variable "virtualbox_output_dir" {
  type        = string
  description = "Where the VirtualBox build exports the VM (.ovf and its disk); it must not exist."
  default     = "build/packer-virtualbox"
}

variable "serial_log" {
  type        = string
  description = "Where the build VM's serial console (GRUB, Xen, dom0) is written; outside output_dir, which Packer deletes when a build fails."
  default     = "build/box-serial.log"
}

variable "box_dir" {
  type        = string
  description = "Where the box and its catalog metadata.json go."
  default     = "build"
}

variable "box_version" {
  type = string
  validation {
    condition     = can(regex("^([0-9]+[.][0-9]+[.][0-9]+)?$", var.box_version))
    error_message = "The box_version must look like 1.2.3 (Vagrant's box versions), or be empty."
  }
  description = "The box's version in the catalog; empty means 0.1.<UTC timestamp>."
  default     = ""
}

variable "disk_compression" {
  type        = bool
  description = "Compress the box's qcow2 disk: a smaller box, a slower build."
  default     = true
}

locals {
  ssh_private_key_file = var.ssh_private_key_file != "" ? var.ssh_private_key_file : pathexpand("~/.vagrant.d/insecure_private_key")
  vagrant_public_key   = "ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr+kz4TjGYe7gHzIw+niNltGEFHzD8+v1I2YJ6oXevct1YeS0o9HZyN1Q9qgCgzUFtdOKLv6IedplqoPkcmF0aYet2PkEDo3MlTBckFXPITAMzF8dJSIFo9D8HfdOV0IAdx4O7PtixWKn5y2hMNG0zQPyUecp4pzC6kivAIhyfHilFR61RGL+GPXQ2MWZWFYbAGjyiYJnAmCP3NOTd0jMZEnDkbUvxhMmBYSdETk1rRgm+R4LOzFUGaHqHDLKLX+FIPKcF96hrucXzcWyLbIbEgE98OHlnVYCzRdK8jlqm8tehUc9c9WhQ== vagrant insecure public key"
  cloud_init_user_data = <<-CLOUDINIT
    #cloud-config
    users:
      - name: vagrant
        shell: /bin/bash
        sudo: "ALL=(ALL) NOPASSWD:ALL"
        ssh_authorized_keys:
          - ${local.vagrant_public_key}
    CLOUDINIT
  # The SSH forward listens on 127.0.0.1 only; offline, QEMU's user network routes nowhere.
  netdev  = "user,id=user.0,hostfwd=tcp:127.0.0.1:{{ .SSHHostPort }}-:22${var.offline ? ",restrict=on" : ""}"
  vm_name = "xenbox.qcow2"

  # VirtualBox takes the disk size in MiB.
  virtualbox_disk_mib = parseint(regex("^[0-9]+", var.disk_size), 10) * (regex("[GT]$", var.disk_size) == "T" ? 1048576 : 1024)
  virtualbox_vboxmanage = concat([
    # Xen boots as dom0 only when VirtualBox offers no paravirtualisation interface of its own.
    ["modifyvm", "{{ .Name }}", "--paravirtprovider", "none"],
    ["modifyvm", "{{ .Name }}", "--uart1", "0x3F8", "4", "--uartmode1", "file", abspath("${var.virtualbox_output_dir}/serial.log")],
    ], var.virtualbox_localhost_reachable ? [
    ["modifyvm", "{{ .Name }}", "--nat-localhostreachable1", "on"],
  ] : [])
}

source "qemu" "libvirt" {
  iso_url          = var.base_image
  iso_checksum     = var.base_image_checksum
  disk_image       = true
  use_backing_file = false
  format           = "qcow2"
  disk_size        = var.disk_size
  disk_interface   = "virtio"
  disk_compression = var.disk_compression
  skip_compaction  = !var.disk_compression
  net_device       = "virtio-net"
  accelerator      = var.accelerator
  cpu_model        = var.cpu_model
  memory           = var.vm_memory
  cpus             = var.vm_cpus
  headless         = true
  vnc_bind_address = "127.0.0.1"
  output_directory = var.output_dir
  vm_name          = local.vm_name
  qemuargs = [
    ["-netdev", local.netdev],
    ["-serial", "file:${var.serial_log}"],
  ]
  cd_content = var.cloud_init ? {
    "meta-data" = "instance-id: xenbox-build\nlocal-hostname: xenbox\n"
    "user-data" = local.cloud_init_user_data
  } : {}
  cd_label = "cidata"

  communicator         = "ssh"
  ssh_username         = "vagrant"
  ssh_private_key_file = local.ssh_private_key_file
  ssh_timeout          = "30m"
  shutdown_command     = "sudo systemctl poweroff"
  shutdown_timeout     = "15m"
}

# The VirtualBox box: Debian 12 installed from its netinst ISO by the installer's preseeding,
# then provisioned as the libvirt box is.
# Limitation: VirtualBox on Apple silicon runs only arm64 guests; this box is amd64, so it
# builds and runs on Intel Macs and x86-64 Linux or Windows hosts only.
source "virtualbox-iso" "virtualbox" {
  iso_url              = var.virtualbox_iso_url
  iso_checksum         = var.virtualbox_iso_checksum
  iso_interface        = "sata"
  guest_os_type        = "Debian_64"
  hard_drive_interface = "sata"
  disk_size            = local.virtualbox_disk_mib
  memory               = var.vm_memory
  cpus                 = var.vm_cpus
  headless             = true
  guest_additions_mode = "disable"
  vrdp_bind_address    = "127.0.0.1"
  vboxmanage           = local.virtualbox_vboxmanage
  # The box keeps no serial log file (its path is this machine's) and no remote display.
  vboxmanage_post = [
    ["modifyvm", "{{ .Name }}", "--uart1", "off"],
    ["modifyvm", "{{ .Name }}", "--vrde", "off"],
  ]
  output_directory = var.virtualbox_output_dir
  vm_name          = "xenbox"
  format           = "ovf"

  http_bind_address = "127.0.0.1"
  http_content = {
    "/preseed.cfg" = templatefile(abspath("${path.root}/virtualbox/preseed.cfg"), { vagrant_public_key = local.vagrant_public_key })
  }
  boot_wait = "5s"
  boot_command = [
    "<esc><wait>",
    "auto preseed/url=http://{{ .HTTPIP }}:{{ .HTTPPort }}/preseed.cfg ",
    "debian-installer/locale=en_US.UTF-8 keyboard-configuration/xkb-keymap=us ",
    "netcfg/get_hostname=xenbox netcfg/get_domain= net.ifnames=0 ",
    "<enter>",
  ]

  # The plugin forwards SSH from 127.0.0.1 only.
  communicator         = "ssh"
  ssh_username         = "vagrant"
  ssh_private_key_file = local.ssh_private_key_file
  ssh_timeout          = "60m"
  shutdown_command     = "sudo systemctl poweroff"
  shutdown_timeout     = "15m"
}

build {
  description = "The xenbox Vagrant box: Xen 4.17 with gdbsx support, gdbsx, PV-GRUB, xenbr0 and the EC2 metadata service."
  sources     = ["source.qemu.libvirt", "source.virtualbox-iso.virtualbox"]

  provisioner "xenbox" {
    xenbox_binary     = var.xenbox_binary
    hypervisor        = var.hypervisor
    gdbsx             = var.gdbsx
    pvgrub_dir        = var.pvgrub_dir
    pvgrub_variants   = var.pvgrub_variants
    bridge_mode       = var.bridge_mode
    bridge_subnet     = var.bridge_subnet
    bridge_dhcp_range = var.bridge_dhcp_range
    bridge_uplink     = var.bridge_uplink
    dom0_memory       = var.dom0_memory
    default_user_data = var.default_user_data
    extra_packages    = var.extra_packages
  }

  post-processor "shell-local" {
    only = ["qemu.libvirt"]
    # The paths reach the script through the environment, so no shell reads them as code.
    environment_vars = ["BOX_INPUT=${var.output_dir}/${local.vm_name}", "BOX_DIR=${var.box_dir}", "BOX_VERSION=${var.box_version}"]
    inline           = ["vagrant/package-box.sh --provider libvirt --input \"$BOX_INPUT\" --out \"$BOX_DIR\" $${BOX_VERSION:+--version \"$BOX_VERSION\"}"]
  }

  post-processor "shell-local" {
    only             = ["virtualbox-iso.virtualbox"]
    environment_vars = ["BOX_INPUT=${var.virtualbox_output_dir}", "BOX_DIR=${var.box_dir}", "BOX_VERSION=${var.box_version}"]
    inline           = ["vagrant/package-box.sh --provider virtualbox --input \"$BOX_INPUT\" --out \"$BOX_DIR\" $${BOX_VERSION:+--version \"$BOX_VERSION\"}"]
  }
}
