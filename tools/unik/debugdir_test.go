package unik

import (
	"strings"
	"testing"
)

func TestReadDebugDirReadsClassAndHashOfProgramBin(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		kernel string
		class  int
	}{
		{"rump-64.bin", 64},
		{"rump-32.bin", 32},
	}
	for _, test := range tests {
		path := makeDebugDir(t, dir, "bootable-image-directory."+test.kernel, test.kernel)

		debugDir, err := ReadDebugDir(path)
		mustDo(t, err)
		if debugDir.Class != test.class || debugDir.SHA256 != kernelSHA256(t, test.kernel) ||
			debugDir.Path != path || debugDir.ProgramBin != path+"/program.bin" {
			t.Errorf("ReadDebugDir(%s) = %+v", test.kernel, debugDir)
		}
	}
}

func TestReadDebugDirRejectsMissingOrNonELFProgramBin(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name     string
		kernel   string
		wantText string
	}{
		{"missing", "", "no program.bin; unik keeps it in bootable-image-directory.* " +
			"when run with --no-cleanup"},
		{"not ELF", "not-elf.bin", "program.bin is not an ELF kernel"},
	}
	for _, test := range tests {
		path := makeDebugDir(t, dir, "bootable-image-directory."+test.name, test.kernel)

		_, err := ReadDebugDir(path)
		if err == nil || !strings.Contains(err.Error(), test.wantText) ||
			!strings.Contains(err.Error(), path) {
			t.Errorf("%s: ReadDebugDir = %v, want error naming %s containing %q", test.name,
				err, path, test.wantText)
		}
	}
}

func TestELFClassReadsWordSize(t *testing.T) {
	tests := map[string]int{"rump-64.bin": 64, "rump-32.bin": 32, "other-64.bin": 64}
	for kernel, want := range tests {
		class, err := ELFClass(testdata("kernels/" + kernel))
		if err != nil || class != want {
			t.Errorf("ELFClass(%s) = %d, %v; want %d", kernel, class, err, want)
		}
	}
	if _, err := ELFClass(testdata("kernels/not-elf.bin")); err == nil {
		t.Error("ELFClass accepted a shell script")
	}
}
