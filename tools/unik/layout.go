// Package unik finds the artifacts `unik build --no-cleanup` leaves behind and reads them: the
// boot image (an ext2 disk that PV-GRUB boots through /boot/grub/menu.lst) and the debug dir
// (the build directory holding the unstripped program.bin that gdb needs). It pairs the two by
// content, since the numbers unik appends to their names are unrelated.
package unik

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/xenbox/xenbox/tools/ext2"
)

// Layout says where the boot filesystem sits on the image's disk, which decides the PV-GRUB
// flavour that boots it.
type Layout int

const (
	// WholeDisk is an ext2 filesystem on the whole disk, booted by AWS's "hd0" PV-GRUB.
	// It is what unik builds for AWS.
	WholeDisk Layout = iota
	// Partitioned is an ext2 filesystem in the first MBR partition, booted by AWS's "hd00"
	// PV-GRUB.
	Partitioned
)

// GrubRoot returns the GRUB device holding the boot filesystem: "(hd0)" or "(hd0,0)".
func (l Layout) GrubRoot() string {
	if l == Partitioned {
		return "(hd0,0)"
	}
	return "(hd0)"
}

// String returns "whole-disk" or "partitioned".
func (l Layout) String() string {
	if l == Partitioned {
		return "partitioned"
	}
	return "whole-disk"
}

const (
	sectorSize          = 512
	mbrSignatureOffset  = 510
	mbrPartitionsOffset = 446
)

// errNoBootFilesystem says the image holds no ext2 filesystem where PV-GRUB looks for one.
var errNoBootFilesystem = errors.New("not an ext2 filesystem, and its first MBR partition " +
	"does not hold one either; is it a unik image built for AWS?")

// locateFilesystem finds the boot filesystem: on the whole disk, else in the first MBR
// partition.
func locateFilesystem(image io.ReaderAt) (*ext2.FS, Layout, int64, error) {
	fsys, err := ext2.Open(image, 0)
	if err == nil {
		return fsys, WholeDisk, 0, nil
	}
	if !errors.Is(err, ext2.ErrNotExt2) {
		return nil, WholeDisk, 0, err
	}

	offset, ok := firstPartitionOffset(image)
	if !ok {
		return nil, WholeDisk, 0, errNoBootFilesystem
	}
	fsys, err = ext2.Open(image, offset)
	if errors.Is(err, ext2.ErrNotExt2) {
		return nil, Partitioned, 0, errNoBootFilesystem
	}
	if err != nil {
		return nil, Partitioned, 0, fmt.Errorf("first MBR partition: %w", err)
	}
	return fsys, Partitioned, offset, nil
}

// firstPartitionOffset returns the byte offset of the first MBR partition, if the image has
// an MBR with a first partition.
func firstPartitionOffset(image io.ReaderAt) (int64, bool) {
	sector := make([]byte, sectorSize)
	if _, err := image.ReadAt(sector, 0); err != nil {
		return 0, false
	}
	if sector[mbrSignatureOffset] != 0x55 || sector[mbrSignatureOffset+1] != 0xAA {
		return 0, false
	}

	entry := sector[mbrPartitionsOffset:]
	partitionType := entry[4]
	startSector := binary.LittleEndian.Uint32(entry[8:])
	if partitionType == 0 || startSector == 0 {
		return 0, false
	}
	return int64(startSector) * sectorSize, true
}
