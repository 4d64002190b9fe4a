package main

import (
	"os"
	"testing"

	"github.com/xenbox/xenbox/tools/unik"
	"github.com/xenbox/xenbox/tools/xlconfig"
)

func TestConfigRendersDomainFromFlagsAndEnvironment(t *testing.T) {
	t.Setenv("XENBOX_INSTANCE_TYPE", "c1.medium")
	os.Unsetenv("XENBOX_GDBSX_PORT")
	env := newTestEnvironment()

	code := env.run("config", "--name", "dbg", "--direct", "--bridge", "", "--vcpus", "1",
		"unik-123")

	if code != exitOK {
		t.Fatalf("config exited %d: %s", code, env.stderr.String())
	}
	instanceType, err := xlconfig.LookupInstanceType("c1.medium")
	if err != nil {
		t.Fatal(err)
	}
	want, err := xlconfig.Render(xlconfig.Domain{
		Name:        "dbg",
		MemoryMiB:   instanceType.MemoryMiB,
		VCPUs:       1,
		Boot:        xlconfig.Direct,
		PVGrubPath:  "/usr/local/lib/xenbox/pv-grub-hd0-x86_64.bin",
		Layout:      unik.WholeDisk,
		KernelPath:  "/var/lib/xenbox/images/dbg/program.bin",
		CommandLine: testArtifact().Image.Entry.CommandLine,
		DiskPath:    "/var/lib/xenbox/images/dbg/boot.img",
	})
	if err != nil {
		t.Fatal(err)
	}
	if env.stdout.String() != string(want) {
		t.Errorf("config printed\n%s\nwant\n%s", env.stdout.String(), want)
	}
	if len(env.targets) != 0 {
		t.Errorf("config reached for dom0")
	}
}

func TestConfigDefaultsToPVGrubOfTheImageLayout(t *testing.T) {
	os.Unsetenv("XENBOX_INSTANCE_TYPE")
	env := newTestEnvironment()
	partitioned := testArtifact()
	partitioned.Image.Layout = unik.Partitioned
	env.findArtifacts = func(string) ([]unik.Artifact, error) {
		return []unik.Artifact{partitioned}, nil
	}

	if code := env.run("config"); code != exitOK {
		t.Fatalf("config exited %d: %s", code, env.stderr.String())
	}

	instanceType, err := xlconfig.LookupInstanceType("t1.micro")
	if err != nil {
		t.Fatal(err)
	}
	want, err := xlconfig.Render(xlconfig.Domain{
		Name:       "unik-123",
		MemoryMiB:  instanceType.MemoryMiB,
		VCPUs:      instanceType.VCPUs,
		Boot:       xlconfig.PVGrub,
		PVGrubPath: "/usr/local/lib/xenbox/pv-grub-hd00-x86_64.bin",
		Layout:     unik.Partitioned,
		DiskPath:   "/var/lib/xenbox/images/unik-123/boot.img",
		Bridge:     "xenbr0",
	})
	if err != nil {
		t.Fatal(err)
	}
	if env.stdout.String() != string(want) {
		t.Errorf("config printed\n%s\nwant\n%s", env.stdout.String(), want)
	}
}
