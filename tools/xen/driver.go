// Package xen drives the Xen toolstack of the box: xl for domains and gdbsx for the debugger
// stub, each behind a small interface so that session logic can be tested with fakes.
package xen

import (
	"context"
	"errors"

	"github.com/hashicorp/go-version"
)

// ErrNoSuchDomain is returned when xl knows no domain of the given name.
var ErrNoSuchDomain = errors.New("no such domain")

// DomainInfo is one line of `xl list`.
type DomainInfo struct {
	Name      string
	ID        int
	MemoryMiB int
	VCPUs     int
	State     string // e.g. "r-----", "--p---"
}

// HostInfo is what `xl info` says about the hypervisor.
type HostInfo struct {
	XenVersion  *version.Version
	XenCaps     string
	CommandLine string
	FreeMiB     int
}

// XL creates, finds and destroys domains with the xl toolstack.
type XL interface {
	Create(ctx context.Context, configPath string, paused bool) error
	DomID(ctx context.Context, name string) (int, error) // ErrNoSuchDomain when absent
	Unpause(ctx context.Context, name string) error
	// Pause stops the domain's vCPUs; gdbsx, waiting for the domain to stop, then reports it
	// to gdb as an interrupt.
	Pause(ctx context.Context, name string) error
	Destroy(ctx context.Context, name string) error
	List(ctx context.Context) ([]DomainInfo, error)
	Info(ctx context.Context) (HostInfo, error)
}

// GDBSX starts and stops gdbsx, the gdb server stub for Xen domains.
type GDBSX interface {
	// Start runs `gdbsx -a DOMID WIDTH PORT` in the background, logging to logPath, and returns
	// its PID once it listens on port.
	Start(ctx context.Context, domID, width, port int, logPath string) (pid int, err error)
	// Stop ends the gdbsx with that PID if it is still running.
	Stop(ctx context.Context, pid int) error
	// Running reports whether the gdbsx with that PID is still running.
	Running(ctx context.Context, pid int) (bool, error)
}
