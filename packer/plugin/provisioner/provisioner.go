//go:generate go tool packer-sdc mapstructure-to-hcl2 -type Config

// Package provisioner is the Packer provisioner that bakes the xenbox box: it turns the Debian 12
// VM of a Packer build into a Xen dom0 with the project's provisioner scripts (the same ones
// Vagrant and the tests run), reboots it into Xen and checks the result, so that a box that
// cannot run a debug session is never produced.
package provisioner

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/packer-plugin-sdk/common"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"
)

// Config is the provisioner's configuration, as written in a template's `provisioner "xenbox"`
// block.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`

	// Local path of a static linux/amd64 xenbox binary. It is installed in the VM as
	// /usr/local/bin/xenbox, where it runs the metadata service and `xenbox doctor`.
	XenboxBinary string `mapstructure:"xenbox_binary" required:"true"`
	// Local path of a Xen hypervisor (xen.gz) built with gdbsx support, installed instead of
	// building one inside the VM. A `<path>.version` file next to it, when present, names its
	// Xen version. Empty: the VM builds it, which is slow and needs Debian's mirror.
	Hypervisor string `mapstructure:"hypervisor"`
	// Local path of a prebuilt gdbsx, with the Xen version it was built from in
	// `<path>.xen-version` next to it. Empty: the VM builds it.
	GDBSX string `mapstructure:"gdbsx"`
	// Local directory holding prebuilt pv-grub-VARIANT-x86_64.bin images, one per variant of
	// pvgrub_variants. Empty: the VM builds them.
	PVGrubDir string `mapstructure:"pvgrub_dir"`
	// PV-GRUB layouts to install: "hd0" (filesystem on the whole disk) and "hd00" (first
	// partition). Default: both.
	PVGrubVariants []string `mapstructure:"pvgrub_variants"`
	// "standalone" (default): xenbr0 has a subnet of its own with DHCP and NAT. "uplink":
	// xenbr0 bridges the uplink interface.
	BridgeMode string `mapstructure:"bridge_mode"`
	// Standalone mode: the bridge's address and prefix. Default: 10.99.0.1/24.
	BridgeSubnet string `mapstructure:"bridge_subnet"`
	// Standalone mode: "first,last" address leased to guests. Default: .100 to .199 of a /24;
	// required for other prefixes.
	BridgeDHCPRange string `mapstructure:"bridge_dhcp_range"`
	// Uplink mode: the interface bridged. Default: eth0.
	BridgeUplink string `mapstructure:"bridge_uplink"`
	// Memory of dom0, as Xen's dom0_mem takes it, e.g. 1024M or 2G; at least 512M.
	// Default: 1024M.
	Dom0Memory string `mapstructure:"dom0_memory"`
	// User-data the metadata service gives guests that have none of their own, at most 16 KiB.
	// Empty: the service's default, `{}`.
	DefaultUserData string `mapstructure:"default_user_data"`
	// Further Debian packages to install in dom0.
	ExtraPackages []string `mapstructure:"extra_packages"`
	// Directory in the VM the provisioners and prebuilt pieces are uploaded to; removed at the
	// end. Default: /tmp/xenbox.
	RemoteDir string `mapstructure:"remote_dir"`
	// How long the VM may take to reboot into Xen. Default: 15m (the VM is emulated and slow).
	RebootTimeout time.Duration `mapstructure:"reboot_timeout"`
	// How a command runs as root, with {{.Vars}} (the environment, NAME='value' pairs) and
	// {{.Command}}. Default: `sudo env {{.Vars}} {{.Command}}`.
	ExecuteCommand string `mapstructure:"execute_command"`

	ctx interpolate.Context
}

// Provisioner makes a Debian 12 VM a xenbox dom0.
type Provisioner struct {
	config Config

	// pollInterval is how long to wait between questions to a VM that is rebooting or whose
	// services are starting; zero means defaultPollInterval.
	pollInterval time.Duration
	// metadataWait bounds how long the metadata service may take to answer after the reboot;
	// zero means defaultMetadataWait.
	metadataWait time.Duration
}

// ConfigSpec tells Packer the HCL schema of Config.
func (p *Provisioner) ConfigSpec() hcldec.ObjectSpec {
	return p.config.FlatMapstructure().HCL2Spec()
}

// Prepare decodes the configuration, fills in the defaults and rejects invalid values, each
// error naming its option.
func (p *Provisioner) Prepare(raws ...interface{}) error {
	// No legacy {{ }} interpolation: HCL has already evaluated the template, and the SDK
	// would reject user-data that merely contains "{{". execute_command is rendered per
	// command instead.
	err := config.Decode(&p.config, &config.DecodeOpts{
		PluginType:  "xenbox",
		Interpolate: false,
	}, raws...)
	if err != nil {
		return err
	}

	p.config.setDefaults()
	return p.config.validate()
}

// Provision uploads the provisioners, runs them as root, reboots the VM into Xen and checks
// it, streaming every step's output to ui.
func (p *Provisioner) Provision(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator,
	_ map[string]interface{}) error {
	vm := &guest{comm: comm, ui: ui, executeCommand: p.config.ExecuteCommand,
		templateContext: p.config.ctx}

	ui.Say(fmt.Sprintf("Uploading the xenbox provisioners to %s", p.config.RemoteDir))
	if err := p.upload(ctx, vm); err != nil {
		return err
	}

	ui.Say("Installing xenbox as /usr/local/bin/xenbox")
	install := "install -m 0755 " + shellQuote(p.remoteXenbox()) + " /usr/local/bin/xenbox"
	if err := vm.runAsRoot(ctx, "install xenbox", install, nil); err != nil {
		return err
	}

	for _, step := range p.scriptSteps() {
		if err := p.runScript(ctx, vm, step); err != nil {
			return err
		}
	}

	ui.Say("Rebooting into Xen")
	if err := p.rebootIntoXen(ctx, vm); err != nil {
		return err
	}

	ui.Say("Checking the dom0")
	if err := p.verify(ctx, vm); err != nil {
		return err
	}

	ui.Say(fmt.Sprintf("Removing %s", p.config.RemoteDir))
	return vm.runAsRoot(ctx, "remove "+p.config.RemoteDir,
		"rm -rf "+shellQuote(p.config.RemoteDir), nil)
}

// runScript runs one provisioner script as root with the configuration's environment and
// says how long it took: building Xen pieces inside an emulated VM takes minutes.
func (p *Provisioner) runScript(ctx context.Context, vm *guest, step scriptStep) error {
	started := time.Now()
	ui := vm.ui
	ui.Say(fmt.Sprintf("Running %s", step))

	command := shellQuote(p.config.RemoteDir + "/" + step.Script)
	if step.Action != "" {
		command += " " + step.Action
	}
	if err := vm.runAsRoot(ctx, step.String(), command, p.config.scriptEnvironment()); err != nil {
		return err
	}

	ui.Say(fmt.Sprintf("%s done in %s", step, time.Since(started).Round(time.Second)))
	return nil
}
