package xlconfig

import (
	"crypto/sha256"
	"fmt"
	"strings"
)

// Render returns the xl config text of a valid domain.
func Render(d Domain) ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}

	var config strings.Builder
	fmt.Fprintf(&config, "# Xen PV domain for a unik image, written by xenbox.\n")
	setString(&config, "name", d.Name)
	setString(&config, "type", "pv")
	if d.Boot == PVGrub {
		setString(&config, "kernel", d.PVGrubPath)
		setString(&config, "extra", d.Layout.GrubRoot()+"/boot/grub/menu.lst")
	} else {
		setString(&config, "kernel", d.KernelPath)
		if d.CommandLine != "" {
			setString(&config, "cmdline", d.CommandLine)
		}
	}
	fmt.Fprintf(&config, "memory = %d\n", d.MemoryMiB)
	fmt.Fprintf(&config, "vcpus = %d\n", d.VCPUs)
	// Rump kernels open their boot disk as sda1, so that is the vdev, as on EC2.
	setList(&config, "disk", d.DiskPath+",raw,sda1,rw")
	if d.Bridge != "" {
		setList(&config, "vif", d.vifSpec())
	}
	// A restarted domain would get a new domid that gdbsx is not attached to, so a reboot
	// ends the domain; a crashed one stays for inspection.
	setString(&config, "on_poweroff", "destroy")
	setString(&config, "on_reboot", "destroy")
	setString(&config, "on_crash", "preserve")
	return []byte(config.String()), nil
}

func (d Domain) vifSpec() string {
	mac := d.MAC
	if mac == "" {
		mac = DeriveMAC(d.Name)
	}
	spec := "bridge=" + d.Bridge + ",mac=" + strings.ToLower(mac)
	if d.VifScript != "" {
		spec += ",script=" + d.VifScript
	}
	return spec
}

// DeriveMAC returns a stable MAC for the domain called name: Xen's OUI 00:16:3e followed by
// the first three bytes of the SHA-256 of the name.
func DeriveMAC(name string) string {
	sum := sha256.Sum256([]byte(name))
	return fmt.Sprintf("00:16:3e:%02x:%02x:%02x", sum[0], sum[1], sum[2])
}

func setString(config *strings.Builder, key, value string) {
	fmt.Fprintf(config, "%s = %s\n", key, quote(value))
}

func setList(config *strings.Builder, key, item string) {
	fmt.Fprintf(config, "%s = [ %s ]\n", key, quote(item))
}

// quote writes value as an xl single-quoted string. xl's parser takes backslash escapes in
// both quote styles; single quotes keep rumprun's JSON, full of double quotes, readable.
// Numeric escapes (\x41, \101) are avoided: libxlutil parses them but drops the character.
// Other control bytes pass through quoted strings unchanged.
func quote(value string) string {
	var quoted strings.Builder
	quoted.WriteByte('\'')
	for i := 0; i < len(value); i++ {
		switch c := value[i]; c {
		case '\\', '\'':
			quoted.WriteByte('\\')
			quoted.WriteByte(c)
		case '\n':
			quoted.WriteString(`\n`)
		case '\r':
			quoted.WriteString(`\r`)
		default:
			quoted.WriteByte(c)
		}
	}
	quoted.WriteByte('\'')
	return quoted.String()
}
