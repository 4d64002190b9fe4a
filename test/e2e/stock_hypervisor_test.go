package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Debian's own hypervisor is a release build without gdbsx support: doctor must say so and
// say how to fix it, and debug must fail with that explanation instead of a bare errno.
func TestDoctorExplainsTheRebuildOnDebiansStockHypervisor(t *testing.T) {
	h := requireXen(t)
	state := filepath.Join(t.TempDir(), "xen-stock")
	start := exec.Command("test/harness/xen-qemu.sh", "start", state)
	start.Dir = h.repo
	start.Env = append(os.Environ(), "XENBOX_HYPERVISOR=stock")
	if out, err := start.CombinedOutput(); err != nil {
		t.Fatalf("boot Debian's stock hypervisor: %v\n%s", err, out)
	}
	defer func() {
		stop := exec.Command("test/harness/xen-qemu.sh", "stop", state)
		stop.Dir = h.repo
		_ = stop.Run()
	}()
	stock := *h
	stock.xen = state

	doctor := stock.xenboxRun(t, "doctor")

	if doctor.Code != 1 {
		t.Errorf("xenbox doctor on the stock hypervisor exited %d, want 1", doctor.Code)
	}
	mustMatch(t, doctor.Out, `hypervisor gdbsx support\s+FAIL\s+.*(no CONFIG_GDBSX=y|NOT enabled)`)
	mustMatch(t, doctor.Out, `fix: boot the rebuilt hypervisor /boot/xen-\*-gdbsx\.gz`)
	if list := stock.dom0(t, "xl list"); regexpMatch(`probe`, list) {
		t.Errorf("doctor left its probe domain behind:\n%s", list)
	}

	const domain = "e2e-stock"
	debug := stock.xenboxRun(t, "debug", "--name", domain, "--direct", "--bridge", "",
		"--memory", "32", h.whole.Name)

	if debug.Code != 1 {
		t.Errorf("xenbox debug on the stock hypervisor exited %d, want 1", debug.Code)
	}
	mustMatch(t, debug.Out, `Hyp is NOT enabled for gdbsx`)
	mustMatch(t, debug.Out, `gdbsx\.gz`)
	stock.assertNothingLeft(t, domain)
}
