package session

import (
	"context"
	"fmt"
	"io/fs"
)

// MemoryBox is a Box kept in memory: dom0's files and busy ports, for tests of the code that
// drives dom0 through a Box.
type MemoryBox struct {
	Files     map[string][]byte
	BusyPorts map[int]bool
	// FailWrite makes WriteFile of these paths fail with the error given.
	FailWrite map[string]error
	// Synced lists the remote paths Sync sent, in order.
	Synced []string
}

// NewMemoryBox returns an empty MemoryBox.
func NewMemoryBox() *MemoryBox {
	return &MemoryBox{Files: map[string][]byte{}, BusyPorts: map[int]bool{},
		FailWrite: map[string]error{}}
}

// Sync stores a placeholder naming localPath at remotePath, and skips when it is there already.
func (b *MemoryBox) Sync(_ context.Context, localPath, remotePath string) (SyncResult, error) {
	content := []byte("content of " + localPath)
	if string(b.Files[remotePath]) == string(content) {
		return SyncResult{Skipped: true}, nil
	}
	b.Files[remotePath] = content
	b.Synced = append(b.Synced, remotePath)
	return SyncResult{Bytes: 3 << 20, Duration: 1500 * 1e6}, nil
}

// WriteFile stores a copy of data at path.
func (b *MemoryBox) WriteFile(_ context.Context, path string, data []byte) error {
	if err := b.FailWrite[path]; err != nil {
		return err
	}
	b.Files[path] = append([]byte(nil), data...)
	return nil
}

// ReadFile returns what is at path; a missing file wraps fs.ErrNotExist.
func (b *MemoryBox) ReadFile(_ context.Context, path string) ([]byte, error) {
	data, ok := b.Files[path]
	if !ok {
		return nil, fmt.Errorf("read %s: %w", path, fs.ErrNotExist)
	}
	return data, nil
}

// Remove deletes path.
func (b *MemoryBox) Remove(_ context.Context, path string) error {
	delete(b.Files, path)
	return nil
}

// Exists reports whether path is there.
func (b *MemoryBox) Exists(_ context.Context, path string) (bool, error) {
	_, ok := b.Files[path]
	return ok, nil
}

// PortFree reports whether port is not in BusyPorts.
func (b *MemoryBox) PortFree(_ context.Context, port int) (bool, error) {
	return !b.BusyPorts[port], nil
}

// Where names the box in messages.
func (b *MemoryBox) Where() string { return "fake dom0" }
