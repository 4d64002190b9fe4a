// Package provisioners runs the provisioners' steps into a scratch installation root
// (XENBOX_DESTDIR) and checks what they leave there: the files of the box, without a box. The
// provisioners refuse to run but as root, so the tests skip unless run as root.
package provisioners

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// provisionerDir is the repository's provisioners/, from this package's directory.
const provisionerDir = "../../provisioners"

// run is one run of a provisioner: its combined log and whether it failed.
type run struct {
	log string
	err error
}

// provision runs provisioners/SCRIPT with ARGS and the environment env on top of this
// process's, with XENBOX_DESTDIR=destdir.
func provision(t *testing.T, destdir string, env map[string]string, script string,
	args ...string) run {
	t.Helper()
	command := exec.Command("bash", append([]string{filepath.Join(provisionerDir, script)},
		args...)...)
	command.Env = append(os.Environ(), "XENBOX_DESTDIR="+destdir, "XENBOX_VERBOSE=0")
	for name, value := range env {
		command.Env = append(command.Env, name+"="+value)
	}
	var log bytes.Buffer
	command.Stdout = &log
	command.Stderr = &log
	err := command.Run()
	return run{log: log.String(), err: err}
}

// mustProvision is provision that fails the test when the provisioner fails.
func mustProvision(t *testing.T, destdir string, env map[string]string, script string,
	args ...string) run {
	t.Helper()
	result := provision(t, destdir, env, script, args...)
	if result.err != nil {
		t.Fatalf("%s %s: %v\n%s", script, strings.Join(args, " "), result.err, result.log)
	}
	return result
}

// requireRoot skips the test unless it runs as root.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the provisioners install only as root")
	}
}

// requirePackages skips the test unless the Debian packages a provisioner installs are already
// here, so that the test installs nothing on this machine.
func requirePackages(t *testing.T, packages ...string) {
	t.Helper()
	for _, name := range packages {
		status, err := exec.Command("dpkg-query", "-W", "-f=${Status}", name).Output()
		if err != nil || !strings.Contains(string(status), "ok installed") {
			t.Skipf("the provisioner would install %s on this machine (make deps)", name)
		}
	}
}

// filesUnder lists the files and symbolic links under root, as paths inside it.
func filesUnder(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(path string, entry os.DirEntry, err error) error {
		if err != nil || entry.IsDir() {
			return err
		}
		relative, err := filepath.Rel(root, path)
		files = append(files, "/"+relative)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// snapshot is every file under a root with its mode, modification time and content (a link's
// target), to tell whether a run changed anything.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, name := range filesUnder(t, root) {
		path := filepath.Join(root, name)
		info, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = info.Mode().String() + " " + info.ModTime().Format(time.RFC3339Nano)
		if info.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(path)
			if err != nil {
				t.Fatal(err)
			}
			files[name] += " -> " + target
		} else {
			files[name] += " " + readFile(t, path)
		}
	}
	return files
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(text)
}

func writeFile(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
}

// assertUnchanged fails when after differs from before in any file.
func assertUnchanged(t *testing.T, before, after map[string]string) {
	t.Helper()
	for name, was := range before {
		if now, ok := after[name]; !ok {
			t.Errorf("%s was removed", name)
		} else if now != was {
			t.Errorf("%s changed", name)
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			t.Errorf("%s was added", name)
		}
	}
}
