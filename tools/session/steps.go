package session

import (
	"fmt"
	"io"
	"time"
)

// Steps prints one line per step the user waits for, with the elapsed time of long ones.
type Steps struct {
	Out io.Writer
	// Verbose puts the step title on its own line, so that the commands the runner shows on
	// stderr do not split it.
	Verbose bool
	// Slow is the duration from which the elapsed time is shown; zero means one second.
	Slow time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Do prints title, runs step and completes the line with "ok" or "failed".
// The elapsed time follows when the step was long.
func (s *Steps) Do(title string, step func() error) error {
	return s.Report(title, func() (string, error) {
		start := s.now()
		err := step()
		if elapsed := s.now().Sub(start); elapsed >= s.slow() {
			return fmt.Sprintf("ok (%s)", FormatSeconds(elapsed)), err
		}
		return "ok", err
	})
}

// Report prints title, runs step and completes the line with the outcome step returns, or
// "failed" when it returns an error.
func (s *Steps) Report(title string, step func() (outcome string, err error)) error {
	if s == nil {
		_, err := step()
		return err
	}
	if s.Verbose {
		fmt.Fprintf(s.out(), "%s ...\n", title)
	} else {
		fmt.Fprintf(s.out(), "%s ... ", title)
	}

	outcome, err := step()

	if err != nil {
		outcome = "failed"
	}
	if s.Verbose {
		fmt.Fprintf(s.out(), "  %s\n", outcome)
	} else {
		fmt.Fprintln(s.out(), outcome)
	}
	return err
}

// Say prints one line of information.
func (s *Steps) Say(format string, args ...any) {
	if s == nil {
		return
	}
	fmt.Fprintf(s.out(), format+"\n", args...)
}

// FormatSeconds renders a duration the way step lines show it, e.g. "5.2 s".
func FormatSeconds(d time.Duration) string {
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func (s *Steps) out() io.Writer {
	if s == nil || s.Out == nil {
		return io.Discard
	}
	return s.Out
}

func (s *Steps) now() time.Time {
	if s == nil || s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Steps) slow() time.Duration {
	if s == nil || s.Slow == 0 {
		return time.Second
	}
	return s.Slow
}
