package provisioner

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"
)

// Defaults of the options that have one.
const (
	DefaultBridgeMode     = BridgeModeStandalone
	DefaultBridgeSubnet   = "10.99.0.1/24"
	DefaultBridgeUplink   = "eth0"
	DefaultDom0Memory     = "1024M"
	DefaultRemoteDir      = "/tmp/xenbox"
	DefaultRebootTimeout  = 15 * time.Minute
	DefaultExecuteCommand = "sudo env {{.Vars}} {{.Command}}"
)

// Bridge modes network.sh knows.
const (
	BridgeModeStandalone = "standalone"
	BridgeModeUplink     = "uplink"
)

// MaxUserDataBytes is EC2's limit on user-data, kept so that what works in the box works on
// EC2.
const MaxUserDataBytes = 16 * 1024

// minDom0MemoryMiB is the least dom0 memory with which the box still runs the toolstack, gdb
// and the metadata service.
const minDom0MemoryMiB = 512

// DefaultPVGrubVariants are the PV-GRUB layouts installed unless pvgrub_variants says others.
var DefaultPVGrubVariants = []string{"hd0", "hd00"}

var (
	dom0MemoryPattern     = regexp.MustCompile(`^([0-9]+)([MG])$`)
	interfaceNamePattern  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$`)
	debianPackagePattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	pvgrubVariantsAllowed = []string{"hd0", "hd00"}
)

func (c *Config) setDefaults() {
	if len(c.PVGrubVariants) == 0 {
		c.PVGrubVariants = slices.Clone(DefaultPVGrubVariants)
	}
	if c.BridgeMode == "" {
		c.BridgeMode = DefaultBridgeMode
	}
	if c.BridgeSubnet == "" {
		c.BridgeSubnet = DefaultBridgeSubnet
	}
	if c.BridgeUplink == "" {
		c.BridgeUplink = DefaultBridgeUplink
	}
	// network.sh puts the range in dnsmasq's command line, where spaces would split it.
	c.BridgeDHCPRange = strings.ReplaceAll(c.BridgeDHCPRange, " ", "")
	if c.Dom0Memory == "" {
		c.Dom0Memory = DefaultDom0Memory
	}
	if c.RemoteDir == "" {
		c.RemoteDir = DefaultRemoteDir
	}
	if c.RebootTimeout == 0 {
		c.RebootTimeout = DefaultRebootTimeout
	}
	if c.ExecuteCommand == "" {
		c.ExecuteCommand = DefaultExecuteCommand
	}
}

// validate checks every option and returns all the problems at once.
func (c *Config) validate() error {
	var errs *packersdk.MultiError
	for _, err := range []error{
		checkXenboxBinary(c.XenboxBinary),
		checkHypervisor(c.Hypervisor),
		checkGDBSX(c.GDBSX),
		checkPVGrubVariants(c.PVGrubVariants),
		checkPVGrubDir(c.PVGrubDir, c.PVGrubVariants),
		checkBridgeMode(c.BridgeMode),
		checkBridgeSubnet(c.BridgeSubnet),
		checkBridgeDHCPRange(c.BridgeDHCPRange, c.BridgeSubnet, c.BridgeMode),
		checkBridgeUplink(c.BridgeUplink),
		checkDom0Memory(c.Dom0Memory),
		checkDefaultUserData(c.DefaultUserData),
		checkExtraPackages(c.ExtraPackages),
		checkRemoteDir(c.RemoteDir),
		checkRebootTimeout(c.RebootTimeout),
		checkExecuteCommand(c.ExecuteCommand, c.ctx),
	} {
		if err != nil {
			errs = packersdk.MultiErrorAppend(errs, err)
		}
	}
	if errs != nil && len(errs.Errors) > 0 {
		return errs
	}
	return nil
}

func checkXenboxBinary(path string) error {
	if path == "" {
		return errors.New("xenbox_binary is required: give the path of a static linux/amd64 " +
			"xenbox binary (make build-linux, or GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go build " +
			"./tools/cmd/xenbox)")
	}
	if err := checkRegularFile("xenbox_binary", path); err != nil {
		return err
	}

	binary, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("xenbox_binary %s is not a Linux executable: %v; build xenbox for "+
			"linux/amd64", path, err)
	}
	defer binary.Close()
	if binary.Class != elf.ELFCLASS64 || binary.Machine != elf.EM_X86_64 {
		return fmt.Errorf("xenbox_binary %s is built for %v, not amd64; build it with "+
			"GOARCH=amd64", path, binary.Machine)
	}
	for _, program := range binary.Progs {
		if program.Type == elf.PT_INTERP {
			return fmt.Errorf("xenbox_binary %s is dynamically linked; build it with "+
				"CGO_ENABLED=0 so that it runs in the VM whatever its libc", path)
		}
	}
	return nil
}

func checkHypervisor(path string) error {
	if path == "" {
		return nil
	}
	if err := checkRegularFile("hypervisor", path); err != nil {
		return err
	}
	head := make([]byte, 2)
	file, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("hypervisor %s: %w", path, err)
	}
	defer file.Close()
	if _, err := file.Read(head); err != nil || !bytes.Equal(head, []byte{0x1f, 0x8b}) {
		return fmt.Errorf("hypervisor %s is not gzip-compressed; give the xen.gz that "+
			"`hypervisor.sh build` prints", path)
	}
	return nil
}

func checkGDBSX(path string) error {
	if path == "" {
		return nil
	}
	if err := checkRegularFile("gdbsx", path); err != nil {
		return err
	}
	if _, err := os.Stat(path + ".xen-version"); err != nil {
		return fmt.Errorf("gdbsx %s has no %s.xen-version beside it; it must say which Xen "+
			"version gdbsx was built from (`gdbsx.sh build` writes it)", path, filepath.Base(path))
	}
	return nil
}

func checkPVGrubVariants(variants []string) error {
	for i, variant := range variants {
		if !slices.Contains(pvgrubVariantsAllowed, variant) {
			return fmt.Errorf("pvgrub_variants: %q is not a PV-GRUB layout; use \"hd0\" "+
				"(whole disk) or \"hd00\" (first partition)", variant)
		}
		if slices.Contains(variants[:i], variant) {
			return fmt.Errorf("pvgrub_variants: %q is listed twice; list each layout once",
				variant)
		}
	}
	return nil
}

func checkPVGrubDir(dir string, variants []string) error {
	if dir == "" {
		return nil
	}
	info, err := os.Stat(dir)
	if err != nil || !info.IsDir() {
		return fmt.Errorf("pvgrub_dir %s is not a directory; give the directory "+
			"`pvgrub.sh build` prints, or leave pvgrub_dir empty to build PV-GRUB in the VM", dir)
	}
	var missing []string
	for _, variant := range variants {
		if _, err := os.Stat(filepath.Join(dir, pvgrubImage(variant))); err != nil {
			missing = append(missing, pvgrubImage(variant))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("pvgrub_dir %s has no %s; run `pvgrub.sh build` or remove the "+
			"variant from pvgrub_variants", dir, strings.Join(missing, " or "))
	}
	return nil
}

func checkBridgeMode(mode string) error {
	if mode != BridgeModeStandalone && mode != BridgeModeUplink {
		return fmt.Errorf("bridge_mode %q is not a mode; use %q or %q", mode,
			BridgeModeStandalone, BridgeModeUplink)
	}
	return nil
}

func checkBridgeSubnet(subnet string) error {
	prefix, err := netip.ParsePrefix(subnet)
	if err != nil || !prefix.Addr().Is4() {
		return fmt.Errorf("bridge_subnet %q is not an IPv4 address with a prefix; give the "+
			"bridge's address, e.g. 10.99.0.1/24", subnet)
	}
	if prefix.Bits() > 30 {
		return fmt.Errorf("bridge_subnet %s leaves no room for guests; use a prefix of /30 or "+
			"shorter", subnet)
	}
	if prefix.Addr() == prefix.Masked().Addr() || prefix.Addr() == lastAddress(prefix) {
		return fmt.Errorf("bridge_subnet %s names the network or broadcast address, not the "+
			"bridge's; use a host address, e.g. %s/%d", subnet, prefix.Masked().Addr().Next(),
			prefix.Bits())
	}
	return nil
}

func checkBridgeDHCPRange(dhcpRange, subnet, mode string) error {
	prefix, subnetErr := netip.ParsePrefix(subnet)
	if dhcpRange == "" {
		if mode == BridgeModeStandalone && subnetErr == nil && prefix.Bits() != 24 {
			return fmt.Errorf("bridge_dhcp_range is required with bridge_subnet %s (only a /24 "+
				"has a default); give \"first,last\"", subnet)
		}
		return nil
	}

	first, last, found := strings.Cut(dhcpRange, ",")
	firstAddress, firstErr := netip.ParseAddr(strings.TrimSpace(first))
	lastAddr, lastErr := netip.ParseAddr(strings.TrimSpace(last))
	if !found || firstErr != nil || lastErr != nil || !firstAddress.Is4() || !lastAddr.Is4() {
		return fmt.Errorf("bridge_dhcp_range %q is not \"first,last\"; give two IPv4 "+
			"addresses, e.g. 10.99.0.100,10.99.0.199", dhcpRange)
	}
	if lastAddr.Less(firstAddress) {
		return fmt.Errorf("bridge_dhcp_range %q ends before it starts; put the lower address "+
			"first", dhcpRange)
	}
	if mode != BridgeModeStandalone || subnetErr != nil {
		return nil
	}
	if !prefix.Contains(firstAddress) || !prefix.Contains(lastAddr) {
		return fmt.Errorf("bridge_dhcp_range %q is not inside bridge_subnet %s; pick addresses "+
			"of %s", dhcpRange, subnet, prefix.Masked())
	}
	bridge := prefix.Addr()
	if !lastAddr.Less(bridge) && !bridge.Less(firstAddress) {
		return fmt.Errorf("bridge_dhcp_range %q holds xenbr0's own address %s; start it after "+
			"that address", dhcpRange, bridge)
	}
	return nil
}

func checkBridgeUplink(uplink string) error {
	if !interfaceNamePattern.MatchString(uplink) {
		return fmt.Errorf("bridge_uplink %q is not a network interface name, e.g. eth0", uplink)
	}
	return nil
}

func checkDom0Memory(memory string) error {
	match := dom0MemoryPattern.FindStringSubmatch(memory)
	if match == nil {
		return fmt.Errorf("dom0_memory %q is not a size Xen takes; use a number with M or G, "+
			"e.g. 1024M or 2G", memory)
	}
	size, err := strconv.Atoi(match[1])
	if err != nil {
		return fmt.Errorf("dom0_memory %q is too large", memory)
	}
	if match[2] == "G" {
		size *= 1024
	}
	if size < minDom0MemoryMiB {
		return fmt.Errorf("dom0_memory %s is too little for dom0; give at least %dM",
			memory, minDom0MemoryMiB)
	}
	return nil
}

func checkDefaultUserData(userData string) error {
	if len(userData) > MaxUserDataBytes {
		return fmt.Errorf("default_user_data is %d bytes, over EC2's limit of %d; shorten it",
			len(userData), MaxUserDataBytes)
	}
	return nil
}

func checkExtraPackages(packages []string) error {
	for _, name := range packages {
		if !debianPackagePattern.MatchString(name) {
			return fmt.Errorf("extra_packages: %q is not a Debian package name; give names "+
				"only (lower case letters, digits, + - .), e.g. gdb-multiarch", name)
		}
	}
	return nil
}

func checkRemoteDir(dir string) error {
	if !path.IsAbs(dir) || path.Clean(dir) == "/" {
		return fmt.Errorf("remote_dir %q must be an absolute directory other than /; it is "+
			"removed at the end, e.g. /tmp/xenbox", dir)
	}
	return nil
}

func checkRebootTimeout(timeout time.Duration) error {
	if timeout < 0 {
		return fmt.Errorf("reboot_timeout %s is negative; give a duration like 15m", timeout)
	}
	return nil
}

func checkExecuteCommand(command string, templateContext interpolate.Context) error {
	if !strings.Contains(command, "{{.Command}}") {
		return fmt.Errorf("execute_command %q must contain {{.Command}}, where the command "+
			"run as root goes", command)
	}
	templateContext.Data = executeCommandData{Vars: "XENBOX_TEST='x'", Command: "true"}
	if _, err := interpolate.Render(command, &templateContext); err != nil {
		return fmt.Errorf("execute_command %q: %v", command, err)
	}
	return nil
}

func checkRegularFile(option, path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s %s: no such file; check the path", option, path)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s %s is not a regular file", option, path)
	}
	return nil
}

// lastAddress is the broadcast address of an IPv4 prefix.
func lastAddress(prefix netip.Prefix) netip.Addr {
	address := prefix.Masked().Addr().As4()
	hostBits := 32 - prefix.Bits()
	value := uint32(address[0])<<24 | uint32(address[1])<<16 | uint32(address[2])<<8 |
		uint32(address[3])
	value |= 1<<hostBits - 1
	return netip.AddrFrom4([4]byte{byte(value >> 24), byte(value >> 16), byte(value >> 8),
		byte(value)})
}
