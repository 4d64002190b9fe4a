// Package session runs a debug session of a unik image on the Xen box: it copies the image and
// its program.bin into dom0, creates the domain paused, attaches gdbsx, keeps a session state
// file in dom0, connects gdb with the debug dir's symbols, and cleans everything up afterwards.
package session

import (
	"context"

	"github.com/xenbox/xenbox/tools/xen"
)

// Host is the Xen host (dom0) a session runs on: its files and ports, xl and gdbsx.
type Host struct {
	Box   Box
	XL    xen.XL
	GDBSX xen.GDBSX
}

// Box is what a session needs of dom0's filesystem and network besides xl and gdbsx.
// RemoteBox implements it over a remote.Runner; tests use an in-memory fake.
type Box interface {
	// Sync copies a local file to dom0, skipping it when dom0 already has the same content.
	Sync(ctx context.Context, localPath, remotePath string) (SyncResult, error)
	// WriteFile replaces path in dom0 atomically with data.
	WriteFile(ctx context.Context, path string, data []byte) error
	// ReadFile returns the content of path in dom0; a missing file wraps fs.ErrNotExist.
	ReadFile(ctx context.Context, path string) ([]byte, error)
	// Remove deletes path in dom0; a missing file is not an error.
	Remove(ctx context.Context, path string) error
	// Exists reports whether path exists in dom0.
	Exists(ctx context.Context, path string) (bool, error)
	// PortFree reports whether no TCP socket listens on port in dom0.
	PortFree(ctx context.Context, port int) (bool, error)
	// Where names dom0 for messages, e.g. "dom0 via ssh default".
	Where() string
}
