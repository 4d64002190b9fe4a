package e2e

import (
	"strings"
	"testing"
)

func TestImagesPairsEachSampleImageWithItsDebugDirByContent(t *testing.T) {
	h := requireXen(t)

	images := h.xenboxRun(t, "images")

	if images.Code != 0 {
		t.Fatalf("xenbox images exited %d", images.Code)
	}
	// Both samples hold the same program.bin, so either debug dir is a correct pair for either.
	for _, a := range []artifact{h.whole, h.parted} {
		line := mustMatch(t, images.Out, `(?m)^`+a.Name+`\s.*$`)[0]
		if !strings.Contains(line, baseName(a.Image)) ||
			!strings.Contains(line, "bootable-image-directory.") {
			t.Errorf("images line for %s is %q, want its image and a debug dir", a.Name, line)
		}
	}
	mustMatch(t, images.Out, `(?m)^`+h.whole.Name+`\s.*\bhd0$`)
	mustMatch(t, images.Out, `(?m)^`+h.parted.Name+`\s.*\bhd00$`)
}

func TestDoctorFindsGDBSXSupportInTheRebuiltHypervisor(t *testing.T) {
	h := requireXen(t)

	doctor := h.xenboxRun(t, "doctor")

	if doctor.Code != 0 {
		t.Fatalf("xenbox doctor exited %d on the provisioned dom0", doctor.Code)
	}
	mustMatch(t, doctor.Out, `hypervisor gdbsx support\s+ok\s+gdbsx attached to a probe domain`)
	mustMatch(t, doctor.Out, `xen running\s+ok\s+Xen 4\.17\.\d+`)
	if list := h.dom0(t, "xl list"); strings.Contains(list, "probe") {
		t.Errorf("doctor left its probe domain behind:\n%s", list)
	}
}

func TestGDBStopsInTickThroughPVGrubOnAWholeDiskImage(t *testing.T) {
	h := requireXen(t)
	h.debugSample(t, h.whole, "e2e-pvgrub-hd0")
}

func TestGDBStopsInTickThroughPVGrubOnAPartitionedImage(t *testing.T) {
	h := requireXen(t)
	h.debugSample(t, h.parted, "e2e-pvgrub-hd00")
}

func TestGDBStopsInTickWhenBootedDirectly(t *testing.T) {
	h := requireXen(t)
	h.debugSample(t, h.whole, "e2e-direct", "--direct")
}

// debugSample runs the user's flow on a packed sample: sync, debug, then gdb with a breakpoint
// on tick and two continues. It checks the two hits, the console's command line, and that
// nothing is left behind.
func (h *harness) debugSample(t *testing.T, a artifact, domain string, flags ...string) {
	t.Helper()
	sync := h.xenboxRun(t, "sync", "--name", domain, a.Name)
	if sync.Code != 0 {
		t.Fatalf("xenbox sync exited %d", sync.Code)
	}
	args := append([]string{"debug", "--name", domain, "--bridge", "", "--memory", "32"}, flags...)
	debug := h.xenboxRun(t, append(args, a.Name)...)
	if debug.Code != 0 {
		t.Fatalf("xenbox debug exited %d", debug.Code)
	}
	mustMatch(t, debug.Out, `domain `+domain+` \(domid \d+\) is paused; gdbsx listens on port \d+`)

	gdb := h.xenboxRun(t, "gdb", "--name", domain, "--break", "tick", a.Name, "--",
		"-batch", "-ex", "continue", "-ex", "print counter", "-ex", "continue",
		"-ex", "print counter")

	if gdb.Code != 0 {
		t.Errorf("xenbox gdb exited %d", gdb.Code)
	}
	first := mustMatch(t, gdb.Out, `Breakpoint 1, tick \(counter=1\) at src/sample\.c:(\d+)`)
	second := mustMatch(t, gdb.Out, `Breakpoint 1, tick \(counter=2\) at src/sample\.c:(\d+)`)
	if first[1] != second[1] {
		t.Errorf("the two hits stopped on lines %s and %s, want the same line", first[1], second[1])
	}
	mustMatch(t, gdb.Out, `(?m)^\$1 = 1$`)
	mustMatch(t, gdb.Out, `(?m)^\$2 = 2$`)

	// The guest's console log outlives the domain, like EC2's system log.
	console := h.xenboxRun(t, "console", "--log", "--name", domain, a.Name).Out
	want := "xenbox-sample: cmdline=<<<" + sampleCmdline + ">>>"
	if !strings.Contains(console, want) {
		t.Errorf("console of %s lacks the command line byte for byte; want %q in:\n%s",
			domain, want, console)
	}
	h.assertNothingLeft(t, domain)
}

// assertNothingLeft checks that no domain, gdbsx or session state of domain remains in dom0.
func (h *harness) assertNothingLeft(t *testing.T, domain string) {
	t.Helper()
	h.assertNoDomain(t, domain)
	if stubs := h.dom0(t, "pgrep -a gdbsx || true"); strings.TrimSpace(stubs) != "" {
		t.Errorf("gdbsx still runs: %s", stubs)
	}
}

// assertNoDomain checks that neither the domain nor its session state remains in dom0.
func (h *harness) assertNoDomain(t *testing.T, domain string) {
	t.Helper()
	if list := h.dom0(t, "xl list"); strings.Contains(list, domain) {
		t.Errorf("domain %s still exists:\n%s", domain, list)
	}
	state := h.dom0(t, "ls /var/lib/xenbox/sessions/")
	if strings.Contains(state, domain) {
		t.Errorf("session state of %s remains: %s", domain, state)
	}
}

func baseName(path string) string {
	return path[strings.LastIndex(path, "/")+1:]
}
