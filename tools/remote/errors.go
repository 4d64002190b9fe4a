package remote

import (
	"fmt"
	"strings"
)

// ExitError is a command on the Xen host that ran but exited with a non-zero status.
type ExitError struct {
	Args   []string // the command as run
	Where  string   // the host it ran on, as Runner.Where says
	Code   int      // exit status; 255 from ssh usually means the connection failed
	Stderr string   // standard error, when it was captured
}

// Error names the command, where it ran, its status and the end of its standard error.
func (e *ExitError) Error() string {
	msg := fmt.Sprintf("%s on %s exited with status %d", describeCommand(e.Args), e.Where,
		e.Code)
	if e.Code == 255 && strings.Contains(e.Stderr, "ssh:") {
		msg = fmt.Sprintf("cannot reach %s", e.Where)
	}
	if tail := lastLines(e.Stderr, 5); tail != "" {
		msg += ": " + tail
	}
	return msg
}

// lastLines returns the last n non-empty lines of text joined by " | ", so that the reason
// a program gives for failing ends up on one line of the error message.
func lastLines(text string, n int) string {
	var lines []string
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// tailBuffer keeps the last max bytes written to it, so that a chatty command's standard
// error cannot grow without bound while it is kept for an error message.
type tailBuffer struct {
	max  int
	data []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.data = append(b.data, p...)
	if len(b.data) > b.max {
		b.data = b.data[len(b.data)-b.max:]
	}
	return len(p), nil
}

func (b *tailBuffer) String() string { return string(b.data) }

// describeCommand names a command for a message; an inline shell script is named by its
// first line and its arguments, not printed whole.
func describeCommand(args []string) string {
	if len(args) >= 3 && args[0] == "sh" && args[1] == "-c" {
		script, rest := args[2], args[3:]
		if first, _, multiline := strings.Cut(script, "\n"); multiline {
			script = first + " ..."
		}
		if len(rest) > 0 && rest[0] == "sh" {
			rest = rest[1:]
		}
		return strings.TrimSpace("sh -c " + shellJoin([]string{script}) + " " + shellJoin(rest))
	}
	return shellJoin(args)
}
