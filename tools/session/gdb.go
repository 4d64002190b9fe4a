package session

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/xenbox/xenbox/tools/remote"
	"github.com/xenbox/xenbox/tools/xen"
)

// Debugger runs gdb on this machine with the terminal attached.
type Debugger interface {
	// Run runs gdb with args and returns its exit code; err is for gdb not running at all.
	Run(ctx context.Context, args []string) (exitCode int, err error)
}

// LocalGDB runs the gdb binary found on PATH (or Binary) with the given standard streams.
type LocalGDB struct {
	Binary string // "" means "gdb"
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Run runs gdb and waits for it to exit.
func (g LocalGDB) Run(ctx context.Context, args []string) (int, error) {
	binary := g.Binary
	if binary == "" {
		binary = "gdb"
	}
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = g.Stdin, g.Stdout, g.Stderr

	err := cmd.Run()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && ctx.Err() == nil {
		return exitErr.ExitCode(), nil
	}
	if err != nil {
		return 1, fmt.Errorf("run %s: %w", binary, err)
	}
	return 0, nil
}

// kernelBreakScript defines xenbox_break in gdb's Python: a hardware breakpoint that stops only
// once PV-GRUB has loaded the kernel.
//
//go:embed kernel_break.py
var kernelBreakScript string

// BreakCommand returns the gdb command that sets a breakpoint at location. A domain booted by
// PV-GRUB gets a hardware breakpoint that waits for the kernel (see kernel_break.py): PV-GRUB
// loads the kernel over its own memory after gdb attaches, which would overwrite a software
// breakpoint, and runs code at the same addresses as the kernel.
func BreakCommand(direct bool, location string) string {
	if direct {
		return "break " + location
	}
	return "python xenbox_break(" + strconv.Quote(location) + ")"
}

// GDBOptions says what gdb does once connected and what happens to the domain afterwards.
type GDBOptions struct {
	Breaks []string // breakpoint locations, set in order
	Extra  []string // further gdb arguments, e.g. "-batch", "-ex", "continue"
	Keep   bool     // keep the domain and its state when gdb exits
}

// GDBArgs returns gdb's arguments: the symbols of programBin, connected to addr, with the
// breakpoints and the user's extra arguments.
func GDBArgs(programBin, addr string, direct bool, breakScript string,
	opts GDBOptions) []string {
	args := []string{"-q", "-nx", programBin,
		"-ex", "set pagination off",
		"-ex", "set confirm off",
	}
	if !direct {
		// Until PV-GRUB has loaded the kernel, the guest's memory holds PV-GRUB, so gdb reads
		// the kernel's code from program.bin to find where each function's prologue ends.
		args = append(args, "-ex", "set trust-readonly-sections on")
		if len(opts.Breaks) > 0 && breakScript != "" {
			// Limitation: needs a gdb built with Python, as Debian's, Ubuntu's and
			// Homebrew's are.
			args = append(args, "-x", breakScript)
		}
	}
	args = append(args, "-ex", "target remote "+addr)
	for _, location := range opts.Breaks {
		args = append(args, "-ex", BreakCommand(direct, location))
	}
	return append(args, opts.Extra...)
}

// RunGDB connects gdb to the session's domain and returns gdb's exit code. A fresh gdbsx is
// started when the previous one has ended (gdbsx exits when gdb detaches). When gdb exits, the
// forward ends, gdbsx is stopped, and unless opts.Keep the domain is destroyed and the state
// removed; this happens also when ctx is cancelled.
func RunGDB(ctx context.Context, host Host, forwarder remote.Forwarder, gdb Debugger,
	state State, opts GDBOptions, steps *Steps) (exitCode int, err error) {
	state, err = ensureGDBSX(ctx, host, state, steps)
	if err != nil {
		return 1, err
	}
	defer func() {
		cleanup := teardown(context.WithoutCancel(ctx), host, state, !opts.Keep)
		if cleanup != nil {
			err = errors.Join(err, fmt.Errorf("clean up domain %s: %w", state.Domain, cleanup))
		}
	}()

	addr, stopForward, err := forwarder.Forward(ctx, state.Port)
	if err != nil {
		return 1, fmt.Errorf("forward gdbsx port %d: %w", state.Port, err)
	}
	defer func() {
		if stopErr := stopForward(); stopErr != nil {
			err = errors.Join(err, fmt.Errorf("stop forward of port %d: %w", state.Port, stopErr))
		}
	}()

	steps.Say("gdb connects to %s (gdbsx on port %d in %s)", addr, state.Port, host.Box.Where())
	breakScript, err := writeKernelBreakScript()
	if err != nil {
		return 1, err
	}
	defer os.Remove(breakScript)
	return gdb.Run(ctx, GDBArgs(state.LocalProgramBin, addr, state.Direct(), breakScript, opts))
}

// ensureGDBSX starts gdbsx again when the one in the state has ended, and saves the new PID.
func ensureGDBSX(ctx context.Context, host Host, state State, steps *Steps) (State, error) {
	if state.GDBSXPID != 0 {
		running, err := host.GDBSX.Running(ctx, state.GDBSXPID)
		if err != nil {
			return state, fmt.Errorf("check gdbsx of domain %s: %w", state.Domain, err)
		}
		if running {
			return state, nil
		}
	}

	domID, err := host.XL.DomID(ctx, state.Domain)
	if err != nil {
		return state, fmt.Errorf("domain %s of the session is gone; run `xenbox destroy %s` "+
			"and debug again: %w", state.Domain, state.Domain, err)
	}
	state.DomID = domID

	if state, err = attachGDBSX(ctx, host, state, steps); err != nil {
		return state, err
	}
	return state, SaveState(ctx, host.Box, state)
}

// writeKernelBreakScript writes kernel_break.py to a temporary file for gdb's -x.
func writeKernelBreakScript() (string, error) {
	file, err := os.CreateTemp("", "xenbox-break-*.py")
	if err != nil {
		return "", fmt.Errorf("write gdb's breakpoint script: %w", err)
	}
	_, err = file.WriteString(kernelBreakScript)
	if closeErr := file.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		os.Remove(file.Name())
		return "", fmt.Errorf("write gdb's breakpoint script: %w", err)
	}
	return file.Name(), nil
}

// Interrupt stops the session's domain so that gdb gets its prompt back: gdbsx does not read
// gdb's ^C while the guest runs, but it waits for the domain to be paused and reports that as
// an interrupt. A domain that is paused already (gdb is at its prompt) is left alone, or its
// pauses would outnumber gdbsx's unpauses.
func Interrupt(ctx context.Context, host Host, state State) error {
	domains, err := host.XL.List(ctx)
	if err != nil {
		return fmt.Errorf("interrupt domain %s: %w", state.Domain, err)
	}
	for _, domain := range domains {
		if domain.Name != state.Domain {
			continue
		}
		if strings.Contains(domain.State, "p") {
			return nil
		}
		if err := host.XL.Pause(ctx, state.Domain); err != nil {
			return fmt.Errorf("interrupt domain %s: %w", state.Domain, err)
		}
		return nil
	}
	return fmt.Errorf("interrupt domain %s: %w", state.Domain, xen.ErrNoSuchDomain)
}
