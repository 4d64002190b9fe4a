package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xenbox/xenbox/tools/metadata"
	"github.com/xenbox/xenbox/tools/unik"
	"github.com/xenbox/xenbox/tools/xlconfig"
)

const testDomain = "unik-123"

func testSpec() Spec {
	return Spec{
		Artifact: unik.Artifact{
			Name: testDomain,
			Image: unik.BootImage{
				Path:   "/home/dev/.unik/tmp/boot-creator-result.img.123",
				Layout: unik.WholeDisk,
				Entry: unik.MenuEntry{Kernel: "/boot/program.bin",
					CommandLine: `{"net":{"if":"xenif0"},"blk": {"source":"etfs"}}`},
			},
			DebugDir: unik.DebugDir{
				Path:       "/home/dev/.unik/tmp/bootable-image-directory.456",
				ProgramBin: "/home/dev/.unik/tmp/bootable-image-directory.456/program.bin",
				Class:      64,
			},
		},
		Bridge: DefaultBridge,
	}
}

type testHost struct {
	box   *fakeBox
	xl    *fakeXL
	gdbsx *fakeGDBSX
}

// newTestHost returns a box provisioned with PV-GRUB and the bridge.
func newTestHost() (Host, testHost) {
	box := newFakeBox()
	box.Files[PVGrubWholeDiskPath] = []byte("pv-grub")
	box.Files[PVGrubPartitionedPath] = []byte("pv-grub")
	box.Files["/sys/class/net/xenbr0"] = nil
	fakes := testHost{box: box, xl: newFakeXL(box), gdbsx: newFakeGDBSX()}
	fakes.xl.gdbsx = fakes.gdbsx
	return Host{Box: box, XL: fakes.xl, GDBSX: fakes.gdbsx}, fakes
}

func TestStartCreatesPausedDomainAttachesGDBSXAndSavesState(t *testing.T) {
	host, fakes := newTestHost()
	var out bytes.Buffer

	state, err := Start(context.Background(), host, testSpec(), &Steps{Out: &out})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}

	if id := fakes.xl.domains[testDomain]; id != state.DomID || id == 0 {
		t.Errorf("domain %s has domid %d, state says %d", testDomain, id, state.DomID)
	}
	if !reflect.DeepEqual(fakes.xl.stubsAtUnpause, []int{1}) {
		t.Errorf("xl unpause ran with %v gdbsx stubs attached, want once, after gdbsx attached "+
			"(the domain stays paused by gdbsx until gdb continues)", fakes.xl.stubsAtUnpause)
	}
	want := []gdbsxStart{{domID: state.DomID, width: 64, port: DefaultPort}}
	if !reflect.DeepEqual(fakes.gdbsx.started, want) {
		t.Errorf("gdbsx started %+v, want %+v", fakes.gdbsx.started, want)
	}
	if _, ok := fakes.box.Files[ConfigPath(testDomain)]; !ok {
		t.Errorf("no xl config at %s", ConfigPath(testDomain))
	}
	saved, err := LoadState(context.Background(), host.Box, testDomain)
	if err != nil {
		t.Fatalf("LoadState: %v", err)
	}
	if saved.GDBSXPID != state.GDBSXPID || saved.Boot != BootPVGrub || saved.Width != 64 {
		t.Errorf("saved state %+v does not match returned %+v", saved, state)
	}
	for _, line := range []string{
		"copying boot.img to fake dom0 ... sent 3.0 MiB in 1.5 s\n",
		"copying program.bin to fake dom0 ... sent 3.0 MiB in 1.5 s\n",
		"creating domain unik-123 (paused) ... ok\n"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("output lacks %q:\n%s", line, out.String())
		}
	}
}

func TestPreflightSaysWhatToDo(t *testing.T) {
	tests := []struct {
		name      string
		breakHost func(testHost)
		spec      func(*Spec)
		want      string
	}{
		{
			name:      "domain already running",
			breakHost: func(h testHost) { h.xl.domains[testDomain] = 7 },
			want: "domain unik-123 is already running; " +
				"run `xenbox destroy unik-123` or pick another --name",
		},
		{
			name:      "port in use",
			breakHost: func(h testHost) { h.box.BusyPorts[9999] = true },
			want:      "port 9999 is in use in fake dom0; stop what listens there or pick another --port",
		},
		{
			name:      "PV-GRUB missing",
			breakHost: func(h testHost) { delete(h.box.Files, PVGrubWholeDiskPath) },
			want:      PVGrubWholeDiskPath + ": PV-GRUB missing; run the pvgrub provisioner",
		},
		{
			name:      "partitioned image needs the hd00 PV-GRUB",
			breakHost: func(h testHost) { delete(h.box.Files, PVGrubPartitionedPath) },
			spec:      func(s *Spec) { s.Artifact.Image.Layout = unik.Partitioned },
			want:      PVGrubPartitionedPath + ": PV-GRUB missing",
		},
		{
			name:      "bridge missing",
			breakHost: func(h testHost) { delete(h.box.Files, "/sys/class/net/xenbr0") },
			want:      "/sys/class/net/xenbr0: bridge xenbr0 missing",
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			host, fakes := newTestHost()
			test.breakHost(fakes)
			spec := testSpec()
			if test.spec != nil {
				test.spec(&spec)
			}
			createdBefore := len(fakes.xl.domains)

			_, err := Start(context.Background(), host, spec, nil)

			if err == nil || !strings.Contains(err.Error(), test.want) {
				t.Fatalf("Start error = %v, want it to contain %q", err, test.want)
			}
			if len(fakes.xl.domains) != createdBefore || len(fakes.gdbsx.started) != 0 {
				t.Errorf("preflight failure still called xl or gdbsx: domains %v, gdbsx %v",
					fakes.xl.domains, fakes.gdbsx.started)
			}
		})
	}
}

func TestPreflightPassesWithoutBridgeWhenNetworkIsOff(t *testing.T) {
	host, fakes := newTestHost()
	delete(fakes.box.Files, "/sys/class/net/xenbr0")
	spec := testSpec()
	spec.Bridge = ""

	if _, err := Start(context.Background(), host, spec, nil); err != nil {
		t.Fatalf("Start without network: %v", err)
	}
}

func TestDirectBootNeedsNoPVGrub(t *testing.T) {
	host, fakes := newTestHost()
	delete(fakes.box.Files, PVGrubWholeDiskPath)
	spec := testSpec()
	spec.Direct = true

	state, err := Start(context.Background(), host, spec, nil)
	if err != nil {
		t.Fatalf("Start with --direct: %v", err)
	}
	if state.Boot != BootDirect {
		t.Errorf("state boot = %q, want %q", state.Boot, BootDirect)
	}
}

func TestStartRollsBackWhenGDBSXFails(t *testing.T) {
	host, fakes := newTestHost()
	fakes.gdbsx.failStart = errors.New("Hyp is NOT enabled for gdbsx")

	_, err := Start(context.Background(), host, testSpec(), nil)

	if err == nil || !strings.Contains(err.Error(), "Hyp is NOT enabled for gdbsx") {
		t.Fatalf("Start error = %v, want gdbsx's reason", err)
	}
	assertNothingLeft(t, fakes)
	if !reflect.DeepEqual(fakes.xl.destroyed, []string{testDomain}) {
		t.Errorf("destroyed %v, want [%s]", fakes.xl.destroyed, testDomain)
	}
}

func TestStartRollsBackWhenStateCannotBeSaved(t *testing.T) {
	host, fakes := newTestHost()
	fakes.box.FailWrite[StatePath(testDomain)] = errInjected

	_, err := Start(context.Background(), host, testSpec(), nil)

	if !errors.Is(err, errInjected) {
		t.Fatalf("Start error = %v, want the write failure", err)
	}
	assertNothingLeft(t, fakes)
	if len(fakes.gdbsx.running) != 0 {
		t.Errorf("gdbsx still running: %v", fakes.gdbsx.running)
	}
}

func TestStartRollsBackWhenCreateFails(t *testing.T) {
	host, fakes := newTestHost()
	fakes.xl.failCreate = errInjected

	_, err := Start(context.Background(), host, testSpec(), nil)

	if !errors.Is(err, errInjected) {
		t.Fatalf("Start error = %v, want the create failure", err)
	}
	assertNothingLeft(t, fakes)
	if len(fakes.gdbsx.started) != 0 {
		t.Errorf("gdbsx started although the domain was not created: %v", fakes.gdbsx.started)
	}
}

func assertNothingLeft(t *testing.T, fakes testHost) {
	t.Helper()
	if len(fakes.xl.domains) != 0 {
		t.Errorf("domains left: %v", fakes.xl.domains)
	}
	if len(fakes.gdbsx.running) != 0 {
		t.Errorf("gdbsx left running: %v", fakes.gdbsx.running)
	}
	if _, ok := fakes.box.Files[StatePath(testDomain)]; ok {
		t.Errorf("session state left at %s", StatePath(testDomain))
	}
}

func TestStartRejectsImageWithoutDebugDir(t *testing.T) {
	host, fakes := newTestHost()
	spec := testSpec()
	spec.Artifact.DebugDir = unik.DebugDir{}

	_, err := Start(context.Background(), host, spec, nil)

	want := "image /home/dev/.unik/tmp/boot-creator-result.img.123 has no debug dir"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Start error = %v, want %q", err, want)
	}
	if len(fakes.box.Synced) != 0 {
		t.Errorf("synced %v before noticing the missing debug dir", fakes.box.Synced)
	}
}

func TestSyncSkipsUnchangedFiles(t *testing.T) {
	host, _ := newTestHost()
	if err := SyncArtifact(context.Background(), host.Box, testSpec(), nil); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer

	err := SyncArtifact(context.Background(), host.Box, testSpec(), &Steps{Out: &out})

	if err != nil {
		t.Fatal(err)
	}
	want := "copying boot.img to fake dom0 ... unchanged, skipped\n" +
		"copying program.bin to fake dom0 ... unchanged, skipped\n"
	if out.String() != want {
		t.Errorf("second sync printed %q, want %q", out.String(), want)
	}
}

func TestBreakCommandUsesHardwareBreakpointsUnderPVGrub(t *testing.T) {
	tests := []struct {
		direct bool
		want   string
	}{
		{direct: false, want: `python xenbox_break("tick")`},
		{direct: true, want: "break tick"},
	}
	for _, test := range tests {
		if got := BreakCommand(test.direct, "tick"); got != test.want {
			t.Errorf("BreakCommand(direct=%v) = %q, want %q", test.direct, got, test.want)
		}
	}
}

func TestGDBArgsConnectBreakThenPassExtraArguments(t *testing.T) {
	opts := GDBOptions{Breaks: []string{"tick", "sample.c:42"},
		Extra: []string{"-batch", "-ex", "continue"}}

	got := GDBArgs("/dbg/program.bin", "127.0.0.1:40999", false, "/tmp/break.py", opts)

	want := []string{"-q", "-nx", "/dbg/program.bin",
		"-ex", "set pagination off", "-ex", "set confirm off",
		"-ex", "set trust-readonly-sections on", "-x", "/tmp/break.py",
		"-ex", "target remote 127.0.0.1:40999",
		"-ex", `python xenbox_break("tick")`, "-ex", `python xenbox_break("sample.c:42")`,
		"-batch", "-ex", "continue"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GDBArgs =\n%q\nwant\n%q", got, want)
	}
}

func TestRunGDBDestroysDomainUnlessKeep(t *testing.T) {
	for _, keep := range []bool{false, true} {
		host, fakes := newTestHost()
		state, err := Start(context.Background(), host, testSpec(), nil)
		if err != nil {
			t.Fatal(err)
		}
		forwarder := &fakeForwarder{}
		gdb := &fakeDebugger{exitCode: 3}

		code, err := RunGDB(context.Background(), host, forwarder, gdb, state,
			GDBOptions{Keep: keep}, nil)

		if err != nil || code != 3 {
			t.Errorf("keep=%v: RunGDB = %d, %v; want gdb's exit code 3", keep, code, err)
		}
		if forwarder.open != 0 {
			t.Errorf("keep=%v: %d forwards left open", keep, forwarder.open)
		}
		if len(fakes.gdbsx.running) != 0 {
			t.Errorf("keep=%v: gdbsx left running %v", keep, fakes.gdbsx.running)
		}
		_, domainLeft := fakes.xl.domains[testDomain]
		_, stateLeft := fakes.box.Files[StatePath(testDomain)]
		if domainLeft != keep || stateLeft != keep {
			t.Errorf("keep=%v: domain left %v, state left %v", keep, domainLeft, stateLeft)
		}
	}
}

func TestRunGDBCleansUpWhenGDBCannotRun(t *testing.T) {
	host, fakes := newTestHost()
	state, err := Start(context.Background(), host, testSpec(), nil)
	if err != nil {
		t.Fatal(err)
	}

	_, err = RunGDB(context.Background(), host, &fakeForwarder{},
		&fakeDebugger{err: errInjected}, state, GDBOptions{}, nil)

	if !errors.Is(err, errInjected) {
		t.Fatalf("RunGDB error = %v, want gdb's failure", err)
	}
	assertNothingLeft(t, fakes)
}

func TestRunGDBStartsFreshGDBSXWhenPreviousEnded(t *testing.T) {
	host, fakes := newTestHost()
	state, err := Start(context.Background(), host, testSpec(), nil)
	if err != nil {
		t.Fatal(err)
	}
	delete(fakes.gdbsx.running, state.GDBSXPID) // gdbsx exits when the last gdb detaches

	_, err = RunGDB(context.Background(), host, &fakeForwarder{}, &fakeDebugger{}, state,
		GDBOptions{Keep: true}, nil)

	if err != nil {
		t.Fatal(err)
	}
	if len(fakes.gdbsx.started) != 2 {
		t.Fatalf("gdbsx started %d times, want 2", len(fakes.gdbsx.started))
	}
	saved, err := LoadState(context.Background(), host.Box, testDomain)
	if err != nil {
		t.Fatal(err)
	}
	if saved.GDBSXPID == state.GDBSXPID {
		t.Errorf("state still names the ended gdbsx %d", state.GDBSXPID)
	}
}

func TestDestroyEndsSession(t *testing.T) {
	host, fakes := newTestHost()
	if _, err := Start(context.Background(), host, testSpec(), nil); err != nil {
		t.Fatal(err)
	}

	destroyed, err := Destroy(context.Background(), host, testDomain, nil)

	if err != nil || !destroyed {
		t.Fatalf("Destroy = %v, %v; want true, nil", destroyed, err)
	}
	assertNothingLeft(t, fakes)
}

func TestDestroyWithoutSessionFindsNothing(t *testing.T) {
	host, _ := newTestHost()

	destroyed, err := Destroy(context.Background(), host, testDomain, nil)

	if err != nil || destroyed {
		t.Fatalf("Destroy = %v, %v; want false, nil", destroyed, err)
	}
}

func TestStateFileFormat(t *testing.T) {
	golden := filepath.Join("..", "..", "testdata", "session", "state.json")
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	box := newFakeBox()
	state := State{Domain: testDomain, DomID: 5, GDBSXPID: 4242, Port: 9999, Width: 64,
		Boot: BootPVGrub, Image: ImagePath(testDomain), ProgramBin: ProgramBinPath(testDomain),
		LocalProgramBin: "/home/dev/.unik/tmp/bootable-image-directory.456/program.bin",
		Created:         time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}

	if err := SaveState(context.Background(), box, state); err != nil {
		t.Fatal(err)
	}

	if got := box.Files[StatePath(testDomain)]; !bytes.Equal(got, want) {
		t.Errorf("state file =\n%s\nwant (%s)\n%s", got, golden, want)
	}
	var decoded State
	if err := json.Unmarshal(want, &decoded); err != nil || decoded != state {
		t.Errorf("golden decodes to %+v (%v), want %+v", decoded, err, state)
	}
}

func TestStepsShowElapsedTimeOfLongSteps(t *testing.T) {
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	steps := &Steps{Out: &out, Now: func() time.Time { return clock }}

	_ = steps.Do("quick", func() error { return nil })
	_ = steps.Do("slow", func() error { clock = clock.Add(5200 * time.Millisecond); return nil })
	_ = steps.Do("broken", func() error { return errInjected })

	want := "quick ... ok\nslow ... ok (5.2 s)\nbroken ... failed\n"
	if out.String() != want {
		t.Errorf("steps printed %q, want %q", out.String(), want)
	}
}

func TestStartWritesTheMetadataRecordAndGDBRemovesIt(t *testing.T) {
	host, fakes := newTestHost()
	spec := testSpec()
	spec.UserData = `{"GREETING":"hello"}`
	spec.InstanceType = "m1.small"

	state, err := Start(context.Background(), host, spec, nil)
	if err != nil {
		t.Fatal(err)
	}

	var record metadata.Record
	if err := json.Unmarshal(fakes.box.Files[MetadataRecordPath(testDomain)], &record); err != nil {
		t.Fatalf("metadata record of %s: %v", testDomain, err)
	}
	want := metadata.Record{Domain: testDomain, MAC: xlconfig.DeriveMAC(testDomain),
		InstanceType: "m1.small", UserData: `{"GREETING":"hello"}`,
		PendingTime: record.PendingTime}
	if record != want || record.PendingTime.IsZero() {
		t.Errorf("metadata record %+v, want %+v with a pending time", record, want)
	}

	if _, err := RunGDB(context.Background(), host, &fakeForwarder{}, &fakeDebugger{}, state,
		GDBOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, left := fakes.box.Files[MetadataRecordPath(testDomain)]; left {
		t.Errorf("the metadata record of %s outlived its domain", testDomain)
	}
}

func TestDestroyWithoutSessionEndsOnlyDomainsXenboxStarted(t *testing.T) {
	host, fakes := newTestHost()
	fakes.xl.domains["web"] = 5
	fakes.box.Files[ConfigPath("mine")] = []byte("name = 'mine'\n")
	fakes.xl.domains["mine"] = 6

	found, err := Destroy(context.Background(), host, "web", nil)

	if err == nil || !strings.Contains(err.Error(), "was not started by xenbox") || found {
		t.Errorf("Destroy(web) = %v, %v; want a refusal naming xl destroy", found, err)
	}
	if _, left := fakes.xl.domains["web"]; !left {
		t.Error("a domain xenbox did not start was destroyed")
	}

	found, err = Destroy(context.Background(), host, "mine", nil)

	if err != nil || !found {
		t.Errorf("Destroy(mine) = %v, %v; want it destroyed", found, err)
	}
	if _, left := fakes.xl.domains["mine"]; left {
		t.Error("xenbox's own domain without state was not destroyed")
	}
}

func TestA32BitKernelNeedsDirectBoot(t *testing.T) {
	spec := testSpec()
	spec.Artifact.DebugDir.Class = 32

	if _, err := spec.Domain(); err == nil || !strings.Contains(err.Error(), "--direct") {
		t.Errorf("Domain() of a 32-bit kernel under PV-GRUB = %v, want a pointer to --direct", err)
	}
	spec.Direct = true
	if _, err := spec.Domain(); err != nil {
		t.Errorf("Domain() of a 32-bit kernel with --direct: %v", err)
	}
}

func TestInterruptPausesARunningDomainOnly(t *testing.T) {
	host, fakes := newTestHost()
	state, err := Start(context.Background(), host, testSpec(), nil)
	if err != nil {
		t.Fatal(err)
	}
	fakes.xl.paused[testDomain] = false // gdb continued: the guest runs

	if err := Interrupt(context.Background(), host, state); err != nil {
		t.Fatal(err)
	}
	if err := Interrupt(context.Background(), host, state); err != nil {
		t.Fatal(err)
	}

	if !fakes.xl.paused[testDomain] || fakes.xl.pauses != 1 {
		t.Errorf("domain paused %v after %d pauses; want paused once, the second ^C finding "+
			"it paused already", fakes.xl.paused[testDomain], fakes.xl.pauses)
	}
}

func TestStartOnABusyPortFailsBeforeCopyingTheImage(t *testing.T) {
	host, fakes := newTestHost()
	fakes.box.BusyPorts[DefaultPort] = true

	_, err := Start(context.Background(), host, testSpec(), nil)

	if err == nil || !strings.Contains(err.Error(), "is in use") {
		t.Fatalf("Start = %v, want the busy port named", err)
	}
	if len(fakes.box.Synced) != 0 {
		t.Errorf("copied %v before finding the port busy", fakes.box.Synced)
	}
}
