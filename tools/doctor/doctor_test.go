package doctor

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-version"

	"github.com/xenbox/xenbox/tools/remote"
	"github.com/xenbox/xenbox/tools/session"
	"github.com/xenbox/xenbox/tools/xen"
)

// fakeRunner answers commands by their joined arguments.
type fakeRunner struct {
	replies map[string]reply
	ran     []string
}

type reply struct {
	stdout string
	err    error
}

func (r *fakeRunner) Output(_ context.Context, args ...string) ([]byte, error) {
	command := strings.Join(args, " ")
	r.ran = append(r.ran, command)
	answer, ok := r.replies[command]
	if !ok {
		return nil, &remote.ExitError{Args: args, Where: r.Where(), Code: 127,
			Stderr: args[0] + ": command not found"}
	}
	return []byte(answer.stdout), answer.err
}

func (r *fakeRunner) Run(ctx context.Context, cmd remote.Command) error {
	_, err := r.Output(ctx, cmd.Args...)
	return err
}

func (r *fakeRunner) Where() string { return "fake dom0" }
func (r *fakeRunner) Local() bool   { return false }

// fakeXL knows the running Xen version and the domains created from config files.
type fakeXL struct {
	xenVersion string
	infoErr    error
	domains    map[string]int
	created    int
}

func (x *fakeXL) Create(_ context.Context, configPath string, paused bool) error {
	x.created++
	x.domains[strings.TrimSuffix(filepath.Base(configPath), ".cfg")] = 7
	return nil
}

func (x *fakeXL) DomID(_ context.Context, name string) (int, error) {
	id, ok := x.domains[name]
	if !ok {
		return 0, xen.ErrNoSuchDomain
	}
	return id, nil
}

func (x *fakeXL) Unpause(context.Context, string) error { return nil }
func (x *fakeXL) Pause(context.Context, string) error   { return nil }

func (x *fakeXL) Destroy(_ context.Context, name string) error {
	delete(x.domains, name)
	return nil
}

func (x *fakeXL) List(context.Context) ([]xen.DomainInfo, error) { return nil, nil }

func (x *fakeXL) Info(context.Context) (xen.HostInfo, error) {
	if x.infoErr != nil {
		return xen.HostInfo{}, x.infoErr
	}
	return xen.HostInfo{XenVersion: version.Must(version.NewVersion(x.xenVersion))}, nil
}

type fakes struct {
	runner *fakeRunner
	box    *session.MemoryBox
	xl     *fakeXL
	gdb    string
}

// Commands the network checks run in dom0, as the fake runner knows them.
var (
	ipAddrXenbr0   = "ip -j -d addr show dev xenbr0"
	probeMetadata  = "timeout 5 bash -c " + metadataProbe + " probe 10.99.0.1 80"
	metadataAnswer = "HTTP/1.0 200 OK\r\n"
)

// healthyBox is a box provisioned as xenbox expects, with gdb 13 on this machine.
func healthyBox() *fakes {
	return &fakes{
		runner: &fakeRunner{replies: map[string]reply{
			"xenhypfs cat /buildinfo/config": {stdout: "CONFIG_X86=y\nCONFIG_GDBSX=y\n"},
			"/usr/local/sbin/gdbsx -c 7 64":  {stdout: "vcpu 0 rip: ffffffff80000000\n"},
			ipAddrXenbr0:                     {stdout: testdata("ip-addr-xenbr0.json")},
			probeMetadata:                    {stdout: metadataAnswer},
		}},
		box: &session.MemoryBox{BusyPorts: map[int]bool{}, Files: map[string][]byte{
			session.PVGrubWholeDiskPath:   nil,
			session.PVGrubPartitionedPath: nil,
			session.GDBSXPath:             nil,
			session.GDBSXVersionPath:      []byte("4.17.5\n"),
			bridgeNetfilterPath:           []byte("1\n"),
			MetadataHookPath:              nil,
			MetadataHelperPath:            nil,
			MetadataConfigPath:            []byte(testdata("xenbox-metadata")),
		}},
		xl:  &fakeXL{xenVersion: "4.17.5-pre", domains: map[string]int{}},
		gdb: "GNU gdb (Debian 13.1-3) 13.1\nCopyright (C) 2023 Free Software Foundation, Inc.\n",
	}
}

func (f *fakes) host() Host {
	return Host{Runner: f.runner, Box: f.box, XL: f.xl, Port: 9999,
		LocalGDBVersion: func(context.Context) ([]byte, error) {
			if f.gdb == "" {
				return nil, errors.New("exec: \"gdb\": executable file not found in $PATH")
			}
			return []byte(f.gdb), nil
		}}
}

func TestHealthyBoxPassesEveryCheck(t *testing.T) {
	box := healthyBox()

	checks := Run(context.Background(), box.host())

	if Failed(checks) {
		t.Fatalf("checks failed on a healthy box: %+v", checks)
	}
	if len(checks) != 10 {
		t.Errorf("got %d checks, want 10", len(checks))
	}
	if len(box.xl.domains) != 0 {
		t.Errorf("probe domain left behind: %v", box.xl.domains)
	}
	if box.xl.created != 1 {
		t.Errorf("created %d probe domains, want 1", box.xl.created)
	}
}

func TestEachBrokenPartFailsItsCheckWithFix(t *testing.T) {
	tests := []struct {
		name       string
		breakBox   func(*fakes)
		check      string
		wantDetail string
		wantFix    string
	}{
		{
			name:       "xl info fails",
			breakBox:   func(f *fakes) { f.xl.infoErr = errors.New("xl info: cannot connect") },
			check:      CheckXen,
			wantDetail: "cannot connect",
			wantFix:    "boot the box into Xen",
		},
		{
			name: "hypervisor built without gdbsx",
			breakBox: func(f *fakes) {
				f.runner.replies["xenhypfs cat /buildinfo/config"] = reply{stdout: "CONFIG_X86=y\n"}
			},
			check:      CheckHypervisor,
			wantDetail: "no CONFIG_GDBSX=y",
			wantFix:    "/boot/xen-*-gdbsx.gz",
		},
		{
			name: "gdbsx refused by the hypervisor, no hypfs",
			breakBox: func(f *fakes) {
				delete(f.runner.replies, "xenhypfs cat /buildinfo/config")
				f.runner.replies["/usr/local/sbin/gdbsx -c 7 64"] = reply{
					err: &remote.ExitError{Args: []string{"gdbsx"}, Code: 1,
						Stderr: "ERROR: Hyp is NOT enabled for gdbsx"}}
			},
			check:      CheckHypervisor,
			wantDetail: "Hyp is NOT enabled for gdbsx",
			wantFix:    "provisioners/hypervisor.sh",
		},
		{
			name:       "no Xen, no probe",
			breakBox:   func(f *fakes) { f.xl.infoErr = errors.New("xl info: cannot connect") },
			check:      CheckHypervisor,
			wantDetail: "not checked: Xen is not running",
			wantFix:    "boot the box into Xen",
		},
		{
			name:       "no PV-GRUB to probe with",
			breakBox:   func(f *fakes) { delete(f.box.Files, session.PVGrubWholeDiskPath) },
			check:      CheckHypervisor,
			wantDetail: "not probed",
			wantFix:    "pvgrub provisioner",
		},
		{
			name:       "gdbsx missing",
			breakBox:   func(f *fakes) { delete(f.box.Files, session.GDBSXPath) },
			check:      CheckGDBSX,
			wantDetail: "/usr/local/sbin/gdbsx is missing",
			wantFix:    "provisioners/gdbsx.sh",
		},
		{
			name:       "gdbsx from another Xen",
			breakBox:   func(f *fakes) { f.box.Files[session.GDBSXVersionPath] = []byte("4.17.3\n") },
			check:      CheckGDBSX,
			wantDetail: "gdbsx built for Xen 4.17.3, Xen 4.17.5-pre is running",
			wantFix:    "provisioners/gdbsx.sh",
		},
		{
			name:       "PV-GRUB missing",
			breakBox:   func(f *fakes) { delete(f.box.Files, session.PVGrubPartitionedPath) },
			check:      CheckPVGrub,
			wantDetail: "missing " + session.PVGrubPartitionedPath,
			wantFix:    "pvgrub provisioner",
		},
		{
			name:       "port in use",
			breakBox:   func(f *fakes) { f.box.BusyPorts[9999] = true },
			check:      CheckPort,
			wantDetail: "port 9999 is in use in fake dom0",
			wantFix:    "pick another --port",
		},
		{
			name:       "no bridge",
			breakBox:   func(f *fakes) { delete(f.runner.replies, ipAddrXenbr0) },
			check:      CheckBridge,
			wantDetail: "no xenbr0 in fake dom0",
			wantFix:    "provisioners/network.sh",
		},
		{
			name: "bridge down",
			breakBox: func(f *fakes) {
				f.runner.replies[ipAddrXenbr0] = reply{stdout: testdata("ip-addr-xenbr0-down.json")}
			},
			check:      CheckBridge,
			wantDetail: "xenbr0 is down",
			wantFix:    "provisioners/network.sh",
		},
		{
			name: "xenbr0 is not a bridge",
			breakBox: func(f *fakes) {
				f.runner.replies[ipAddrXenbr0] = reply{stdout: testdata("ip-addr-eth0.json")}
			},
			check:      CheckBridge,
			wantDetail: `xenbr0 is a "veth" link, not a bridge`,
			wantFix:    "provisioners/network.sh",
		},
		{
			name:       "br_netfilter not loaded",
			breakBox:   func(f *fakes) { delete(f.box.Files, bridgeNetfilterPath) },
			check:      CheckBridgeNetfilter,
			wantDetail: "br_netfilter is not loaded",
			wantFix:    "provisioners/metadata.sh",
		},
		{
			name:       "bridged frames skip iptables",
			breakBox:   func(f *fakes) { f.box.Files[bridgeNetfilterPath] = []byte("0\n") },
			check:      CheckBridgeNetfilter,
			wantDetail: "net.bridge.bridge-nf-call-iptables is 0",
			wantFix:    "provisioners/metadata.sh",
		},
		{
			name:       "hook missing",
			breakBox:   func(f *fakes) { delete(f.box.Files, MetadataHookPath) },
			check:      CheckHook,
			wantDetail: "missing " + MetadataHookPath,
			wantFix:    "provisioners/metadata.sh",
		},
		{
			name:       "metadata service not listening",
			breakBox:   func(f *fakes) { delete(f.runner.replies, probeMetadata) },
			check:      CheckMetadata,
			wantDetail: "nothing answers on 10.99.0.1:80",
			wantFix:    "journalctl -u xenbox-metadata",
		},
		{
			name: "something else on the metadata port",
			breakBox: func(f *fakes) {
				f.runner.replies[probeMetadata] = reply{stdout: "HTTP/1.1 404 Not Found\r\n"}
			},
			check:      CheckMetadata,
			wantDetail: `10.99.0.1:80 answered "HTTP/1.1 404 Not Found"`,
			wantFix:    "systemctl status xenbox-metadata",
		},
		{
			name:       "metadata service without a bridge address",
			breakBox:   func(f *fakes) { delete(f.runner.replies, ipAddrXenbr0) },
			check:      CheckMetadata,
			wantDetail: "not checked: xenbr0 has no address",
			wantFix:    "provisioners/network.sh",
		},
		{
			name:       "gdb too old",
			breakBox:   func(f *fakes) { f.gdb = "GNU gdb (GDB) 7.11.1\n" },
			check:      CheckLocalGDB,
			wantDetail: "gdb 7.11.1 is too old",
			wantFix:    "install gdb 8 or newer",
		},
		{
			name:       "gdb missing",
			breakBox:   func(f *fakes) { f.gdb = "" },
			check:      CheckLocalGDB,
			wantDetail: "executable file not found",
			wantFix:    "GDB environment variable",
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			box := healthyBox()
			test.breakBox(box)

			checks := Run(context.Background(), box.host())

			check := find(t, checks, test.check)
			if check.OK {
				t.Fatalf("check %q passed, want it to fail", test.check)
			}
			if !strings.Contains(check.Detail, test.wantDetail) {
				t.Errorf("detail %q lacks %q", check.Detail, test.wantDetail)
			}
			if !strings.Contains(check.Fix, test.wantFix) {
				t.Errorf("fix %q lacks %q", check.Fix, test.wantFix)
			}
			if len(box.xl.domains) != 0 {
				t.Errorf("probe domain left behind: %v", box.xl.domains)
			}
		})
	}
}

func TestMetadataCheckFollowsTheServiceConfig(t *testing.T) {
	box := healthyBox()
	box.box.Files[MetadataConfigPath] = []byte("XENBOX_METADATA_BRIDGE=br-guests\n" +
		"XENBOX_METADATA_ADDRESS=\"192.0.2.1\"\nXENBOX_METADATA_PORT=8080\n")
	box.runner.replies["ip -j -d addr show dev br-guests"] = reply{
		stdout: testdata("ip-addr-xenbr0.json")}
	box.runner.replies["timeout 5 bash -c "+metadataProbe+" probe 192.0.2.1 8080"] = reply{
		stdout: metadataAnswer}

	checks := Run(context.Background(), box.host())

	check := find(t, checks, CheckMetadata)
	if !check.OK || check.Detail != "http://192.0.2.1:8080/latest/meta-data/" {
		t.Errorf("metadata check = %+v, want it ok on 192.0.2.1:8080", check)
	}
}

func testdata(name string) string {
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		panic(err)
	}
	return string(data)
}

func find(t *testing.T, checks []Check, name string) Check {
	t.Helper()
	for _, check := range checks {
		if check.Name == name {
			return check
		}
	}
	t.Fatalf("no check named %q in %+v", name, checks)
	return Check{}
}

func TestParseGDBVersionTakesGDBsOwnNumber(t *testing.T) {
	tests := map[string]string{
		"GNU gdb (Debian 13.1-3) 13.1\n":                      "13.1",
		"GNU gdb (Ubuntu 12.1-0ubuntu1~22.04.2) 12.1\nmore\n": "12.1",
		"GNU gdb (GDB) Fedora Linux 14.2-1.fc40\n":            "14.2",
		"GNU gdb (GDB) 7.11.1\n":                              "7.11.1",
	}
	for output, want := range tests {
		got, err := ParseGDBVersion([]byte(output))
		if err != nil || got.Original() != want {
			t.Errorf("ParseGDBVersion(%q) = %v, %v; want %s", output, got, err, want)
		}
	}
}

func TestPrintShowsFixUnderFailure(t *testing.T) {
	checks := []Check{
		passed(CheckXen, "Xen 4.17.5"),
		failed(CheckPort, "port 9999 is in use", "pick another --port"),
	}
	var out bytes.Buffer

	if err := Print(&out, checks); err != nil {
		t.Fatal(err)
	}

	want, err := os.ReadFile(filepath.Join("..", "..", "testdata", "session", "doctor-table.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("table =\n%s\nwant\n%s", out.String(), want)
	}
}
