package xen

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xenbox/xenbox/tools/remote"
)

// fakeGDBSXMode tells the test binary, when run as "gdbsx", how to behave: "listen" (the
// default) serves one connection like gdbsx, "hyp" fails as on a hypervisor without
// CONFIG_GDBSX, "mute" never listens.
const fakeGDBSXMode = "XENBOX_FAKE_GDBSX_MODE"

func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "gdbsx" {
		os.Exit(runFakeGDBSX(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// runFakeGDBSX behaves like `gdbsx -a DOMID WIDTH PORT` as far as the driver can tell.
func runFakeGDBSX(args []string) int {
	if len(args) != 4 || args[0] != "-a" {
		fmt.Fprintln(os.Stderr, "usage: gdbsx -a domid 32|64 port")
		return 1
	}
	switch os.Getenv(fakeGDBSXMode) {
	case "hyp":
		fmt.Println("ERROR: failed domctl, errno 38")
		fmt.Println("Hyp is NOT enabled for gdbsx")
		return 1
	case "mute":
		time.Sleep(time.Minute)
		return 0
	}
	listener, err := net.Listen("tcp", "127.0.0.1:"+args[3])
	if err != nil {
		fmt.Println("ERROR:", err)
		return 1
	}
	fmt.Printf("Listening on port %s\n", args[3])
	conn, err := listener.Accept()
	if err == nil {
		conn.Close()
	}
	return 0
}

// newLocalGDBSX returns a RemoteGDBSX on this machine whose binary is this test binary
// under the name gdbsx, in the given mode.
func newLocalGDBSX(t *testing.T, mode string) *RemoteGDBSX {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	binary := filepath.Join(t.TempDir(), "gdbsx")
	if err := os.Symlink(self, binary); err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeGDBSXMode, mode)

	gdbsx := NewGDBSX(remote.NewLocal())
	gdbsx.Binary = binary
	gdbsx.StartTimeout = 3 * time.Second
	gdbsx.PollInterval = 50 * time.Millisecond
	return gdbsx
}

func freePort(t *testing.T) int {
	t.Helper()
	port, err := remote.FreeLocalPort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func TestGDBSXStartWaitsForTheListenerAndStopEndsIt(t *testing.T) {
	gdbsx := newLocalGDBSX(t, "listen")
	logPath := filepath.Join(t.TempDir(), "log", "xenbox-hello-gdbsx.log")
	port := freePort(t)
	ctx := context.Background()

	pid, err := gdbsx.Start(ctx, 3, 64, port, logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gdbsx.Stop(ctx, pid) })

	free, err := remote.PortFree(ctx, remote.NewLocal(), port)
	if err != nil || free {
		t.Errorf("port %d free=%v (%v) after Start, want it listening", port, free, err)
	}
	if running, err := gdbsx.Running(ctx, pid); err != nil || !running {
		t.Errorf("Running(%d) = %v, %v after Start, want true", pid, running, err)
	}
	if err := gdbsx.Stop(ctx, pid); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool {
		running, _ := gdbsx.Running(ctx, pid)
		return !running
	})
	log, _ := os.ReadFile(logPath)
	if !strings.Contains(string(log), "Listening on port "+strconv.Itoa(port)) {
		t.Errorf("log %q lacks the listening line", log)
	}
}

func TestGDBSXStartQuotesHypNotEnabled(t *testing.T) {
	gdbsx := newLocalGDBSX(t, "hyp")

	_, err := gdbsx.Start(context.Background(), 3, 64, freePort(t),
		filepath.Join(t.TempDir(), "gdbsx.log"))

	if err == nil || !strings.Contains(err.Error(), "Hyp is NOT enabled for gdbsx") ||
		!strings.Contains(err.Error(), "gdbsx.gz") {
		t.Errorf("error = %v, want gdbsx's complaint and what to boot instead", err)
	}
}

func TestGDBSXStartGivesUpOnAStubThatNeverListensAndStopsIt(t *testing.T) {
	gdbsx := newLocalGDBSX(t, "mute")
	gdbsx.StartTimeout = 500 * time.Millisecond
	logPath := filepath.Join(t.TempDir(), "gdbsx.log")

	_, err := gdbsx.Start(context.Background(), 3, 32, freePort(t), logPath)

	if err == nil || !strings.Contains(err.Error(), "did not listen within") {
		t.Fatalf("error = %v, want a timeout", err)
	}
	waitUntil(t, func() bool { return len(processesRunning(t, gdbsx.Binary)) == 0 })
}

// processesRunning returns the /proc cmdline files of processes running binary.
func processesRunning(t *testing.T, binary string) []string {
	t.Helper()
	files, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var running []string
	for _, file := range files {
		cmdline, _ := os.ReadFile(file)
		if strings.HasPrefix(string(cmdline), binary+"\x00") {
			running = append(running, file)
		}
	}
	return running
}

func TestGDBSXStartRefusesABusyPort(t *testing.T) {
	gdbsx := newLocalGDBSX(t, "listen")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	_, err = gdbsx.Start(context.Background(), 3, 64, busy.Addr().(*net.TCPAddr).Port,
		filepath.Join(t.TempDir(), "gdbsx.log"))

	if err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Errorf("error = %v, want one about the busy port", err)
	}
}

func TestGDBSXStartRefusesDom0AndOddWidths(t *testing.T) {
	gdbsx := NewGDBSX(&remote.FakeRunner{})
	for _, args := range [][3]int{{0, 64, 9999}, {3, 16, 9999}, {3, 64, 0}} {
		_, err := gdbsx.Start(context.Background(), args[0], args[1], args[2], "/tmp/x.log")
		if err == nil {
			t.Errorf("Start%v succeeded, want an error", args)
		}
	}
}

func TestGDBSXStopLeavesAProcessThatIsNotGDBSXAlone(t *testing.T) {
	gdbsx := NewGDBSX(remote.NewLocal())
	ctx := context.Background()

	running, err := gdbsx.Running(ctx, os.Getpid())
	if err != nil || running {
		t.Errorf("Running(test binary) = %v, %v; want false", running, err)
	}
	// Were the check wrong, this would kill the test binary itself.
	if err := gdbsx.Stop(ctx, os.Getpid()); err != nil {
		t.Errorf("Stop = %v, want nil", err)
	}
}

func TestIsGDBSXCmdline(t *testing.T) {
	tests := map[string]bool{
		"/usr/local/sbin/gdbsx\x00-a\x003\x0064\x009999\x00":           true,
		"setsid\x00/usr/local/sbin/gdbsx\x00-a\x003\x0064\x009999\x00": true,
		"gdbsx\x00-d\x00":           false,
		"/usr/bin/sleep\x0030\x00":  false,
		"":                          false,
		"notgdbsx\x00-a\x003\x00":   false,
		"setsid\x00sleep\x0030\x00": false,
	}
	for cmdline, want := range tests {
		if got := IsGDBSXCmdline([]byte(cmdline)); got != want {
			t.Errorf("IsGDBSXCmdline(%q) = %v, want %v", cmdline, got, want)
		}
	}
}

func waitUntil(t *testing.T, condition func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		if condition() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("condition not met within 3 s")
}
