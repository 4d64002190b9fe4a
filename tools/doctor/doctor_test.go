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

// healthyBox is a box provisioned as xenbox expects, with gdb 13 on this machine.
func healthyBox() *fakes {
	return &fakes{
		runner: &fakeRunner{replies: map[string]reply{
			"xenhypfs cat /buildinfo/config": {stdout: "CONFIG_X86=y\nCONFIG_GDBSX=y\n"},
			"/usr/local/sbin/gdbsx -c 7 64":  {stdout: "vcpu 0 rip: ffffffff80000000\n"},
		}},
		box: &session.MemoryBox{BusyPorts: map[int]bool{}, Files: map[string][]byte{
			session.PVGrubWholeDiskPath:   nil,
			session.PVGrubPartitionedPath: nil,
			session.GDBSXPath:             nil,
			session.GDBSXVersionPath:      []byte("4.17.5\n"),
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
	if len(checks) != 6 {
		t.Errorf("got %d checks, want 6", len(checks))
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
