// Package e2e is xenbox's end-to-end suite: it boots a real Xen under QEMU (the dom0 built from
// the provisioners), packs the bundled sample unikernel exactly as unik does for AWS, and drives
// the xenbox binary from the host over SSH, as a user on a workstation would.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sampleCmdline is the rumprun-style command line pack-unik.sh writes into menu.lst by default.
const sampleCmdline = `{"net":{"if":"xenif0","cloner":"true","type":"inet","method":"dhcp"},` +
	`"blk": {"source":"etfs","path":"sda1","fstype":"blk","mountpoint":"/bootpart"}}`

// suite is what TestMain set up; nil when the suite is not enabled.
var suite *harness

// harness holds the booted dom0 and the artifacts the tests debug.
type harness struct {
	repo     string
	work     string
	xenbox   string
	xen      string // state directory of the QEMU running Xen
	unikTmp  string
	whole    artifact // the sample, ext2 on the whole disk (AWS "hd0")
	parted   artifact // the sample in the first partition (AWS "hd00")
	setupLog bytes.Buffer
}

// artifact is one packed sample: the image, its debug dir and the name xenbox gives it.
type artifact struct {
	Image, DebugDir, Name string
}

func TestMain(m *testing.M) {
	if os.Getenv("XENBOX_E2E") != "1" {
		os.Exit(m.Run())
	}
	h, err := setUp()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: set up: %v\n%s", err, h.setupLog.String())
		h.tearDown()
		os.Exit(1)
	}
	suite = h
	code := m.Run()
	h.tearDown()
	os.Exit(code)
}

// requireXen skips a test when the suite is not enabled, saying how to enable it.
func requireXen(t *testing.T) *harness {
	t.Helper()
	if suite == nil {
		t.Skip("end-to-end: set XENBOX_E2E=1 (make test-e2e does) to boot Xen under QEMU; " +
			"needs root for debootstrap and about 4 GiB of memory")
	}
	return suite
}

func setUp() (*harness, error) {
	h := &harness{}
	repo, err := filepath.Abs("../..")
	if err != nil {
		return h, err
	}
	h.repo = repo
	if h.work, err = os.MkdirTemp("", "xenbox-e2e-"); err != nil {
		return h, err
	}
	h.xenbox = filepath.Join(h.work, "xenbox")
	h.xen = filepath.Join(h.work, "xen")
	h.unikTmp = filepath.Join(h.work, "unik-tmp")

	if err := h.run("go", "build", "-o", h.xenbox, "./tools/cmd/xenbox"); err != nil {
		return h, err
	}
	if h.whole, err = h.pack(); err != nil {
		return h, err
	}
	if h.parted, err = h.pack("--partitioned"); err != nil {
		return h, err
	}
	start := time.Now()
	if err := h.run("test/harness/xen-qemu.sh", "start", h.xen); err != nil {
		return h, err
	}
	fmt.Fprintf(os.Stderr, "e2e: Xen under QEMU is up after %s\n",
		time.Since(start).Round(time.Second))
	return h, nil
}

// pack runs pack-unik.sh into the unik temp dir and returns what it made.
func (h *harness) pack(args ...string) (artifact, error) {
	return h.packInto(h.unikTmp, args...)
}

// packInto runs pack-unik.sh into dir and returns what it made.
func (h *harness) packInto(dir string, args ...string) (artifact, error) {
	cmd := exec.Command("examples/sample-unikernel/pack-unik.sh", append(args, dir)...)
	cmd.Dir = h.repo
	cmd.Stderr = &h.setupLog
	out, err := cmd.Output()
	if err != nil {
		return artifact{}, fmt.Errorf("pack-unik.sh %v: %w", args, err)
	}
	var a artifact
	for _, line := range strings.Split(string(out), "\n") {
		key, value, _ := strings.Cut(line, "=")
		switch key {
		case "image":
			a.Image = value
		case "debug_dir":
			a.DebugDir = value
		}
	}
	if a.Image == "" || a.DebugDir == "" {
		return a, fmt.Errorf("pack-unik.sh %v printed no image= and debug_dir= lines: %q",
			args, out)
	}
	a.Name = "unik-" + strings.TrimPrefix(filepath.Ext(a.Image), ".")
	return a, nil
}

func (h *harness) run(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = h.repo
	cmd.Stdout = &h.setupLog
	cmd.Stderr = &h.setupLog
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

func (h *harness) tearDown() {
	if h.xen != "" {
		_ = h.run("test/harness/xen-qemu.sh", "stop", h.xen)
	}
	if h.work != "" && os.Getenv("XENBOX_E2E_KEEP") != "1" {
		os.RemoveAll(h.work)
	}
}

// result is one run of the xenbox binary.
type result struct {
	Out  string // stdout and stderr, interleaved
	Code int
}

// xenbox runs the binary against the booted dom0, as a user on the workstation would.
func (h *harness) xenboxRun(t testing.TB, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	global := []string{"--unik-tmp", h.unikTmp,
		"--ssh-config", filepath.Join(h.xen, "ssh_config"), "--ssh-host", "dom0"}
	cmd := exec.CommandContext(ctx, h.xenbox, append(global, args...)...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("xenbox %s: %v", strings.Join(args, " "), err)
	}
	t.Logf("$ xenbox %s  (exit %d)\n%s", strings.Join(args, " "), code, out.String())
	return result{Out: out.String(), Code: code}
}

// dom0 runs a shell command in dom0 as root and returns its output.
func (h *harness) dom0(t testing.TB, command string) string {
	t.Helper()
	cmd := exec.Command("ssh", "-F", filepath.Join(h.xen, "ssh_config"), "dom0", command)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dom0: %s: %v\n%s", command, err, out)
	}
	return string(out)
}

// mustMatch returns the submatches of pattern in text, failing the test when it does not match.
func mustMatch(t testing.TB, text, pattern string) []string {
	t.Helper()
	match := regexp.MustCompile(pattern).FindStringSubmatch(text)
	if match == nil {
		t.Fatalf("output does not match %q:\n%s", pattern, text)
	}
	return match
}

func regexpMatch(pattern, text string) bool {
	return regexp.MustCompile(pattern).MatchString(text)
}
