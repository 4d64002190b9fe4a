package session

import (
	"context"
	"fmt"
	"io"

	"github.com/xenbox/xenbox/tools/remote"
)

// Console attaches the terminal to the domain's console with `xl console` (leave with ^]).
func Console(ctx context.Context, runner remote.Runner, domainName string,
	stdin io.Reader, stdout, stderr io.Writer) error {
	err := runner.Run(ctx, remote.Command{
		Args:        []string{"xl", "console", domainName},
		Stdin:       stdin,
		Stdout:      stdout,
		Stderr:      stderr,
		Interactive: true,
	})
	if err != nil {
		return fmt.Errorf("attach to the console of domain %s: %w", domainName, err)
	}
	return nil
}

// ConsoleLog prints the console log xenconsoled keeps for the domain, and with follow keeps
// printing what the guest writes until ctx ends.
func ConsoleLog(ctx context.Context, runner remote.Runner, domainName string, follow bool,
	stdout, stderr io.Writer) error {
	logPath := ConsoleLogPath(domainName)
	args := []string{"cat", "--", logPath}
	if follow {
		args = []string{"tail", "-n", "+1", "-F", "--", logPath}
	}

	err := runner.Run(ctx, remote.Command{Args: args, Stdout: stdout, Stderr: stderr})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("print console log %s (is xenconsoled run with --log=guest?): %w",
			logPath, err)
	}
	return nil
}
