package provisioner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

const (
	// defaultPollInterval is how long to wait between questions to a rebooting VM.
	defaultPollInterval = 5 * time.Second
	// attemptTimeout bounds one question, so that a connection hanging on a VM that went
	// down does not use up reboot_timeout alone.
	attemptTimeout = 30 * time.Second

	bootIDCommand = "cat /proc/sys/kernel/random/boot_id"
	// rebootCommand has systemd reboot the VM two seconds from now, then returns: the command's
	// exit status reaches Packer before sshd goes down, so a dropped connection is never taken
	// for a failed reboot, and the reboot belongs to systemd, not to the SSH session that
	// asked for it and ends right away.
	rebootCommand = "systemd-run --quiet --on-active=2 systemctl reboot"
	xlInfoCommand = "xl info"
)

// rebootIntoXen reboots the VM, which boots Xen by default since hypervisor.sh ran, and waits
// until it is back under Xen: a new boot id and a working `xl info`.
func (p *Provisioner) rebootIntoXen(ctx context.Context, vm *guest) error {
	before, err := vm.output(ctx, "read the boot id", bootIDCommand)
	if err != nil {
		return fmt.Errorf("reboot into Xen: %w", err)
	}
	before = strings.TrimSpace(before)

	if err := vm.runAsRoot(ctx, "start the reboot", rebootCommand, nil); err != nil {
		return fmt.Errorf("reboot into Xen: %w", err)
	}

	started := time.Now()
	if err := p.waitForXen(ctx, vm, before); err != nil {
		return err
	}
	vm.ui.Say(fmt.Sprintf("Back up under Xen after %s", time.Since(started).Round(time.Second)))
	return nil
}

// waitForXen asks the VM, on fresh connections, for its boot id and `xl info` until the boot
// id differs from before and xl answers, for at most reboot_timeout.
func (p *Provisioner) waitForXen(ctx context.Context, vm *guest, before string) error {
	xlInfo, err := vm.asRoot(xlInfoCommand, nil)
	if err != nil {
		return err
	}
	waitCtx, cancel := context.WithTimeout(ctx, p.config.RebootTimeout)
	defer cancel()

	lastState := "the VM did not answer"
	for {
		select {
		case <-waitCtx.Done():
			if ctx.Err() != nil {
				return fmt.Errorf("reboot into Xen: %w", ctx.Err())
			}
			return rebootTimeoutError(p.config.RebootTimeout, lastState)
		case <-time.After(p.interval()):
		}

		state, ready := askIfBackUnderXen(waitCtx, vm, before, xlInfo)
		if ready {
			return nil
		}
		// An attempt cut short by the deadline saw nothing worth reporting.
		if waitCtx.Err() == nil {
			lastState = state
		}
	}
}

// askIfBackUnderXen makes one attempt; when the VM is not ready it says what it saw.
func askIfBackUnderXen(ctx context.Context, vm *guest, before, xlInfo string) (string, bool) {
	attemptCtx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()

	bootID, err := vm.output(attemptCtx, "read the boot id", bootIDCommand)
	if err != nil {
		return "the VM did not answer: " + err.Error(), false
	}
	if strings.TrimSpace(bootID) == before {
		return "the VM has not rebooted yet (same boot id)", false
	}

	if _, err := vm.output(attemptCtx, "xl info", xlInfo); err != nil {
		return "the VM rebooted but xl info fails, so Xen is not running: " + err.Error(), false
	}
	return "", true
}

func rebootTimeoutError(timeout time.Duration, lastState string) error {
	return errors.New("reboot into Xen: the VM did not come back up under Xen within " +
		timeout.String() + " (last seen: " + lastState + "); look at the VM's serial " +
		"console to see where its boot stopped (GRUB's menu, Xen's or dom0's messages), " +
		"or raise reboot_timeout if it was only slow")
}

func (p *Provisioner) interval() time.Duration {
	if p.pollInterval > 0 {
		return p.pollInterval
	}
	return defaultPollInterval
}
