package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// guestBootTimeout bounds PV-GRUB loading the Linux guest's kernel, its DHCP lease and its
// user-data fetch under TCG.
const guestBootTimeout = 5 * time.Minute

// linuxGuest is the Linux PV guest of test/guests/linux-guest.sh, packed once for the suite.
var linuxGuest struct {
	once     sync.Once
	artifact artifact
	err      error
}

// packLinuxGuest packs the Linux guest from the dom0 image's kernel, once.
func (h *harness) packLinuxGuest(t *testing.T) artifact {
	t.Helper()
	linuxGuest.once.Do(func() {
		dom0Dir, err := exec.Command(filepath.Join(h.repo, "test/harness/dom0-image.sh")).Output()
		if err != nil {
			linuxGuest.err = fmt.Errorf("find the dom0 image: %w", err)
			return
		}
		cmd := exec.Command(filepath.Join(h.repo, "test/guests/linux-guest.sh"),
			strings.TrimSpace(string(dom0Dir)), filepath.Join(h.work, "linux-guest"))
		out, err := cmd.Output()
		if err != nil {
			linuxGuest.err = fmt.Errorf("linux-guest.sh: %w", err)
			return
		}
		for _, line := range strings.Split(string(out), "\n") {
			key, value, _ := strings.Cut(line, "=")
			switch key {
			case "image":
				linuxGuest.artifact.Image = value
			case "debug_dir":
				linuxGuest.artifact.DebugDir = value
			}
		}
	})
	if linuxGuest.err != nil {
		t.Fatal(linuxGuest.err)
	}
	return linuxGuest.artifact
}

// startLinuxGuest creates domain from the Linux guest with userData and lets it run: debug
// holds it in gdbsx's pause, and a gdb that only detaches releases it, keeping the domain.
func (h *harness) startLinuxGuest(t *testing.T, guest artifact, domain, userData string) {
	t.Helper()
	selection := []string{"--name", domain, "--image", guest.Image, "--debug-dir", guest.DebugDir}
	if sync := h.xenboxRun(t, append([]string{"sync"}, selection...)...); sync.Code != 0 {
		t.Fatalf("xenbox sync exited %d", sync.Code)
	}
	debug := h.xenboxRun(t, append(append([]string{"debug"}, selection...),
		"--memory", "256", "--user-data", userData)...)
	if debug.Code != 0 {
		t.Fatalf("xenbox debug exited %d", debug.Code)
	}
	t.Cleanup(func() { h.xenboxRun(t, "destroy", "--name", domain) })

	release := h.xenboxRun(t, append(append([]string{"gdb", "--keep"}, selection...),
		"--", "-batch", "-ex", "detach")...)
	if release.Code != 0 {
		t.Fatalf("xenbox gdb --keep -- -batch -ex detach exited %d", release.Code)
	}
}

// waitForUserData waits until domain's console log shows what the guest fetched from
// 169.254.169.254 and returns it.
func (h *harness) waitForUserData(t *testing.T, domain string) string {
	t.Helper()
	log := "/var/log/xen/console/guest-" + domain + ".log"
	deadline := time.Now().Add(guestBootTimeout)
	for {
		console := h.dom0(t, "cat "+log+" 2>/dev/null || true")
		if match := regexpFind(`xenbox-guest: user-data=<<<(.*)>>>`, console); match != nil {
			return match[1]
		}
		if strings.Contains(console, "xenbox-guest: no DHCP lease") ||
			time.Now().After(deadline) {
			t.Fatalf("guest %s printed no user-data; its console:\n%s", domain, console)
		}
		time.Sleep(10 * time.Second)
	}
}

func TestLinuxGuestsEachReadTheirOwnUserDataThroughTheMetadataAddress(t *testing.T) {
	h := requireXen(t)
	guest := h.packLinuxGuest(t)
	userData := map[string]string{
		"e2e-net-a": `{"role":"web","note":"a, with: punctuation"}`,
		"e2e-net-b": `{"role":"worker"}`,
	}

	for domain, data := range userData {
		h.startLinuxGuest(t, guest, domain, data)
	}

	for domain, want := range userData {
		if got := h.waitForUserData(t, domain); got != want {
			t.Errorf("guest %s read user-data %q, want %q", domain, got, want)
		}
		console := h.dom0(t, "cat /var/log/xen/console/guest-"+domain+".log")
		mustMatch(t, console, `lease of 10\.99\.0\.\d+ obtained from 10\.99\.0\.1`)
	}
}

func TestDoctorReportsTheGuestNetworkOK(t *testing.T) {
	h := requireXen(t)

	doctor := h.xenboxRun(t, "doctor")

	if doctor.Code != 0 {
		t.Errorf("xenbox doctor exited %d on the provisioned dom0", doctor.Code)
	}
	mustMatch(t, doctor.Out, `bridge up\s+ok\s+xenbr0 up, 10\.99\.0\.1/24`)
	mustMatch(t, doctor.Out, `bridged frames reach iptables\s+ok`)
	mustMatch(t, doctor.Out, `metadata vif hook\s+ok`)
	mustMatch(t, doctor.Out, `metadata service answers\s+ok\s+http://10\.99\.0\.1:80/`)
}

func TestBridgeAndMetadataServiceComeBackAfterDom0Reboots(t *testing.T) {
	h := requireXen(t)
	ssh := []string{"-F", filepath.Join(h.xen, "ssh_config"), "-o", "ConnectTimeout=5", "dom0"}

	// The connection drops while dom0 goes down, so the exit status says nothing.
	_ = exec.Command("ssh", append(ssh, "systemctl reboot")...).Run()
	waitUntil(t, 2*time.Minute, "dom0 to go down", func() bool {
		return exec.Command("ssh", append(ssh, "true")...).Run() != nil
	})
	waitUntil(t, 8*time.Minute, "dom0 to answer SSH again", func() bool {
		return exec.Command("ssh", append(ssh, "true")...).Run() == nil
	})

	waitUntil(t, time.Minute, "the metadata service", func() bool {
		out, _ := exec.Command("ssh", append(ssh,
			"systemctl is-active xenbox-metadata xenbox-dhcp xenbox-nat")...).Output()
		return strings.Count(string(out), "active\n") == 3 &&
			!strings.Contains(string(out), "inactive")
	})
	mustMatch(t, h.dom0(t, "ip -4 -o addr show dev xenbr0"), `inet 10\.99\.0\.1/24`)
	mustMatch(t, h.dom0(t, "cat /proc/sys/net/bridge/bridge-nf-call-iptables"), `^1\s*$`)
	mustMatch(t, h.dom0(t, "ss -ltn"), `10\.99\.0\.1:80\s`)
}

// waitUntil polls ready every few seconds until it holds, failing the test after timeout.
func waitUntil(t *testing.T, timeout time.Duration, what string, ready func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ready() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %s", what, timeout)
		}
		time.Sleep(3 * time.Second)
	}
}

func regexpFind(pattern, text string) []string {
	return regexp.MustCompile(pattern).FindStringSubmatch(text)
}
