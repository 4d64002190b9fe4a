package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUserDataTakesAJSONObjectOrAFileHoldingOne(t *testing.T) {
	file := filepath.Join(t.TempDir(), "user-data.json")
	if err := os.WriteFile(file, []byte(`{"FROM":"file"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		value, want string
	}{
		{value: "", want: ""},
		{value: `{"GREETING":"hello world"}`, want: `{"GREETING":"hello world"}`},
		{value: file, want: `{"FROM":"file"}`},
	}
	for _, test := range tests {
		got, err := userData(test.value)
		if err != nil || got != test.want {
			t.Errorf("userData(%q) = %q, %v; want %q", test.value, got, err, test.want)
		}
	}
}

func TestUserDataThatIsNotAnObjectOfStringsIsAUsageError(t *testing.T) {
	for _, value := range []string{`[1,2]`, `{"PORT":8080}`, `not json`, `{"a":"b"`} {
		env := newTestEnvironment()

		code := env.run("debug", "--user-data", value, "unik-123")

		if code != exitUsage {
			t.Errorf("--user-data %q exited %d, want %d", value, code, exitUsage)
		}
		if !strings.Contains(env.stderr.String(), "not a JSON object of strings") {
			t.Errorf("--user-data %q said %q, want it to say what is expected", value,
				env.stderr.String())
		}
		if len(env.targets) != 0 {
			t.Errorf("--user-data %q reached for dom0 before refusing", value)
		}
	}
}

func TestEveryCommandRefusesADomainNameThatIsNotAFileName(t *testing.T) {
	for _, command := range []string{"sync", "debug", "gdb", "console", "destroy", "config"} {
		env := newTestEnvironment()

		code := env.run(command, "--name", "../../etc", "unik-123")

		if code != exitUsage {
			t.Errorf("%s --name ../../etc exited %d, want %d", command, code, exitUsage)
		}
		if len(env.targets) != 0 {
			t.Errorf("%s --name ../../etc reached for dom0", command)
		}
	}
}
