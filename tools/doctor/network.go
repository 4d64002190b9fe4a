package doctor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/xenbox/xenbox/tools/metadata"
	"github.com/xenbox/xenbox/tools/session"
)

// Names of the checks of the guests' network, as the table shows them.
const (
	CheckBridge          = "bridge up"
	CheckBridgeNetfilter = "bridged frames reach iptables"
	CheckHook            = "metadata vif hook"
	CheckMetadata        = "metadata service answers"
)

// Files the network provisioners install in dom0.
const (
	MetadataConfigPath = "/etc/default/xenbox-metadata"
	MetadataHookPath   = "/etc/xen/scripts/vif-post.d/xenbox-metadata.hook"
	MetadataHelperPath = "/usr/local/lib/xenbox/vif-metadata"
)

const (
	fixBridge   = "run provisioners/network.sh in the box (it makes xenbr0 at every boot)"
	fixMetadata = "run provisioners/metadata.sh in the box"
	fixService  = "check `systemctl status xenbox-metadata` and `journalctl -u xenbox-metadata` " +
		"in the box, or run provisioners/metadata.sh there"
)

// bridgeNetfilterPath is where dom0's kernel shows metadata.BridgeNetfilterSysctl.
var bridgeNetfilterPath = "/proc/sys/" +
	strings.ReplaceAll(metadata.BridgeNetfilterSysctl, ".", "/")

// metadataSettings is where the guests' bridge and the metadata service are, as
// /etc/default/xenbox-metadata says, with the service's defaults for what it leaves out.
type metadataSettings struct {
	Bridge  string
	Address string // empty: the bridge's first IPv4 address
	Port    int
}

// checkNetwork runs the checks of the guests' network in the order a user fixes them.
func checkNetwork(ctx context.Context, host Host) []Check {
	settings, err := readMetadataSettings(ctx, host)
	if err != nil {
		return []Check{failed(CheckBridge, err.Error(), fixMetadata)}
	}
	bridgeCheck, bridgeAddress := checkBridge(ctx, host, settings.Bridge)
	return []Check{
		bridgeCheck,
		checkBridgeNetfilter(ctx, host),
		checkHook(ctx, host),
		checkMetadataService(ctx, host, settings, bridgeAddress),
	}
}

func readMetadataSettings(ctx context.Context, host Host) (metadataSettings, error) {
	settings := metadataSettings{Bridge: session.DefaultBridge, Port: metadata.DefaultPort}
	text, err := host.Box.ReadFile(ctx, MetadataConfigPath)
	if errors.Is(err, fs.ErrNotExist) {
		return settings, nil
	}
	if err != nil {
		return settings, err
	}

	scanner := bufio.NewScanner(bytes.NewReader(text))
	for scanner.Scan() {
		name, value, found := strings.Cut(strings.TrimSpace(scanner.Text()), "=")
		value = strings.Trim(value, `"'`)
		if !found || value == "" {
			continue
		}
		switch name {
		case "XENBOX_METADATA_BRIDGE":
			settings.Bridge = value
		case "XENBOX_METADATA_ADDRESS":
			settings.Address = value
		case "XENBOX_METADATA_PORT":
			if settings.Port, err = strconv.Atoi(value); err != nil {
				return settings, fmt.Errorf("read %s: port %q is not a number",
					MetadataConfigPath, value)
			}
		}
	}
	return settings, nil
}

// ipLink is the part of `ip -j -d addr show` the bridge check reads.
type ipLink struct {
	Name     string   `json:"ifname"`
	Flags    []string `json:"flags"`
	LinkInfo struct {
		Kind string `json:"info_kind"`
	} `json:"linkinfo"`
	Addresses []struct {
		Family    string `json:"family"`
		Local     string `json:"local"`
		PrefixLen int    `json:"prefixlen"`
	} `json:"addr_info"`
}

// checkBridge checks that the guests' bridge exists, is a bridge, is up (a bridge without
// guests has no carrier, which is fine) and has an IPv4 address; it returns that address.
func checkBridge(ctx context.Context, host Host, bridge string) (Check, string) {
	output, err := host.Runner.Output(ctx, "ip", "-j", "-d", "addr", "show", "dev", bridge)
	if err != nil {
		return failed(CheckBridge, fmt.Sprintf("no %s in %s: %v", bridge, host.Runner.Where(),
			err), fixBridge), ""
	}
	var links []ipLink
	if err := json.Unmarshal(output, &links); err != nil || len(links) != 1 {
		return failed(CheckBridge, fmt.Sprintf("cannot read `ip -j addr show dev %s`: %q",
			bridge, strings.TrimSpace(string(output))), fixBridge), ""
	}

	link := links[0]
	switch {
	case link.LinkInfo.Kind != "bridge":
		return failed(CheckBridge, fmt.Sprintf("%s is a %q link, not a bridge", bridge,
			link.LinkInfo.Kind), fixBridge), ""
	case !slices.Contains(link.Flags, "UP"):
		return failed(CheckBridge, bridge+" is down", fixBridge), ""
	}
	for _, address := range link.Addresses {
		if address.Family == "inet" {
			return passed(CheckBridge, fmt.Sprintf("%s up, %s/%d", bridge, address.Local,
				address.PrefixLen)), address.Local
		}
	}
	return failed(CheckBridge, bridge+" has no IPv4 address", fixBridge), ""
}

// checkBridgeNetfilter reads dom0's bridge netfilter setting; in dom0 itself it is
// metadata.CheckBridgeNetfilter's job.
func checkBridgeNetfilter(ctx context.Context, host Host) Check {
	if host.Runner.Local() {
		if err := metadata.CheckBridgeNetfilter("/proc"); err != nil {
			return failed(CheckBridgeNetfilter, err.Error(), fixMetadata)
		}
		return passed(CheckBridgeNetfilter, metadata.BridgeNetfilterSysctl+" = 1")
	}

	value, err := host.Box.ReadFile(ctx, bridgeNetfilterPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return failed(CheckBridgeNetfilter, "br_netfilter is not loaded, so guests cannot "+
			"reach the metadata service", fixMetadata)
	case err != nil:
		return failed(CheckBridgeNetfilter, err.Error(), fixMetadata)
	case strings.TrimSpace(string(value)) != "1":
		return failed(CheckBridgeNetfilter, fmt.Sprintf("%s is %s, so guests cannot reach "+
			"the metadata service", metadata.BridgeNetfilterSysctl,
			strings.TrimSpace(string(value))), fixMetadata)
	}
	return passed(CheckBridgeNetfilter, metadata.BridgeNetfilterSysctl+" = 1")
}

// checkHook checks that Xen's vif scripts will add each guest's metadata redirect.
func checkHook(ctx context.Context, host Host) Check {
	var missing []string
	for _, path := range []string{MetadataHookPath, MetadataHelperPath} {
		found, err := host.Box.Exists(ctx, path)
		if err != nil {
			return failed(CheckHook, err.Error(), fixMetadata)
		}
		if !found {
			missing = append(missing, path)
		}
	}
	if len(missing) > 0 {
		return failed(CheckHook, "missing "+strings.Join(missing, ", "), fixMetadata)
	}
	return passed(CheckHook, MetadataHookPath)
}

// metadataProbe sends one HTTP request with bash alone (dom0 need not have curl) and prints
// the status line; the address and port are its arguments, never part of the script.
const metadataProbe = `exec 3<>"/dev/tcp/$1/$2" && ` +
	`printf 'GET /latest/meta-data/ HTTP/1.0\r\nHost: 169.254.169.254\r\n\r\n' >&3 && ` +
	`head -n 1 <&3`

// checkMetadataService asks the service, in dom0, for the meta-data index, where guests'
// requests are redirected to.
func checkMetadataService(ctx context.Context, host Host, settings metadataSettings,
	bridgeAddress string) Check {
	address := settings.Address
	if address == "" {
		address = bridgeAddress
	}
	if address == "" {
		return failed(CheckMetadata, "not checked: "+settings.Bridge+" has no address",
			fixBridge)
	}
	endpoint := net.JoinHostPort(address, strconv.Itoa(settings.Port))

	output, err := host.Runner.Output(ctx, "timeout", "5", "bash", "-c", metadataProbe,
		"probe", address, strconv.Itoa(settings.Port))
	status := strings.TrimSpace(string(output))
	if err != nil {
		return failed(CheckMetadata, fmt.Sprintf("nothing answers on %s: %v", endpoint, err),
			fixService)
	}
	if !strings.HasPrefix(status, "HTTP/1.") || !strings.Contains(status, " 200 ") {
		return failed(CheckMetadata, fmt.Sprintf("%s answered %q to GET /latest/meta-data/",
			endpoint, status), fixService)
	}
	return passed(CheckMetadata, "http://"+endpoint+"/latest/meta-data/")
}
