package remote

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

// FakeRunner is a Runner for tests of code that drives the Xen host: it records every
// command and answers from replies scripted with On. A command no reply matches fails with
// status 127, as a missing program would.
type FakeRunner struct {
	// Name is what Where returns; "fake dom0" when empty.
	Name string
	// IsLocal is what Local returns.
	IsLocal bool

	mu      sync.Mutex
	replies []*FakeReply
	calls   []FakeCall
}

// FakeCall is one command a FakeRunner received.
type FakeCall struct {
	Args  []string
	Stdin []byte
}

// FakeReply is how a FakeRunner answers commands that start with Prefix.
type FakeReply struct {
	prefix    []string
	stdout    string
	stderr    string
	code      int
	handler   func(FakeCall) (stdout string, err error)
	remaining int // uses left; -1 for any number
}

// On scripts the answer to commands whose arguments start with prefix. Replies are tried in
// the order they were added; the returned reply answers with empty output until told
// otherwise.
func (f *FakeRunner) On(prefix ...string) *FakeReply {
	f.mu.Lock()
	defer f.mu.Unlock()
	reply := &FakeReply{prefix: prefix, remaining: -1}
	f.replies = append(f.replies, reply)
	return reply
}

// Returns makes the reply succeed with stdout.
func (r *FakeReply) Returns(stdout string) *FakeReply {
	r.stdout, r.code = stdout, 0
	return r
}

// Fails makes the reply exit with code and write stderr.
func (r *FakeReply) Fails(code int, stderr string) *FakeReply {
	r.code, r.stderr = code, stderr
	return r
}

// Handle makes the reply call handler, which returns the standard output or an error
// (an *ExitError to simulate a failing command).
func (r *FakeReply) Handle(handler func(FakeCall) (string, error)) *FakeReply {
	r.handler = handler
	return r
}

// Times limits the reply to n uses, after which later replies are tried.
func (r *FakeReply) Times(n int) *FakeReply {
	r.remaining = n
	return r
}

// Calls returns the commands received so far.
func (f *FakeRunner) Calls() []FakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// CommandLines returns the commands received so far, each quoted as a shell command line.
func (f *FakeRunner) CommandLines() []string {
	var lines []string
	for _, call := range f.Calls() {
		lines = append(lines, shellJoin(call.Args))
	}
	return lines
}

// Where names the fake host.
func (f *FakeRunner) Where() string {
	if f.Name == "" {
		return "fake dom0"
	}
	return f.Name
}

// Local returns IsLocal.
func (f *FakeRunner) Local() bool { return f.IsLocal }

// Output answers args from the scripted replies.
func (f *FakeRunner) Output(ctx context.Context, args ...string) ([]byte, error) {
	return output(ctx, f, args)
}

// Run records cmd, reads its standard input and answers from the scripted replies.
func (f *FakeRunner) Run(ctx context.Context, cmd Command) error {
	call := FakeCall{Args: slices.Clone(cmd.Args)}
	if cmd.Stdin != nil {
		stdin, err := io.ReadAll(cmd.Stdin)
		if err != nil {
			return fmt.Errorf("fake runner: read stdin of %s: %w", shellJoin(cmd.Args), err)
		}
		call.Stdin = stdin
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	f.mu.Lock()
	f.calls = append(f.calls, call)
	reply := f.match(cmd.Args)
	f.mu.Unlock()

	stdout, err := f.answer(reply, call)
	if cmd.Stdout != nil {
		io.WriteString(cmd.Stdout, stdout)
	}
	return err
}

// match returns the first usable reply for args, using it up by one; f.mu must be held.
func (f *FakeRunner) match(args []string) *FakeReply {
	for _, reply := range f.replies {
		if reply.remaining == 0 || len(args) < len(reply.prefix) {
			continue
		}
		if slices.Equal(args[:len(reply.prefix)], reply.prefix) {
			if reply.remaining > 0 {
				reply.remaining--
			}
			return reply
		}
	}
	return nil
}

// answer produces the output and error of reply for call.
func (f *FakeRunner) answer(reply *FakeReply, call FakeCall) (string, error) {
	switch {
	case reply == nil:
		return "", &ExitError{Args: call.Args, Where: f.Where(), Code: 127,
			Stderr: "fake runner: no reply scripted for " + strings.Join(call.Args, " ")}
	case reply.handler != nil:
		return reply.handler(call)
	case reply.code != 0:
		return reply.stdout, &ExitError{Args: call.Args, Where: f.Where(), Code: reply.code,
			Stderr: reply.stderr}
	default:
		return reply.stdout, nil
	}
}

var (
	_ Runner    = (*FakeRunner)(nil)
	_ Runner    = (*Local)(nil)
	_ Runner    = (*SSH)(nil)
	_ Forwarder = (*Local)(nil)
	_ Forwarder = (*SSH)(nil)
)
