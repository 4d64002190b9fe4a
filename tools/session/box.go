package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/xenbox/xenbox/tools/remote"
)

// SyncResult says what copying one file to dom0 did.
type SyncResult struct {
	Skipped  bool // dom0 already had the same content
	Bytes    int64
	Duration time.Duration
}

// RemoteBox is the Box of a real Xen host, reached through a remote.Runner.
type RemoteBox struct {
	Runner remote.Runner
}

// Sync copies localPath to remotePath in dom0 with remote.Sync.
func (b RemoteBox) Sync(ctx context.Context, localPath, remotePath string) (SyncResult, error) {
	result, err := remote.Sync(ctx, b.Runner, localPath, remotePath)
	if err != nil {
		return SyncResult{}, err
	}
	return SyncResult{
		Skipped:  result.Skipped,
		Bytes:    result.BytesSent,
		Duration: result.Duration,
	}, nil
}

// WriteFile replaces path in dom0 atomically, readable only by root.
func (b RemoteBox) WriteFile(ctx context.Context, path string, data []byte) error {
	return remote.WriteFile(ctx, b.Runner, path, data, 0o600)
}

// ReadFile reads path in dom0.
func (b RemoteBox) ReadFile(ctx context.Context, path string) ([]byte, error) {
	return remote.ReadFile(ctx, b.Runner, path)
}

// Remove deletes path in dom0 with rm -f.
func (b RemoteBox) Remove(ctx context.Context, path string) error {
	if _, err := b.Runner.Output(ctx, "rm", "-f", "--", path); err != nil {
		return fmt.Errorf("remove %s in %s: %w", path, b.Runner.Where(), err)
	}
	return nil
}

// Exists runs `test -e` in dom0.
func (b RemoteBox) Exists(ctx context.Context, path string) (bool, error) {
	_, err := b.Runner.Output(ctx, "test", "-e", path)
	var exitErr *remote.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &exitErr) && exitErr.Code == 1:
		return false, nil
	default:
		return false, fmt.Errorf("look for %s in %s: %w", path, b.Runner.Where(), err)
	}
}

// PortFree checks dom0's listening TCP sockets.
func (b RemoteBox) PortFree(ctx context.Context, port int) (bool, error) {
	return remote.PortFree(ctx, b.Runner, port)
}

// Where names dom0 as the runner does.
func (b RemoteBox) Where() string {
	return b.Runner.Where()
}
