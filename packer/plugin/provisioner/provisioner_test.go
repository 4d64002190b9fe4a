package provisioner

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclparse"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

const testXenbox = "testdata/xenbox-static-amd64"

// prepared returns a Provisioner prepared with the xenbox binary and settings, with the
// waits shortened for tests.
func prepared(t *testing.T, settings map[string]interface{}) *Provisioner {
	t.Helper()
	raw := map[string]interface{}{"xenbox_binary": testXenbox}
	for name, value := range settings {
		raw[name] = value
	}
	p := &Provisioner{pollInterval: time.Millisecond, metadataWait: 50 * time.Millisecond}
	if err := p.Prepare(raw); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	return p
}

func TestPrepareFillsInTheDefaults(t *testing.T) {
	config := prepared(t, nil).config

	want := Config{
		XenboxBinary:   testXenbox,
		PVGrubVariants: []string{"hd0", "hd00"},
		BridgeMode:     "standalone",
		BridgeSubnet:   "10.99.0.1/24",
		BridgeUplink:   "eth0",
		Dom0Memory:     "1024M",
		RemoteDir:      "/tmp/xenbox",
		RebootTimeout:  15 * time.Minute,
		ExecuteCommand: "sudo env {{.Vars}} {{.Command}}",
	}
	got := config
	got.PackerConfig, got.ctx = want.PackerConfig, want.ctx
	if !slices.Equal(got.PVGrubVariants, want.PVGrubVariants) {
		t.Errorf("pvgrub_variants = %q, want %q", got.PVGrubVariants, want.PVGrubVariants)
	}
	got.PVGrubVariants = want.PVGrubVariants
	if got.XenboxBinary != want.XenboxBinary || got.BridgeMode != want.BridgeMode ||
		got.BridgeSubnet != want.BridgeSubnet || got.BridgeUplink != want.BridgeUplink ||
		got.Dom0Memory != want.Dom0Memory || got.RemoteDir != want.RemoteDir ||
		got.RebootTimeout != want.RebootTimeout || got.ExecuteCommand != want.ExecuteCommand ||
		got.Hypervisor != "" || got.GDBSX != "" || got.PVGrubDir != "" ||
		got.BridgeDHCPRange != "" || got.DefaultUserData != "" || len(got.ExtraPackages) != 0 {
		t.Errorf("defaults:\n got %+v\nwant %+v", got, want)
	}
}

func TestPrepareAcceptsEveryOptionSetWell(t *testing.T) {
	config := prepared(t, map[string]interface{}{
		"hypervisor":        "testdata/xen.gz",
		"gdbsx":             "testdata/gdbsx",
		"pvgrub_dir":        "testdata/pvgrub-hd0-only",
		"pvgrub_variants":   []string{"hd0"},
		"bridge_mode":       "standalone",
		"bridge_subnet":     "172.30.8.1/22",
		"bridge_dhcp_range": " 172.30.9.0 , 172.30.11.200 ",
		"dom0_memory":       "2G",
		"default_user_data": `{"FOO":"bar {{ not a template }}"}`,
		"extra_packages":    []string{"gdb-multiarch", "libc6-dbg", "g++"},
		"remote_dir":        "/var/tmp/bake",
		"reboot_timeout":    "40m",
		"execute_command":   "{{.Vars}} {{.Command}}",
	}).config

	if config.RebootTimeout != 40*time.Minute {
		t.Errorf("reboot_timeout = %s, want 40m", config.RebootTimeout)
	}
	if config.BridgeDHCPRange != "172.30.9.0,172.30.11.200" {
		t.Errorf("bridge_dhcp_range = %q, want it without the spaces dnsmasq would split on",
			config.BridgeDHCPRange)
	}
	if config.DefaultUserData != `{"FOO":"bar {{ not a template }}"}` {
		t.Errorf("default_user_data was changed on the way in: %q", config.DefaultUserData)
	}
}

func TestPrepareRejectsInvalidValuesNamingTheOption(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings map[string]interface{}
		option   string // the error must name it
		advice   string // and say what to do
	}{
		{"missing binary", map[string]interface{}{"xenbox_binary": ""},
			"xenbox_binary is required", "static linux/amd64"},
		{"binary not found", map[string]interface{}{"xenbox_binary": "testdata/nope"},
			"xenbox_binary", "check the path"},
		{"binary not ELF", map[string]interface{}{"xenbox_binary": "testdata/not-elf"},
			"xenbox_binary", "linux/amd64"},
		{"binary for arm64", map[string]interface{}{"xenbox_binary": "testdata/xenbox-static-arm64"},
			"xenbox_binary", "GOARCH=amd64"},
		{"binary dynamic", map[string]interface{}{"xenbox_binary": "testdata/xenbox-dynamic-amd64"},
			"xenbox_binary", "CGO_ENABLED=0"},
		{"hypervisor missing", map[string]interface{}{"hypervisor": "testdata/nope.gz"},
			"hypervisor", "check the path"},
		{"hypervisor not gzip", map[string]interface{}{"hypervisor": "testdata/gdbsx"},
			"hypervisor", "hypervisor.sh build"},
		{"gdbsx without version", map[string]interface{}{"gdbsx": "testdata/gdbsx-unversioned"},
			"gdbsx", "gdbsx-unversioned.xen-version"},
		{"pvgrub_dir not a dir", map[string]interface{}{"pvgrub_dir": "testdata/gdbsx"},
			"pvgrub_dir", "pvgrub.sh build"},
		{"pvgrub_dir lacks hd00", map[string]interface{}{"pvgrub_dir": "testdata/pvgrub-hd0-only"},
			"pvgrub_dir", "pv-grub-hd00-x86_64.bin"},
		{"unknown variant", map[string]interface{}{"pvgrub_variants": []string{"hd1"}},
			"pvgrub_variants", `"hd0"`},
		{"duplicate variant", map[string]interface{}{"pvgrub_variants": []string{"hd0", "hd0"}},
			"pvgrub_variants", "once"},
		{"unknown bridge mode", map[string]interface{}{"bridge_mode": "nat"},
			"bridge_mode", `"uplink"`},
		{"subnet without prefix", map[string]interface{}{"bridge_subnet": "10.99.0.1"},
			"bridge_subnet", "10.99.0.1/24"},
		{"subnet IPv6", map[string]interface{}{"bridge_subnet": "fd00::1/64"},
			"bridge_subnet", "IPv4"},
		{"subnet network address", map[string]interface{}{"bridge_subnet": "10.99.0.0/24"},
			"bridge_subnet", "10.99.0.1/24"},
		{"subnet broadcast address", map[string]interface{}{"bridge_subnet": "10.99.0.255/24"},
			"bridge_subnet", "host address"},
		{"subnet too small", map[string]interface{}{"bridge_subnet": "10.99.0.1/31"},
			"bridge_subnet", "/30"},
		{"non-/24 without range", map[string]interface{}{"bridge_subnet": "10.99.0.1/16"},
			"bridge_dhcp_range is required", "first,last"},
		{"range not a pair", map[string]interface{}{"bridge_dhcp_range": "10.99.0.100"},
			"bridge_dhcp_range", "two IPv4"},
		{"range reversed", map[string]interface{}{"bridge_dhcp_range": "10.99.0.200,10.99.0.100"},
			"bridge_dhcp_range", "lower address first"},
		{"range outside subnet", map[string]interface{}{"bridge_dhcp_range": "10.98.0.1,10.98.0.9"},
			"bridge_dhcp_range", "10.99.0.0/24"},
		{"range holding the bridge", map[string]interface{}{
			"bridge_dhcp_range": "10.99.0.0,10.99.0.50"},
			"bridge_dhcp_range", "start it after that address"},
		{"uplink not an interface", map[string]interface{}{"bridge_mode": "uplink",
			"bridge_uplink": "eth0; reboot"}, "bridge_uplink", "eth0"},
		{"memory without unit", map[string]interface{}{"dom0_memory": "1024"},
			"dom0_memory", "1024M or 2G"},
		{"memory in K", map[string]interface{}{"dom0_memory": "1048576K"},
			"dom0_memory", "1024M or 2G"},
		{"memory too little", map[string]interface{}{"dom0_memory": "256M"},
			"dom0_memory", "at least 512M"},
		{"user-data over EC2's limit", map[string]interface{}{
			"default_user_data": strings.Repeat("x", 16*1024+1)},
			"default_user_data", "16384"},
		{"package with a version", map[string]interface{}{"extra_packages": []string{"gdb=13.1"}},
			"extra_packages", "names only"},
		{"package with a space", map[string]interface{}{"extra_packages": []string{"gdb strace"}},
			"extra_packages", "names only"},
		{"relative remote_dir", map[string]interface{}{"remote_dir": "tmp/xenbox"},
			"remote_dir", "absolute"},
		{"remote_dir is /", map[string]interface{}{"remote_dir": "//"},
			"remote_dir", "other than /"},
		{"negative reboot_timeout", map[string]interface{}{"reboot_timeout": "-1m"},
			"reboot_timeout", "15m"},
		{"execute_command without command", map[string]interface{}{"execute_command": "sudo true"},
			"execute_command", "{{.Command}}"},
		{"execute_command broken template", map[string]interface{}{
			"execute_command": "sudo {{.Vars {{.Command}}"}, "execute_command", "sudo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := map[string]interface{}{"xenbox_binary": testXenbox}
			for name, value := range tc.settings {
				raw[name] = value
			}
			err := new(Provisioner).Prepare(raw)
			if err == nil {
				t.Fatalf("Prepare accepted %v", tc.settings)
			}
			if !strings.Contains(err.Error(), tc.option) || !strings.Contains(err.Error(), tc.advice) {
				t.Errorf("error %q should name %q and say %q", err, tc.option, tc.advice)
			}
		})
	}
}

func TestPrepareReportsEveryInvalidOptionAtOnce(t *testing.T) {
	err := new(Provisioner).Prepare(map[string]interface{}{
		"xenbox_binary": testXenbox, "dom0_memory": "1T", "bridge_mode": "nat",
	})
	if err == nil || !strings.Contains(err.Error(), "dom0_memory") ||
		!strings.Contains(err.Error(), "bridge_mode") {
		t.Fatalf("error %v should name both dom0_memory and bridge_mode", err)
	}
}

func provision(t *testing.T, p *Provisioner, vm *fakeVM) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return p.Provision(ctx, packersdk.TestUi(t), vm, nil)
}

func TestProvisionUploadsTheProvisionersByteForByteWithTheirModes(t *testing.T) {
	vm := newFakeVM()
	if err := provision(t, prepared(t, nil), vm); err != nil {
		t.Fatal(err)
	}

	sources, err := filepath.Glob("../../../provisioners/*")
	if err != nil {
		t.Fatal(err)
	}
	patches, _ := filepath.Glob("../../../provisioners/patches/*")
	sources = append(sources, patches...)
	checked := 0
	for _, source := range sources {
		info, err := os.Stat(source)
		if err != nil {
			t.Fatal(err)
		}
		if info.IsDir() || strings.HasSuffix(source, ".go") {
			continue
		}
		name := strings.TrimPrefix(source, "../../../provisioners/")
		upload, found := vm.uploads["/tmp/xenbox/"+name]
		if !found {
			t.Errorf("%s was not uploaded to /tmp/xenbox/%s", source, name)
			continue
		}
		original, err := os.ReadFile(source)
		if err != nil {
			t.Fatal(err)
		}
		if upload.Data != string(original) {
			t.Errorf("/tmp/xenbox/%s differs from %s", name, source)
		}
		if upload.Mode&0o111 != info.Mode().Perm()&0o111 {
			t.Errorf("/tmp/xenbox/%s uploaded with mode %v, the file has %v", name, upload.Mode,
				info.Mode().Perm())
		}
		checked++
	}
	if checked < 10 {
		t.Fatalf("only %d provisioner files found; is the path to provisioners/ right?", checked)
	}

	xenbox := vm.uploads["/tmp/xenbox/prebuilt/xenbox"]
	if xenbox.Mode != 0o755 || len(xenbox.Data) != 64 {
		t.Errorf("xenbox uploaded as %d bytes with mode %v, want 64 with 0755", len(xenbox.Data),
			xenbox.Mode)
	}
	first := vm.commands[0]
	want := `mkdir -p "$(dirname '/tmp/xenbox')" && mkdir '/tmp/xenbox' && ` +
		`mkdir -p '/tmp/xenbox/patches'`
	if !strings.HasPrefix(first, want) {
		t.Errorf("first command %q should create remote_dir, refusing an existing one, and "+
			"its patches/", first)
	}
}

func TestProvisionUploadsPrebuiltPiecesAndInstallsThem(t *testing.T) {
	vm := newFakeVM()
	p := prepared(t, map[string]interface{}{
		"hypervisor": "testdata/xen.gz", "gdbsx": "testdata/gdbsx", "pvgrub_dir": "testdata/pvgrub",
	})
	if err := provision(t, p, vm); err != nil {
		t.Fatal(err)
	}

	for remote, local := range map[string]string{
		"/tmp/xenbox/prebuilt/xen.gz":                         "testdata/xen.gz",
		"/tmp/xenbox/prebuilt/xen.gz.version":                 "testdata/xen.gz.version",
		"/tmp/xenbox/prebuilt/gdbsx":                          "testdata/gdbsx",
		"/tmp/xenbox/prebuilt/gdbsx.xen-version":              "testdata/gdbsx.xen-version",
		"/tmp/xenbox/prebuilt/pvgrub/pv-grub-hd0-x86_64.bin":  "testdata/pvgrub/pv-grub-hd0-x86_64.bin",
		"/tmp/xenbox/prebuilt/pvgrub/pv-grub-hd00-x86_64.bin": "testdata/pvgrub/pv-grub-hd00-x86_64.bin",
	} {
		want, err := os.ReadFile(local)
		if err != nil {
			t.Fatal(err)
		}
		if vm.uploads[remote].Data != string(want) {
			t.Errorf("%s: got %q, want the content of %s", remote, vm.uploads[remote].Data, local)
		}
	}
	if mode := vm.uploads["/tmp/xenbox/prebuilt/gdbsx"].Mode; mode&0o111 == 0 {
		t.Errorf("gdbsx uploaded with mode %v; it lost its executable bits", mode)
	}

	for script, env := range map[string]string{
		"'/tmp/xenbox/hypervisor.sh' install": "XENBOX_HYPERVISOR='/tmp/xenbox/prebuilt/xen.gz'",
		"'/tmp/xenbox/gdbsx.sh' install":      "XENBOX_GDBSX='/tmp/xenbox/prebuilt/gdbsx'",
		"'/tmp/xenbox/pvgrub.sh' install":     "XENBOX_PVGRUB_DIR='/tmp/xenbox/prebuilt/pvgrub'",
	} {
		runs := vm.commandsContaining(script)
		if len(runs) != 1 || !strings.Contains(runs[0], env) {
			t.Errorf("%s ran as %q, want once with %s", script, runs, env)
		}
	}
}

func TestProvisionRunsTheScriptsInOrderAsRootWithTheConfiguration(t *testing.T) {
	vm := newFakeVM()
	p := prepared(t, map[string]interface{}{
		"dom0_memory":       "2G",
		"extra_packages":    []string{"strace", "gdb-multiarch"},
		"default_user_data": `{"GREETING":"it's here"}`,
		"bridge_dhcp_range": "10.99.0.10,10.99.0.20",
	})
	vm.userData = `{"GREETING":"it's here"}`
	if err := provision(t, p, vm); err != nil {
		t.Fatal(err)
	}

	env := "XENBOX_BRIDGE_DHCP_RANGE='10.99.0.10,10.99.0.20' XENBOX_BRIDGE_MODE='standalone' " +
		"XENBOX_BRIDGE_SUBNET='10.99.0.1/24' XENBOX_BRIDGE_UPLINK='eth0' XENBOX_DOM0_MEM='2G' " +
		`XENBOX_METADATA_USER_DATA='{"GREETING":"it'"'"'s here"}' ` +
		"XENBOX_PACKAGES='strace gdb-multiarch' XENBOX_PVGRUB_VARIANTS='hd0 hd00'"
	var scripts []string
	for _, command := range vm.commands {
		if strings.Contains(command, ".sh'") {
			scripts = append(scripts, command)
		}
	}
	want := []string{
		"sudo env " + env + " '/tmp/xenbox/xen.sh'",
		"sudo env " + env + " '/tmp/xenbox/hypervisor.sh' all",
		"sudo env " + env + " '/tmp/xenbox/gdbsx.sh' all",
		"sudo env " + env + " '/tmp/xenbox/pvgrub.sh' all",
		"sudo env " + env + " '/tmp/xenbox/network.sh'",
		"sudo env " + env + " '/tmp/xenbox/metadata.sh'",
	}
	if !slices.Equal(scripts, want) {
		t.Errorf("scripts ran as\n%s\nwant\n%s", strings.Join(scripts, "\n"),
			strings.Join(want, "\n"))
	}

	order := []string{
		"mkdir -p",
		"sudo env  install -m 0755 '/tmp/xenbox/prebuilt/xenbox' /usr/local/bin/xenbox",
		"xen.sh'", "metadata.sh'",
		bootIDCommand,
		"sudo env  " + rebootCommand,
		"sudo env  /usr/local/bin/xenbox --target local doctor",
		"sudo env  rm -rf '/tmp/xenbox'",
	}
	position := -1
	for _, step := range order {
		found := slices.IndexFunc(vm.commands[position+1:], func(command string) bool {
			return strings.Contains(command, step)
		})
		if found < 0 {
			t.Fatalf("no %q after command %d in\n%s", step, position,
				strings.Join(vm.commands, "\n"))
		}
		position += 1 + found
	}
}

func TestProvisionWaitsForANewBootIDAndXenAfterTheReboot(t *testing.T) {
	vm := newFakeVM()
	vm.unreachableAfterReboot = 3
	vm.sameBootIDAfterReboot = 2
	if err := provision(t, prepared(t, nil), vm); err != nil {
		t.Fatal(err)
	}

	var afterReboot []string
	rebootAt := slices.IndexFunc(vm.commands, func(command string) bool {
		return strings.Contains(command, rebootCommand)
	})
	for _, command := range vm.commands[rebootAt+1:] {
		switch {
		case strings.Contains(command, bootIDCommand):
			afterReboot = append(afterReboot, "boot_id")
		case strings.Contains(command, "xl info"):
			afterReboot = append(afterReboot, "xl info")
		}
	}
	// Three unreachable attempts, two that still see the old boot, then the new boot, then
	// the verification's own xl info.
	want := []string{"boot_id", "boot_id", "boot_id", "boot_id", "boot_id", "boot_id",
		"xl info", "xl info"}
	if !slices.Equal(afterReboot, want) {
		t.Errorf("after the reboot: %q, want %q", afterReboot, want)
	}
}

func TestProvisionFailsWhenTheVMDoesNotComeBackUnderXen(t *testing.T) {
	vm := newFakeVM()
	vm.neverRebootsIntoXen = true
	p := prepared(t, map[string]interface{}{"reboot_timeout": "100ms"})

	err := provision(t, p, vm)
	if err == nil {
		t.Fatal("Provision succeeded with a VM that never ran Xen")
	}
	for _, text := range []string{"did not come back up under Xen within 100ms",
		"xl info fails", "serial console", "reboot_timeout"} {
		if !strings.Contains(err.Error(), text) {
			t.Errorf("error %q does not say %q", err, text)
		}
	}
	if len(vm.commandsContaining("doctor")) != 0 {
		t.Error("doctor ran although the VM never came back under Xen")
	}
}

func TestProvisionFailsNamingTheFailingScriptAndItsStatus(t *testing.T) {
	vm := newFakeVM()
	vm.failingScript = "pvgrub.sh"
	vm.failingStatus = 3

	err := provision(t, prepared(t, nil), vm)
	if err == nil || !strings.Contains(err.Error(), "pvgrub.sh all failed with exit status 3") {
		t.Fatalf("error %v should name pvgrub.sh all and exit status 3", err)
	}
	if len(vm.commandsContaining("network.sh")) != 0 {
		t.Error("network.sh ran after pvgrub.sh failed")
	}
}

func TestProvisionFailsNamingTheCheckThatFailed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		break_  func(vm *fakeVM)
		message []string
	}{
		{"bridge down", func(vm *fakeVM) { vm.bridgeFlags = "BROADCAST,MULTICAST" },
			[]string{"xenbr0: the bridge is not up", "BROADCAST,MULTICAST"}},
		{"other user-data", func(vm *fakeVM) { vm.userData = "{}" },
			[]string{"metadata service", "default_user_data", "{}"}},
		{"doctor fails", func(vm *fakeVM) {
			vm.doctorOutput = "CHECK  RESULT  DETAIL\ngdbsx matches xen  FAIL  4.17.3 vs 4.17.5\n"
			vm.doctorStatus = 1
		}, []string{"xenbox doctor: failed (gdbsx matches xen)", "4.17.3 vs 4.17.5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vm := newFakeVM()
			tc.break_(vm)
			p := prepared(t, map[string]interface{}{"default_user_data": `{"A":"b"}`})
			if tc.name != "other user-data" {
				vm.userData = `{"A":"b"}`
			}

			err := provision(t, p, vm)
			if err == nil {
				t.Fatal("Provision succeeded")
			}
			for _, text := range tc.message {
				if !strings.Contains(err.Error(), text) {
					t.Errorf("error %q does not say %q", err, text)
				}
			}
		})
	}
}

func TestProvisionAcceptsDoctorMissingOnlyALayoutLeftOut(t *testing.T) {
	missingHD00 := func() *fakeVM {
		vm := newFakeVM()
		vm.doctorOutput = "CHECK  RESULT  DETAIL\npv-grub present  FAIL  missing " +
			"/usr/local/lib/xenbox/pv-grub-hd00-x86_64.bin\n"
		vm.doctorStatus = 1
		return vm
	}

	onlyHD0 := prepared(t, map[string]interface{}{"pvgrub_variants": []string{"hd0"}})
	if err := provision(t, onlyHD0, missingHD00()); err != nil {
		t.Fatalf("Provision with pvgrub_variants [hd0]: %v", err)
	}
	err := provision(t, prepared(t, nil), missingHD00())
	if err == nil || !strings.Contains(err.Error(), "pv-grub present") {
		t.Fatalf("Provision with both layouts: %v, want doctor's pv-grub failure", err)
	}
}

// TestConfigSpecHasEveryOption catches a provisioner.hcl2spec.go not regenerated after a
// change to Config: an option missing from it is refused by Packer's HCL parser.
func TestConfigSpecHasEveryOption(t *testing.T) {
	spec := new(Provisioner).ConfigSpec()
	configType := reflect.TypeOf(Config{})
	for i := 0; i < configType.NumField(); i++ {
		name, _, _ := strings.Cut(configType.Field(i).Tag.Get("mapstructure"), ",")
		if name == "" {
			continue
		}
		if _, found := spec[name]; !found {
			t.Errorf("option %s is missing from the HCL spec; run go generate", name)
		}
	}
}

// TestPrepareAcceptsAnHCLBlock decodes a block the way Packer does with an HCL template:
// through ConfigSpec into a cty value, then Prepare.
func TestPrepareAcceptsAnHCLBlock(t *testing.T) {
	block := `
xenbox_binary     = "testdata/xenbox-static-amd64"
pvgrub_variants   = ["hd00"]
reboot_timeout    = "25m"
default_user_data = "{\"A\":\"{{b}}\"}"
`
	file, diags := hclparse.NewParser().ParseHCL([]byte(block), "xenbox.pkr.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	p := new(Provisioner)
	value, diags := hcldec.Decode(file.Body, hcldec.ObjectSpec(p.ConfigSpec()), nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}

	if err := p.Prepare(value); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	if p.config.RebootTimeout != 25*time.Minute || !slices.Equal(p.config.PVGrubVariants,
		[]string{"hd00"}) || p.config.DefaultUserData != `{"A":"{{b}}"}` {
		t.Errorf("decoded %+v", p.config)
	}
}
