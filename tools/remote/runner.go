// Package remote runs commands on the Xen host (dom0), either on this machine when xenbox runs
// inside dom0, or over SSH from the workstation, and moves files and ports between the two.
package remote

import (
	"context"
	"io"
)

// Command is one program run on the Xen host. Stdin, Stdout and Stderr are optional; when
// Stdout or Stderr is nil the output is captured for error messages.
type Command struct {
	Args   []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Interactive attaches a terminal (ssh -t) for programs like `xl console`.
	Interactive bool
}

// Runner runs commands on the Xen host.
type Runner interface {
	// Output runs args and returns standard output. A non-zero exit is an *ExitError that
	// carries the command and its standard error.
	Output(ctx context.Context, args ...string) ([]byte, error)
	// Run runs cmd, streaming to its writers.
	Run(ctx context.Context, cmd Command) error
	// Where names the host for messages, e.g. "dom0 (this machine)" or "dom0 via ssh default".
	Where() string
	// Local reports whether commands run on this machine.
	Local() bool
}

// Forwarder makes a TCP port of the Xen host reachable on this machine's loopback.
type Forwarder interface {
	// Forward returns the local address (always on 127.0.0.1) that reaches remotePort on the
	// Xen host, and a function that ends the forward.
	Forward(ctx context.Context, remotePort int) (localAddr string, stop func() error, err error)
}
