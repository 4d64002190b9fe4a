package xen

import (
	"context"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/go-version"
)

// FakeXL is an XL for tests: it keeps domains in memory and fails any method named in Fail.
// A domain's name is taken from its config path, /var/lib/xenbox/domains/<name>.cfg,
// unless NameOf says otherwise.
type FakeXL struct {
	// Fail makes the named method ("Create", "DomID", "Unpause", "Destroy", "List", "Info")
	// return the given error.
	Fail map[string]error
	// NameOf returns the domain name a config path creates; the file's base name without
	// ".cfg" when nil.
	NameOf func(configPath string) string
	// Host is what Info returns; Xen 4.17.3 with 4096 MiB free when zero.
	Host HostInfo

	mu      sync.Mutex
	domains map[string]DomainInfo
	nextID  int
	calls   []string
}

// Calls returns the calls made so far, written like xl command lines ("create -p X.cfg").
func (f *FakeXL) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// AddDomain puts a domain in the fake's list as if it had been created, e.g. a leftover
// from an earlier session; its ID is set by the fake and returned.
func (f *FakeXL) AddDomain(domain DomainInfo) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.add(domain)
}

// Domain returns the domain called name and whether it exists.
func (f *FakeXL) Domain(name string) (DomainInfo, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	domain, ok := f.domains[name]
	return domain, ok
}

// Create adds a domain, paused ("--p---") or running ("-b----"), named after configPath.
func (f *FakeXL) Create(ctx context.Context, configPath string, paused bool) error {
	if err := f.record("Create", "create", boolFlag(paused, "-p"), configPath); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()

	name := f.nameOf(configPath)
	if _, exists := f.domains[name]; exists {
		return fmt.Errorf("create the domain of %s: domain %s already exists", configPath, name)
	}
	state := "-b----"
	if paused {
		state = "--p---"
	}
	f.add(DomainInfo{Name: name, MemoryMiB: 613, VCPUs: 1, State: state})
	return nil
}

// DomID returns the ID of the domain called name, or ErrNoSuchDomain.
func (f *FakeXL) DomID(ctx context.Context, name string) (int, error) {
	if err := f.record("DomID", "domid", name); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()

	domain, ok := f.domains[name]
	if !ok {
		return 0, fmt.Errorf("find the ID of domain %s: %w", name, ErrNoSuchDomain)
	}
	return domain.ID, nil
}

// Pause marks the domain called name as paused.
func (f *FakeXL) Pause(ctx context.Context, name string) error {
	return f.setState("Pause", "pause", name, "--p---")
}

// Unpause marks the domain called name as running.
func (f *FakeXL) Unpause(ctx context.Context, name string) error {
	return f.setState("Unpause", "unpause", name, "-b----")
}

// setState records the call of method (xl's verb) and gives the domain state, as `xl list`
// shows it.
func (f *FakeXL) setState(method, verb, name, state string) error {
	if err := f.record(method, verb, name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()

	domain, ok := f.domains[name]
	if !ok {
		return fmt.Errorf("%s domain %s: %w", verb, name, ErrNoSuchDomain)
	}
	domain.State = state
	f.domains[name] = domain
	return nil
}

// Destroy removes the domain called name, or returns ErrNoSuchDomain.
func (f *FakeXL) Destroy(ctx context.Context, name string) error {
	if err := f.record("Destroy", "destroy", name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()

	if _, ok := f.domains[name]; !ok {
		return fmt.Errorf("destroy domain %s: %w", name, ErrNoSuchDomain)
	}
	delete(f.domains, name)
	return nil
}

// List returns Domain-0 and the fake's domains in ID order.
func (f *FakeXL) List(ctx context.Context) ([]DomainInfo, error) {
	if err := f.record("List", "list"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()

	domains := []DomainInfo{{Name: "Domain-0", ID: 0, MemoryMiB: 1024, VCPUs: 2,
		State: "r-----"}}
	for _, domain := range f.domains {
		domains = append(domains, domain)
	}
	sort.Slice(domains, func(i, j int) bool { return domains[i].ID < domains[j].ID })
	return domains, nil
}

// Info returns Host, or a Xen 4.17.3 host when Host is zero.
func (f *FakeXL) Info(ctx context.Context) (HostInfo, error) {
	if err := f.record("Info", "info"); err != nil {
		return HostInfo{}, err
	}
	if f.Host.XenVersion != nil {
		return f.Host, nil
	}
	return HostInfo{
		XenVersion: version.Must(version.NewVersion("4.17.3")),
		XenCaps:    "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64",
		FreeMiB:    4096,
	}, nil
}

// record notes a call and returns the error Fail holds for method.
func (f *FakeXL) record(method string, words ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var nonEmpty []string
	for _, word := range words {
		if word != "" {
			nonEmpty = append(nonEmpty, word)
		}
	}
	f.calls = append(f.calls, strings.Join(nonEmpty, " "))
	return f.Fail[method]
}

// add stores domain under the next free ID and returns the ID; f.mu must be held.
func (f *FakeXL) add(domain DomainInfo) int {
	if f.domains == nil {
		f.domains = map[string]DomainInfo{}
	}
	f.nextID++
	domain.ID = f.nextID
	f.domains[domain.Name] = domain
	return domain.ID
}

// nameOf returns the domain name configPath creates.
func (f *FakeXL) nameOf(configPath string) string {
	if f.NameOf != nil {
		return f.NameOf(configPath)
	}
	return strings.TrimSuffix(path.Base(configPath), ".cfg")
}

func boolFlag(set bool, flag string) string {
	if set {
		return flag
	}
	return ""
}

// FakeGDBSX is a GDBSX for tests: it keeps started stubs in memory and fails any method
// named in Fail. With XL set, Start refuses domain IDs that XL does not know.
type FakeGDBSX struct {
	// Fail makes the named method ("Start", "Stop", "Running") return the given error.
	Fail map[string]error
	// XL, when set, is the source of the domains Start may attach to.
	XL *FakeXL

	mu      sync.Mutex
	stubs   map[int]FakeStub
	nextPID int
}

// FakeStub is one gdbsx the fake started.
type FakeStub struct {
	DomID, Width, Port int
	LogPath            string
}

// Start records a stub and returns its PID. Like gdbsx it refuses domain 0, widths other
// than 32 and 64, and a port another stub listens on.
func (f *FakeGDBSX) Start(
	ctx context.Context, domID, width, port int, logPath string,
) (int, error) {
	if err := f.Fail["Start"]; err != nil {
		return 0, err
	}
	if err := checkGDBSXArgs(domID, width, port); err != nil {
		return 0, fmt.Errorf("start gdbsx for domain %d: %w", domID, err)
	}
	if f.XL != nil && !f.XL.hasID(domID) {
		return 0, fmt.Errorf("start gdbsx for domain %d: gdbsx exited: no such domain", domID)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	for _, stub := range f.stubs {
		if stub.Port == port {
			return 0, fmt.Errorf("start gdbsx for domain %d on port %d: the port is "+
				"already in use", domID, port)
		}
	}
	if f.stubs == nil {
		f.stubs, f.nextPID = map[int]FakeStub{}, 4000
	}
	f.nextPID++
	f.stubs[f.nextPID] = FakeStub{DomID: domID, Width: width, Port: port, LogPath: logPath}
	return f.nextPID, nil
}

// Stop forgets the stub with that PID; stopping one that has ended is not an error.
func (f *FakeGDBSX) Stop(ctx context.Context, pid int) error {
	if err := f.Fail["Stop"]; err != nil {
		return err
	}
	f.Exit(pid)
	return nil
}

// Running reports whether the stub with that PID is still there.
func (f *FakeGDBSX) Running(ctx context.Context, pid int) (bool, error) {
	if err := f.Fail["Running"]; err != nil {
		return false, err
	}
	_, running := f.Stub(pid)
	return running, nil
}

// Exit ends the stub with that PID, as gdbsx does when gdb detaches.
func (f *FakeGDBSX) Exit(pid int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.stubs, pid)
}

// Stub returns the stub with that PID and whether it is running.
func (f *FakeGDBSX) Stub(pid int) (FakeStub, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	stub, ok := f.stubs[pid]
	return stub, ok
}

// hasID reports whether a domain with that ID exists.
func (f *FakeXL) hasID(domID int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, domain := range f.domains {
		if domain.ID == domID {
			return true
		}
	}
	return false
}

var (
	_ XL    = (*FakeXL)(nil)
	_ XL    = (*RemoteXL)(nil)
	_ GDBSX = (*FakeGDBSX)(nil)
	_ GDBSX = (*RemoteGDBSX)(nil)
)
