package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The provisioners are run by Vagrant on every `vagrant provision`: on a dom0 they already
// made, a second run must change nothing (each change is logged as a "==>" line).
func TestProvisionersChangeNothingOnAProvisionedDom0(t *testing.T) {
	h := requireXen(t)
	copy := exec.Command("scp", "-q", "-r", "-F", filepath.Join(h.xen, "ssh_config"),
		filepath.Join(h.repo, "provisioners"), "dom0:/tmp/xenbox-provisioners")
	if out, err := copy.CombinedOutput(); err != nil {
		t.Fatalf("copy the provisioners into dom0: %v\n%s", err, out)
	}
	defer h.dom0(t, "rm -rf /tmp/xenbox-provisioners")

	for _, script := range []string{"xen.sh", "network.sh", "metadata.sh"} {
		out := h.dom0(t, "cd /tmp/xenbox-provisioners && ./"+script+" 2>&1")
		if strings.Contains(out, "==> ") {
			t.Errorf("%s changed a provisioned dom0:\n%s", script, out)
		}
	}
}
