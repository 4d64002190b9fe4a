package unik

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadBootImageReadsWholeDiskImage(t *testing.T) {
	path := buildImage(t, t.TempDir(), "boot-creator-result.img.123",
		imageSpec{kernel: "rump-64.bin"})

	image, err := ReadBootImage(path)
	mustDo(t, err)

	if image.Layout != WholeDisk || image.FSOffset != 0 {
		t.Errorf("layout %v at %d, want whole-disk at 0", image.Layout, image.FSOffset)
	}
	if image.Path != path || image.Size != 4<<20 || image.ModTime.IsZero() {
		t.Errorf("path %q size %d modtime %v", image.Path, image.Size, image.ModTime)
	}
	if image.Entry.CommandLine != rumpCommandLine || image.Entry.Root != "(hd0)" {
		t.Errorf("entry = %+v", image.Entry)
	}
	if !image.Menu.Hidden || image.Menu.Fallback != 1 {
		t.Errorf("menu = %+v", image.Menu)
	}
	if want := kernelSHA256(t, "rump-64.bin"); image.KernelSHA256 != want {
		t.Errorf("KernelSHA256 = %s, want %s", image.KernelSHA256, want)
	}
	if image.KernelPath() != "/boot/program.bin" {
		t.Errorf("KernelPath = %s", image.KernelPath())
	}
}

func TestReadBootImageReadsFirstPartitionOfPartitionedImage(t *testing.T) {
	menu := strings.Replace(readTestdata(t, "menus/rump.menu.lst"), "root (hd0)",
		"root (hd0,0)", 1)
	path := buildImage(t, t.TempDir(), "boot-creator-result.img.7",
		imageSpec{kernel: "rump-32.bin", layout: Partitioned, menu: menu})

	image, err := ReadBootImage(path)
	mustDo(t, err)

	if image.Layout != Partitioned || image.FSOffset != partitionOffset {
		t.Errorf("layout %v at %d, want partitioned at %d", image.Layout, image.FSOffset,
			partitionOffset)
	}
	if image.Layout.GrubRoot() != image.Entry.Root {
		t.Errorf("GrubRoot %s, menu root %s", image.Layout.GrubRoot(), image.Entry.Root)
	}
	if want := kernelSHA256(t, "rump-32.bin"); image.KernelSHA256 != want {
		t.Errorf("KernelSHA256 = %s, want %s", image.KernelSHA256, want)
	}
}

func TestReadBootImageExplainsWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	notExt2 := filepath.Join(dir, "boot-creator-result.img.1")
	mustDo(t, os.WriteFile(notExt2, []byte(strings.Repeat("not a disk ", 1000)), 0o644))

	tests := []struct {
		name     string
		path     string
		wantText string
	}{
		{"not ext2", notExt2, "not an ext2 filesystem, and its first MBR partition " +
			"does not hold one either"},
		{"no menu.lst", buildImage(t, dir, "boot-creator-result.img.2",
			imageSpec{kernel: "rump-64.bin", noMenu: true}),
			"no /boot/grub/menu.lst; PV-GRUB boots unik images from it"},
		{"menu without entries", buildImage(t, dir, "boot-creator-result.img.3",
			imageSpec{kernel: "rump-64.bin",
				menu: readTestdata(t, "menus/no-entries.menu.lst")}),
			"/boot/grub/menu.lst: menu has no boot entries"},
		{"kernel missing", buildImage(t, dir, "boot-creator-result.img.4",
			imageSpec{noKernel: true}),
			"kernel /boot/program.bin named by /boot/grub/menu.lst is missing"},
		{"no such file", filepath.Join(dir, "absent"), "no such file or directory"},
	}
	for _, test := range tests {
		_, err := ReadBootImage(test.path)
		if err == nil || !strings.Contains(err.Error(), test.wantText) ||
			!strings.Contains(err.Error(), test.path) {
			t.Errorf("%s: ReadBootImage = %v\nwant an error naming %s and containing %q",
				test.name, err, test.path, test.wantText)
		}
	}
}

func TestLayoutNamesPVGrubRoot(t *testing.T) {
	if WholeDisk.GrubRoot() != "(hd0)" || Partitioned.GrubRoot() != "(hd0,0)" {
		t.Errorf("GrubRoot: whole disk %s, partitioned %s", WholeDisk.GrubRoot(),
			Partitioned.GrubRoot())
	}
	if WholeDisk.String() != "whole-disk" || Partitioned.String() != "partitioned" {
		t.Errorf("String: %s, %s", WholeDisk, Partitioned)
	}
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(testdata(name))
	mustDo(t, err)
	return string(data)
}

func TestReadBootImageRefusesAKernelLargerThanTheImageWithoutReadingIt(t *testing.T) {
	path := buildImage(t, t.TempDir(), "boot-creator-result.img.123",
		imageSpec{kernel: "rump-64.bin"})
	damage := exec.Command("debugfs", "-w", "-R", "sif /boot/program.bin size 0x7fffffffffff",
		path)
	if out, err := damage.CombinedOutput(); err != nil {
		t.Fatalf("debugfs: %v\n%s", err, out)
	}

	done := make(chan error, 1)
	go func() {
		_, err := ReadBootImage(path)
		done <- err
	}()

	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "the filesystem is damaged") {
			t.Errorf("ReadBootImage = %v, want a damaged-filesystem error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ReadBootImage still hashing a 128 TiB kernel after 10 s")
	}
}
