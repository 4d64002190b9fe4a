package provisioners

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	defaultUserDataPath = "/etc/xenbox/default-user-data"
	userDataDropInPath  = "/etc/systemd/system/xenbox-metadata.service.d/default-user-data.conf"
	// rumprunUserData has the quotes, braces, colons and spaces that must reach guests as
	// written.
	rumprunUserData = `{"net":{"if":"xenif0"},"blk": {"source":"etfs","path":"sda1"}}`
)

// provisionMetadata runs metadata.sh into destdir; userData nil leaves
// XENBOX_METADATA_USER_DATA unset.
func provisionMetadata(t *testing.T, destdir string, userData *string) run {
	t.Helper()
	requireRoot(t)
	requirePackages(t, "iptables", "kmod", "procps")
	env := map[string]string{}
	if userData != nil {
		env["XENBOX_METADATA_USER_DATA"] = *userData
	}
	return provision(t, destdir, env, "metadata.sh")
}

func mustProvisionMetadata(t *testing.T, destdir string, userData *string) run {
	t.Helper()
	result := provisionMetadata(t, destdir, userData)
	if result.err != nil {
		t.Fatalf("metadata.sh failed: %v\n%s", result.err, result.log)
	}
	return result
}

// assertDefaultUserData fails unless destdir serves want to guests without user-data: the
// file holding it byte for byte and the drop-in pointing the service at it, or, for "",
// neither.
func assertDefaultUserData(t *testing.T, destdir, want string) {
	t.Helper()
	file := filepath.Join(destdir, defaultUserDataPath)
	dropIn := filepath.Join(destdir, userDataDropInPath)
	if want == "" {
		for _, path := range []string{file, dropIn} {
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("%s is there (%v), want none without XENBOX_METADATA_USER_DATA",
					path, err)
			}
		}
		return
	}

	if got := readFile(t, file); got != want {
		t.Errorf("%s holds %q, want %q", defaultUserDataPath, got, want)
	}
	if info, err := os.Stat(file); err != nil || info.Mode().Perm() != 0o644 {
		t.Errorf("%s has mode %v (%v), want 0644", defaultUserDataPath, info.Mode(), err)
	}
	wantLine := "Environment=XENBOX_METADATA_DEFAULT_USER_DATA=" + defaultUserDataPath + "\n"
	if got := readFile(t, dropIn); !strings.Contains(got, "[Service]\n"+wantLine) {
		t.Errorf("drop-in holds %q, want its [Service] to set %q", got, wantLine)
	}
}

func TestMetadataServesTheUserDataAskedForAsWritten(t *testing.T) {
	tests := []struct{ name, userData string }{
		{"rumprun JSON", rumprunUserData},
		{"trailing newline and spaces", "{}\n  "},
		{"shell metacharacters", `#!/bin/sh` + "\n" + `echo "$HOME" '*' $(id) \n`},
		{"EC2's limit", strings.Repeat("x", 16384)},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			destdir := t.TempDir()

			mustProvisionMetadata(t, destdir, &test.userData)

			assertDefaultUserData(t, destdir, test.userData)
		})
	}
}

func TestMetadataRerunsFollowTheUserDataAskedFor(t *testing.T) {
	destdir := t.TempDir()
	first, second, empty := rumprunUserData, `{"MODE":"debug"}`, ""
	steps := []struct {
		name     string
		userData *string
		want     string
	}{
		{"unset on the first run", nil, ""},
		{"set", &first, first},
		{"changed", &second, second},
		{"unset again", nil, ""},
		{"set once more", &first, first},
		{"set empty", &empty, ""},
	}
	for _, step := range steps {
		mustProvisionMetadata(t, destdir, step.userData)

		assertDefaultUserData(t, destdir, step.want)
		if t.Failed() {
			t.Fatalf("after the run with XENBOX_METADATA_USER_DATA %s", step.name)
		}
	}
}

func TestMetadataSecondRunChangesNothing(t *testing.T) {
	userData := rumprunUserData
	for _, test := range []struct {
		name     string
		userData *string
	}{{"with user-data", &userData}, {"without user-data", nil}} {
		t.Run(test.name, func(t *testing.T) {
			destdir := t.TempDir()
			mustProvisionMetadata(t, destdir, test.userData)
			before := snapshot(t, destdir)

			second := mustProvisionMetadata(t, destdir, test.userData)

			assertUnchanged(t, before, snapshot(t, destdir))
			if second.log != "" {
				t.Errorf("second run said %q, want nothing", second.log)
			}
		})
	}
}

func TestMetadataKeepsTheUsersConfigWhileUserDataChanges(t *testing.T) {
	destdir := t.TempDir()
	config := filepath.Join(destdir, "/etc/default/xenbox-metadata")
	edited := "XENBOX_METADATA_BRIDGE=br-guests\nXENBOX_METADATA_PORT=8169\n"
	writeFile(t, config, edited, 0o644)
	userData := rumprunUserData

	mustProvisionMetadata(t, destdir, &userData)
	mustProvisionMetadata(t, destdir, nil)

	if got := readFile(t, config); got != edited {
		t.Errorf("the user's config became %q, want %q kept", got, edited)
	}
}

func TestMetadataRefusesUserDataOverEC2sLimitBeforeChangingAnything(t *testing.T) {
	destdir := t.TempDir()
	userData := rumprunUserData
	mustProvisionMetadata(t, destdir, &userData)
	before := snapshot(t, destdir)
	tooLarge := strings.Repeat("x", 16385)

	result := provisionMetadata(t, destdir, &tooLarge)

	if result.err == nil {
		t.Fatal("16385 bytes of user-data succeeded, want a failure")
	}
	for _, part := range []string{"XENBOX_METADATA_USER_DATA is 16385 bytes", "16384"} {
		if !strings.Contains(result.log, part) {
			t.Errorf("error %q does not say %q", result.log, part)
		}
	}
	assertUnchanged(t, before, snapshot(t, destdir))
}
