package provisioner

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/xenbox/xenbox/provisioners"
)

// Where the prebuilt pieces go under remote_dir.
const (
	prebuiltDir        = "prebuilt"
	remoteXenboxName   = "prebuilt/xenbox"
	remoteHypervisor   = "prebuilt/xen.gz"
	remoteGDBSX        = "prebuilt/gdbsx"
	remotePVGrubSubdir = "prebuilt/pvgrub"
)

// scriptStep is one provisioner script run with its action.
type scriptStep struct {
	Script string // file name in provisioners/, e.g. hypervisor.sh
	Action string // its first argument, e.g. install; empty for scripts that take none
}

func (s scriptStep) String() string {
	if s.Action == "" {
		return s.Script
	}
	return s.Script + " " + s.Action
}

// scriptSteps are the provisioners in the order they build on each other. A piece given
// prebuilt is installed; one not given is built in the VM ("all").
//
// Limitation: with bridge_mode "uplink", network.sh moves the VM's address onto xenbr0 while
// Packer's SSH connection runs over that interface, so the connection may drop (and the VM may
// get another DHCP address) mid-build; "standalone" leaves the uplink alone and is the mode
// to bake with.
func (p *Provisioner) scriptSteps() []scriptStep {
	return []scriptStep{
		{Script: "xen.sh"},
		{Script: "hypervisor.sh", Action: installOrAll(p.config.Hypervisor)},
		{Script: "gdbsx.sh", Action: installOrAll(p.config.GDBSX)},
		{Script: "pvgrub.sh", Action: installOrAll(p.config.PVGrubDir)},
		{Script: "network.sh"},
		{Script: "metadata.sh"},
	}
}

func installOrAll(prebuilt string) string {
	if prebuilt != "" {
		return "install"
	}
	return "all"
}

// scriptEnvironment is the environment every provisioner script runs with; each script reads
// the variables its header lists and ignores the others.
func (c *Config) scriptEnvironment() map[string]string {
	env := map[string]string{
		"XENBOX_DOM0_MEM":           c.Dom0Memory,
		"XENBOX_PVGRUB_VARIANTS":    strings.Join(c.PVGrubVariants, " "),
		"XENBOX_BRIDGE_MODE":        c.BridgeMode,
		"XENBOX_BRIDGE_SUBNET":      c.BridgeSubnet,
		"XENBOX_BRIDGE_UPLINK":      c.BridgeUplink,
		"XENBOX_BRIDGE_DHCP_RANGE":  c.BridgeDHCPRange,
		"XENBOX_PACKAGES":           strings.Join(c.ExtraPackages, " "),
		"XENBOX_METADATA_USER_DATA": c.DefaultUserData,
	}
	if c.Hypervisor != "" {
		env["XENBOX_HYPERVISOR"] = c.remotePath(remoteHypervisor)
	}
	if c.GDBSX != "" {
		env["XENBOX_GDBSX"] = c.remotePath(remoteGDBSX)
	}
	if c.PVGrubDir != "" {
		env["XENBOX_PVGRUB_DIR"] = c.remotePath(remotePVGrubSubdir)
	}
	for name, value := range env {
		if value == "" {
			delete(env, name)
		}
	}
	return env
}

func (c *Config) remotePath(name string) string {
	return path.Join(c.RemoteDir, name)
}

func (p *Provisioner) remoteXenbox() string {
	return p.config.remotePath(remoteXenboxName)
}

// localUpload is a file of this machine to copy into remote_dir.
type localUpload struct {
	Local  string
	Remote string // relative to remote_dir
}

// prebuiltUploads are the xenbox binary and whichever prebuilt pieces the configuration gives,
// each with the version file beside it that its provisioner reads.
func (c *Config) prebuiltUploads() []localUpload {
	uploads := []localUpload{{Local: c.XenboxBinary, Remote: remoteXenboxName}}
	if c.Hypervisor != "" {
		uploads = append(uploads, localUpload{Local: c.Hypervisor, Remote: remoteHypervisor})
		if _, err := os.Stat(c.Hypervisor + ".version"); err == nil {
			uploads = append(uploads, localUpload{Local: c.Hypervisor + ".version",
				Remote: remoteHypervisor + ".version"})
		}
	}
	if c.GDBSX != "" {
		uploads = append(uploads, localUpload{Local: c.GDBSX, Remote: remoteGDBSX},
			localUpload{Local: c.GDBSX + ".xen-version", Remote: remoteGDBSX + ".xen-version"})
	}
	if c.PVGrubDir != "" {
		for _, variant := range c.PVGrubVariants {
			uploads = append(uploads, localUpload{
				Local:  path.Join(c.PVGrubDir, pvgrubImage(variant)),
				Remote: path.Join(remotePVGrubSubdir, pvgrubImage(variant)),
			})
		}
	}
	return uploads
}

// upload creates remote_dir and copies into it the embedded provisioners (with their modes
// and the patches/ directory) and the prebuilt pieces. The SSH user owns remote_dir, so no
// root is needed yet.
func (p *Provisioner) upload(ctx context.Context, vm *guest) error {
	dirs := []string{p.config.remotePath("patches"),
		p.config.remotePath(prebuiltDir), p.config.remotePath(remotePVGrubSubdir)}
	quoted := make([]string, len(dirs))
	for i, dir := range dirs {
		quoted[i] = shellQuote(dir)
	}
	// remote_dir is removed when the provisioner is done, so it must be a new directory: a
	// plain mkdir refuses one that exists (a home or system directory named by mistake).
	remote := shellQuote(p.config.RemoteDir)
	if err := vm.stream(ctx, "create "+p.config.RemoteDir,
		"mkdir -p \"$(dirname "+remote+")\" && mkdir "+remote+" && mkdir -p "+
			strings.Join(quoted, " ")); err != nil {
		return fmt.Errorf("%w (remote_dir must not exist in the VM: it is removed at the end; "+
			"name a new directory)", err)
	}

	names, err := provisioners.Names()
	if err != nil {
		return fmt.Errorf("list the embedded provisioners: %w", err)
	}
	for _, name := range names {
		content, err := provisioners.Files.ReadFile(name)
		if err != nil {
			return fmt.Errorf("read the embedded provisioner %s: %w", name, err)
		}
		err = vm.upload(p.config.remotePath(name), bytes.NewReader(content),
			int64(len(content)), provisioners.Mode(name))
		if err != nil {
			return err
		}
	}

	for _, file := range p.config.prebuiltUploads() {
		if err := uploadLocalFile(vm, file.Local, p.config.remotePath(file.Remote)); err != nil {
			return err
		}
	}
	return nil
}

// uploadLocalFile copies a file of this machine into the VM with the mode it has here.
func uploadLocalFile(vm *guest, local, remote string) error {
	file, err := os.Open(local)
	if err != nil {
		return fmt.Errorf("upload %s: %w", local, err)
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return fmt.Errorf("upload %s: %w", local, err)
	}
	return vm.upload(remote, file, info.Size(), info.Mode().Perm())
}

// pvgrubImage is the file name of the PV-GRUB image of a layout, as pvgrub.sh names it.
func pvgrubImage(variant string) string {
	return "pv-grub-" + variant + "-x86_64.bin"
}
