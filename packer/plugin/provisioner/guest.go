package provisioner

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"
)

// executeCommandData is what execute_command is rendered with.
type executeCommandData struct {
	Vars    string // the environment, NAME='value' pairs separated by spaces
	Command string // the command to run as root, ready for a shell
}

// guest runs commands in the VM being baked, through Packer's communicator.
type guest struct {
	comm            packersdk.Communicator
	ui              packersdk.Ui
	executeCommand  string
	templateContext interpolate.Context
}

// commandError is a command that ran in the VM and failed.
type commandError struct {
	What   string // what the command was for, e.g. "xen.sh"
	Status int
	Output string // what it printed, when it was not streamed to the UI
}

func (e *commandError) Error() string {
	if e.Status == packersdk.CmdDisconnect {
		return fmt.Sprintf("%s: the connection to the VM dropped before it finished", e.What)
	}
	message := fmt.Sprintf("%s failed with exit status %d", e.What, e.Status)
	if e.Output != "" {
		message += ":\n" + e.Output
	} else {
		message += "; its output is above"
	}
	return message
}

// asRoot renders execute_command for command with the environment env.
func (g *guest) asRoot(command string, env map[string]string) (string, error) {
	templateContext := g.templateContext
	templateContext.Data = executeCommandData{Vars: shellEnvironment(env), Command: command}
	rendered, err := interpolate.Render(g.executeCommand, &templateContext)
	if err != nil {
		return "", fmt.Errorf("render execute_command for %s: %w", command, err)
	}
	return rendered, nil
}

// runAsRoot runs command as root with env, streaming its output to the UI; what names it in
// the error when it fails.
func (g *guest) runAsRoot(ctx context.Context, what, command string,
	env map[string]string) error {
	rendered, err := g.asRoot(command, env)
	if err != nil {
		return err
	}
	return g.stream(ctx, what, rendered)
}

// stream runs command as it is, its output going to the UI.
func (g *guest) stream(ctx context.Context, what, command string) error {
	_, err := g.streamAndCapture(ctx, what, command)
	return err
}

// streamAndCapture runs command as it is, its output going to the UI, and also returns that
// output for a check to read.
func (g *guest) streamAndCapture(ctx context.Context, what, command string) (string, error) {
	var combined lockedBuffer
	cmd := &packersdk.RemoteCmd{Command: command, Stdout: &combined, Stderr: &combined}
	if err := cmd.RunWithUi(ctx, g.comm, g.ui); err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if status := cmd.ExitStatus(); status != 0 {
		return combined.String(), &commandError{What: what, Status: status}
	}
	return combined.String(), nil
}

// output runs command as it is and returns what it printed on standard output; a failure
// carries both outputs. It gives up when ctx ends, even if the connection hangs.
func (g *guest) output(ctx context.Context, what, command string) (string, error) {
	var stdout, combined lockedBuffer
	cmd := &packersdk.RemoteCmd{
		Command: command,
		Stdout:  io.MultiWriter(&stdout, &combined),
		Stderr:  &combined,
	}
	if err := g.comm.Start(ctx, cmd); err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}

	exited := make(chan int, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case status := <-exited:
		if status != 0 {
			return stdout.String(), &commandError{What: what, Status: status,
				Output: strings.TrimSpace(combined.String())}
		}
		return stdout.String(), nil
	case <-ctx.Done():
		return "", fmt.Errorf("%s: %w", what, ctx.Err())
	}
}

// upload writes content to remotePath in the VM with mode.
func (g *guest) upload(remotePath string, content io.Reader, size int64, mode fs.FileMode) error {
	var info os.FileInfo = uploadInfo{name: path.Base(remotePath), size: size, mode: mode}
	if err := g.comm.Upload(remotePath, content, &info); err != nil {
		return fmt.Errorf("upload %s: %w", remotePath, err)
	}
	return nil
}

// uploadInfo tells the communicator the mode of an uploaded file.
type uploadInfo struct {
	name string
	size int64
	mode fs.FileMode
}

func (i uploadInfo) Name() string       { return i.name }
func (i uploadInfo) Size() int64        { return i.size }
func (i uploadInfo) Mode() fs.FileMode  { return i.mode }
func (i uploadInfo) ModTime() time.Time { return time.Time{} }
func (i uploadInfo) IsDir() bool        { return false }
func (i uploadInfo) Sys() any           { return nil }

// shellEnvironment renders env as NAME='value' pairs sorted by name.
func shellEnvironment(env map[string]string) string {
	names := make([]string, 0, len(env))
	for name := range env {
		names = append(names, name)
	}
	sort.Strings(names)
	pairs := make([]string, len(names))
	for i, name := range names {
		pairs[i] = name + "=" + shellQuote(env[name])
	}
	return strings.Join(pairs, " ")
}

// shellQuote quotes text for a POSIX shell, whatever it contains.
func shellQuote(text string) string {
	return "'" + strings.ReplaceAll(text, "'", `'"'"'`) + "'"
}

// lockedBuffer is a bytes.Buffer a communicator may write to from its own goroutine while
// output reads it.
type lockedBuffer struct {
	mu     sync.Mutex
	buffer bytes.Buffer
}

func (b *lockedBuffer) Write(data []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buffer.Write(data)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buffer.String()
}
