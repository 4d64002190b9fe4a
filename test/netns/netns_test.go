// Package netns tests the box's network part for real, in network namespaces the tests create:
// a "dom0" with the xenbr0 bridge and the metadata service, a "guest" on a vif-named veth, the
// real vif hook and real iptables. Nothing touches this machine's own namespace, and neither
// namespace has a route out. Run as root with XENBOX_NETNS=1.
package netns

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xenbox/xenbox/tools/metadata"
)

const (
	bridgeAddress = "10.0.2.1"
	guestAddress  = "10.0.2.15"
	vifName       = "vif7.0"
	servicePort   = "8169"
	// userData is a rumprun-style body: it must reach the guest byte for byte.
	userData = `{"net":{"if":"xenif0"},"blk": {"source":"etfs","path":"sda1"}}`
)

// box is one dom0 namespace and one guest namespace joined by a vif.
type box struct {
	dom0, guest string
	hookEnv     []string // the environment the hook gets on top of Xen's
	records     string
}

func TestMain(m *testing.M) {
	if os.Getenv("XENBOX_NETNS_HELPER") == "check-bridge-netfilter" {
		os.Exit(checkBridgeNetfilterHere())
	}
	os.Exit(m.Run())
}

// checkBridgeNetfilterHere runs metadata.CheckBridgeNetfilter in the namespace this process
// was started in (ip netns exec), and prints its verdict.
func checkBridgeNetfilterHere() int {
	if err := metadata.CheckBridgeNetfilter("/proc"); err != nil {
		fmt.Println("FAIL", err)
		return 0
	}
	fmt.Println("OK")
	return 0
}

func requireNamespaces(t *testing.T) {
	t.Helper()
	if os.Getenv("XENBOX_NETNS") != "1" {
		t.Skip("network namespace tests change iptables inside namespaces they create; " +
			"run as root with XENBOX_NETNS=1")
	}
	// Asked for explicitly, the suite fails rather than skips when it cannot run.
	if os.Geteuid() != 0 {
		t.Fatal("network namespace tests need root (ip netns, iptables)")
	}
	for _, program := range []string{"ip", "iptables", "curl", "bash"} {
		if _, err := exec.LookPath(program); err != nil {
			t.Fatalf("network namespace tests need %s (make deps installs it): %v", program, err)
		}
	}
}

// newBox creates the namespaces, the bridge, the vif and the guest's address, and removes them
// all when the test ends.
func newBox(t *testing.T) *box {
	t.Helper()
	requireNamespaces(t)
	requireBridgeNetfilterModule(t)
	suffix := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano()%100000)
	b := &box{dom0: "xbx-dom0-" + suffix, guest: "xbx-guest-" + suffix,
		records: t.TempDir()}

	for _, namespace := range []string{b.dom0, b.guest} {
		run(t, "ip", "netns", "add", namespace)
		t.Cleanup(func() { exec.Command("ip", "netns", "delete", namespace).Run() })
	}
	b.inDom0(t, "ip", "link", "set", "lo", "up")
	b.inDom0(t, "ip", "link", "add", "xenbr0", "type", "bridge")
	b.inDom0(t, "ip", "addr", "add", bridgeAddress+"/24", "dev", "xenbr0")
	b.inDom0(t, "ip", "link", "set", "xenbr0", "up")
	b.inDom0(t, "ip", "link", "add", vifName, "type", "veth", "peer", "name", "eth0",
		"netns", b.guest)
	b.inDom0(t, "ip", "link", "set", vifName, "master", "xenbr0")
	b.inDom0(t, "ip", "link", "set", vifName, "up")
	b.setBridgeNetfilter(t, "1")

	b.inGuest(t, "ip", "link", "set", "lo", "up")
	b.inGuest(t, "ip", "addr", "add", guestAddress+"/24", "dev", "eth0")
	b.inGuest(t, "ip", "link", "set", "eth0", "up")
	// The guest's only link is the veth into dom0's bridge, so this default leads nowhere else.
	b.inGuest(t, "ip", "route", "add", "default", "via", bridgeAddress)

	config := filepath.Join(t.TempDir(), "xenbox-metadata")
	writeFile(t, config, "XENBOX_METADATA_BRIDGE=xenbr0\nXENBOX_METADATA_ADDRESS=\n"+
		"XENBOX_METADATA_PORT="+servicePort+"\n")
	b.hookEnv = []string{"XENBOX_METADATA_CONFIG=" + config,
		"XENBOX_METADATA_VIF_HELPER=" + repoPath(t, "provisioners/vif-metadata")}
	return b
}

// requireBridgeNetfilterModule loads br_netfilter when it is not; the test cannot work
// around a kernel without it.
func requireBridgeNetfilterModule(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/proc/sys/net/bridge"); err == nil {
		return
	}
	if output, err := exec.Command("modprobe", "br_netfilter").CombinedOutput(); err != nil {
		t.Fatalf("br_netfilter is not loaded and modprobe failed: %v\n%s", err, output)
	}
}

func (b *box) inDom0(t *testing.T, args ...string) string {
	t.Helper()
	return run(t, append([]string{"ip", "netns", "exec", b.dom0}, args...)...)
}

func (b *box) inGuest(t *testing.T, args ...string) string {
	t.Helper()
	return run(t, append([]string{"ip", "netns", "exec", b.guest}, args...)...)
}

func (b *box) setBridgeNetfilter(t *testing.T, value string) {
	t.Helper()
	b.inDom0(t, "sysctl", "-q", "-w", metadata.BridgeNetfilterSysctl+"="+value)
}

// startService runs `xenbox metadata serve` in dom0 and stops it with SIGTERM at the end,
// checking that it stopped cleanly.
func (b *box) startService(t *testing.T) {
	t.Helper()
	binary := filepath.Join(t.TempDir(), "xenbox")
	build := exec.Command("go", "build", "-o", binary, "./tools/cmd/xenbox")
	build.Dir = repoPath(t, ".")
	if output, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build xenbox: %v\n%s", err, output)
	}

	var logged bytes.Buffer
	service := exec.Command("ip", "netns", "exec", b.dom0, binary, "metadata", "serve",
		"--bridge", "xenbr0", "--listen-port", servicePort, "--records", b.records)
	service.Stdout, service.Stderr = &logged, &logged
	if err := service.Start(); err != nil {
		t.Fatalf("start the metadata service: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- service.Wait() }()
	t.Cleanup(func() {
		service.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("metadata service did not stop cleanly: %v\n%s", err, &logged)
			}
		case <-time.After(10 * time.Second):
			service.Process.Kill()
			<-exited
			t.Errorf("metadata service ignored SIGINT\n%s", &logged)
		}
		t.Logf("metadata service log:\n%s", &logged)
	})

	b.waitForService(t, exited)
}

func (b *box) waitForService(t *testing.T, exited <-chan error) {
	t.Helper()
	url := "http://" + bridgeAddress + ":" + servicePort + "/latest/meta-data/"
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("metadata service exited: %v", err)
		default:
		}
		err := exec.Command("ip", "netns", "exec", b.dom0, "curl", "-sf", "-m", "1", url).Run()
		if err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("metadata service did not answer within 10s")
}

// runHook runs the real hook in dom0 the way vif-bridge sources it, and returns its output.
func (b *box) runHook(t *testing.T, command string) string {
	t.Helper()
	hook := exec.Command("ip", "netns", "exec", b.dom0, "bash",
		repoPath(t, "test/netns/testdata/vif-bridge-hooks.sh"),
		repoPath(t, "provisioners/vif-metadata.hook"))
	hook.Env = append(os.Environ(), append([]string{"command=" + command, "vif=" + vifName,
		"type_if=vif", "bridge=xenbr0", "XENBUS_PATH=backend/vif/7/0"}, b.hookEnv...)...)
	output, err := hook.CombinedOutput()
	if err != nil {
		t.Fatalf("vif-bridge with the hook, %s: %v\n%s", command, err, output)
	}
	return string(output)
}

// vifRules counts the nat rules of the vif in dom0.
func (b *box) vifRules(t *testing.T) int {
	t.Helper()
	rules := b.inDom0(t, "iptables", "-w", "-t", "nat", "-S", "PREROUTING")
	return strings.Count(rules, `--comment "xenbox-metadata `+vifName+`"`)
}

// fetchUserData asks for the user-data from the guest, through 169.254.169.254, with unik's
// 2 s connect timeout, and returns the status ("000" when nothing answered) and body.
func (b *box) fetchUserData(t *testing.T) (status, body string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fetch := exec.CommandContext(ctx, "ip", "netns", "exec", b.guest, "curl", "-s",
		"--connect-timeout", "2", "-m", "4", "-w", "\n%{http_code}",
		"http://169.254.169.254/latest/user-data")
	output, _ := fetch.Output() // a refused or timed-out fetch is an answer of its own
	text := string(output)
	cut := strings.LastIndex(text, "\n")
	if cut < 0 {
		return text, ""
	}
	return text[cut+1:], text[:cut]
}

func run(t *testing.T, args ...string) string {
	t.Helper()
	output, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, output)
	}
	return string(output)
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// repoPath is path relative to the repository root.
func repoPath(t *testing.T, path string) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, path)
}
