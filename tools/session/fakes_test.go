package session

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/xenbox/xenbox/tools/xen"
)

// fakeBox is dom0's filesystem and ports in memory.
type fakeBox = MemoryBox

func newFakeBox() *fakeBox { return NewMemoryBox() }

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
	pauses         int // calls of Pause
}

func newFakeXL(box *fakeBox) *fakeXL {
	return &fakeXL{box: box, domains: map[string]int{}, paused: map[string]bool{}, nextID: 1}
}

func (x *fakeXL) Create(_ context.Context, configPath string, paused bool) error {
	if x.failCreate != nil {
		return x.failCreate
	}
	if _, ok := x.box.Files[configPath]; !ok {
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

func (x *fakeXL) Pause(_ context.Context, name string) error {
	if _, ok := x.domains[name]; !ok {
		return fmt.Errorf("xl pause %s: %w", name, xen.ErrNoSuchDomain)
	}
	x.paused[name] = true
	x.pauses++
	return nil
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
		state := "-b----"
		if x.paused[name] {
			state = "--p---"
		}
		list = append(list, xen.DomainInfo{Name: name, ID: id, State: state})
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
