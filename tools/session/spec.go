package session

import (
	"fmt"

	"github.com/xenbox/xenbox/tools/unik"
	"github.com/xenbox/xenbox/tools/xlconfig"
)

// Defaults of a debug session.
const (
	DefaultInstanceType = "t1.micro"
	DefaultBridge       = "xenbr0"
	DefaultPort         = 9999
)

// Spec says what to debug and how: the artifact, the domain's name and shape, and the port
// gdbsx listens on in dom0.
type Spec struct {
	Artifact   unik.Artifact
	DomainName string // "" means the artifact's Name

	InstanceType string // EC2 PV instance type; "" means DefaultInstanceType
	MemoryMiB    int    // overrides the instance type's memory when > 0
	VCPUs        int    // overrides the instance type's vCPUs when > 0

	Direct     bool   // boot program.bin directly with menu.lst's command line
	PVGrubPath string // "" means the box's PV-GRUB for the image's layout
	Bridge     string // "" means no network
	Port       int    // gdbsx port in dom0; 0 means DefaultPort

	// UserData is what the metadata service serves the guest at /latest/user-data; ""
	// means the default, {}.
	UserData string
}

// Name returns the domain name the spec uses.
func (s Spec) Name() string {
	if s.DomainName != "" {
		return s.DomainName
	}
	return s.Artifact.Name
}

// GDBSXPort returns the port gdbsx listens on in dom0.
func (s Spec) GDBSXPort() int {
	if s.Port != 0 {
		return s.Port
	}
	return DefaultPort
}

// BootMode returns how the domain boots.
func (s Spec) BootMode() xlconfig.BootMode {
	if s.Direct {
		return xlconfig.Direct
	}
	return xlconfig.PVGrub
}

// Domain turns the spec into the xl domain it describes, with paths as they are in dom0.
func (s Spec) Domain() (xlconfig.Domain, error) {
	instanceType, err := s.instanceType()
	if err != nil {
		return xlconfig.Domain{}, err
	}

	domain := xlconfig.Domain{
		Name:       s.Name(),
		MemoryMiB:  instanceType.MemoryMiB,
		VCPUs:      instanceType.VCPUs,
		Boot:       s.BootMode(),
		Layout:     s.Artifact.Image.Layout,
		DiskPath:   ImagePath(s.Name()),
		Bridge:     s.Bridge,
		PVGrubPath: s.PVGrubPath,
	}
	if s.MemoryMiB > 0 {
		domain.MemoryMiB = s.MemoryMiB
	}
	if s.VCPUs > 0 {
		domain.VCPUs = s.VCPUs
	}
	if domain.PVGrubPath == "" {
		domain.PVGrubPath = PVGrubPathFor(s.Artifact.Image.Layout)
	}
	if s.Direct {
		domain.KernelPath = ProgramBinPath(s.Name())
		domain.CommandLine = s.Artifact.Image.Entry.CommandLine
	}
	if !s.Direct && s.Artifact.DebugDir.Class == 32 {
		return xlconfig.Domain{}, fmt.Errorf("%s is a 32-bit kernel and the 64-bit PV-GRUB "+
			"boots only 64-bit ones, as on EC2; boot it with --direct",
			s.Artifact.DebugDir.ProgramBin)
	}
	if cmdline := s.Artifact.Image.Entry.CommandLine; len(cmdline) > xlconfig.MaxCommandLine {
		return xlconfig.Domain{}, fmt.Errorf("the command line in %s of %s has %d bytes; "+
			"Xen passes at most %d to a PV kernel", unik.MenuPath, s.Artifact.Image.Path,
			len(cmdline), xlconfig.MaxCommandLine)
	}

	if err := domain.Validate(); err != nil {
		return xlconfig.Domain{}, fmt.Errorf("domain %s: %w", domain.Name, err)
	}
	return domain, nil
}

// Config renders the xl config that debug writes for the spec.
func (s Spec) Config() ([]byte, error) {
	domain, err := s.Domain()
	if err != nil {
		return nil, err
	}
	return xlconfig.Render(domain)
}

func (s Spec) instanceType() (xlconfig.InstanceType, error) {
	name := s.InstanceType
	if name == "" {
		name = DefaultInstanceType
	}
	return xlconfig.LookupInstanceType(name)
}

// requireDebugDir fails when the artifact has no debug dir, since gdb needs its program.bin and
// gdbsx its ELF class.
func (s Spec) requireDebugDir() error {
	debugDir := s.Artifact.DebugDir
	if s.Artifact.PairErr != nil {
		return fmt.Errorf("image %s has no debug dir: %w; pass --image and --debug-dir "+
			"to pair it", s.Artifact.Image.Path, s.Artifact.PairErr)
	}
	if debugDir.ProgramBin == "" {
		return fmt.Errorf("image %s has no debug dir; pass --image and --debug-dir to pair it",
			s.Artifact.Image.Path)
	}
	if debugDir.Class != 32 && debugDir.Class != 64 {
		return fmt.Errorf("debug dir %s: unknown ELF class %d of program.bin",
			debugDir.Path, debugDir.Class)
	}
	return nil
}
