package xlconfig

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/xenbox/xenbox/tools/unik"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const rumpCommandLine = `{"net":{"if":"xenif0","cloner":"true","type":"inet",` +
	`"method":"dhcp"},"blk": {"source":"etfs","path":"sda1","fstype":"blk",` +
	`"mountpoint":"/bootpart"}}`

func exampleDomain(t *testing.T) Domain {
	t.Helper()
	small, err := LookupInstanceType("m1.small")
	if err != nil {
		t.Fatal(err)
	}
	domain := NewDomain("xenbox-unik-123", small)
	domain.PVGrubPath = "/usr/local/lib/xenbox/pv-grub-hd0-x86_64.bin"
	domain.DiskPath = "/var/lib/xenbox/images/unik-123/boot.img"
	return domain
}

func TestRenderMatchesGoldenFiles(t *testing.T) {
	tests := map[string]func(*Domain){
		"pvgrub-whole-disk.cfg": func(d *Domain) {},
		"pvgrub-partitioned.cfg": func(d *Domain) {
			d.Layout = unik.Partitioned
			d.PVGrubPath = "/usr/local/lib/xenbox/pv-grub-hd00-x86_64.bin"
		},
		"direct-whole-disk.cfg": func(d *Domain) {
			d.Boot = Direct
			d.KernelPath = "/var/lib/xenbox/images/unik-123/program.bin"
			d.CommandLine = rumpCommandLine
		},
		"direct-partitioned.cfg": func(d *Domain) {
			d.Boot = Direct
			d.Layout = unik.Partitioned
			d.KernelPath = "/var/lib/xenbox/images/unik-123/program.bin"
			d.CommandLine = rumpCommandLine
		},
		"pvgrub-no-vif.cfg": func(d *Domain) { d.Bridge = "" },
		"pvgrub-vif-script.cfg": func(d *Domain) {
			d.MAC = "00:16:3E:AA:BB:CC"
			d.VifScript = "/etc/xen/scripts/vif-xenbox"
		},
	}
	for name, change := range tests {
		domain := exampleDomain(t)
		change(&domain)

		got, err := Render(domain)
		if err != nil {
			t.Fatalf("%s: Render: %v", name, err)
		}
		golden := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -update to write it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: Render =\n%s\nwant\n%s", name, got, want)
		}
	}
}

func TestRenderedConfigParsesWithXenParser(t *testing.T) {
	dump := xlcfgDump(t)
	commandLines := []string{
		rumpCommandLine,
		`it's a "quoted" \path\ with 'single' quotes`,
		"tab\there, newline\nthere, cr\r, bell\a, caf\u00e9",
		"trailing spaces  ",
	}
	for _, commandLine := range commandLines {
		domain := exampleDomain(t)
		domain.Boot = Direct
		domain.KernelPath = "/var/lib/xenbox/it's/program.bin"
		domain.CommandLine = commandLine
		config, err := Render(domain)
		if err != nil {
			t.Fatal(err)
		}

		got := parseWithXen(t, dump, config, "name", "type", "kernel", "cmdline", "memory",
			"vcpus", "disk", "vif", "on_crash")
		want := map[string][]string{
			"name":     {"xenbox-unik-123"},
			"type":     {"pv"},
			"kernel":   {"/var/lib/xenbox/it's/program.bin"},
			"cmdline":  {commandLine},
			"memory":   {"1741"},
			"vcpus":    {"1"},
			"disk":     {"/var/lib/xenbox/images/unik-123/boot.img,raw,sda1,rw"},
			"vif":      {"bridge=xenbr0,mac=" + DeriveMAC("xenbox-unik-123")},
			"on_crash": {"preserve"},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("xl parsed\n%q\nwant\n%q\nfrom\n%s", got, want, config)
		}
	}
}

func TestRenderedPVGrubConfigPointsAtLayoutsMenu(t *testing.T) {
	dump := xlcfgDump(t)
	tests := map[unik.Layout]string{
		unik.WholeDisk:   "(hd0)/boot/grub/menu.lst",
		unik.Partitioned: "(hd0,0)/boot/grub/menu.lst",
	}
	for layout, want := range tests {
		domain := exampleDomain(t)
		domain.Layout = layout
		config, err := Render(domain)
		if err != nil {
			t.Fatal(err)
		}

		got := parseWithXen(t, dump, config, "extra", "cmdline")
		if !reflect.DeepEqual(got["extra"], []string{want}) || got["cmdline"] != nil {
			t.Errorf("%v: xl parsed %q, want extra %q and no cmdline", layout, got, want)
		}
	}
}

var (
	buildDumpOnce sync.Once
	dumpPath      string
	dumpErr       error
)

// xlcfgDump builds testdata/xlcfg-dump.c against Xen's libxlutil, skipping the test when the
// compiler or the library is missing.
func xlcfgDump(t *testing.T) string {
	t.Helper()
	buildDumpOnce.Do(func() {
		dir, err := os.MkdirTemp("", "xlcfg-dump")
		if err != nil {
			dumpErr = err
			return
		}
		dumpPath = filepath.Join(dir, "xlcfg-dump")
		out, err := exec.Command("cc", "-o", dumpPath, filepath.Join("testdata",
			"xlcfg-dump.c"), "-lxlutil").CombinedOutput()
		if err != nil {
			dumpErr = &buildError{err: err, output: string(out)}
		}
	})
	if dumpErr != nil {
		t.Skipf("cannot build the xl config checker (needs cc and libxen-dev): %v", dumpErr)
	}
	return dumpPath
}

type buildError struct {
	err    error
	output string
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.output }

// parseWithXen parses config with libxlutil and returns the values of keys; a string setting
// is a one-item list, a missing one is absent from the map.
func parseWithXen(t *testing.T, dump string, config []byte, keys ...string) map[string][]string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "domain.cfg")
	if err := os.WriteFile(file, config, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(dump, append([]string{file}, keys...)...).Output()
	if err != nil {
		t.Fatalf("xl's parser rejected\n%s\n%v", config, err)
	}

	values := map[string][]string{}
	rest := string(out)
	for rest != "" {
		head, tail, _ := strings.Cut(rest, " ")
		if strings.HasPrefix(tail, "absent\n") {
			rest = strings.TrimPrefix(tail, "absent\n")
			continue
		}
		lengthText, tail, _ := strings.Cut(tail, ":")
		var length int
		for _, digit := range lengthText {
			length = length*10 + int(digit-'0')
		}
		key, _, _ := strings.Cut(head, "[")
		values[key] = append(values[key], tail[:length])
		rest = tail[length+1:]
	}
	return values
}

func TestValidateRejectsWhatXlCannotRun(t *testing.T) {
	tests := []struct {
		name     string
		change   func(*Domain)
		wantText string
	}{
		{"empty name", func(d *Domain) { d.Name = "" }, "a domain name is"},
		{"numeric name", func(d *Domain) { d.Name = "42" }, "is not a number"},
		{"name with space", func(d *Domain) { d.Name = "a b" }, "a domain name is"},
		{"tiny memory", func(d *Domain) { d.MemoryMiB = 16 }, "memory 16 MiB"},
		{"no vcpus", func(d *Domain) { d.VCPUs = 0 }, "0 vCPUs"},
		{"no PV-GRUB", func(d *Domain) { d.PVGrubPath = "" }, "no PV-GRUB path"},
		{"relative disk", func(d *Domain) { d.DiskPath = "boot.img" }, "not absolute"},
		{"comma in disk", func(d *Domain) { d.DiskPath = "/a,b.img" }, "contains a comma"},
		{"direct without kernel", func(d *Domain) { d.Boot = Direct }, "no kernel path"},
		{"NUL in command line", func(d *Domain) {
			d.Boot, d.KernelPath, d.CommandLine = Direct, "/k", "a\x00b"
		}, "NUL byte"},
		{"unknown boot mode", func(d *Domain) { d.Boot = 7 }, "unknown boot mode 7"},
		{"unknown layout", func(d *Domain) { d.Layout = 5 }, "unknown image layout 5"},
		{"bad bridge", func(d *Domain) { d.Bridge = "br,0" }, "not an interface name"},
		{"bad MAC", func(d *Domain) { d.MAC = "00:16:3e:1:2:3" }, "six colon-separated"},
		{"multicast MAC", func(d *Domain) { d.MAC = "01:16:3e:01:02:03" }, "multicast"},
		{"relative vif script", func(d *Domain) { d.VifScript = "vif-x" }, "not absolute"},
	}
	for _, test := range tests {
		domain := exampleDomain(t)
		test.change(&domain)

		err := domain.Validate()
		if err == nil || !strings.Contains(err.Error(), test.wantText) {
			t.Errorf("%s: Validate = %v, want error containing %q", test.name, err,
				test.wantText)
		}
		if _, renderErr := Render(domain); renderErr == nil {
			t.Errorf("%s: Render accepted an invalid domain", test.name)
		}
	}
	if err := exampleDomain(t).Validate(); err != nil {
		t.Errorf("Validate rejected the example domain: %v", err)
	}
}

func TestInstanceTypesMatchEC2PVTypes(t *testing.T) {
	want := []InstanceType{
		{"t1.micro", 628, 1}, {"m1.small", 1741, 1}, {"m1.medium", 3840, 1},
		{"m1.large", 7680, 2}, {"m1.xlarge", 15360, 4}, {"m3.medium", 3840, 1},
		{"m3.large", 7680, 2}, {"c1.medium", 1741, 2}, {"c1.xlarge", 7168, 8},
		{"m2.xlarge", 17510, 2},
	}
	if got := InstanceTypes(); !reflect.DeepEqual(got, want) {
		t.Errorf("InstanceTypes =\n%v\nwant\n%v", got, want)
	}
	for _, instanceType := range want {
		got, err := LookupInstanceType(instanceType.Name)
		if err != nil || got != instanceType {
			t.Errorf("LookupInstanceType(%s) = %v, %v", instanceType.Name, got, err)
		}
	}
}

func TestLookupInstanceTypeRejectsUnknownTypeListingPVTypes(t *testing.T) {
	_, err := LookupInstanceType("t2.micro")

	want := `unknown instance type "t2.micro": unik's AWS images boot as PV guests, and ` +
		"the PV instance types are t1.micro, m1.small, m1.medium, m1.large, m1.xlarge, " +
		"m3.medium, m3.large, c1.medium, c1.xlarge, m2.xlarge"
	if err == nil || err.Error() != want {
		t.Errorf("LookupInstanceType = %v\nwant %s", err, want)
	}
}

func TestDeriveMACIsStableXenUnicastAddress(t *testing.T) {
	first := DeriveMAC("xenbox-unik-123")
	if first != DeriveMAC("xenbox-unik-123") {
		t.Error("DeriveMAC differs between calls")
	}
	if !strings.HasPrefix(first, "00:16:3e:") || !macPattern.MatchString(first) {
		t.Errorf("DeriveMAC = %s, want 00:16:3e:xx:xx:xx", first)
	}
	if first == DeriveMAC("xenbox-unik-124") {
		t.Error("two domain names got the same MAC")
	}
}

func TestNewDomainUsesInstanceTypeAndDefaults(t *testing.T) {
	large, err := LookupInstanceType("m1.large")
	if err != nil {
		t.Fatal(err)
	}
	domain := NewDomain("d", large)
	if domain.MemoryMiB != 7680 || domain.VCPUs != 2 || domain.Boot != PVGrub ||
		domain.Bridge != "xenbr0" || domain.Layout != unik.WholeDisk {
		t.Errorf("NewDomain = %+v", domain)
	}
}
