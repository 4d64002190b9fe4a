package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sshdPath is the OpenSSH server the end-to-end tests run on 127.0.0.1.
const sshdPath = "/usr/sbin/sshd"

// startSSHD runs a throwaway sshd on a free port of 127.0.0.1 with its own host key, and
// returns an SSH runner that logs in to it with a throwaway user key. The server is killed
// by its PID when the test ends.
func startSSHD(t *testing.T) *SSH {
	t.Helper()
	if _, err := os.Stat(sshdPath); err != nil {
		t.Skipf("%s is not installed (apt-get install openssh-server); skipping the test "+
			"against a real sshd", sshdPath)
	}
	if os.Getuid() == 0 {
		if _, err := os.Stat("/run/sshd"); err != nil {
			t.Skip("sshd run as root needs its privilege separation directory /run/sshd; " +
				"create it (mkdir -p /run/sshd) to run this test")
		}
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	hostKey, userKey := filepath.Join(dir, "host_key"), filepath.Join(dir, "user_key")
	generateKey(t, hostKey)
	generateKey(t, userKey)
	userPublic, _ := os.ReadFile(userKey + ".pub")
	writeLocalFile(t, filepath.Join(dir, "authorized_keys"), userPublic)

	port, err := FreeLocalPort()
	if err != nil {
		t.Fatal(err)
	}
	hostPublic, _ := os.ReadFile(hostKey + ".pub")
	knownHosts := fmt.Sprintf("[127.0.0.1]:%d %s", port, hostPublic)
	writeLocalFile(t, filepath.Join(dir, "known_hosts"), []byte(knownHosts))
	writeSSHDConfig(t, dir, hostKey)

	sshd := exec.Command(sshdPath, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"),
		"-p", strconv.Itoa(port))
	var sshdLog bytes.Buffer
	sshd.Stdout, sshd.Stderr = &sshdLog, &sshdLog
	// Session processes of a killed sshd may hold its output open for a while.
	sshd.WaitDelay = 2 * time.Second
	if err := sshd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	t.Cleanup(func() {
		sshd.Process.Kill()
		sshd.Wait()
		if t.Failed() {
			t.Logf("sshd log:\n%s", sshdLog.String())
		}
	})
	waitForListener(t, port)

	runner, err := NewSSH(SSHTarget{
		ConfigFile: "/dev/null", Host: "127.0.0.1", Port: port, User: me.Username,
		IdentityFile: userKey, KnownHostsFile: filepath.Join(dir, "known_hosts"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { runner.Close() })
	return runner
}

func generateKey(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path).
		CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen %s: %v: %s", path, err, out)
	}
}

func writeSSHDConfig(t *testing.T, dir, hostKey string) {
	t.Helper()
	config := strings.Join([]string{
		"ListenAddress 127.0.0.1",
		"HostKey " + hostKey,
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"PidFile none",
		"UsePAM no",
		"StrictModes no",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin prohibit-password",
		"AllowTcpForwarding local",
		"LogLevel ERROR",
	}, "\n") + "\n"
	writeLocalFile(t, filepath.Join(dir, "sshd_config"), []byte(config))
}

// waitForListener waits until something accepts connections on 127.0.0.1:port.
func waitForListener(t *testing.T, port int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			conn.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on 127.0.0.1:%d after 10 s", port)
}

func TestRealSSHPassesRumprunJSONAndAwkwardArgumentsUnchanged(t *testing.T) {
	runner := startSSHD(t)

	out, err := runner.Output(context.Background(),
		append([]string{"printf", `%s\0`}, awkwardWords...)...)
	if err != nil {
		t.Fatal(err)
	}

	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if !slices.Equal(got, awkwardWords) {
		t.Errorf("remote command saw %q\nwant %q", got, awkwardWords)
	}
}

func TestRealSSHReportsExitStatusAndStderr(t *testing.T) {
	runner := startSSHD(t)

	_, err := runner.Output(context.Background(), "sh", "-c", "echo 'Hyp is NOT enabled' >&2; exit 3")

	var exitErr *ExitError
	if !errors.As(err, &exitErr) || exitErr.Code != 3 ||
		strings.TrimSpace(exitErr.Stderr) != "Hyp is NOT enabled" {
		t.Errorf("error = %#v, want exit status 3 with the stderr line", err)
	}
}

func TestRealSSHSyncsReadsAndSkipsUnchangedFiles(t *testing.T) {
	runner := startSSHD(t)
	dir := t.TempDir()
	local := filepath.Join(dir, "boot-creator-result.img.812")
	writeLocalFile(t, local, bytes.Repeat([]byte{0x53, 0xef, 0, 1}, 1<<16))
	remotePath := filepath.Join(dir, "dom0", "images", "hello", "boot.img")
	ctx := context.Background()

	first, err := Sync(ctx, runner, local, remotePath)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Sync(ctx, runner, local, remotePath)
	if err != nil {
		t.Fatal(err)
	}
	copied, err := ReadFile(ctx, runner, remotePath)
	if err != nil {
		t.Fatal(err)
	}

	if first.Skipped || first.BytesSent != 1<<18 {
		t.Errorf("first sync %+v, want %d bytes sent", first, 1<<18)
	}
	if !second.Skipped {
		t.Errorf("second sync %+v, want skipped", second)
	}
	original, _ := os.ReadFile(local)
	if !bytes.Equal(copied, original) {
		t.Error("the copy read back differs from the original")
	}
}

func TestRealSSHReturnsWhileABackgroundProcessItStartedRuns(t *testing.T) {
	runner := startSSHD(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	out, err := runner.Output(ctx, "sh", "-c",
		`setsid sleep 30 </dev/null >/dev/null 2>&1 & echo "$!"`)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("printed %q, not a PID", out)
	}
	defer func() {
		if process, err := os.FindProcess(pid); err == nil {
			process.Kill()
		}
	}()

	// setsid execs the program a moment after the shell printed its PID.
	var cmdline []byte
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		cmdline, err = os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || strings.HasPrefix(string(cmdline), "sleep\x0030") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || !strings.HasPrefix(string(cmdline), "sleep\x0030") {
		t.Errorf("process %d is %q (%v), want the sleep still running", pid, cmdline, err)
	}
}

func TestRealSSHForwardReachesARemotePortAndStops(t *testing.T) {
	runner := startSSHD(t)
	service, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer service.Close()
	go func() {
		conn, err := service.Accept()
		if err == nil {
			io.WriteString(conn, "$T05thread:01;#07")
			conn.Close()
		}
	}()
	remotePort := service.Addr().(*net.TCPAddr).Port

	localAddr, stop, err := runner.Forward(context.Background(), remotePort)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", localAddr)
	if err != nil {
		t.Fatal(err)
	}
	greeting, _ := io.ReadAll(conn)
	conn.Close()
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	if string(greeting) != "$T05thread:01;#07" {
		t.Errorf("read %q through the forward, want the service's reply", greeting)
	}
	_, port, _ := net.SplitHostPort(localAddr)
	portNumber, _ := strconv.Atoi(port)
	if localPortListening(portNumber) {
		t.Errorf("%s still listens after stop", localAddr)
	}
}

func TestRealSSHForwardFailsWhenTheLocalPortIsTaken(t *testing.T) {
	runner := startSSHD(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port

	_, stop, err := runner.ForwardPort(context.Background(), takenPort, 9999)
	if err == nil {
		stop()
	}

	if err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Errorf("error = %v, want one saying the local port is in use", err)
	}
}
