package netns

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/xenbox/xenbox/tools/metadata"
)

func TestGuestReadsItsOwnUserDataThroughTheHookRedirect(t *testing.T) {
	b := newBox(t)
	err := metadata.WriteRecord(b.records, metadata.Record{Domain: "guest7",
		IP: guestAddress, UserData: userData})
	if err != nil {
		t.Fatal(err)
	}
	b.startService(t)

	hookOutput := b.runHook(t, "online")
	status, body := b.fetchUserData(t)

	if !strings.Contains(hookOutput, "connected options=") ||
		strings.Contains(hookOutput, "connected options=e") {
		t.Errorf("vif-bridge did not go on unchanged after the hook:\n%s", hookOutput)
	}
	if status != "200" || body != userData {
		t.Errorf("guest got %s %q, want 200 %q", status, body, userData)
	}
	if rules := b.vifRules(t); rules != 1 {
		t.Errorf("%d rules for %s after online, want 1", rules, vifName)
	}
}

func TestOfflineRemovesTheRedirect(t *testing.T) {
	b := newBox(t)
	b.startService(t)
	b.runHook(t, "online")

	b.runHook(t, "offline")
	status, _ := b.fetchUserData(t)

	if rules := b.vifRules(t); rules != 0 {
		t.Errorf("%d rules for %s after offline, want 0", rules, vifName)
	}
	if status == "200" {
		t.Error("guest still reached the metadata service after offline")
	}
}

func TestOnlineTwiceLeavesOneRule(t *testing.T) {
	b := newBox(t)

	b.runHook(t, "online")
	b.runHook(t, "online")

	if rules := b.vifRules(t); rules != 1 {
		t.Errorf("%d rules for %s after online twice, want 1", rules, vifName)
	}
}

func TestHookRefusesABadVifNameWithoutFailingVifBridge(t *testing.T) {
	b := newBox(t)
	hook := exec.Command("ip", "netns", "exec", b.dom0, "bash",
		repoPath(t, "test/netns/testdata/vif-bridge-hooks.sh"),
		repoPath(t, "provisioners/vif-metadata.hook"))
	hook.Env = append(os.Environ(), append([]string{"command=online",
		"vif=vif7.0 -j ACCEPT", "type_if=vif", "bridge=xenbr0"}, b.hookEnv...)...)

	output, err := hook.CombinedOutput()

	if err != nil || !strings.Contains(string(output), "connected") {
		t.Errorf("vif-bridge failed or stopped: %v\n%s", err, output)
	}
	if !strings.Contains(string(output), "log err: ") ||
		!strings.Contains(string(output), "refusing vif name") {
		t.Errorf("hook did not log the refusal as an error:\n%s", output)
	}
	rules := b.inDom0(t, "iptables", "-w", "-t", "nat", "-S", "PREROUTING")
	if strings.Contains(rules, "DNAT") {
		t.Errorf("a rule was added for a bad vif name:\n%s", rules)
	}
}

func TestWithoutBridgeNetfilterTheGuestIsNotRedirectedAndTheCheckSaysSo(t *testing.T) {
	b := newBox(t)
	b.startService(t)
	b.runHook(t, "online")

	b.setBridgeNetfilter(t, "0")
	status, _ := b.fetchUserData(t)
	verdictOff := b.checkBridgeNetfilter(t)
	b.setBridgeNetfilter(t, "1")
	verdictOn := b.checkBridgeNetfilter(t)

	if status == "200" {
		t.Error("guest reached the metadata service with bridge-nf-call-iptables=0")
	}
	if !strings.HasPrefix(verdictOff, "FAIL") ||
		!strings.Contains(verdictOff, "bridge-nf-call-iptables is 0") {
		t.Errorf("check with the sysctl at 0 said %q, want a failure naming it", verdictOff)
	}
	if verdictOn != "OK" {
		t.Errorf("check with the sysctl at 1 said %q, want OK", verdictOn)
	}
}

// checkBridgeNetfilter runs metadata.CheckBridgeNetfilter inside dom0, whose /proc/sys/net is
// its own, by running this test binary there.
func (b *box) checkBridgeNetfilter(t *testing.T) string {
	t.Helper()
	check := exec.Command("ip", "netns", "exec", b.dom0, os.Args[0])
	check.Env = append(os.Environ(), "XENBOX_NETNS_HELPER=check-bridge-netfilter")
	output, err := check.CombinedOutput()
	if err != nil {
		t.Fatalf("run the bridge netfilter check in dom0: %v\n%s", err, output)
	}
	return strings.TrimSpace(string(output))
}

func TestFiftyOnlineOfflineCyclesLeaveNoRule(t *testing.T) {
	const cycles = 50
	b := newBox(t)

	for cycle := 0; cycle < cycles; cycle++ {
		b.runHook(t, "online")
		if rules := b.vifRules(t); rules != 1 {
			t.Fatalf("cycle %d: %d rules after online, want 1", cycle, rules)
		}
		b.runHook(t, "offline")
	}

	rules := b.inDom0(t, "iptables", "-w", "-t", "nat", "-S", "PREROUTING")
	if strings.Contains(rules, "xenbox-metadata") {
		t.Errorf("rules left after %d cycles:\n%s", cycles, rules)
	}
}
