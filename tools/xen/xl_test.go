package xen

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/xenbox/xenbox/tools/remote"
)

func TestCreatePausedPassesMinusP(t *testing.T) {
	runner := &remote.FakeRunner{}
	runner.On("xl", "create").Returns("")

	err := NewXL(runner).Create(context.Background(), "/var/lib/xenbox/domains/a.cfg", true)
	if err != nil {
		t.Fatal(err)
	}

	want := []string{"xl create -p /var/lib/xenbox/domains/a.cfg"}
	if got := runner.CommandLines(); !slices.Equal(got, want) {
		t.Errorf("ran %q, want %q", got, want)
	}
}

func TestDomIDOfAnUnknownDomainIsErrNoSuchDomain(t *testing.T) {
	runner := &remote.FakeRunner{}
	runner.On("xl", "domid").Fails(1,
		"Can't get domid of domain name 'web', maybe this domain does not exist.\n")

	_, err := NewXL(runner).DomID(context.Background(), "web")

	if !errors.Is(err, ErrNoSuchDomain) {
		t.Errorf("error = %v, want ErrNoSuchDomain", err)
	}
}

func TestDestroyAndUnpauseOfAnUnknownDomainAreErrNoSuchDomain(t *testing.T) {
	runner := &remote.FakeRunner{}
	runner.On("xl").Fails(1, "web is an invalid domain identifier (rc=-6)\n")
	xl := NewXL(runner)

	for name, err := range map[string]error{
		"destroy": xl.Destroy(context.Background(), "web"),
		"unpause": xl.Unpause(context.Background(), "web"),
	} {
		if !errors.Is(err, ErrNoSuchDomain) {
			t.Errorf("%s error = %v, want ErrNoSuchDomain", name, err)
		}
	}
}

func TestOtherXLFailuresAreNotErrNoSuchDomain(t *testing.T) {
	runner := &remote.FakeRunner{}
	runner.On("xl", "domid").Fails(1, "libxl: error: cannot connect to xenstored\n")

	_, err := NewXL(runner).DomID(context.Background(), "web")

	var exitErr *remote.ExitError
	if errors.Is(err, ErrNoSuchDomain) || !errors.As(err, &exitErr) {
		t.Errorf("error = %v, want the xl failure itself", err)
	}
}

func TestDomIDListAndInfoParseXLOutput(t *testing.T) {
	runner := &remote.FakeRunner{}
	runner.On("xl", "domid", "xenbox-web").Returns("12\n")
	runner.On("xl", "list").Returns(string(readTestdata(t, "xl-list.txt")))
	runner.On("xl", "info").Returns(string(readTestdata(t, "xl-info-4.17.3.txt")))
	xl := NewXL(runner)
	ctx := context.Background()

	domID, err := xl.DomID(ctx, "xenbox-web")
	if err != nil || domID != 12 {
		t.Errorf("DomID = %d, %v; want 12", domID, err)
	}
	domains, err := xl.List(ctx)
	if err != nil || len(domains) != 3 {
		t.Errorf("List = %+v, %v; want 3 domains", domains, err)
	}
	info, err := xl.Info(ctx)
	if err != nil || info.XenVersion.String() != "4.17.3" {
		t.Errorf("Info = %+v, %v; want Xen 4.17.3", info, err)
	}
}
