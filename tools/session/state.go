package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"
)

// ErrNoSession is returned by LoadState when dom0 keeps no session for the domain.
var ErrNoSession = errors.New("no debug session")

// State is what debug leaves in dom0 so that gdb, console and destroy find the session again.
type State struct {
	Domain          string    `json:"domain"`
	DomID           int       `json:"domid"`
	GDBSXPID        int       `json:"gdbsx_pid"`
	Port            int       `json:"port"`
	Width           int       `json:"width"` // 32 or 64, the ELF class gdbsx is started with
	Boot            string    `json:"boot"`  // "pvgrub" or "direct"
	Image           string    `json:"image"` // boot image in dom0
	ProgramBin      string    `json:"program_bin"`
	LocalProgramBin string    `json:"local_program_bin"` // the debug dir's program.bin
	Created         time.Time `json:"created"`
}

// Boot modes as the state file names them.
const (
	BootPVGrub = "pvgrub"
	BootDirect = "direct"
)

// Direct reports whether the domain boots program.bin without PV-GRUB.
func (s State) Direct() bool {
	return s.Boot == BootDirect
}

// SaveState writes the state atomically to StatePath in dom0.
func SaveState(ctx context.Context, box Box, state State) error {
	data, err := json.MarshalIndent(state, "", "  ")
	if err != nil {
		return fmt.Errorf("encode session state of %s: %w", state.Domain, err)
	}
	if err := box.WriteFile(ctx, StatePath(state.Domain), append(data, '\n')); err != nil {
		return fmt.Errorf("save session state of %s: %w", state.Domain, err)
	}
	return nil
}

// LoadState reads the state of the domain's session; none wraps ErrNoSession.
func LoadState(ctx context.Context, box Box, domainName string) (State, error) {
	data, err := box.ReadFile(ctx, StatePath(domainName))
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, fmt.Errorf("domain %s: %w", domainName, ErrNoSession)
	}
	if err != nil {
		return State{}, fmt.Errorf("load session state of %s: %w", domainName, err)
	}

	var state State
	if err := json.Unmarshal(data, &state); err != nil {
		return State{}, fmt.Errorf("load session state %s: %w", StatePath(domainName), err)
	}
	return state, nil
}

// RemoveState deletes the state of the domain's session.
func RemoveState(ctx context.Context, box Box, domainName string) error {
	if err := box.Remove(ctx, StatePath(domainName)); err != nil {
		return fmt.Errorf("remove session state of %s: %w", domainName, err)
	}
	return nil
}
