package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/xenbox/xenbox/tools/remote"
	"github.com/xenbox/xenbox/tools/session"
	"github.com/xenbox/xenbox/tools/xen"
)

// Targets the --target flag accepts besides ssh://user@host:port.
const (
	targetAuto    = "auto"
	targetLocal   = "local"
	targetVagrant = "vagrant"
	sshScheme     = "ssh://"
)

// targetOptions say how to reach dom0.
type targetOptions struct {
	Target string // auto, local, vagrant or ssh://user@host:port
	BoxDir string // the Vagrantfile's directory
	// BoxPorts are the gdbsx ports the Vagrantfile forwards to the same local port.
	BoxPorts  []int
	SSHConfig string // an ssh config file naming dom0 as SSHHost
	SSHHost   string
	Identity  string // private key for an ssh:// target
}

// validate rejects a target xenbox does not know, as a usage error.
func (t targetOptions) validate() error {
	switch {
	case t.Target == targetAuto, t.Target == targetLocal, t.Target == targetVagrant:
		return nil
	case strings.HasPrefix(t.Target, sshScheme):
		if _, _, _, err := remote.ParseTarget(strings.TrimPrefix(t.Target, sshScheme)); err != nil {
			return usageError{err}
		}
		return nil
	default:
		return usagef("unknown --target %q; use auto, local, vagrant or ssh://user@host:port",
			t.Target)
	}
}

// dom0 is the connected Xen host.
type dom0 struct {
	runner    remote.Runner
	forwarder remote.Forwarder
	host      session.Host
	close     func() error
}

// hostConnection is what the remote package's runners offer: commands and port forwards.
type hostConnection interface {
	remote.Runner
	remote.Forwarder
}

// connect reaches dom0 as target says; verbose, when not nil, receives each command run.
func connect(ctx context.Context, target targetOptions, verbose io.Writer) (*dom0, error) {
	connection, forwarder, err := open(ctx, target)
	if err != nil {
		return nil, err
	}

	var runner remote.Runner = connection
	if verbose != nil {
		runner = showingRunner{Runner: connection, out: verbose}
	}
	closer := func() error { return nil }
	if ssh, ok := connection.(*remote.SSH); ok {
		closer = ssh.Close
	}
	return &dom0{
		runner:    runner,
		forwarder: forwarder,
		host: session.Host{
			Box:   session.RemoteBox{Runner: runner},
			XL:    xen.NewXL(runner),
			GDBSX: xen.NewGDBSX(runner),
		},
		close: closer,
	}, nil
}

// open returns the connection to dom0 and what forwards its ports here: the connection
// itself, or for a Vagrant box Vagrant's own forwards when it has them.
func open(ctx context.Context, target targetOptions) (hostConnection, remote.Forwarder, error) {
	var connection hostConnection
	var err error
	switch {
	case target.Target == targetLocal:
		connection = remote.NewLocal()
	case strings.HasPrefix(target.Target, sshScheme):
		connection, err = remote.SSHToTarget(strings.TrimPrefix(target.Target, sshScheme),
			target.Identity)
	case target.SSHConfig != "":
		connection, err = remote.SSHFromConfig(target.SSHConfig, target.SSHHost)
	case target.Target == targetAuto && runningInDom0():
		connection = remote.NewLocal()
	default:
		ssh, err := remote.SSHFromVagrant(ctx, target.BoxDir, "")
		if err != nil {
			return nil, nil, err
		}
		return ssh, vagrantForwarder(target, ssh), nil
	}
	if err != nil {
		return nil, nil, err
	}
	return connection, connection, nil
}

// vagrantForwarder reaches the box's gdbsx through the port Vagrant forwards for it, and
// through an SSH forward of xenbox's own when Vagrant has none.
func vagrantForwarder(target targetOptions, fallback remote.Forwarder) remote.Forwarder {
	return remote.VagrantForwarder{
		Ports: remote.VagrantPorts{
			Dir:             target.BoxDir,
			Vagrant:         remote.ExecVagrant{},
			ConventionPorts: target.BoxPorts,
			Listening:       remote.ListeningLocally,
		},
		Fallback: fallback,
	}
}

// runningInDom0 reports whether this machine is Xen's control domain.
func runningInDom0() bool {
	capabilities, err := os.ReadFile("/proc/xen/capabilities")
	return err == nil && bytes.Contains(capabilities, []byte("control_d"))
}

// showingRunner prints each command on out before running it, for --verbose.
type showingRunner struct {
	remote.Runner
	out io.Writer
}

func (r showingRunner) Output(ctx context.Context, args ...string) ([]byte, error) {
	r.show(args)
	return r.Runner.Output(ctx, args...)
}

func (r showingRunner) Run(ctx context.Context, cmd remote.Command) error {
	r.show(cmd.Args)
	return r.Runner.Run(ctx, cmd)
}

func (r showingRunner) show(args []string) {
	quoted := make([]string, len(args))
	for i, arg := range args {
		quoted[i] = remote.ShellQuote(arg)
	}
	fmt.Fprintf(r.out, "+ [%s] %s\n", r.Where(), strings.Join(quoted, " "))
}

// showingDebugger prints gdb's command line on out before running it, for --verbose.
type showingDebugger struct {
	session.Debugger
	out io.Writer
}

func (d showingDebugger) Run(ctx context.Context, args []string) (int, error) {
	quoted := make([]string, len(args))
	for i, arg := range args {
		quoted[i] = remote.ShellQuote(arg)
	}
	fmt.Fprintf(d.out, "+ [this machine] %s %s\n", gdbBinary(), strings.Join(quoted, " "))
	return d.Debugger.Run(ctx, args)
}
