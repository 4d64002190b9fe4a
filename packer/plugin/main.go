// Command packer-plugin-xenbox is the Packer plugin that bakes the xenbox Vagrant box: its
// provisioner, of type `xenbox`, turns a Debian 12 VM into a Xen dom0 with the project's
// provisioner scripts, reboots it into Xen and checks it.
package main

import (
	"fmt"
	"os"

	"github.com/hashicorp/packer-plugin-sdk/plugin"

	"github.com/xenbox/xenbox/packer/plugin/provisioner"
	"github.com/xenbox/xenbox/packer/plugin/version"
)

func main() {
	plugins := plugin.NewSet()
	plugins.RegisterProvisioner(plugin.DEFAULT_NAME, new(provisioner.Provisioner))
	plugins.SetVersion(version.PluginVersion)

	if err := plugins.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
