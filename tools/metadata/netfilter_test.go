package metadata

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckBridgeNetfilter(t *testing.T) {
	tests := []struct {
		name    string
		value   string // "" means the file is missing
		wantErr string
	}{
		{"enabled", "1\n", ""},
		{"disabled", "0\n", "net.bridge.bridge-nf-call-iptables is 0"},
		{"module not loaded", "", "br_netfilter is not loaded"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			procRoot := t.TempDir()
			dir := filepath.Join(procRoot, "sys", "net", "bridge")
			if test.value != "" {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				err := os.WriteFile(filepath.Join(dir, "bridge-nf-call-iptables"),
					[]byte(test.value), 0o644)
				if err != nil {
					t.Fatal(err)
				}
			}

			err := CheckBridgeNetfilter(procRoot)

			mentioned := err != nil && strings.Contains(err.Error(), test.wantErr)
			switch {
			case test.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case test.wantErr != "" && !mentioned:
				t.Errorf("error %v, want one containing %q", err, test.wantErr)
			}
		})
	}
}
