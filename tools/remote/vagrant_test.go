package remote

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVagrantSSHConfigExplainsABadBoxDirBeforeRunningVagrant(t *testing.T) {
	empty := t.TempDir()
	file := filepath.Join(t.TempDir(), "Vagrantfile")
	if err := os.WriteFile(file, []byte("# not a directory\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir, want string
	}{
		{"empty", "", "the box directory is empty"},
		{"missing", filepath.Join(empty, "nowhere"), "no such file or directory"},
		{"a file", file, "is not a directory"},
		{"no Vagrantfile", empty, "no Vagrantfile in " + empty},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			// PATH without vagrant: the check must come first.
			t.Setenv("PATH", t.TempDir())
			_, err := VagrantSSHConfig(context.Background(), test.dir, "")
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), test.want) ||
				!strings.Contains(err.Error(), "--box-dir") {
				t.Errorf("error %q should say %q and point at --box-dir", err, test.want)
			}
		})
	}
}

func TestSSHFromConfigNamesAMissingConfigFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "ssh_config")
	_, err := SSHFromConfig(missing, "default")
	if err == nil || !strings.Contains(err.Error(), missing) ||
		!strings.Contains(err.Error(), "--ssh-config") {
		t.Fatalf("error %v should name %s and --ssh-config", err, missing)
	}
}
