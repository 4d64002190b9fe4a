package remote

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// shellSSH stands in for the ssh binary: it records the arguments and runs the remote
// command line with a local sh, as sshd would hand it to the user's shell.
type shellSSH struct {
	mu    sync.Mutex
	calls [][]string
}

func (s *shellSSH) Command(ctx context.Context, args []string) *exec.Cmd {
	s.mu.Lock()
	s.calls = append(s.calls, slices.Clone(args))
	s.mu.Unlock()
	return exec.CommandContext(ctx, "sh", "-c", args[len(args)-1])
}

func (s *shellSSH) lastCall(t *testing.T) []string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.calls) == 0 {
		t.Fatal("ssh was never run")
	}
	return s.calls[len(s.calls)-1]
}

func newShellSSH(t *testing.T, target SSHTarget) (*SSH, *shellSSH) {
	t.Helper()
	runner, err := NewSSH(target)
	if err != nil {
		t.Fatal(err)
	}
	program := &shellSSH{}
	return runner.WithProgram(program), program
}

func TestSSHPassesArgumentsThroughTheRemoteShellUnchanged(t *testing.T) {
	runner, _ := newShellSSH(t, SSHTarget{Host: "dom0"})

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

func TestSSHBuildsBatchModeSharedConnectionArguments(t *testing.T) {
	runner, program := newShellSSH(t, SSHTarget{
		Host: "xen.example", User: "root", Port: 2222, IdentityFile: "/keys/id_ed25519",
		KnownHostsFile: "/keys/known_hosts", AcceptNewHostKey: true,
	})

	// The fake runs the line locally, where xl is absent; only the arguments matter.
	runner.Output(context.Background(), "xl", "list")

	args := program.lastCall(t)
	joined := strings.Join(args, " ")
	for _, want := range []string{
		"-o BatchMode=yes", "-o ConnectTimeout=10", "-o ControlMaster=auto",
		"-o ControlPersist=60", "-i /keys/id_ed25519", "-o IdentitiesOnly=yes",
		"-o UserKnownHostsFile=/keys/known_hosts", "-o StrictHostKeyChecking=accept-new",
		"-p 2222", "-l root", "-T -- xen.example xl list",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("ssh arguments %q lack %q", joined, want)
		}
	}
	controlPath := ""
	for _, arg := range args {
		if strings.HasPrefix(arg, "ControlPath=") {
			controlPath = strings.TrimPrefix(arg, "ControlPath=")
		}
	}
	// Unix socket paths must stay under about 104 bytes; %C expands to 40 characters.
	if len(strings.Replace(controlPath, "%C", strings.Repeat("x", 40), 1)) > 100 {
		t.Errorf("control path %q is too long for a unix socket", controlPath)
	}
}

func TestSSHWithConfigFilePassesItAndTheHostEntry(t *testing.T) {
	runner, program := newShellSSH(t, SSHTarget{ConfigFile: "/tmp/box.config", Host: "default"})

	if _, err := runner.Output(context.Background(), "true"); err != nil {
		t.Fatal(err)
	}

	args := program.lastCall(t)
	if !slices.Equal(args[:2], []string{"-F", "/tmp/box.config"}) {
		t.Errorf("ssh arguments start %q, want -F /tmp/box.config", args[:2])
	}
	if got := args[len(args)-2:]; !slices.Equal(got, []string{"default", "true"}) {
		t.Errorf("ssh arguments end %q, want host then command", got)
	}
}

func TestSSHWithSudoPrefixesTheRemoteCommand(t *testing.T) {
	runner, program := newShellSSH(t, SSHTarget{Host: "default", Sudo: true})

	// The fake runs the line locally, where sudo may be absent; only the line matters.
	runner.Output(context.Background(), "xl", "create", "-p", "/var/lib/xenbox/domains/a b.cfg")

	args := program.lastCall(t)
	want := "sudo -n -- xl create -p '/var/lib/xenbox/domains/a b.cfg'"
	if got := args[len(args)-1]; got != want {
		t.Errorf("remote command = %q, want %q", got, want)
	}
}

func TestSSHInteractiveAsksForATerminal(t *testing.T) {
	runner, program := newShellSSH(t, SSHTarget{Host: "default"})

	err := runner.Run(context.Background(), Command{
		Args: []string{"true"}, Interactive: true,
		Stdin: strings.NewReader(""), Stdout: &strings.Builder{}, Stderr: &strings.Builder{},
	})
	if err != nil {
		t.Fatal(err)
	}

	if args := program.lastCall(t); !slices.Contains(args, "-t") {
		t.Errorf("ssh arguments %q lack -t", args)
	}
}

func TestSSHExitErrorNamesCommandHostStatusAndStderr(t *testing.T) {
	runner, _ := newShellSSH(t, SSHTarget{Host: "box"})

	_, err := runner.Output(context.Background(),
		"sh", "-c", "echo 'web is an invalid domain identifier (rc=-6)' >&2; exit 1")

	var exitErr *ExitError
	if !errors.As(err, &exitErr) {
		t.Fatalf("error %v is not an *ExitError", err)
	}
	if exitErr.Code != 1 || exitErr.Where != "dom0 via ssh box" {
		t.Errorf("exit error has code %d where %q", exitErr.Code, exitErr.Where)
	}
	if !slices.Equal(exitErr.Args[:2], []string{"sh", "-c"}) {
		t.Errorf("exit error names %q, want the remote command, not ssh", exitErr.Args)
	}
	want := `sh -c 'echo '\''web is an invalid domain identifier (rc=-6)'\'' >&2; exit 1'` +
		` on dom0 via ssh box exited with status 1: web is an invalid domain identifier (rc=-6)`
	if err.Error() != want {
		t.Errorf("error =\n%s\nwant\n%s", err, want)
	}
}

func TestParseTargetSplitsUserHostAndPort(t *testing.T) {
	tests := []struct {
		target, user, host string
		port               int
	}{
		{"root@192.168.121.40", "root", "192.168.121.40", 0},
		{"root@dom0:2222", "root", "dom0", 2222},
		{"dom0", "", "dom0", 0},
		{"vagrant@[::1]:2200", "vagrant", "::1", 2200},
		{"[fe80::1]", "", "fe80::1", 0},
		{"::1", "", "::1", 0},
	}
	for _, test := range tests {
		user, host, port, err := ParseTarget(test.target)
		if err != nil {
			t.Errorf("ParseTarget(%q): %v", test.target, err)
			continue
		}
		if user != test.user || host != test.host || port != test.port {
			t.Errorf("ParseTarget(%q) = %q, %q, %d; want %q, %q, %d", test.target,
				user, host, port, test.user, test.host, test.port)
		}
	}
}

func TestParseTargetRejectsMalformedTargets(t *testing.T) {
	for _, target := range []string{"", "root@", "@host", "root@host:0", "root@host:http",
		"root@[::1", "root@[::1]x", "host:70000"} {
		if _, _, _, err := ParseTarget(target); err == nil {
			t.Errorf("ParseTarget(%q) succeeded, want an error", target)
		}
	}
}

func TestSSHFromVagrantConfigWritesAPrivateConfigAndUsesSudoForVagrantUser(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	config, err := os.ReadFile("../../testdata/remote/vagrant-ssh-config.txt")
	if err != nil {
		t.Fatal(err)
	}

	runner, err := SSHFromVagrantConfig(config, "/home/dev/box")
	if err != nil {
		t.Fatal(err)
	}

	target := runner.Target()
	if target.Host != "default" || !target.Sudo {
		t.Errorf("target host %q sudo %v, want default with sudo", target.Host, target.Sudo)
	}
	info, err := os.Stat(target.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("config file %s has mode %v, want 0600", target.ConfigFile, info.Mode())
	}
	written, _ := os.ReadFile(target.ConfigFile)
	if string(written) != string(config) {
		t.Errorf("config file holds %q, want the vagrant output", written)
	}
	if filepath.Dir(target.ConfigFile) != filepath.Join(os.Getenv("XDG_CACHE_HOME"), "xenbox",
		"ssh") {
		t.Errorf("config file %s is not in the xenbox cache", target.ConfigFile)
	}
}

func TestSSHFromVagrantConfigTakesTheFirstHostAndItsUser(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	config, err := os.ReadFile("../../testdata/remote/vagrant-ssh-config-root.txt")
	if err != nil {
		t.Fatal(err)
	}

	runner, err := SSHFromVagrantConfig(config, "/home/dev/box")
	if err != nil {
		t.Fatal(err)
	}

	if target := runner.Target(); target.Host != "xen" || target.Sudo {
		t.Errorf("target host %q sudo %v, want xen as root without sudo",
			target.Host, target.Sudo)
	}
}

func TestSSHFromVagrantConfigRejectsOutputWithoutHost(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	_, err := SSHFromVagrantConfig([]byte("  User vagrant\n"), "/home/dev/box")
	if err == nil || !strings.Contains(err.Error(), "no Host line") {
		t.Errorf("error = %v, want one about the missing Host line", err)
	}
}
