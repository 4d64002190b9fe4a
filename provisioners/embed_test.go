package provisioners

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFilesHoldEveryProvisionerFileUnchanged guards the go:embed patterns: a script or patch
// added to this directory must reach the box too.
func TestFilesHoldEveryProvisionerFileUnchanged(t *testing.T) {
	names, err := Names()
	if err != nil {
		t.Fatal(err)
	}

	var onDisk []string
	err = filepath.WalkDir(".", func(name string, entry os.DirEntry, err error) error {
		if err != nil || entry.IsDir() || strings.HasSuffix(name, ".go") {
			return err
		}
		onDisk = append(onDisk, filepath.ToSlash(name))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, onDisk) {
		t.Fatalf("embedded %q, directory has %q", names, onDisk)
	}

	for _, name := range names {
		embedded, err := Files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		original, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(embedded, original) {
			t.Errorf("%s: embedded copy differs from the file", name)
		}
		info, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		// Only the executable bits are compared: the others follow the checkout's umask.
		if Mode(name)&0o111 != info.Mode().Perm()&0o111 {
			t.Errorf("%s: Mode says %v, the file has %v", name, Mode(name), info.Mode().Perm())
		}
	}
}
