package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/xenbox/xenbox/tools/xen"
)

// Destroy ends the domain's session: gdbsx stopped, domain destroyed, state removed. It reports
// false when there was neither a session state nor a domain of that name.
func Destroy(ctx context.Context, host Host, domainName string, steps *Steps) (bool, error) {
	state, err := LoadState(ctx, host.Box, domainName)
	if errors.Is(err, ErrNoSession) {
		return destroyWithoutState(ctx, host, domainName, steps)
	}
	if err != nil {
		return false, err
	}

	err = steps.Do(fmt.Sprintf("destroying domain %s", domainName), func() error {
		return teardown(ctx, host, state, true)
	})
	return true, err
}

// destroyWithoutState destroys a domain whose state file is gone, e.g. removed by hand, as
// long as xenbox made it (its xl config is xenbox's): other domains are not xenbox's to end.
func destroyWithoutState(ctx context.Context, host Host, domainName string,
	steps *Steps) (bool, error) {
	if _, err := host.XL.DomID(ctx, domainName); errors.Is(err, xen.ErrNoSuchDomain) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("look for domain %s: %w", domainName, err)
	}
	ours, err := host.Box.Exists(ctx, ConfigPath(domainName))
	if err != nil {
		return false, fmt.Errorf("look for the xl config of %s: %w", domainName, err)
	}
	if !ours {
		return false, fmt.Errorf("domain %s was not started by xenbox (no %s); "+
			"if you mean to end it, run `xl destroy %s` in dom0", domainName,
			ConfigPath(domainName), domainName)
	}

	err = steps.Do(fmt.Sprintf("destroying domain %s", domainName), func() error {
		return host.XL.Destroy(ctx, domainName)
	})
	if err != nil {
		return true, fmt.Errorf("destroy domain %s: %w", domainName, err)
	}
	return true, nil
}
