// Package vagrant tests the project's Vagrantfile for real: `vagrant validate` for libvirt and
// VirtualBox, and `vagrant up` of the baked box on libvirt, then the user's flow with xenbox
// through Vagrant's SSH and its forwarded gdbsx port, `vagrant reload`, `vagrant provision`
// twice and `vagrant destroy`, checking that libvirt keeps nothing of the run.
//
// libvirtd runs in a network namespace with no way out (test/harness/libvirtd.sh), and so do
// vagrant, virsh and xenbox: the box's NAT network and Vagrant's forwards on 127.0.0.1 exist
// only there.
package vagrant

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// requireVagrant skips unless the suite is enabled, saying how to enable it.
func requireVagrant(t *testing.T) {
	t.Helper()
	if os.Getenv("XENBOX_VAGRANT") != "1" {
		t.Skip("vagrant: set XENBOX_VAGRANT=1 (make test-vagrant does) to run vagrant and " +
			"libvirtd for real; needs root, vagrant-libvirt and the box from make box")
	}
}

// box is one test run's Vagrant project: a copy of the repository's Vagrantfile in its own
// directory, with names no other run uses.
type box struct {
	repo    string
	work    string
	dir     string // the Vagrantfile's directory
	prefix  string // of every libvirt name the run creates
	libvirt string // state directory of the libvirtd harness; "" before it starts
	env     []string
}

// newBox copies the Vagrantfile and what it reads into a temporary directory and sets the
// environment every vagrant command of the run gets.
func newBox(t *testing.T) *box {
	t.Helper()
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 3)
	if _, err := rand.Read(id); err != nil {
		t.Fatal(err)
	}
	b := &box{repo: repo, work: t.TempDir(), prefix: "xenbox-test-" + hex.EncodeToString(id) + "-"}
	b.dir = filepath.Join(b.work, "box")
	copyFile(t, filepath.Join(repo, "Vagrantfile"), filepath.Join(b.dir, "Vagrantfile"))
	copyTree(t, filepath.Join(repo, "provisioners"), filepath.Join(b.dir, "provisioners"))

	b.env = append(os.Environ(),
		"VAGRANT_HOME="+filepath.Join(b.work, "vagrant-home"),
		"VAGRANT_DOTFILE_PATH="+filepath.Join(b.dir, ".vagrant-"+b.prefix),
		"VAGRANT_CHECKPOINT_DISABLE=1",
		"VAGRANT_DEFAULT_PROVIDER=libvirt",
		"XENBOX_LIBVIRT_DRIVER=qemu",
		"XENBOX_LIBVIRT_PREFIX="+b.prefix,
		"XENBOX_LIBVIRT_NETWORK="+b.prefix+"mgmt",
	)
	return b
}

// setenv adds NAME=VALUE to what every command of the run gets.
func (b *box) setenv(name, value string) {
	b.env = append(b.env, name+"="+value)
}

// progress matches the progress counter vagrant redraws while it copies a box.
var progress = regexp.MustCompile(`(\x1b\[K)?Progress: \d+%( \([^)]*\))?\r?`)

// result is one command's combined output and exit code.
type result struct {
	Out  string
	Code int
}

// run runs a command in the box directory, inside libvirtd's namespace once it runs, and logs
// it with its duration. A command that cannot start fails the test.
func (b *box) run(t *testing.T, timeout time.Duration, args ...string) result {
	t.Helper()
	if b.libvirt != "" {
		args = append([]string{filepath.Join(b.repo, "test/harness/libvirtd.sh"), "exec",
			b.libvirt}, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = b.dir
	cmd.Env = b.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out

	start := time.Now()
	err := cmd.Run()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		code = -1
	}
	t.Logf("$ %s  (exit %d, %s)\n%s", strings.Join(args, " "), code,
		time.Since(start).Round(time.Second), progress.ReplaceAllString(out.String(), ""))
	return result{Out: out.String(), Code: code}
}

// mustRun is run that fails the test on a non-zero exit.
func (b *box) mustRun(t *testing.T, timeout time.Duration, args ...string) string {
	t.Helper()
	r := b.run(t, timeout, args...)
	if r.Code != 0 {
		t.Fatalf("%s exited %d", strings.Join(args, " "), r.Code)
	}
	return r.Out
}

// startLibvirtd starts the harness and registers its stop, which also removes whatever libvirt
// still holds under the run's prefix.
func (b *box) startLibvirtd(t *testing.T) {
	t.Helper()
	state := filepath.Join(b.work, "libvirt")
	harness := filepath.Join(b.repo, "test/harness/libvirtd.sh")
	t.Cleanup(func() {
		b.libvirt = ""
		b.run(t, 5*time.Minute, harness, "stop", state)
	})
	b.mustRun(t, 2*time.Minute, harness, "start", state)
	b.libvirt = state
}

// mustMatch returns the submatches of pattern in text, failing the test when it does not match.
func mustMatch(t *testing.T, text, pattern string) []string {
	t.Helper()
	match := regexp.MustCompile(pattern).FindStringSubmatch(text)
	if match == nil {
		t.Fatalf("output does not match %q:\n%s", pattern, text)
	}
	return match
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, info.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, entry os.DirEntry, err error) error {
		if err != nil || entry.IsDir() {
			return err
		}
		relative, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		copyFile(t, path, filepath.Join(to, relative))
		return nil
	})
	if err != nil {
		t.Fatal(fmt.Errorf("copy %s: %w", from, err))
	}
}
