package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMetadataServeRefusesABadDefaultUserDataFileBeforeListening(t *testing.T) {
	dir := t.TempDir()
	tooLarge := filepath.Join(dir, "too-large.json")
	if err := os.WriteFile(tooLarge, make([]byte, 16*1024+1), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.json")

	tests := []struct {
		name string
		args []string
		env  string // XENBOX_METADATA_DEFAULT_USER_DATA
		want string
	}{
		{"missing file by flag", []string{"--default-user-data", missing}, "", missing},
		{"missing file by environment", nil, missing, missing},
		{"file over 16 KiB", []string{"--default-user-data", tooLarge}, "", tooLarge},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			t.Setenv("XENBOX_METADATA_DEFAULT_USER_DATA", test.env)
			env := newTestEnvironment()
			// An address no listener takes: were the file not checked first, serve would
			// fail on it instead.
			args := append([]string{"metadata", "serve", "--listen", "256.0.0.1:80"},
				test.args...)

			code := env.run(args...)

			if code != exitFailure {
				t.Errorf("exit code %d, want %d", code, exitFailure)
			}
			stderr := env.stderr.String()
			if !strings.Contains(stderr, "xenbox: start the metadata service: read user-data "+
				"file") || !strings.Contains(stderr, test.want) {
				t.Errorf("stderr %q does not name the user-data file %s", stderr, test.want)
			}
		})
	}
}
