package remote

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SSHProgram builds the command line of the OpenSSH client, so that tests can stand in for
// the real `ssh` and check the arguments xenbox passes it.
type SSHProgram interface {
	// Command returns the ssh process to run with args; it is not started yet.
	Command(ctx context.Context, args []string) *exec.Cmd
}

// OpenSSH is the `ssh` binary found on PATH.
type OpenSSH struct{}

// Command returns `ssh ARGS`.
func (OpenSSH) Command(ctx context.Context, args []string) *exec.Cmd {
	return exec.CommandContext(ctx, "ssh", args...)
}

// SSHTarget says how to reach dom0 with ssh.
type SSHTarget struct {
	// ConfigFile is passed as `ssh -F`; Host then names an entry of it.
	ConfigFile string
	// Host is the ssh destination: a host name, an address or an entry of ConfigFile.
	Host string
	// User and Port override the configured ones when set.
	User string
	Port int
	// IdentityFile is the private key to log in with; only that key is offered.
	IdentityFile string
	// KnownHostsFile replaces the user's known_hosts file when set.
	KnownHostsFile string
	// AcceptNewHostKey trusts the host key the first time a host is seen.
	AcceptNewHostKey bool
	// Sudo runs every command through `sudo -n`, for boxes that log in as an ordinary user.
	Sudo bool
	// ConnectTimeout bounds the TCP connect; ten seconds when zero.
	ConnectTimeout time.Duration
}

// SSH runs commands in dom0 over ssh. Connections are shared through a control socket, so
// repeated commands do not pay for a new handshake each.
type SSH struct {
	target     SSHTarget
	program    SSHProgram
	controlDir string
}

// NewSSH returns a Runner that reaches dom0 as target says, through the OpenSSH client.
func NewSSH(target SSHTarget) (*SSH, error) {
	if target.Host == "" {
		return nil, errors.New("set up ssh to dom0: no host given")
	}
	if target.ConnectTimeout == 0 {
		target.ConnectTimeout = 10 * time.Second
	}

	controlDir, err := privateControlDir()
	if err != nil {
		return nil, fmt.Errorf("set up ssh to %s: %w", target.Host, err)
	}
	return &SSH{target: target, program: OpenSSH{}, controlDir: controlDir}, nil
}

// SSHFromConfig returns a Runner for host as described in an ssh config file.
func SSHFromConfig(configFile, host string) (*SSH, error) {
	// ssh's own complaint about a missing file comes late and wrapped in the first command.
	if info, err := os.Stat(configFile); err != nil || info.IsDir() {
		return nil, fmt.Errorf("ssh config %s: not a readable file; give --ssh-config an ssh "+
			"config naming dom0 (vagrant ssh-config > FILE writes one)", configFile)
	}
	return NewSSH(SSHTarget{ConfigFile: configFile, Host: host})
}

// SSHToTarget returns a Runner for a target written `user@host[:port]` (an IPv6 address in
// brackets), logging in with identityFile when it is not empty. A host key seen for the
// first time is trusted and remembered.
func SSHToTarget(target, identityFile string) (*SSH, error) {
	user, host, port, err := ParseTarget(target)
	if err != nil {
		return nil, err
	}
	return NewSSH(SSHTarget{
		Host: host, User: user, Port: port, IdentityFile: identityFile,
		AcceptNewHostKey: true, Sudo: user != "" && user != "root",
	})
}

// ParseTarget splits `user@host[:port]` into its parts; user and port are empty and 0 when
// absent. IPv6 addresses with a port are written in brackets: `root@[::1]:2222`.
func ParseTarget(target string) (user, host string, port int, err error) {
	fail := func(why string) (string, string, int, error) {
		return "", "", 0, fmt.Errorf("parse ssh target %q: %s; write it as user@host[:port]",
			target, why)
	}

	rest := target
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		user, rest = rest[:at], rest[at+1:]
		if user == "" {
			return fail("empty user")
		}
	}

	portText := ""
	switch {
	case strings.HasPrefix(rest, "["):
		end := strings.Index(rest, "]")
		if end < 0 {
			return fail("missing ]")
		}
		host, rest = rest[1:end], rest[end+1:]
		if rest != "" {
			if !strings.HasPrefix(rest, ":") {
				return fail("unexpected text after ]")
			}
			portText = rest[1:]
		}
	case strings.Count(rest, ":") == 1:
		host, portText, _ = strings.Cut(rest, ":")
	default:
		host = rest
	}
	if host == "" {
		return fail("empty host")
	}

	if portText != "" {
		port, err = strconv.Atoi(portText)
		if err != nil || port < 1 || port > 65535 {
			return fail("port must be a number from 1 to 65535")
		}
	}
	return user, host, port, nil
}

// WithProgram makes s run program instead of the OpenSSH client; for tests.
func (s *SSH) WithProgram(program SSHProgram) *SSH {
	s.program = program
	return s
}

// Target returns how s reaches dom0.
func (s *SSH) Target() SSHTarget { return s.target }

// Where names dom0 and the ssh host for messages.
func (s *SSH) Where() string { return "dom0 via ssh " + s.target.Host }

// Local reports false: commands run on another machine.
func (s *SSH) Local() bool { return false }

// Output runs args in dom0 and returns what they wrote to standard output.
func (s *SSH) Output(ctx context.Context, args ...string) ([]byte, error) {
	return output(ctx, s, args)
}

// Run runs cmd in dom0, with the streams of cmd connected through ssh.
func (s *SSH) Run(ctx context.Context, cmd Command) error {
	if len(cmd.Args) == 0 {
		return fmt.Errorf("run a command on %s: no command given", s.Where())
	}
	process := s.program.Command(ctx, s.commandArgs(cmd))
	return runProcess(ctx, process, cmd, s.Where())
}

// Close ends the shared connection, if there is one. Without Close it ends by itself a
// minute after the last command.
func (s *SSH) Close() error {
	args := append(s.baseArgs(true), "-O", "exit", "--", s.target.Host)
	// Exit 255 means there was no shared connection to end.
	err := s.program.Command(context.Background(), args).Run()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && exitErr.ExitCode() == 255 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("close the ssh connection to %s: %w", s.target.Host, err)
	}
	return nil
}

// commandArgs returns the ssh arguments that run cmd remotely. ssh joins its arguments with
// spaces and hands them to the remote shell, so each one is quoted for that shell.
func (s *SSH) commandArgs(cmd Command) []string {
	args := s.baseArgs(true)
	if cmd.Interactive {
		args = append(args, "-t")
	} else {
		args = append(args, "-T")
	}

	remoteCommand := shellJoin(cmd.Args)
	if s.target.Sudo {
		remoteCommand = "sudo -n -- " + remoteCommand
	}
	return append(args, "--", s.target.Host, remoteCommand)
}

// baseArgs returns the options every ssh run gets. shareConnection selects the control
// socket; a port forward gets its own connection so that killing it ends only the forward.
func (s *SSH) baseArgs(shareConnection bool) []string {
	var args []string
	if s.target.ConfigFile != "" {
		args = append(args, "-F", s.target.ConfigFile)
	}
	args = append(args,
		"-o", "BatchMode=yes",
		"-o", fmt.Sprintf("ConnectTimeout=%d", int(s.target.ConnectTimeout.Seconds())),
		"-o", "ServerAliveInterval=15",
	)
	if shareConnection {
		args = append(args,
			"-o", "ControlMaster=auto",
			"-o", "ControlPath="+filepath.Join(s.controlDir, "%C"),
			"-o", "ControlPersist=60",
		)
	} else {
		args = append(args, "-o", "ControlMaster=no", "-o", "ControlPath=none")
	}
	if s.target.IdentityFile != "" {
		args = append(args, "-i", s.target.IdentityFile, "-o", "IdentitiesOnly=yes")
	}
	if s.target.KnownHostsFile != "" {
		args = append(args, "-o", "UserKnownHostsFile="+s.target.KnownHostsFile)
	}
	if s.target.AcceptNewHostKey {
		args = append(args, "-o", "StrictHostKeyChecking=accept-new")
	}
	if s.target.Port != 0 {
		args = append(args, "-p", strconv.Itoa(s.target.Port))
	}
	if s.target.User != "" {
		args = append(args, "-l", s.target.User)
	}
	return args
}

// privateControlDir returns a directory only this user can enter, for ssh control sockets.
// Socket paths are limited to about 100 bytes, so it sits directly under /tmp when the
// temporary directory has a long name (as on macOS).
func privateControlDir() (string, error) {
	base := os.TempDir()
	if len(base) > 40 {
		base = "/tmp"
	}
	dir := filepath.Join(base, fmt.Sprintf("xenbox-ssh-%d", os.Getuid()))

	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("create ssh control directory %s: %w", dir, err)
	}
	info, err := os.Lstat(dir)
	if err != nil {
		return "", fmt.Errorf("check ssh control directory %s: %w", dir, err)
	}
	owner := -1
	if stat, ok := info.Sys().(*syscall.Stat_t); ok {
		owner = int(stat.Uid)
	}
	if !info.IsDir() || info.Mode().Perm() != 0o700 || owner != os.Getuid() {
		return "", fmt.Errorf("ssh control directory %s must be a directory of mode 0700 "+
			"owned by you; remove it and try again", dir)
	}
	return dir, nil
}
