package xen

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestFakeXLCreatesFindsUnpausesAndDestroysDomains(t *testing.T) {
	xl := &FakeXL{}
	ctx := context.Background()

	if err := xl.Create(ctx, "/var/lib/xenbox/domains/xenbox-hello.cfg", true); err != nil {
		t.Fatal(err)
	}
	domID, err := xl.DomID(ctx, "xenbox-hello")
	if err != nil || domID != 1 {
		t.Fatalf("DomID = %d, %v; want 1", domID, err)
	}
	if domain, _ := xl.Domain("xenbox-hello"); domain.State != "--p---" {
		t.Errorf("state after paused create %q, want --p---", domain.State)
	}
	if err := xl.Unpause(ctx, "xenbox-hello"); err != nil {
		t.Fatal(err)
	}
	if err := xl.Destroy(ctx, "xenbox-hello"); err != nil {
		t.Fatal(err)
	}

	if _, err := xl.DomID(ctx, "xenbox-hello"); !errors.Is(err, ErrNoSuchDomain) {
		t.Errorf("DomID after destroy: %v, want ErrNoSuchDomain", err)
	}
	want := []string{"create -p /var/lib/xenbox/domains/xenbox-hello.cfg",
		"domid xenbox-hello", "unpause xenbox-hello", "destroy xenbox-hello",
		"domid xenbox-hello"}
	if got := xl.Calls(); !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
}

func TestFakeXLFailsTheMethodsItIsToldTo(t *testing.T) {
	boom := errors.New("xl create: libxl: error")
	xl := &FakeXL{Fail: map[string]error{"Create": boom}}

	err := xl.Create(context.Background(), "/var/lib/xenbox/domains/a.cfg", false)

	if !errors.Is(err, boom) {
		t.Errorf("error = %v, want the scripted failure", err)
	}
	if _, ok := xl.Domain("a"); ok {
		t.Error("a failed create left a domain behind")
	}
}

func TestFakeGDBSXAttachesOnlyToKnownGuestDomains(t *testing.T) {
	xl := &FakeXL{}
	domID := xl.AddDomain(DomainInfo{Name: "xenbox-hello", State: "--p---"})
	gdbsx := &FakeGDBSX{XL: xl}
	ctx := context.Background()

	pid, err := gdbsx.Start(ctx, domID, 64, 9999, "/var/log/xenbox/xenbox-hello-gdbsx.log")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gdbsx.Start(ctx, domID+1, 64, 9998, "/tmp/other.log"); err == nil {
		t.Error("Start on an unknown domain succeeded")
	}
	if _, err := gdbsx.Start(ctx, domID, 64, 9999, "/tmp/again.log"); err == nil {
		t.Error("Start on a port in use succeeded")
	}
	if _, err := gdbsx.Start(ctx, 0, 64, 9997, "/tmp/dom0.log"); err == nil {
		t.Error("Start on dom0 succeeded")
	}

	gdbsx.Exit(pid)
	if running, _ := gdbsx.Running(ctx, pid); running {
		t.Error("stub still running after gdb detached")
	}
}
