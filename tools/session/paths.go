package session

import (
	"github.com/xenbox/xenbox/tools/metadata"
	"path"

	"github.com/xenbox/xenbox/tools/unik"
)

// Paths in dom0, fixed by the box's provisioners.
const (
	// PVGrubWholeDiskPath is the PV-GRUB that reads (hd0)/boot/grub/menu.lst.
	PVGrubWholeDiskPath = "/usr/local/lib/xenbox/pv-grub-hd0-x86_64.bin"
	// PVGrubPartitionedPath is the PV-GRUB that reads (hd0,0)/boot/grub/menu.lst.
	PVGrubPartitionedPath = "/usr/local/lib/xenbox/pv-grub-hd00-x86_64.bin"
	// GDBSXPath is the gdbsx built from the same Xen version as the box's hypervisor.
	GDBSXPath = "/usr/local/sbin/gdbsx"
	// GDBSXVersionPath holds the Xen version gdbsx was built from, e.g. "4.17.5".
	GDBSXVersionPath = "/usr/local/lib/xenbox/gdbsx.xen-version"

	dataDir    = "/var/lib/xenbox"
	logDir     = "/var/log/xenbox"
	consoleDir = "/var/log/xen/console"
)

// PVGrubPathFor returns the box's PV-GRUB binary that finds menu.lst on an image of layout.
func PVGrubPathFor(layout unik.Layout) string {
	if layout == unik.Partitioned {
		return PVGrubPartitionedPath
	}
	return PVGrubWholeDiskPath
}

// ImagePath is where sync puts the boot image used by the domain named domainName.
func ImagePath(domainName string) string {
	return path.Join(dataDir, "images", domainName, "boot.img")
}

// ProgramBinPath is where sync puts the kernel ELF used by the domain named domainName.
func ProgramBinPath(domainName string) string {
	return path.Join(dataDir, "images", domainName, "program.bin")
}

// ConfigPath is where debug writes the xl config of the domain.
func ConfigPath(domainName string) string {
	return path.Join(dataDir, "domains", domainName+".cfg")
}

// MetadataRecordPath is where debug keeps what the metadata service tells the domain.
func MetadataRecordPath(domainName string) string {
	return path.Join(metadata.DefaultRecordDir, domainName+".json")
}

// StatePath is where debug keeps the session state of the domain.
func StatePath(domainName string) string {
	return path.Join(dataDir, "sessions", domainName+".json")
}

// GDBSXLogPath is where gdbsx of the domain logs.
func GDBSXLogPath(domainName string) string {
	return path.Join(logDir, domainName+"-gdbsx.log")
}

// ConsoleLogPath is where xenconsoled keeps the guest console of the domain.
func ConsoleLogPath(domainName string) string {
	return path.Join(consoleDir, "guest-"+domainName+".log")
}
