package session

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/xenbox/xenbox/tools/xen"
)

// fakeBox is dom0's filesystem and ports in memory.
type fakeBox struct {
	files     map[string][]byte
	busyPorts map[int]bool
	synced    []string // remote paths that were sent
	failWrite map[string]error
}

func newFakeBox() *fakeBox {
	return &fakeBox{files: map[string][]byte{}, busyPorts: map[int]bool{},
		failWrite: map[string]error{}}
}

func (b *fakeBox) Sync(_ context.Context, localPath, remotePath string) (SyncResult, error) {
	content := []byte("content of " + localPath)
	if string(b.files[remotePath]) == string(content) {
		return SyncResult{Skipped: true}, nil
	}
	b.files[remotePath] = content
	b.synced = append(b.synced, remotePath)
	return SyncResult{Bytes: 3 << 20, Duration: 1500 * 1e6}, nil
}

func (b *fakeBox) WriteFile(_ context.Context, path string, data []byte) error {
	if err := b.failWrite[path]; err != nil {
		return err
	}
	b.files[path] = append([]byte(nil), data...)
	return nil
}

func (b *fakeBox) ReadFile(_ context.Context, path string) ([]byte, error) {
	data, ok := b.files[path]
	if !ok {
		return nil, fmt.Errorf("read %s: %w", path, fs.ErrNotExist)
	}
	return data, nil
}

func (b *fakeBox) Remove(_ context.Context, path string) error {
	delete(b.files, path)
	return nil
}

func (b *fakeBox) Exists(_ context.Context, path string) (bool, error) {
	_, ok := b.files[path]
	return ok, nil
}

func (b *fakeBox) PortFree(_ context.Context, port int) (bool, error) {
	return !b.busyPorts[port], nil
}

func (b *fakeBox) Where() string { return "fake dom0" }

// fakeXL keeps domains by name; a domain's config path must exist in the box to be created.
type fakeXL struct {
	box        *fakeBox
	domains    map[string]int
	paused     map[string]bool
	nextID     int
	failCreate error
	destroyed  []string
	// gdbsx, when set, lets Unpause record how many stubs were attached at that moment.
	gdbsx          *fakeGDBSX
	stubsAtUnpause []int
}

func newFakeXL(box *fakeBox) *fakeXL {
	return &fakeXL{box: box, domains: map[string]int{}, paused: map[string]bool{}, nextID: 1}
}

func (x *fakeXL) Create(_ context.Context, configPath string, paused bool) error {
	if x.failCreate != nil {
		return x.failCreate
	}
	if _, ok := x.box.files[configPath]; !ok {
		return fmt.Errorf("xl create: no config %s", configPath)
	}
	name := domainNameOfConfig(configPath)
	x.domains[name] = x.nextID
	x.paused[name] = paused
	x.nextID++
	return nil
}

func (x *fakeXL) DomID(_ context.Context, name string) (int, error) {
	id, ok := x.domains[name]
	if !ok {
		return 0, fmt.Errorf("xl domid %s: %w", name, xen.ErrNoSuchDomain)
	}
	return id, nil
}

func (x *fakeXL) Unpause(_ context.Context, name string) error {
	x.paused[name] = false
	if x.gdbsx != nil {
		x.stubsAtUnpause = append(x.stubsAtUnpause, len(x.gdbsx.started))
	}
	return nil
}

func (x *fakeXL) Destroy(_ context.Context, name string) error {
	if _, ok := x.domains[name]; !ok {
		return fmt.Errorf("xl destroy %s: %w", name, xen.ErrNoSuchDomain)
	}
	delete(x.domains, name)
	x.destroyed = append(x.destroyed, name)
	return nil
}

func (x *fakeXL) List(context.Context) ([]xen.DomainInfo, error) {
	var list []xen.DomainInfo
	for name, id := range x.domains {
		list = append(list, xen.DomainInfo{Name: name, ID: id})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	return list, nil
}

func (x *fakeXL) Info(context.Context) (xen.HostInfo, error) { return xen.HostInfo{}, nil }

func domainNameOfConfig(configPath string) string {
	return strings.TrimSuffix(path.Base(configPath), ".cfg")
}

// fakeGDBSX hands out PIDs and remembers which still run.
type fakeGDBSX struct {
	running   map[int]bool
	nextPID   int
	failStart error
	started   []gdbsxStart
}

type gdbsxStart struct{ domID, width, port int }

func newFakeGDBSX() *fakeGDBSX {
	return &fakeGDBSX{running: map[int]bool{}, nextPID: 100}
}

func (g *fakeGDBSX) Start(_ context.Context, domID, width, port int, _ string) (int, error) {
	g.started = append(g.started, gdbsxStart{domID, width, port})
	if g.failStart != nil {
		return 0, g.failStart
	}
	pid := g.nextPID
	g.nextPID++
	g.running[pid] = true
	return pid, nil
}

func (g *fakeGDBSX) Stop(_ context.Context, pid int) error {
	delete(g.running, pid)
	return nil
}

func (g *fakeGDBSX) Running(_ context.Context, pid int) (bool, error) {
	return g.running[pid], nil
}

// fakeForwarder forwards to a fixed local address and counts open forwards.
type fakeForwarder struct{ open int }

func (f *fakeForwarder) Forward(_ context.Context, port int) (string, func() error, error) {
	f.open++
	return fmt.Sprintf("127.0.0.1:%d", 40000+port%1000), func() error {
		f.open--
		return nil
	}, nil
}

// fakeDebugger records gdb's arguments and exits with a chosen code.
type fakeDebugger struct {
	args     []string
	exitCode int
	err      error
}

func (d *fakeDebugger) Run(_ context.Context, args []string) (int, error) {
	d.args = args
	return d.exitCode, d.err
}

var errInjected = errors.New("injected failure")
