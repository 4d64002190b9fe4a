package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDebugRefusesADomainThatIsAlreadyRunning(t *testing.T) {
	h := requireXen(t)
	const domain = "e2e-twice"
	first := h.xenboxRun(t, "debug", "--name", domain, "--bridge", "", "--memory", "32",
		h.whole.Name)
	if first.Code != 0 {
		t.Fatalf("first xenbox debug exited %d", first.Code)
	}
	defer func() {
		h.xenboxRun(t, "destroy", "--name", domain, h.whole.Name)
		h.assertNothingLeft(t, domain)
	}()

	second := h.xenboxRun(t, "debug", "--name", domain, "--bridge", "", "--memory", "32",
		h.whole.Name)

	if second.Code != 1 {
		t.Errorf("second xenbox debug exited %d, want 1", second.Code)
	}
	mustMatch(t, second.Out, `domain `+domain+` is already running`)
	mustMatch(t, second.Out, `xenbox destroy`)
}

// Two debug sessions at once need two ports: the second on a busy port is refused before xl
// runs, and the first one is not disturbed.
func TestDebugRefusesAPortInUse(t *testing.T) {
	h := requireXen(t)
	const first, second, port = "e2e-port-a", "e2e-port-b", "9977"
	started := h.xenboxRun(t, "debug", "--name", first, "--port", port, "--bridge", "",
		"--memory", "32", h.whole.Name)
	if started.Code != 0 {
		t.Fatalf("first xenbox debug on port %s exited %d", port, started.Code)
	}
	defer func() {
		h.xenboxRun(t, "destroy", "--name", first, h.whole.Name)
		h.assertNothingLeft(t, first)
	}()

	refused := h.xenboxRun(t, "debug", "--name", second, "--port", port, "--bridge", "",
		"--memory", "32", h.whole.Name)

	if refused.Code != 1 {
		t.Errorf("xenbox debug on a busy port exited %d, want 1", refused.Code)
	}
	mustMatch(t, refused.Out, `port `+port+` is in use`)
	h.assertNoDomain(t, second)
	if list := h.dom0(t, "xl list"); !strings.Contains(list, first) {
		t.Errorf("the first session's domain %s is gone:\n%s", first, list)
	}
}

func TestDebugRefusesAMissingPVGrubBeforeCallingXL(t *testing.T) {
	h := requireXen(t)
	const domain, missing = "e2e-no-pvgrub", "/usr/local/lib/xenbox/no-such-pv-grub.bin"

	debug := h.xenboxRun(t, "debug", "--name", domain, "--pvgrub", missing, "--bridge", "",
		"--memory", "32", h.whole.Name)

	if debug.Code != 1 {
		t.Errorf("xenbox debug without PV-GRUB exited %d, want 1", debug.Code)
	}
	mustMatch(t, debug.Out, regexpQuote(missing))
	mustMatch(t, debug.Out, `pvgrub\.sh`)
	if log := h.dom0(t, "ls /var/log/xen/"); strings.Contains(log, "xl-"+domain) {
		t.Errorf("xl ran for %s although PV-GRUB is missing", domain)
	}
	h.assertNothingLeft(t, domain)
}

func TestPairRejectsADebugDirWhoseProgramBinDiffers(t *testing.T) {
	h := requireXen(t)
	other := filepath.Join(t.TempDir(), "bootable-image-directory.1")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	kernel, err := os.ReadFile(filepath.Join(h.whole.DebugDir, "program.bin"))
	if err != nil {
		t.Fatal(err)
	}
	changed := append(kernel, 0)
	if err := os.WriteFile(filepath.Join(other, "program.bin"), changed, 0o755); err != nil {
		t.Fatal(err)
	}

	config := h.xenboxRun(t, "config", "--image", h.whole.Image, "--debug-dir", other)

	if config.Code != 1 {
		t.Errorf("xenbox config with a mismatched pair exited %d, want 1", config.Code)
	}
	mustMatch(t, config.Out, regexpQuote(baseName(h.whole.Image)))
	mustMatch(t, config.Out, `bootable-image-directory\.1`)
}

func TestImagesExplainsAMissingArtifactsDir(t *testing.T) {
	h := requireXen(t)
	missing := filepath.Join(t.TempDir(), "no-unik-tmp")

	images := h.xenboxRun(t, "--unik-tmp", missing, "images")

	if images.Code != 1 {
		t.Errorf("xenbox images without an artifacts dir exited %d, want 1", images.Code)
	}
	mustMatch(t, images.Out, regexpQuote(missing))
	mustMatch(t, images.Out, `--no-cleanup`)
}

func regexpQuote(s string) string {
	return strings.NewReplacer(`.`, `\.`, `(`, `\(`, `)`, `\)`, `+`, `\+`).Replace(s)
}
