package provisioner

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/xenbox/xenbox/tools/doctor"
)

const (
	// bridgeName is the bridge network.sh creates and the guests' vifs join.
	bridgeName = "xenbr0"
	// pvgrubInstallDir is where pvgrub.sh installs the PV-GRUB images.
	pvgrubInstallDir = "/usr/local/lib/xenbox"
	// doctorCommand runs xenbox's own checks of the Xen host inside dom0 itself.
	doctorCommand = "/usr/local/bin/xenbox --target local doctor"
	// defaultMetadataWait bounds how long the metadata service may take to answer after boot:
	// its unit restarts until the bridge has its address.
	defaultMetadataWait = 2 * time.Minute
	// metadataProbe asks the service for user-data over bash's /dev/tcp (the VM may have no
	// HTTP client) and prints the raw response. $1 is the service's address.
	metadataProbe = `exec 3<>"/dev/tcp/$1/80" && ` +
		`printf 'GET /latest/user-data HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" >&3 && cat <&3`
)

var (
	xenVersionLine = regexp.MustCompile(`(?m)^xen_version\s*:\s*(\S+)`)
	linkFlags      = regexp.MustCompile(`<([^>]*)>`)
	inetAddress    = regexp.MustCompile(`\binet ([0-9.]+)/[0-9]+`)
	doctorFailure  = regexp.MustCompile(`(?m)^(\S.*?)\s{2,}FAIL\b`)
)

// checkFailedError is a check of the baked dom0 that failed.
type checkFailedError struct {
	Check  string
	Detail string
	Output string
}

func (e *checkFailedError) Error() string {
	message := fmt.Sprintf("check the dom0: %s: %s", e.Check, e.Detail)
	if output := strings.TrimSpace(e.Output); output != "" {
		message += "\noutput:\n" + output
	}
	return message
}

// verify checks the rebooted VM the way a debug session will use it: Xen, PV-GRUB, the
// bridge and the metadata service directly, then everything through `xenbox doctor`.
func (p *Provisioner) verify(ctx context.Context, vm *guest) error {
	version, err := p.checkXenVersion(ctx, vm)
	if err != nil {
		return err
	}
	vm.ui.Say("Xen " + version + " is running")

	if err := p.checkPVGrub(ctx, vm); err != nil {
		return err
	}

	address, err := p.checkBridge(ctx, vm)
	if err != nil {
		return err
	}

	if err := p.checkMetadata(ctx, vm, address); err != nil {
		return err
	}
	vm.ui.Say("The metadata service answers on " + address)

	return p.checkDoctor(ctx, vm)
}

func (p *Provisioner) checkXenVersion(ctx context.Context, vm *guest) (string, error) {
	output, err := p.rootOutput(ctx, vm, xlInfoCommand)
	if err != nil {
		return "", &checkFailedError{Check: "xen running", Detail: "xl info failed",
			Output: errorOutput(err)}
	}
	match := xenVersionLine.FindStringSubmatch(output)
	if match == nil {
		return "", &checkFailedError{Check: "xen running",
			Detail: "xl info shows no xen_version", Output: output}
	}
	return match[1], nil
}

func (p *Provisioner) checkPVGrub(ctx context.Context, vm *guest) error {
	paths := make([]string, len(p.config.PVGrubVariants))
	for i, variant := range p.config.PVGrubVariants {
		paths[i] = shellQuote(pvgrubInstallDir + "/" + pvgrubImage(variant))
	}
	if _, err := p.rootOutput(ctx, vm, "ls -l "+strings.Join(paths, " ")); err != nil {
		return &checkFailedError{Check: "pv-grub present",
			Detail: "a PV-GRUB image of pvgrub_variants is missing", Output: errorOutput(err)}
	}
	vm.ui.Say("PV-GRUB present: " + strings.Join(p.config.PVGrubVariants, ", "))
	return nil
}

// checkBridge checks xenbr0 is up and returns its IPv4 address, which must be
// bridge_subnet's in standalone mode.
func (p *Provisioner) checkBridge(ctx context.Context, vm *guest) (string, error) {
	link, err := p.rootOutput(ctx, vm, "ip link show "+bridgeName)
	if err != nil {
		return "", &checkFailedError{Check: bridgeName, Detail: "no such interface",
			Output: errorOutput(err)}
	}
	flags := linkFlags.FindStringSubmatch(link)
	if flags == nil || !slices.Contains(strings.Split(flags[1], ","), "UP") {
		return "", &checkFailedError{Check: bridgeName, Detail: "the bridge is not up",
			Output: link}
	}

	addresses, err := p.rootOutput(ctx, vm, "ip -4 -o addr show dev "+bridgeName)
	if err != nil {
		return "", &checkFailedError{Check: bridgeName, Detail: "cannot read its address",
			Output: errorOutput(err)}
	}
	match := inetAddress.FindStringSubmatch(addresses)
	if match == nil {
		return "", &checkFailedError{Check: bridgeName, Detail: "the bridge has no IPv4 address",
			Output: addresses}
	}
	if p.config.BridgeMode == BridgeModeStandalone {
		want := netip.MustParsePrefix(p.config.BridgeSubnet).Addr().String()
		if match[1] != want {
			return "", &checkFailedError{Check: bridgeName, Detail: fmt.Sprintf(
				"the bridge has address %s, bridge_subnet says %s", match[1], want),
				Output: addresses}
		}
	}
	vm.ui.Say(bridgeName + " is up with address " + match[1])
	return match[1], nil
}

// checkMetadata asks the metadata service for user-data, as a guest without a record of its
// own would, until it answers or metadataWait passes: it starts after the bridge.
func (p *Provisioner) checkMetadata(ctx context.Context, vm *guest, address string) error {
	probe := "timeout 10 bash -c " + shellQuote(metadataProbe) + " probe " + shellQuote(address)
	wait := p.metadataWait
	if wait == 0 {
		wait = defaultMetadataWait
	}
	deadline := time.Now().Add(wait)
	for {
		raw, err := vm.output(ctx, "ask the metadata service", probe)
		var body string
		if err == nil {
			body, err = userDataFrom(raw)
		}
		if err == nil {
			return p.checkUserData(body)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return &checkFailedError{Check: "metadata service", Detail: fmt.Sprintf(
				"http://%s/latest/user-data did not answer with user-data: %v; see "+
					"`journalctl -u xenbox-metadata` in the VM", address, err),
				Output: raw}
		}
		select {
		case <-ctx.Done():
		case <-time.After(p.interval()):
		}
	}
}

func (p *Provisioner) checkUserData(body string) error {
	// A final newline added or dropped on the way through a file is not a difference.
	want := strings.TrimSuffix(p.config.DefaultUserData, "\n")
	if want != "" && strings.TrimSuffix(body, "\n") != want {
		return &checkFailedError{Check: "metadata service",
			Detail: "it serves other user-data than default_user_data; is " +
				"XENBOX_METADATA_USER_DATA handled by metadata.sh?", Output: body}
	}
	return nil
}

// userDataFrom reads the body of a raw HTTP response, which must be a 200.
func userDataFrom(raw string) (string, error) {
	response, err := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), nil)
	if err != nil {
		return "", fmt.Errorf("not an HTTP response: %w", err)
	}
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	if err != nil {
		return "", fmt.Errorf("read the response: %w", err)
	}
	if response.StatusCode != http.StatusOK {
		return "", fmt.Errorf("answered %s", response.Status)
	}
	return string(body), nil
}

// checkDoctor runs `xenbox doctor` in dom0, its table going to the UI. A PV-GRUB layout left
// out of pvgrub_variants on purpose is not a failure.
func (p *Provisioner) checkDoctor(ctx context.Context, vm *guest) error {
	vm.ui.Say("Running xenbox doctor in the VM")
	command, err := vm.asRoot(doctorCommand, nil)
	if err != nil {
		return err
	}
	output, err := vm.streamAndCapture(ctx, "xenbox doctor", command)
	if err == nil {
		return nil
	}
	var failed *commandError
	if !errors.As(err, &failed) {
		return err
	}

	failures := doctorFailures(output)
	// Limitation: doctor always wants both PV-GRUB layouts, so with one layout configured its
	// PV-GRUB failure is ignored here; checkPVGrub has checked the configured ones.
	if len(p.config.PVGrubVariants) < len(pvgrubVariantsAllowed) &&
		len(failures) == 1 && failures[0] == doctor.CheckPVGrub {
		vm.ui.Say("xenbox doctor misses only the PV-GRUB layouts not in pvgrub_variants")
		return nil
	}
	return &checkFailedError{Check: "xenbox doctor", Detail: fmt.Sprintf(
		"failed (%s); each failure above says its fix", strings.Join(failures, ", ")),
		Output: output}
}

// doctorFailures are the names of the checks doctor's table marks FAIL.
func doctorFailures(table string) []string {
	var names []string
	for _, match := range doctorFailure.FindAllStringSubmatch(table, -1) {
		names = append(names, strings.TrimSpace(match[1]))
	}
	return names
}

// rootOutput runs command as root and returns its standard output.
func (p *Provisioner) rootOutput(ctx context.Context, vm *guest, command string) (string, error) {
	rendered, err := vm.asRoot(command, nil)
	if err != nil {
		return "", err
	}
	return vm.output(ctx, command, rendered)
}

// errorOutput is what a failed command printed, or the error itself when it did not run.
func errorOutput(err error) string {
	var failed *commandError
	if errors.As(err, &failed) {
		return fmt.Sprintf("exit status %d\n%s", failed.Status, failed.Output)
	}
	return err.Error()
}
