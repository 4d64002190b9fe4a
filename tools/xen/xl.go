package xen

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/xenbox/xenbox/tools/remote"
)

// RemoteXL runs the xl toolstack of the Xen host through a remote.Runner.
type RemoteXL struct {
	runner remote.Runner
}

// NewXL returns the XL of the Xen host that runner reaches.
func NewXL(runner remote.Runner) *RemoteXL {
	return &RemoteXL{runner: runner}
}

// Create runs `xl create [-p] configPath`; paused leaves the domain's vCPUs stopped so that
// a debugger can attach before the first instruction.
func (x *RemoteXL) Create(ctx context.Context, configPath string, paused bool) error {
	args := []string{"xl", "create"}
	if paused {
		args = append(args, "-p")
	}
	args = append(args, configPath)

	if _, err := x.runner.Output(ctx, args...); err != nil {
		return fmt.Errorf("create the domain of %s: %w", configPath, err)
	}
	return nil
}

// DomID returns the domain ID of the domain called name, or ErrNoSuchDomain.
func (x *RemoteXL) DomID(ctx context.Context, name string) (int, error) {
	out, err := x.runner.Output(ctx, "xl", "domid", name)
	if err != nil {
		return 0, fmt.Errorf("find the ID of domain %s: %w", name, noSuchDomain(err))
	}

	domID, err := ParseDomID(out)
	if err != nil {
		return 0, fmt.Errorf("find the ID of domain %s: %w", name, err)
	}
	return domID, nil
}

// Unpause starts the vCPUs of the domain called name.
func (x *RemoteXL) Unpause(ctx context.Context, name string) error {
	if _, err := x.runner.Output(ctx, "xl", "unpause", name); err != nil {
		return fmt.Errorf("unpause domain %s: %w", name, noSuchDomain(err))
	}
	return nil
}

// Pause stops the vCPUs of the domain called name.
func (x *RemoteXL) Pause(ctx context.Context, name string) error {
	if _, err := x.runner.Output(ctx, "xl", "pause", name); err != nil {
		return fmt.Errorf("pause domain %s: %w", name, noSuchDomain(err))
	}
	return nil
}

// Destroy ends the domain called name at once; ErrNoSuchDomain when it is not running.
func (x *RemoteXL) Destroy(ctx context.Context, name string) error {
	if _, err := x.runner.Output(ctx, "xl", "destroy", name); err != nil {
		return fmt.Errorf("destroy domain %s: %w", name, noSuchDomain(err))
	}
	return nil
}

// List returns the domains of the Xen host, Domain-0 included.
func (x *RemoteXL) List(ctx context.Context) ([]DomainInfo, error) {
	out, err := x.runner.Output(ctx, "xl", "list")
	if err != nil {
		return nil, fmt.Errorf("list domains: %w", err)
	}

	domains, err := ParseList(out)
	if err != nil {
		return nil, fmt.Errorf("list domains on %s: %w", x.runner.Where(), err)
	}
	return domains, nil
}

// Info returns what `xl info` says about the hypervisor.
func (x *RemoteXL) Info(ctx context.Context) (HostInfo, error) {
	out, err := x.runner.Output(ctx, "xl", "info")
	if err != nil {
		return HostInfo{}, fmt.Errorf("read hypervisor information: %w", err)
	}

	info, err := ParseInfo(out)
	if err != nil {
		return HostInfo{}, fmt.Errorf("read hypervisor information on %s: %w",
			x.runner.Where(), err)
	}
	return info, nil
}

// noSuchDomain turns xl's complaint about an unknown domain name into ErrNoSuchDomain,
// keeping the original error for the message.
func noSuchDomain(err error) error {
	var exitErr *remote.ExitError
	if !errors.As(err, &exitErr) || exitErr.Code != 1 {
		return err
	}
	if strings.Contains(exitErr.Stderr, "is an invalid domain identifier") ||
		strings.Contains(exitErr.Stderr, "maybe this domain does not exist") {
		return fmt.Errorf("%w (%w)", ErrNoSuchDomain, err)
	}
	return err
}
