package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// Local runs commands on this machine, for when xenbox itself runs in dom0.
type Local struct{}

// NewLocal returns a Runner for this machine.
func NewLocal() *Local { return &Local{} }

// Where names this machine for messages.
func (l *Local) Where() string { return "dom0 (this machine)" }

// Local reports true: commands run on this machine.
func (l *Local) Local() bool { return true }

// Output runs args and returns what they wrote to standard output.
func (l *Local) Output(ctx context.Context, args ...string) ([]byte, error) {
	return output(ctx, l, args)
}

// Run runs cmd with its standard streams connected to cmd's readers and writers.
func (l *Local) Run(ctx context.Context, cmd Command) error {
	if len(cmd.Args) == 0 {
		return errors.New("run a command on this machine: no command given")
	}
	return runProcess(ctx, exec.CommandContext(ctx, cmd.Args[0], cmd.Args[1:]...), cmd, l.Where())
}

// Forward returns the Xen host's own loopback address: on this machine nothing needs to be
// forwarded, and stop does nothing.
func (l *Local) Forward(ctx context.Context, remotePort int) (string, func() error, error) {
	return fmt.Sprintf("127.0.0.1:%d", remotePort), func() error { return nil }, nil
}

// output runs args through r, capturing standard output.
func output(ctx context.Context, r Runner, args []string) ([]byte, error) {
	var stdout bytes.Buffer
	err := r.Run(ctx, Command{Args: args, Stdout: &stdout})
	return stdout.Bytes(), err
}

// runProcess starts process with cmd's streams, waits for it and turns a non-zero exit into
// an *ExitError naming cmd.Args (not the ssh wrapper around them) and where they ran.
func runProcess(ctx context.Context, process *exec.Cmd, cmd Command, where string) error {
	stderrTail := &tailBuffer{max: 64 << 10}
	process.Stdin, process.Stdout, process.Stderr = cmd.Stdin, cmd.Stdout, cmd.Stderr
	if cmd.Interactive {
		attachTerminal(process)
	}
	if process.Stderr == nil {
		process.Stderr = stderrTail
	}
	// A child that hands its pipes to a background process must not keep Wait hanging.
	process.WaitDelay = 5 * time.Second

	err := process.Run()
	if err == nil {
		return nil
	}

	if ctx.Err() != nil {
		return fmt.Errorf("%s on %s: %w", shellJoin(cmd.Args), where, ctx.Err())
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && exitErr.ExitCode() >= 0 {
		return &ExitError{
			Args: cmd.Args, Where: where, Code: exitErr.ExitCode(), Stderr: stderrTail.String(),
		}
	}
	return fmt.Errorf("%s on %s: %w", shellJoin(cmd.Args), where, err)
}

// attachTerminal gives an interactive program this process's terminal for every stream the
// caller left unset.
func attachTerminal(process *exec.Cmd) {
	if process.Stdin == nil {
		process.Stdin = os.Stdin
	}
	if process.Stdout == nil {
		process.Stdout = os.Stdout
	}
	if process.Stderr == nil {
		process.Stderr = os.Stderr
	}
}
