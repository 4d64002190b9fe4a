package session

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/xenbox/xenbox/tools/remote"
)

func TestConsoleLogPrintsOrFollowsTheKeptLog(t *testing.T) {
	tests := []struct {
		follow bool
		want   []string
	}{
		{follow: false, want: []string{"cat -- /var/log/xen/console/guest-unik-123.log"}},
		{follow: true,
			want: []string{"tail -n +1 -F -- /var/log/xen/console/guest-unik-123.log"}},
	}
	for _, test := range tests {
		runner := &remote.FakeRunner{}
		runner.On().Returns("xenbox-sample: cmdline=<<<{}>>>\n")
		var out bytes.Buffer

		err := ConsoleLog(context.Background(), runner, testDomain, test.follow, &out, &out)

		if err != nil {
			t.Fatalf("follow=%v: %v", test.follow, err)
		}
		if got := runner.CommandLines(); !reflect.DeepEqual(got, test.want) {
			t.Errorf("follow=%v ran %q, want %q", test.follow, got, test.want)
		}
		if out.String() != "xenbox-sample: cmdline=<<<{}>>>\n" {
			t.Errorf("follow=%v printed %q", test.follow, out.String())
		}
	}
}

func TestConsoleLogFailureSaysWhereTheLogComesFrom(t *testing.T) {
	runner := &remote.FakeRunner{}
	runner.On("cat").Fails(1, "cat: /var/log/xen/console/guest-unik-123.log: No such file")

	err := ConsoleLog(context.Background(), runner, testDomain, false, &bytes.Buffer{},
		&bytes.Buffer{})

	if err == nil || !strings.Contains(err.Error(), "xenconsoled run with --log=guest") {
		t.Errorf("ConsoleLog error = %v, want a hint about xenconsoled", err)
	}
}

func TestConsoleRunsXLConsoleOnTheDomain(t *testing.T) {
	runner := &remote.FakeRunner{}
	runner.On("xl", "console").Returns("")

	err := Console(context.Background(), runner, testDomain, strings.NewReader(""),
		&bytes.Buffer{}, &bytes.Buffer{})

	if err != nil {
		t.Fatal(err)
	}
	if got := runner.CommandLines(); !reflect.DeepEqual(got, []string{"xl console unik-123"}) {
		t.Errorf("ran %q, want xl console unik-123", got)
	}
}
