// Command xenbox debugs a unik-built Xen PV image for AWS EC2 on the developer's desk: it runs
// the image as a paused PV domain in the Xen box (a Vagrant box, or this machine when it is
// dom0), attaches gdbsx, and connects gdb with the debug dir's program.bin symbols.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
)

// Exit codes of xenbox.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGHUP)
	// The first signal lets a session clean up (gdbsx, the domain); a second one ends xenbox
	// at once, also in a step that does not watch ctx.
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args, defaultEnvironment())
	stop()
	os.Exit(code)
}

// run runs xenbox with args and returns its exit code; errors are printed on env.stderr.
func run(ctx context.Context, args []string, env *environment) int {
	args, env.gdbArgs = splitAtDashDash(args)

	err := newApp(env).RunContext(ctx, args)

	return report(env.stderr, err)
}

// usageError is a command line xenbox cannot make sense of; it exits with status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// exitStatus ends xenbox with a status and no message, e.g. gdb's own exit status.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// report prints err and returns the exit code that goes with it.
func report(stderr io.Writer, err error) int {
	var usage usageError
	var status exitStatus
	var coder cli.ExitCoder
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &status):
		return int(status)
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "xenbox: %v\nRun `xenbox help` for usage.\n", err)
		return exitUsage
	case errors.As(err, &coder):
		if err.Error() != "" {
			fmt.Fprintf(stderr, "xenbox: %v\n", err)
		}
		return coder.ExitCode()
	default:
		fmt.Fprintf(stderr, "xenbox: %v\n", err)
		return exitFailure
	}
}

// splitAtDashDash separates the arguments after the first "--", which gdb receives as they are.
func splitAtDashDash(args []string) (xenboxArgs, gdbArgs []string) {
	for i, arg := range args {
		if arg == "--" {
			return args[:i], args[i+1:]
		}
	}
	return args, nil
}
