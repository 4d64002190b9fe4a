package remote

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
)

// tcpListenState is the st column of /proc/net/tcp for a listening socket.
const tcpListenState = "0A"

// PortFree reports whether no TCP socket listens on port on the Xen host, in any address
// family. It reads /proc/net/tcp and /proc/net/tcp6, which every Linux dom0 has, rather
// than relying on ss or netstat being installed.
func PortFree(ctx context.Context, r Runner, port int) (bool, error) {
	listening, err := PortListening(ctx, r, port)
	return !listening, err
}

// PortListening reports whether a TCP socket listens on port on the Xen host.
func PortListening(ctx context.Context, r Runner, port int) (bool, error) {
	// tcp6 is missing when IPv6 is disabled; tcp is always there.
	script := `cat /proc/net/tcp && { cat /proc/net/tcp6 2>/dev/null || true; }`
	table, err := r.Output(ctx, "sh", "-c", script)
	if err != nil {
		return false, fmt.Errorf("list listening ports on %s: %w", r.Where(), err)
	}

	ports, err := ParseListeningPorts(table)
	if err != nil {
		return false, fmt.Errorf("list listening ports on %s: %w", r.Where(), err)
	}
	return ports[port], nil
}

// ParseListeningPorts returns the local ports of the listening sockets in the text of
// /proc/net/tcp or /proc/net/tcp6 (or both concatenated).
func ParseListeningPorts(table []byte) (map[int]bool, error) {
	ports := map[int]bool{}
	scanner := bufio.NewScanner(bytes.NewReader(table))
	for line := 1; scanner.Scan(); line++ {
		fields := strings.Fields(scanner.Text())
		if len(fields) == 0 || fields[0] == "sl" {
			continue
		}
		if len(fields) < 4 {
			return nil, fmt.Errorf("line %d: want at least 4 columns, got %q", line,
				scanner.Text())
		}
		if fields[3] != tcpListenState {
			continue
		}

		colon := strings.LastIndex(fields[1], ":")
		port, err := strconv.ParseUint(fields[1][colon+1:], 16, 16)
		if colon < 0 || err != nil {
			return nil, fmt.Errorf("line %d: bad local address %q", line, fields[1])
		}
		ports[int(port)] = true
	}
	return ports, scanner.Err()
}
