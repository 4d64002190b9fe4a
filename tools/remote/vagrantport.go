package remote

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// DefaultBoxGDBSXPorts are the dom0 ports the project's Vagrantfile forwards to the same port
// on 127.0.0.1 unless XENBOX_GDBSX_PORTS says otherwise.
const DefaultBoxGDBSXPorts = "9999-10003"

// VagrantCLI runs vagrant in a Vagrantfile's directory.
type VagrantCLI interface {
	// Output runs `vagrant args...` in dir and returns its standard output; a non-zero exit
	// is an error.
	Output(ctx context.Context, dir string, args ...string) ([]byte, error)
}

// ExecVagrant is the vagrant program on PATH.
type ExecVagrant struct{}

// Output runs vagrant in dir.
func (ExecVagrant) Output(ctx context.Context, dir string, args ...string) ([]byte, error) {
	vagrant := exec.CommandContext(ctx, "vagrant", args...)
	vagrant.Dir = dir
	return vagrant.Output()
}

// VagrantPorts finds the port of this machine's loopback through which Vagrant forwards a port
// of the box. Providers that report their forwards (VirtualBox) answer `vagrant port`; for
// those that do not (vagrant-libvirt), the Vagrantfile's contract holds: each port of
// ConventionPorts is forwarded to the same port on 127.0.0.1.
type VagrantPorts struct {
	Dir             string     // the Vagrantfile's directory
	Vagrant         VagrantCLI // runs `vagrant port`
	ConventionPorts []int      // the Vagrantfile's XENBOX_GDBSX_PORTS
	// Listening reports whether something listens on 127.0.0.1:port, without connecting:
	// gdbsx behind the forward serves one connection only, and a probe would take it.
	Listening func(port int) bool
}

// HostPort returns the local port Vagrant forwards to guestPort of the box, and false when
// there is no forward listening for it.
func (v VagrantPorts) HostPort(ctx context.Context, guestPort int) (int, bool) {
	if port, ok := v.reportedPort(ctx, guestPort); ok {
		return port, v.Listening(port)
	}

	// Limitation: under this contract xenbox cannot tell Vagrant's forward from another
	// program listening on the same local port; the Vagrantfile binds 127.0.0.1 only, and a
	// second box forwarding the same ports fails to come up.
	for _, port := range v.ConventionPorts {
		if port == guestPort {
			return port, v.Listening(port)
		}
	}
	return 0, false
}

// reportedPort asks `vagrant port`; providers without the capability make it fail.
func (v VagrantPorts) reportedPort(ctx context.Context, guestPort int) (int, bool) {
	output, err := v.Vagrant.Output(ctx, v.Dir, "port", "--guest", strconv.Itoa(guestPort),
		"--machine-readable")
	if err != nil {
		return 0, false
	}
	return ParseVagrantPort(output)
}

// ParseVagrantPort reads the host port from the machine-readable output of
// `vagrant port --guest N`: a line TIMESTAMP,TARGET,ui,info,PORT.
func ParseVagrantPort(output []byte) (int, bool) {
	scanner := bufio.NewScanner(bytes.NewReader(output))
	for scanner.Scan() {
		fields := strings.Split(strings.TrimSpace(scanner.Text()), ",")
		if len(fields) != 5 || fields[2] != "ui" || fields[3] != "info" {
			continue
		}
		port, err := strconv.Atoi(fields[4])
		if err == nil && port > 0 && port <= 65535 {
			return port, true
		}
	}
	return 0, false
}

// maxBoxGDBSXPorts is how many gdbsx ports the Vagrantfile forwards at most.
const maxBoxGDBSXPorts = 64

// ParsePortRange reads FIRST-LAST (or one PORT), as XENBOX_GDBSX_PORTS is written, into the
// ports it names.
func ParsePortRange(spec string) ([]int, error) {
	firstText, lastText, isRange := strings.Cut(strings.TrimSpace(spec), "-")
	if !isRange {
		lastText = firstText
	}
	first, errFirst := strconv.Atoi(firstText)
	last, errLast := strconv.Atoi(lastText)
	if errFirst != nil || errLast != nil {
		return nil, fmt.Errorf("port range %q: use FIRST-LAST, e.g. %s", spec,
			DefaultBoxGDBSXPorts)
	}
	// The same rule as the Vagrantfile's, so both accept the same XENBOX_GDBSX_PORTS.
	if first < 1024 || last > 65535 || first > last || last-first >= maxBoxGDBSXPorts {
		return nil, fmt.Errorf("port range %q: FIRST <= LAST, both from 1024 to 65535, at "+
			"most %d ports, e.g. %s", spec, maxBoxGDBSXPorts, DefaultBoxGDBSXPorts)
	}
	ports := make([]int, 0, last-first+1)
	for port := first; port <= last; port++ {
		ports = append(ports, port)
	}
	return ports, nil
}

// VagrantForwarder reaches a port of the box through Vagrant's own forward when there is one,
// and through Fallback (an SSH forward of xenbox's) otherwise.
type VagrantForwarder struct {
	Ports    VagrantPorts
	Fallback Forwarder
}

// Forward returns Vagrant's forward of remotePort, whose stop does nothing (the forward is
// Vagrant's), or a forward of Fallback.
func (f VagrantForwarder) Forward(ctx context.Context, remotePort int) (string, func() error,
	error) {
	if port, ok := f.Ports.HostPort(ctx, remotePort); ok {
		return "127.0.0.1:" + strconv.Itoa(port), func() error { return nil }, nil
	}
	return f.Fallback.Forward(ctx, remotePort)
}

// ListeningLocally reports whether something listens on 127.0.0.1:port of this machine,
// without connecting to it.
func ListeningLocally(port int) bool {
	return localPortListening(port)
}
