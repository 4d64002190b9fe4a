package doctor

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/go-version"

	"github.com/xenbox/xenbox/tools/session"
	"github.com/xenbox/xenbox/tools/xen"
)

// Names of the checks, as the table shows them.
const (
	CheckXen        = "xen running"
	CheckHypervisor = "hypervisor gdbsx support"
	CheckGDBSX      = "gdbsx matches xen"
	CheckPVGrub     = "pv-grub present"
	CheckPort       = "gdbsx port free"
	CheckLocalGDB   = "gdb on this machine"
)

// MinGDBMajor is the oldest gdb major version known to debug Xen PV guests through gdbsx.
const MinGDBMajor = 8

// Fixes for failures that need the box provisioned again.
const (
	fixXen = "boot the box into Xen (the Xen entry of its GRUB menu) and check that " +
		"`xl info` works as root"
	fixHypervisor = "boot the rebuilt hypervisor /boot/xen-*-gdbsx.gz (make it GRUB's " +
		"default), or run provisioners/hypervisor.sh in the box and reboot it"
	fixGDBSX  = "run provisioners/gdbsx.sh in the box to build gdbsx from the running Xen's source"
	fixPVGrub = "run the pvgrub provisioner (provisioners/pvgrub.sh) in the box, or boot " +
		"with --direct"
	fixLocalGDB = "install gdb 8 or newer on this machine (apt-get install gdb), or point " +
		"the GDB environment variable at one"
)

func checkXen(ctx context.Context, host Host) (Check, xen.HostInfo) {
	info, err := host.XL.Info(ctx)
	if err != nil {
		return failed(CheckXen, err.Error(), fixXen), xen.HostInfo{}
	}
	if info.XenVersion == nil {
		return failed(CheckXen, "xl info names no xen_version", fixXen), info
	}
	return passed(CheckXen, "Xen "+info.XenVersion.Original()+" in "+host.Runner.Where()), info
}

// checkHypervisorGDBSX reads the hypervisor's build config when hypfs offers it, then proves
// gdbsx support by attaching to a tiny paused probe domain.
func checkHypervisorGDBSX(ctx context.Context, host Host, xenRunning bool) Check {
	if !xenRunning {
		return failed(CheckHypervisor, "not checked: Xen is not running", fixXen)
	}
	config, err := host.Runner.Output(ctx, "xenhypfs", "cat", "/buildinfo/config")
	if err == nil && !strings.Contains(string(config), "CONFIG_GDBSX=y") {
		return failed(CheckHypervisor, "the hypervisor's build config has no CONFIG_GDBSX=y",
			fixHypervisor)
	}

	found, err := host.Box.Exists(ctx, session.PVGrubWholeDiskPath)
	if err != nil || !found {
		return failed(CheckHypervisor, "not probed: the probe domain boots "+
			session.PVGrubWholeDiskPath+", which is missing", fixPVGrub)
	}
	detail, err := probeGDBSX(ctx, host)
	if err != nil {
		return failed(CheckHypervisor, err.Error(), fixHypervisor)
	}
	return passed(CheckHypervisor, detail)
}

// ProbeDomain is the name of the paused domain the gdbsx probe creates and always destroys.
const ProbeDomain = "xenbox-doctor-probe"

func probeGDBSX(ctx context.Context, host Host) (string, error) {
	if err := createProbe(ctx, host); err != nil {
		return "", err
	}
	defer destroyProbe(context.WithoutCancel(ctx), host)

	domID, err := host.XL.DomID(ctx, ProbeDomain)
	if err != nil {
		return "", fmt.Errorf("probe domain: %w", err)
	}
	output, err := host.Runner.Output(ctx, session.GDBSXPath, "-c", strconv.Itoa(domID), "64")
	if err != nil || strings.Contains(string(output), "NOT enabled") {
		return "", fmt.Errorf("gdbsx cannot attach to a probe domain: %s %v",
			strings.TrimSpace(string(output)), err)
	}
	return "gdbsx attached to a probe domain", nil
}

// probeConfig is an xl config of a domain that only needs the PV-GRUB binary: no disk, no
// network, paused and destroyed right away.
func probeConfig() []byte {
	return []byte(fmt.Sprintf("name = %q\ntype = \"pv\"\nkernel = %q\nmemory = 32\nvcpus = 1\n"+
		"on_crash = \"destroy\"\n", ProbeDomain, session.PVGrubWholeDiskPath))
}

func createProbe(ctx context.Context, host Host) error {
	destroyProbe(ctx, host) // a probe left by an interrupted doctor run
	configPath := session.ConfigPath(ProbeDomain)
	if err := host.Box.WriteFile(ctx, configPath, probeConfig()); err != nil {
		return fmt.Errorf("write the probe domain's config: %w", err)
	}
	if err := host.XL.Create(ctx, configPath, true); err != nil {
		return fmt.Errorf("create the probe domain: %w", err)
	}
	return nil
}

// destroyProbe removes the probe domain and its config; a probe that does not exist is fine.
func destroyProbe(ctx context.Context, host Host) {
	if _, err := host.XL.DomID(ctx, ProbeDomain); err == nil {
		_ = host.XL.Destroy(ctx, ProbeDomain)
	}
	_ = host.Box.Remove(ctx, session.ConfigPath(ProbeDomain))
}

// checkGDBSX checks that gdbsx is installed and was built from the running Xen's version,
// since gdbsx and the hypervisor must agree on the domctl interface.
func checkGDBSX(ctx context.Context, host Host, info xen.HostInfo) Check {
	found, err := host.Box.Exists(ctx, session.GDBSXPath)
	if err != nil {
		return failed(CheckGDBSX, err.Error(), fixGDBSX)
	}
	if !found {
		return failed(CheckGDBSX, session.GDBSXPath+" is missing", fixGDBSX)
	}

	text, err := host.Box.ReadFile(ctx, session.GDBSXVersionPath)
	if err != nil {
		return failed(CheckGDBSX, "cannot tell which Xen gdbsx was built from: "+err.Error(),
			fixGDBSX)
	}
	built, err := version.NewVersion(strings.TrimSpace(string(text)))
	if err != nil {
		return failed(CheckGDBSX, fmt.Sprintf("%s: %v", session.GDBSXVersionPath, err), fixGDBSX)
	}
	if info.XenVersion == nil {
		return failed(CheckGDBSX, "gdbsx built for Xen "+built.Original()+
			", running Xen unknown", fixXen)
	}
	if !sameRelease(built, info.XenVersion) {
		return failed(CheckGDBSX, fmt.Sprintf("gdbsx built for Xen %s, Xen %s is running",
			built.Original(), info.XenVersion.Original()), fixGDBSX)
	}
	return passed(CheckGDBSX, "gdbsx built for Xen "+built.Original())
}

// sameRelease compares major.minor.patch, ignoring suffixes such as "-pre".
func sameRelease(a, b *version.Version) bool {
	sa, sb := a.Segments(), b.Segments()
	for i := 0; i < 3; i++ {
		if segment(sa, i) != segment(sb, i) {
			return false
		}
	}
	return true
}

func segment(segments []int, i int) int {
	if i < len(segments) {
		return segments[i]
	}
	return 0
}

func checkPVGrub(ctx context.Context, host Host) Check {
	var missing []string
	for _, path := range []string{session.PVGrubWholeDiskPath, session.PVGrubPartitionedPath} {
		found, err := host.Box.Exists(ctx, path)
		if err != nil {
			return failed(CheckPVGrub, err.Error(), fixPVGrub)
		}
		if !found {
			missing = append(missing, path)
		}
	}
	if len(missing) > 0 {
		return failed(CheckPVGrub, "missing "+strings.Join(missing, ", "), fixPVGrub)
	}
	return passed(CheckPVGrub, "hd0 and hd00 PV-GRUB in /usr/local/lib/xenbox")
}

func checkPort(ctx context.Context, host Host) Check {
	free, err := host.Box.PortFree(ctx, host.Port)
	fix := fmt.Sprintf("run `xenbox destroy` for the session that uses it, stop what listens "+
		"on port %d in the box, or pick another --port", host.Port)
	if err != nil {
		return failed(CheckPort, err.Error(), fix)
	}
	if !free {
		return failed(CheckPort, fmt.Sprintf("port %d is in use in %s", host.Port,
			host.Box.Where()), fix)
	}
	return passed(CheckPort, fmt.Sprintf("port %d", host.Port))
}

func checkLocalGDB(ctx context.Context, host Host) Check {
	output, err := host.LocalGDBVersion(ctx)
	if err != nil {
		return failed(CheckLocalGDB, err.Error(), fixLocalGDB)
	}
	found, err := ParseGDBVersion(output)
	if err != nil {
		return failed(CheckLocalGDB, err.Error(), fixLocalGDB)
	}
	if segment(found.Segments(), 0) < MinGDBMajor {
		return failed(CheckLocalGDB, "gdb "+found.Original()+" is too old", fixLocalGDB)
	}
	return passed(CheckLocalGDB, "gdb "+found.Original())
}

var versionNumber = regexp.MustCompile(`\d+\.\d+(\.\d+)?`)

// ParseGDBVersion reads the version from the first line of `gdb --version`, e.g.
// "GNU gdb (Debian 13.1-3) 13.1": the last version number on the line is gdb's own.
func ParseGDBVersion(output []byte) (*version.Version, error) {
	firstLine, _, _ := strings.Cut(string(output), "\n")
	numbers := versionNumber.FindAllString(firstLine, -1)
	if len(numbers) == 0 {
		return nil, errors.New("no version in gdb --version: " + strings.TrimSpace(firstLine))
	}
	return version.NewVersion(numbers[len(numbers)-1])
}
