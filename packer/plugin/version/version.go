// Package version is the version of the xenbox Packer plugin, which Packer shows and checks
// when it installs the plugin that bakes the box.
package version

import "github.com/hashicorp/packer-plugin-sdk/version"

// Version is the plugin's release, without prerelease.
const Version = "0.1.0"

// VersionPrerelease marks a build that is not a release, e.g. "dev"; empty for a release.
const VersionPrerelease = ""

// PluginVersion is what the plugin reports to Packer in `describe`.
var PluginVersion = version.NewPluginVersion(Version, VersionPrerelease, "")
