package metadata

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// BridgeNetfilterSysctl is the setting that makes frames crossing a bridge go through
// iptables; without it the vif hook's DNAT never sees a guest's packets.
const BridgeNetfilterSysctl = "net.bridge.bridge-nf-call-iptables"

// CheckBridgeNetfilter reports whether bridged frames reach iptables in the network namespace
// whose /proc is procRoot ("/proc" for this one). The error says what to do.
func CheckBridgeNetfilter(procRoot string) error {
	path := filepath.Join(procRoot, "sys", filepath.FromSlash(
		strings.ReplaceAll(BridgeNetfilterSysctl, ".", "/")))
	value, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return fmt.Errorf("check bridge netfilter: %s is missing, br_netfilter is not loaded "+
			"(run modprobe br_netfilter, or provisioners/metadata.sh)", path)
	}
	if err != nil {
		return fmt.Errorf("check bridge netfilter: %w", err)
	}

	if strings.TrimSpace(string(value)) != "1" {
		return fmt.Errorf("check bridge netfilter: %s is %s, so guests cannot reach the "+
			"metadata service (run sysctl -w %s=1, or provisioners/metadata.sh)",
			BridgeNetfilterSysctl, strings.TrimSpace(string(value)), BridgeNetfilterSysctl)
	}
	return nil
}
