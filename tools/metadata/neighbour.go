package metadata

import (
	"bufio"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// NeighbourTable maps a guest's address to its MAC. A guest gets its address by DHCP, so
// xenbox debug knows only the MAC of its vif; dom0 learns the address when the guest talks.
type NeighbourTable interface {
	MACOf(address netip.Addr) (mac string, ok bool)
}

// ProcARP is dom0's IPv4 neighbour table read from a file laid out like /proc/net/arp.
type ProcARP string

// DefaultNeighbours is dom0's own IPv4 neighbour table.
const DefaultNeighbours = ProcARP("/proc/net/arp")

// MACOf returns the complete entry for address, if any.
func (path ProcARP) MACOf(address netip.Addr) (string, bool) {
	file, err := os.Open(string(path))
	if err != nil {
		return "", false
	}
	defer file.Close()

	// Columns: IP address, HW type, Flags, HW address, Mask, Device.
	const completeFlag = 0x2
	scanner := bufio.NewScanner(file)
	scanner.Scan() // header
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) < 4 || fields[0] != address.Unmap().String() {
			continue
		}
		flags, err := strconv.ParseUint(strings.TrimPrefix(fields[2], "0x"), 16, 32)
		if err != nil || flags&completeFlag == 0 {
			continue
		}
		return strings.ToLower(fields[3]), true
	}
	return "", false
}
