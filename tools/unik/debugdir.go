package unik

import (
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ProgramBin is the name of the unstripped kernel in a debug dir.
const ProgramBin = "program.bin"

// DebugDir is a unik build directory (bootable-image-directory.*) holding the unstripped
// kernel that gdb reads symbols from.
type DebugDir struct {
	Path string
	// ProgramBin is the path of the unstripped kernel ELF.
	ProgramBin string
	// SHA256 is the hex SHA-256 of ProgramBin.
	SHA256 string
	// Class is the ELF class of ProgramBin, 32 or 64; gdbsx needs it.
	Class int
}

// ReadDebugDir reads the debug dir at path; a missing or non-ELF program.bin is an error.
func ReadDebugDir(path string) (DebugDir, error) {
	programBin := filepath.Join(path, ProgramBin)
	if _, err := os.Stat(programBin); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return DebugDir{}, fmt.Errorf("read debug dir %s: no %s; unik keeps it in "+
				"bootable-image-directory.* when run with --no-cleanup", path, ProgramBin)
		}
		return DebugDir{}, fmt.Errorf("read debug dir %s: %w", path, err)
	}

	class, err := ELFClass(programBin)
	if err != nil {
		return DebugDir{}, fmt.Errorf("read debug dir %s: %w", path, err)
	}

	file, err := os.Open(programBin)
	if err != nil {
		return DebugDir{}, fmt.Errorf("read debug dir %s: %w", path, err)
	}
	defer file.Close()
	sum, err := hashReader(file)
	if err != nil {
		return DebugDir{}, fmt.Errorf("read debug dir %s: hash %s: %w", path, ProgramBin, err)
	}
	return DebugDir{Path: path, ProgramBin: programBin, SHA256: sum, Class: class}, nil
}

// ELFClass returns 32 or 64, the word size of the ELF file at path.
func ELFClass(path string) (int, error) {
	file, err := elf.Open(path)
	if err != nil {
		return 0, fmt.Errorf("%s is not an ELF kernel: %w", path, err)
	}
	defer file.Close()

	// Xen PV guests on x86 are x86-64 or i386 kernels; anything else cannot boot here.
	switch {
	case file.Class == elf.ELFCLASS64 && file.Machine == elf.EM_X86_64:
		return 64, nil
	case file.Class == elf.ELFCLASS32 && file.Machine == elf.EM_386:
		return 32, nil
	}
	return 0, fmt.Errorf("%s is a %v %v ELF file, not an x86 Xen PV kernel", path,
		file.Class, file.Machine)
}
