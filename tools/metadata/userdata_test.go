package metadata

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const greetingUserData = "{\"GREETING\":\"hello from dom0\"}\n"

func TestReadUserDataFileTakesUpToEC2sLimit(t *testing.T) {
	dir := t.TempDir()
	atLimit := writeFile(t, dir, "at-limit", strings.Repeat("x", MaxUserDataSize))
	overLimit := writeFile(t, dir, "over-limit", strings.Repeat("x", MaxUserDataSize+1))
	empty := writeFile(t, dir, "empty", "")
	missing := filepath.Join(dir, "missing")

	tests := []struct {
		name      string
		path      string
		want      string
		wantError []string // substrings of the error; nil when none is expected
	}{
		{"small file", "testdata/user-data/greeting.json", greetingUserData, nil},
		{"file of exactly the limit", atLimit, strings.Repeat("x", MaxUserDataSize), nil},
		{"file over the limit", overLimit, "",
			[]string{overLimit, "over EC2's user-data limit of 16384 bytes"}},
		{"empty file", empty, "", []string{empty, "is empty"}},
		{"missing file", missing, "", []string{missing, "no such file"}},
		{"directory", dir, "", []string{dir, "is a directory"}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got, err := ReadUserDataFile(test.path)

			if test.wantError == nil {
				if err != nil || got != test.want {
					t.Errorf("ReadUserDataFile = %d bytes, %v; want %d bytes", len(got), err,
						len(test.want))
				}
				return
			}
			if err == nil {
				t.Fatalf("ReadUserDataFile = %d bytes, want an error", len(got))
			}
			for _, part := range test.wantError {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not say %q", err, part)
				}
			}
		})
	}
}

func TestServerGivesItsDefaultUserDataToGuestsWithoutTheirOwn(t *testing.T) {
	server := NewServer(Config{
		Store:           NewStore("testdata/records"),
		Neighbours:      ProcARP("testdata/arp"),
		DefaultUserData: greetingUserData,
	})
	tests := []struct {
		name   string
		source string
		status int
		body   string
	}{
		{"unknown guest", unknownGuest, 200, greetingUserData},
		{"record without user-data", leasedGuest, 200, greetingUserData},
		{"record with its own user-data", webGuest, 200, `{"PORT":"8080","MODE": "debug"}`},
		{"record that says no user-data", quietGuest, 404, "not found\n"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			response := request{path: "/latest/user-data", source: test.source}.do(t, server)

			if response.Code != test.status || response.Body.String() != test.body {
				t.Errorf("GET /latest/user-data from %s = %d %q, want %d %q", test.source,
					response.Code, response.Body.String(), test.status, test.body)
			}
		})
	}
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
