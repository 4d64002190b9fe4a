package xlconfig

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/xenbox/xenbox/tools/unik"
)

// BootMode says how the domain's kernel is loaded.
type BootMode int

const (
	// PVGrub boots PV-GRUB, which reads the image's menu.lst as EC2 does (the default).
	PVGrub BootMode = iota
	// Direct hands program.bin and its command line straight to Xen, skipping PV-GRUB.
	Direct
)

// String returns "pv-grub" or "direct".
func (b BootMode) String() string {
	if b == Direct {
		return "direct"
	}
	return "pv-grub"
}

// DefaultBridge is the dom0 bridge that guests' vifs join.
const DefaultBridge = "xenbr0"

// Domain is the Xen PV domain that runs one boot image.
type Domain struct {
	Name      string
	MemoryMiB int
	VCPUs     int
	Boot      BootMode
	// PVGrubPath is the box's PV-GRUB binary, used when Boot is PVGrub.
	PVGrubPath string
	// Layout selects the menu PV-GRUB reads: (hd0)/boot/grub/menu.lst or (hd0,0)/....
	Layout unik.Layout
	// KernelPath (program.bin in dom0) and CommandLine are used when Boot is Direct.
	KernelPath  string
	CommandLine string
	// DiskPath is the boot image inside dom0; the guest sees it as sda1.
	DiskPath string
	// Bridge is the bridge the vif joins; "" means the domain has no vif. NewDomain sets
	// DefaultBridge.
	Bridge string
	// MAC is the vif's MAC address; "" means DeriveMAC(Name).
	MAC string
	// VifScript is the hotplug script for the vif; "" means xl's default.
	VifScript string
}

// NewDomain returns a domain called name sized like instanceType, booted by PV-GRUB and
// attached to DefaultBridge; the caller fills in the paths.
func NewDomain(name string, instanceType InstanceType) Domain {
	return Domain{
		Name:      name,
		MemoryMiB: instanceType.MemoryMiB,
		VCPUs:     instanceType.VCPUs,
		Boot:      PVGrub,
		Bridge:    DefaultBridge,
	}
}

// minMemoryMiB is about what PV-GRUB (Mini-OS plus GRUB) needs to load a kernel.
const minMemoryMiB = 32

// Upper bounds that catch a typo long before xl would: the largest PV instance type has 17.1
// GiB and 8 vCPUs.
const (
	maxMemoryMiB = 1 << 20
	maxVCPUs     = 128
)

// MaxCommandLine is the longest kernel command line Xen hands a PV kernel (start_info's
// cmd_line holds 1024 bytes with the terminating NUL).
const MaxCommandLine = 1023

var (
	domainNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	allDigits         = regexp.MustCompile(`^[0-9]+$`)
	bridgePattern     = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,15}$`)
	macPattern        = regexp.MustCompile(`^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$`)
)

// ValidateName checks name as a domain name: what xl accepts, which is also safe as a file
// name in dom0, and not dom0's own name.
func ValidateName(name string) error {
	switch {
	case !domainNamePattern.MatchString(name) || allDigits.MatchString(name):
		return errors.New("a domain name is 1-64 letters, digits, '.', '_' or '-', " +
			"starts with a letter or digit and is not a number")
	case name == "Domain-0":
		return errors.New("Domain-0 is dom0 itself")
	}
	return nil
}

// Validate reports the first setting xl would reject or that would not boot.
func (d Domain) Validate() error {
	if err := d.validate(); err != nil {
		return fmt.Errorf("invalid domain %q: %w", d.Name, err)
	}
	return nil
}

func (d Domain) validate() error {
	if err := ValidateName(d.Name); err != nil {
		return err
	}
	switch {
	case d.MemoryMiB < minMemoryMiB:
		return fmt.Errorf("memory %d MiB is below the %d MiB PV-GRUB needs", d.MemoryMiB,
			minMemoryMiB)
	case d.MemoryMiB > maxMemoryMiB:
		return fmt.Errorf("memory %d MiB is more than %d MiB", d.MemoryMiB, maxMemoryMiB)
	case d.VCPUs < 1:
		return fmt.Errorf("%d vCPUs; a domain needs at least one", d.VCPUs)
	case d.VCPUs > maxVCPUs:
		return fmt.Errorf("%d vCPUs is more than %d", d.VCPUs, maxVCPUs)
	case len(d.CommandLine) > MaxCommandLine:
		return fmt.Errorf("a command line of %d bytes; Xen passes at most %d to a PV kernel",
			len(d.CommandLine), MaxCommandLine)
	}

	if err := d.validateBoot(); err != nil {
		return err
	}
	if err := checkPath("disk path", d.DiskPath); err != nil {
		return err
	}
	return d.validateVif()
}

func (d Domain) validateBoot() error {
	switch d.Boot {
	case PVGrub:
		if d.Layout != unik.WholeDisk && d.Layout != unik.Partitioned {
			return fmt.Errorf("unknown image layout %d", d.Layout)
		}
		return checkPath("PV-GRUB path", d.PVGrubPath)
	case Direct:
		if strings.ContainsRune(d.CommandLine, 0) {
			return errors.New("the command line contains a NUL byte")
		}
		return checkPath("kernel path", d.KernelPath)
	}
	return fmt.Errorf("unknown boot mode %d", d.Boot)
}

func (d Domain) validateVif() error {
	if d.Bridge == "" {
		return nil
	}
	switch {
	case !bridgePattern.MatchString(d.Bridge):
		return fmt.Errorf("bridge %q is not an interface name", d.Bridge)
	case d.MAC != "" && !macPattern.MatchString(d.MAC):
		return fmt.Errorf("MAC %q is not six colon-separated hex bytes", d.MAC)
	case d.MAC != "" && macFirstByteIsMulticast(d.MAC):
		return fmt.Errorf("MAC %q is a multicast address", d.MAC)
	case d.VifScript != "":
		return checkPath("vif script", d.VifScript)
	}
	return nil
}

// checkPath requires an absolute path that fits in an xl disk or vif spec, where ',' separates
// settings.
func checkPath(what, path string) error {
	switch {
	case path == "":
		return fmt.Errorf("no %s", what)
	case !filepath.IsAbs(path):
		return fmt.Errorf("%s %q is not absolute", what, path)
	case strings.ContainsAny(path, ",\n\x00"):
		return fmt.Errorf("%s %q contains a comma, newline or NUL, which xl cannot take",
			what, path)
	}
	return nil
}

func macFirstByteIsMulticast(mac string) bool {
	var first byte
	_, err := fmt.Sscanf(mac[:2], "%02x", &first)
	return err == nil && first&1 == 1
}
