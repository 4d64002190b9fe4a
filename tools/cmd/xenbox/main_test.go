package main

import (
	"bytes"
	"context"
	"errors"
	"github.com/xenbox/xenbox/tools/unik"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

var errNoDom0 = errors.New("no dom0 in this test")

// testEnvironment has one paired artifact, unik-123, and records how dom0 would be reached.
type testEnvironment struct {
	environment
	stdout, stderr bytes.Buffer
	targets        []targetOptions
	verbose        []bool
}

func newTestEnvironment() *testEnvironment {
	env := &testEnvironment{}
	env.environment = environment{
		stdin:  strings.NewReader(""),
		stdout: &env.stdout,
		stderr: &env.stderr,
		connect: func(_ context.Context, target targetOptions, verbose io.Writer) (*dom0, error) {
			env.targets = append(env.targets, target)
			env.verbose = append(env.verbose, verbose != nil)
			return nil, errNoDom0
		},
		findArtifacts: func(string) ([]unik.Artifact, error) {
			return []unik.Artifact{testArtifact()}, nil
		},
		pairArtifact: func(string, string) (unik.Artifact, error) {
			return testArtifact(), nil
		},
	}
	return env
}

func testArtifact() unik.Artifact {
	return unik.Artifact{
		Name: "unik-123",
		Image: unik.BootImage{
			Path:         "/home/dev/.unik/tmp/boot-creator-result.img.123",
			ModTime:      time.Now().Add(-5 * time.Minute),
			KernelSHA256: "0123456789abcdef0123",
			Entry: unik.MenuEntry{Kernel: "/boot/program.bin",
				CommandLine: `{"net":{"if":"xenif0"},"blk": {"source":"etfs"}}`},
		},
		DebugDir: unik.DebugDir{
			Path:       "/home/dev/.unik/tmp/bootable-image-directory.456",
			ProgramBin: "/home/dev/.unik/tmp/bootable-image-directory.456/program.bin",
			Class:      64,
		},
	}
}

func (env *testEnvironment) run(args ...string) int {
	return run(context.Background(), append([]string{"xenbox"}, args...), &env.environment)
}

func TestUsageErrorsExitWithTwo(t *testing.T) {
	tests := map[string][]string{
		"unknown flag":            {"debug", "--no-such-flag"},
		"unknown global flag":     {"--no-such-flag", "images"},
		"unknown command":         {"frobnicate"},
		"two images":              {"debug", "unik-1", "unik-2"},
		"image without debug dir": {"config", "--image", "/tmp/boot.img"},
		"image and positional":    {"config", "--image", "a", "--debug-dir", "b", "unik-1"},
		"unknown target":          {"--target", "qemu", "doctor"},
		"ssh target without host": {"--target", "ssh://root@:22", "doctor"},
		"gdb arguments for debug": {"debug", "--", "-batch"},
		"follow without log":      {"console", "--follow", "unik-123"},
		"port out of range":       {"config", "--port", "70000"},
		"bad number":              {"config", "--memory", "lots"},
		"arguments to images":     {"images", "unik-123"},
		"bad box port range":      {"--box-gdbsx-ports", "10003-9999", "doctor"},
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			env := newTestEnvironment()

			code := env.run(args...)

			if code != exitUsage {
				t.Errorf("xenbox %q exited %d, want %d; stderr:\n%s", args, code, exitUsage,
					env.stderr.String())
			}
			if len(env.targets) != 0 {
				t.Errorf("xenbox %q reached for dom0 despite the usage error", args)
			}
		})
	}
}

func TestFailureExitsWithOneAndSaysWhy(t *testing.T) {
	env := newTestEnvironment()

	code := env.run("destroy", "unik-123")

	if code != exitFailure {
		t.Errorf("exit code %d, want %d", code, exitFailure)
	}
	if !strings.Contains(env.stderr.String(), "xenbox: no dom0 in this test") {
		t.Errorf("stderr does not say why: %q", env.stderr.String())
	}
}

func TestTargetComesFromFlagsOrEnvironment(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want targetOptions
	}{
		{
			name: "defaults",
			args: []string{"doctor"},
			want: targetOptions{Target: "auto", BoxDir: ".", SSHHost: "default",
				BoxPorts: []int{9999, 10000, 10001, 10002, 10003}},
		},
		{
			name: "environment",
			env: map[string]string{"XENBOX_TARGET": "vagrant", "XENBOX_BOX_DIR": "/boxes/xen",
				"XENBOX_SSH_CONFIG": "/tmp/ssh.cfg", "XENBOX_SSH_HOST": "xen",
				"XENBOX_GDBSX_PORTS": "7000-7001"},
			args: []string{"doctor"},
			want: targetOptions{Target: "vagrant", BoxDir: "/boxes/xen",
				BoxPorts: []int{7000, 7001}, SSHConfig: "/tmp/ssh.cfg", SSHHost: "xen"},
		},
		{
			name: "flags win over environment",
			env:  map[string]string{"XENBOX_TARGET": "vagrant"},
			args: []string{"--target", "ssh://root@127.0.0.1:2222", "--identity", "/k",
				"doctor"},
			want: targetOptions{Target: "ssh://root@127.0.0.1:2222", BoxDir: ".",
				BoxPorts: []int{9999, 10000, 10001, 10002, 10003}, SSHHost: "default",
				Identity: "/k"},
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			for _, name := range []string{"XENBOX_TARGET", "XENBOX_BOX_DIR",
				"XENBOX_SSH_CONFIG", "XENBOX_SSH_HOST", "XENBOX_GDBSX_PORTS"} {
				t.Setenv(name, test.env[name]) // restored after the test
				if _, set := test.env[name]; !set {
					os.Unsetenv(name)
				}
			}
			env := newTestEnvironment()

			env.run(test.args...)

			if len(env.targets) != 1 || !reflect.DeepEqual(env.targets[0], test.want) {
				t.Errorf("connected with %+v, want %+v", env.targets, test.want)
			}
		})
	}
}

func TestVerboseShowsCommands(t *testing.T) {
	env := newTestEnvironment()

	env.run("-v", "destroy", "unik-123")

	if !reflect.DeepEqual(env.verbose, []bool{true}) {
		t.Errorf("verbose passed as %v, want [true]", env.verbose)
	}
}

func TestSplitAtDashDashHandsTheRestToGDB(t *testing.T) {
	args, gdbArgs := splitAtDashDash([]string{"xenbox", "gdb", "unik-1", "--", "-batch",
		"-ex", "continue", "--"})

	if want := []string{"xenbox", "gdb", "unik-1"}; !reflect.DeepEqual(args, want) {
		t.Errorf("xenbox args %q, want %q", args, want)
	}
	if want := []string{"-batch", "-ex", "continue", "--"}; !reflect.DeepEqual(gdbArgs, want) {
		t.Errorf("gdb args %q, want %q", gdbArgs, want)
	}
}

func TestImagesListsNewestFirstWithUnpairedReason(t *testing.T) {
	env := newTestEnvironment()
	unpaired := unik.Artifact{Name: "unik-77",
		Image: unik.BootImage{Path: "/t/boot-creator-result.img.77", Layout: unik.Partitioned,
			ModTime: time.Now().Add(-3 * time.Hour)},
		PairErr: errors.New("no debug dir has its /boot/program.bin")}
	env.findArtifacts = func(string) ([]unik.Artifact, error) {
		return []unik.Artifact{testArtifact(), unpaired}, nil
	}

	if code := env.run("images"); code != exitOK {
		t.Fatalf("images exited %d: %s", code, env.stderr.String())
	}

	lines := strings.Split(strings.TrimSpace(env.stdout.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("images printed %d lines, want 3:\n%s", len(lines), env.stdout.String())
	}
	for i, want := range [][]string{
		{"NAME", "IMAGE", "DEBUG DIR", "KERNEL", "AGE", "LAYOUT"},
		{"unik-123", "boot-creator-result.img.123", "bootable-image-directory.456",
			"0123456789ab", "5m", "hd0"},
		{"unik-77", "none: no debug dir has its /boot/program.bin", "3h", "hd00"},
	} {
		for _, field := range want {
			if !strings.Contains(lines[i], field) {
				t.Errorf("line %d %q lacks %q", i, lines[i], field)
			}
		}
	}
}

func TestGDBExitStatusBecomesXenboxExitStatus(t *testing.T) {
	var stderr bytes.Buffer
	if code := report(&stderr, exitStatus(3)); code != 3 || stderr.Len() != 0 {
		t.Errorf("report(exitStatus(3)) = %d, printed %q; want 3 and nothing", code,
			stderr.String())
	}
}
