package vagrant

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sampleDomain is the domain the test debugs in the box.
const sampleDomain = "vagrant-sample"

// dom0Fingerprint lists what the provisioners write in the box, with contents, modes and
// modification times: a provisioning run that changes nothing leaves it as it was.
const dom0Fingerprint = `sudo find /etc/xenbox /usr/local/lib/xenbox /usr/local/sbin/gdbsx ` +
	`/usr/local/bin/xenbox /etc/systemd/network /etc/systemd/system /etc/default ` +
	`/etc/xen/scripts/vif-post.d /etc/sysctl.d /etc/modules-load.d /boot ` +
	`-maxdepth 1 -type f -printf '%p %m %T@\n' 2>/dev/null | sort; ` +
	`sudo find /etc/xenbox /usr/local/lib/xenbox /etc/systemd/network /etc/default ` +
	`-maxdepth 1 -type f -exec sha256sum {} + 2>/dev/null | sort`

func TestVagrantUpDebugReloadProvisionDestroy(t *testing.T) {
	requireVagrant(t)
	b := newBox(t)
	boxFile := envOr("XENBOX_VAGRANT_BOX", filepath.Join(b.repo, "build", "xenbox-libvirt.box"))
	provision := envOr("XENBOX_VAGRANT_PROVISION", "check")
	if _, err := os.Stat(boxFile); err != nil {
		t.Fatalf("no box to bring up: %v; run make box, or set XENBOX_VAGRANT_BOX", err)
	}
	b.setenv("XENBOX_BOX", strings.TrimSuffix(b.prefix, "-")+"/xenbox")
	b.setenv("XENBOX_BOX_URL", "file://"+boxFile)
	b.setenv("XENBOX_PROVISION", provision)
	b.setenv("XDG_CACHE_HOME", filepath.Join(b.work, "cache"))
	withXen := provision != "none"
	xenbox, sample := buildXenboxAndSample(t, b)
	b.startLibvirtd(t)
	t.Cleanup(func() { b.run(t, 10*time.Minute, "vagrant", "destroy", "-f") })

	b.mustRun(t, 15*time.Minute, "vagrant", "up", "--provider=libvirt")
	mustMatch(t, b.mustRun(t, time.Minute, "vagrant", "ssh", "-c", "uname -n"), `(?m)^xenbox`)

	if withXen {
		debugSampleThroughVagrant(t, b, xenbox, sample)
	}

	b.mustRun(t, 15*time.Minute, "vagrant", "reload")
	if withXen {
		checkBridgeAndMetadataService(t, b)
	}

	if provision != "none" {
		checkProvisionChangesNothing(t, b)
	}

	b.mustRun(t, 10*time.Minute, "vagrant", "destroy", "-f")
	checkLibvirtKeepsNothing(t, b)
}

// buildXenboxAndSample builds the xenbox binary and packs the sample unikernel as unik leaves
// it; it returns the binary and the name xenbox gives the image.
func buildXenboxAndSample(t *testing.T, b *box) (string, string) {
	t.Helper()
	xenbox := filepath.Join(b.work, "xenbox")
	build := exec.Command("go", "build", "-o", xenbox, "./tools/cmd/xenbox")
	build.Dir = b.repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build xenbox: %v\n%s", err, out)
	}

	pack := exec.Command("examples/sample-unikernel/pack-unik.sh", filepath.Join(b.work, "unik"))
	pack.Dir = b.repo
	pack.Env = append(os.Environ(), "BUILD_DIR="+filepath.Join(b.repo, "build", "sample"))
	out, err := pack.Output()
	if err != nil {
		t.Fatalf("pack the sample: %v", err)
	}
	image := mustMatch(t, string(out), `(?m)^image=(.*)$`)[1]
	return xenbox, "unik-" + strings.TrimPrefix(filepath.Ext(image), ".")
}

// debugSampleThroughVagrant runs the user's flow from this side of the box: sync, debug, and
// gdb to two hits of tick, through Vagrant's SSH and the port Vagrant forwards for gdbsx.
func debugSampleThroughVagrant(t *testing.T, b *box, xenbox, sample string) {
	t.Helper()
	global := []string{xenbox, "--unik-tmp", filepath.Join(b.work, "unik"), "--box-dir", b.dir}
	run := func(args ...string) string {
		return b.mustRun(t, 10*time.Minute, append(global, args...)...)
	}

	run("sync", "--name", sampleDomain, sample)
	debug := run("debug", "--name", sampleDomain, "--bridge", "", "--memory", "32", sample)
	mustMatch(t, debug,
		`domain `+sampleDomain+` \(domid \d+\) is paused; gdbsx listens on port 9999`)

	gdb := run("gdb", "--name", sampleDomain, "--break", "tick", sample, "--",
		"-batch", "-ex", "continue", "-ex", "print counter", "-ex", "continue",
		"-ex", "print counter")

	// Port 9999 on this side is Vagrant's forward; xenbox's own SSH forward takes a free port.
	mustMatch(t, gdb, `gdb connects to 127\.0\.0\.1:9999 \(gdbsx on port 9999 `)
	mustMatch(t, gdb, `Breakpoint 1, tick \(counter=1\) at src/sample\.c:\d+`)
	mustMatch(t, gdb, `Breakpoint 1, tick \(counter=2\) at src/sample\.c:\d+`)
	mustMatch(t, gdb, `(?m)^\$2 = 2$`)
	list := b.mustRun(t, time.Minute, "vagrant", "ssh", "-c", "sudo xl list")
	if strings.Contains(list, sampleDomain) {
		t.Errorf("domain %s still exists after gdb exited", sampleDomain)
	}
}

// checkBridgeAndMetadataService checks what must come back after every reboot of the box.
func checkBridgeAndMetadataService(t *testing.T, b *box) {
	t.Helper()
	out := b.run(t, time.Minute, "vagrant", "ssh", "-c",
		"ip -o link show xenbr0; systemctl is-active xenbox-metadata").Out
	mustMatch(t, out, `xenbr0: <[^>]*\bUP\b[^>]*>`)
	mustMatch(t, out, `(?m)^active\s*$`)
}

// checkProvisionChangesNothing provisions twice; the second run must leave every file the
// provisioners manage as it was and report no change.
func checkProvisionChangesNothing(t *testing.T, b *box) {
	t.Helper()
	b.mustRun(t, 15*time.Minute, "vagrant", "provision")
	before := b.mustRun(t, time.Minute, "vagrant", "ssh", "-c", dom0Fingerprint)

	second := b.mustRun(t, 15*time.Minute, "vagrant", "provision")
	after := b.mustRun(t, time.Minute, "vagrant", "ssh", "-c", dom0Fingerprint)

	if before != after {
		t.Errorf("the second vagrant provision changed the box:\nbefore:\n%s\nafter:\n%s",
			before, after)
	}
	if changed := regexp.MustCompile(`(?m)==> \S+: (wrote|installed) .*$`).FindAllString(
		second, -1); len(changed) > 0 {
		t.Errorf("the second vagrant provision reported changes: %q", changed)
	}
}

// checkLibvirtKeepsNothing checks that after `vagrant destroy` libvirt holds nothing of the
// run but the box image, which vagrant-libvirt keeps in the pool for the next `vagrant up`
// of the same box; the test removes that too and checks again.
func checkLibvirtKeepsNothing(t *testing.T, b *box) {
	t.Helper()
	virsh := func(args ...string) []string {
		out := b.mustRun(t, time.Minute, append([]string{"virsh", "-q", "-c", "qemu:///system"},
			args...)...)
		return namesWithPrefix(out, b.prefix)
	}

	if domains := virsh("list", "--all", "--name"); len(domains) > 0 {
		t.Errorf("domains left: %q", domains)
	}
	if networks := virsh("net-list", "--all", "--name"); len(networks) > 0 {
		t.Errorf("networks left: %q", networks)
	}
	for _, volume := range virsh("vol-list", "default") {
		if !strings.Contains(volume, "VAGRANTSLASH") {
			t.Errorf("volume left: %s", volume)
			continue
		}
		b.mustRun(t, time.Minute, "virsh", "-q", "-c", "qemu:///system", "vol-delete",
			volume, "--pool", "default")
	}
	if volumes := virsh("vol-list", "default"); len(volumes) > 0 {
		t.Errorf("volumes left: %q", volumes)
	}
}

// namesWithPrefix returns the first word of each line of virsh's output that starts with
// prefix.
func namesWithPrefix(out, prefix string) []string {
	var names []string
	scanner := bufio.NewScanner(strings.NewReader(out))
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) > 0 && strings.HasPrefix(fields[0], prefix) {
			names = append(names, fields[0])
		}
	}
	return names
}

func envOr(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}
