package xen

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/xenbox/xenbox/tools/remote"
)

// DefaultGDBSXPath is where the box installs the gdbsx built for its hypervisor.
const DefaultGDBSXPath = "/usr/local/sbin/gdbsx"

// hypNotEnabled is what gdbsx prints when the hypervisor was built without CONFIG_GDBSX.
const hypNotEnabled = "Hyp is NOT enabled for gdbsx"

// RemoteGDBSX runs gdbsx on the Xen host through a remote.Runner. gdbsx serves one gdb
// connection and exits when gdb detaches, so each gdb session needs a fresh Start.
type RemoteGDBSX struct {
	runner remote.Runner
	// Binary is the gdbsx to run; DefaultGDBSXPath when empty.
	Binary string
	// StartTimeout bounds the wait for gdbsx to listen; 20 s when zero, which is enough
	// for a box under emulation.
	StartTimeout time.Duration
	// PollInterval is the pause between checks while waiting; 200 ms when zero.
	PollInterval time.Duration
}

// NewGDBSX returns the GDBSX of the Xen host that runner reaches.
func NewGDBSX(runner remote.Runner) *RemoteGDBSX {
	return &RemoteGDBSX{runner: runner}
}

// Start runs `gdbsx -a domID width port` detached from the session that starts it, logging
// to logPath, and waits until it listens on port. If gdbsx exits first, the error quotes
// the end of its log.
func (g *RemoteGDBSX) Start(
	ctx context.Context, domID, width, port int, logPath string,
) (int, error) {
	if err := checkGDBSXArgs(domID, width, port); err != nil {
		return 0, fmt.Errorf("start gdbsx for domain %d: %w", domID, err)
	}
	fail := func(err error) (int, error) {
		return 0, fmt.Errorf("start gdbsx for domain %d on port %d of %s: %w",
			domID, port, g.runner.Where(), err)
	}

	free, err := remote.PortFree(ctx, g.runner, port)
	if err != nil {
		return fail(err)
	}
	if !free {
		return fail(errors.New("the port is already in use; pick another port " +
			"or stop what listens on it"))
	}

	pid, err := g.launch(ctx, domID, width, port, logPath)
	if err != nil {
		return fail(err)
	}

	if err := g.waitUntilListening(ctx, pid, port, logPath); err != nil {
		g.Stop(context.Background(), pid)
		return fail(err)
	}
	return pid, nil
}

// Stop ends the gdbsx with that PID if it is still running. A PID that now belongs to
// another program is left alone.
//
// Limitation: the PID could be reused between the check and the kill; the window is a
// single shell command, and PIDs are reused only after the whole PID space wraps.
func (g *RemoteGDBSX) Stop(ctx context.Context, pid int) error {
	running, err := g.Running(ctx, pid)
	if err != nil || !running {
		return err
	}
	script := `kill "$1" 2>/dev/null || [ ! -e "/proc/$1" ]`
	if _, err := g.runner.Output(ctx, "sh", "-c", script, "sh", strconv.Itoa(pid)); err != nil {
		return fmt.Errorf("stop gdbsx %d on %s: %w", pid, g.runner.Where(), err)
	}
	return nil
}

// Running reports whether the process with that PID is alive and is a gdbsx.
func (g *RemoteGDBSX) Running(ctx context.Context, pid int) (bool, error) {
	if pid <= 0 {
		return false, nil
	}
	// A missing /proc entry is a process that has ended, not an error.
	script := `cat "/proc/$1/cmdline" 2>/dev/null || true`
	out, err := g.runner.Output(ctx, "sh", "-c", script, "sh", strconv.Itoa(pid))
	if err != nil {
		return false, fmt.Errorf("check gdbsx %d on %s: %w", pid, g.runner.Where(), err)
	}
	return IsGDBSXCmdline(out), nil
}

// IsGDBSXCmdline reports whether cmdline, the NUL-separated content of /proc/PID/cmdline,
// is a gdbsx attached to a domain. Right after the start it may still be the setsid that
// is about to exec gdbsx, which counts too.
func IsGDBSXCmdline(cmdline []byte) bool {
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if len(args) >= 3 && path.Base(args[0]) == "setsid" {
		args = args[1:]
	}
	return len(args) >= 2 && path.Base(args[0]) == "gdbsx" && args[1] == "-a"
}

// launch starts gdbsx in a new session with its output in logPath, so that it outlives the
// ssh connection, and returns its PID.
func (g *RemoteGDBSX) launch(ctx context.Context, domID, width, port int, logPath string) (
	int, error,
) {
	binary := g.Binary
	if binary == "" {
		binary = DefaultGDBSXPath
	}
	// Without job control a background job is not a process group leader, so setsid
	// execs gdbsx in place and $! is gdbsx's own PID. $0 is the log.
	script := `mkdir -p -- "$(dirname -- "$0")" || exit 1
setsid "$@" </dev/null >"$0" 2>&1 &
echo "$!"`
	args := []string{"sh", "-c", script, logPath,
		binary, "-a", strconv.Itoa(domID), strconv.Itoa(width), strconv.Itoa(port)}

	out, err := g.runner.Output(ctx, args...)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("the start script printed %q, not a PID", out)
	}
	return pid, nil
}

// waitUntilListening polls until gdbsx listens on port, exits, or StartTimeout passes.
func (g *RemoteGDBSX) waitUntilListening(
	ctx context.Context, pid, port int, logPath string,
) error {
	timeout, interval := g.StartTimeout, g.PollInterval
	if timeout == 0 {
		timeout = 20 * time.Second
	}
	if interval == 0 {
		interval = 200 * time.Millisecond
	}
	deadline := time.Now().Add(timeout)

	for {
		listening, err := remote.PortListening(ctx, g.runner, port)
		if err != nil {
			return err
		}
		running, err := g.Running(ctx, pid)
		if err != nil {
			return err
		}
		switch {
		case listening && running:
			return nil
		case !running:
			return g.exitedEarly(ctx, logPath)
		case time.Now().After(deadline):
			return fmt.Errorf("gdbsx did not listen within %s; its log %s says: %s",
				timeout, logPath, g.logTail(ctx, logPath))
		}

		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// exitedEarly explains why gdbsx ended before listening, from the end of its log.
func (g *RemoteGDBSX) exitedEarly(ctx context.Context, logPath string) error {
	tail := g.logTail(ctx, logPath)
	if strings.Contains(tail, hypNotEnabled) {
		return fmt.Errorf("gdbsx exited: %s; the running hypervisor lacks CONFIG_GDBSX: "+
			"boot the box's /boot/xen-*-gdbsx.gz (xenbox doctor checks this)", tail)
	}
	return fmt.Errorf("gdbsx exited before listening; its log %s says: %s", logPath, tail)
}

// logTail returns the last lines of the gdbsx log on one line, or a note that it could not
// be read.
func (g *RemoteGDBSX) logTail(ctx context.Context, logPath string) string {
	out, err := g.runner.Output(ctx, "tail", "-n", "5", "--", logPath)
	if err != nil {
		return "(log unreadable: " + err.Error() + ")"
	}
	text := strings.Join(strings.Fields(strings.ReplaceAll(string(out), "\n", " | ")), " ")
	if text == "" {
		return "(log empty)"
	}
	return strings.TrimSuffix(text, " |")
}

// checkGDBSXArgs rejects arguments gdbsx would refuse or misread.
func checkGDBSXArgs(domID, width, port int) error {
	switch {
	case domID <= 0:
		return fmt.Errorf("domain ID %d: gdbsx attaches only to guests, never to dom0", domID)
	case width != 32 && width != 64:
		return fmt.Errorf("width %d: want 32 or 64, from the ELF class of the kernel", width)
	case port < 1 || port > 65535:
		return fmt.Errorf("port %d: want 1 to 65535", port)
	}
	return nil
}
