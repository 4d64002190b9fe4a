package main

import (
	"context"
	"io"
	"os"
	"os/exec"

	"github.com/xenbox/xenbox/tools/session"
	"github.com/xenbox/xenbox/tools/unik"
)

// environment is everything xenbox reaches outside its own logic, so that tests can replace it.
type environment struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	// gdbArgs are the arguments after "--", passed to gdb.
	gdbArgs []string

	// connect reaches dom0 as the global flags say.
	connect func(ctx context.Context, target targetOptions, verbose io.Writer) (*dom0, error)
	// findArtifacts and pairArtifact read unik's leftovers on this machine.
	findArtifacts func(unikTmp string) ([]unik.Artifact, error)
	pairArtifact  func(imagePath, debugDirPath string) (unik.Artifact, error)
	// newDebugger returns the local gdb; binary is the GDB environment variable or "gdb".
	newDebugger func(binary string) session.Debugger
	// localGDBVersion runs `gdb --version` on this machine.
	localGDBVersion func(ctx context.Context, binary string) ([]byte, error)
}

func defaultEnvironment() *environment {
	env := &environment{
		stdin:         os.Stdin,
		stdout:        os.Stdout,
		stderr:        os.Stderr,
		connect:       connect,
		findArtifacts: unik.Find,
		pairArtifact:  unik.Pair,
		localGDBVersion: func(ctx context.Context, binary string) ([]byte, error) {
			return exec.CommandContext(ctx, binary, "--version").Output()
		},
	}
	env.newDebugger = func(binary string) session.Debugger {
		return session.LocalGDB{Binary: binary, Stdin: env.stdin, Stdout: env.stdout,
			Stderr: env.stderr}
	}
	return env
}

// gdbBinary is the gdb xenbox runs: $GDB, or gdb from PATH.
func gdbBinary() string {
	if binary := os.Getenv("GDB"); binary != "" {
		return binary
	}
	return "gdb"
}
