package remote

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestFakeRunnerAnswersInOrderAndUsesUpLimitedReplies(t *testing.T) {
	runner := &FakeRunner{}
	runner.On("xl", "domid", "web").Times(1).Fails(1, "maybe this domain does not exist")
	runner.On("xl", "domid", "web").Returns("7\n")

	_, first := runner.Output(context.Background(), "xl", "domid", "web")
	second, err := runner.Output(context.Background(), "xl", "domid", "web")

	var exitErr *ExitError
	if !errors.As(first, &exitErr) || exitErr.Code != 1 {
		t.Errorf("first answer %v, want exit status 1", first)
	}
	if err != nil || string(second) != "7\n" {
		t.Errorf("second answer %q, %v; want 7", second, err)
	}
}

func TestFakeRunnerFailsUnscriptedCommandsAndRecordsStdin(t *testing.T) {
	runner := &FakeRunner{}

	err := runner.Run(context.Background(), Command{
		Args: []string{"cat"}, Stdin: strings.NewReader("menu.lst"),
	})

	var exitErr *ExitError
	if !errors.As(err, &exitErr) || exitErr.Code != 127 {
		t.Errorf("error %v, want exit status 127", err)
	}
	calls := runner.Calls()
	if len(calls) != 1 || string(calls[0].Stdin) != "menu.lst" {
		t.Errorf("calls %+v, want one with stdin menu.lst", calls)
	}
}
