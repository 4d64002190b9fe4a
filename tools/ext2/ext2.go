// Package ext2 reads files out of the ext2 filesystem of a unik boot image without mounting it,
// so xenbox can check an image's menu.lst and kernel as an ordinary user.
//
// It reads ext2, and ext3/ext4 as far as a read-only reader needs (no journal replay): classic
// block maps (direct, single, double and triple indirect) and extent trees, so images made by
// unik (`mkfs -t ext2`) and by `mkfs.ext4 -d` both read.
//
// The reader is written here because no maintained Go library reads ext2 block maps from an
// io.ReaderAt at an offset: github.com/diskfs/go-diskfs (v1.9.4) reads only ext4 with metadata
// checksums ("invalid checksum type 0" on an ext2 image) and needs a file-like backend.
//
// Everything read from the image is checked against the filesystem's own size before it is
// used, so a corrupt image gives an error, never a panic or a huge allocation.
package ext2

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrNotExt2 is wrapped by Open when the superblock magic is not ext2's.
var ErrNotExt2 = errors.New("not an ext2 filesystem")

// ErrCorrupt is wrapped by every error that comes from inconsistent on-disk data.
var ErrCorrupt = errors.New("corrupt ext2 filesystem")

const (
	superblockOffset = 1024
	superblockSize   = 1024
	ext2Magic        = 0xEF53
	rootInode        = 2

	// Incompatible features this reader understands.
	incompatFiletype  = 0x0002
	incompatRecover   = 0x0004
	incompatJournal   = 0x0008
	incompatExtents   = 0x0040
	incompat64Bit     = 0x0080
	incompatFlexBG    = 0x0200
	incompatLargeDir  = 0x4000
	incompatCsumSeed  = 0x2000
	supportedIncompat = incompatFiletype | incompatRecover | incompatJournal | incompatExtents |
		incompat64Bit | incompatFlexBG | incompatLargeDir | incompatCsumSeed
)

// FS is an ext2 filesystem inside an image, read through an io.ReaderAt.
type FS struct {
	image          io.ReaderAt
	offset         int64
	blockSize      int64
	blocksCount    uint64
	firstDataBlock uint64
	inodesCount    uint32
	inodesPerGroup uint32
	inodeSize      int64
	descSize       int64
	groupCount     uint64
	incompat       uint32
	label          string
}

// Open reads the superblock of the filesystem that starts offset bytes into image.
// It fails with an error wrapping ErrNotExt2 when the magic number is wrong.
func Open(image io.ReaderAt, offset int64) (*FS, error) {
	raw := make([]byte, superblockSize)
	if _, err := image.ReadAt(raw, offset+superblockOffset); err != nil {
		return nil, fmt.Errorf("read ext2 superblock at offset %d: %w", offset, notExt2(err))
	}
	if binary.LittleEndian.Uint16(raw[56:]) != ext2Magic {
		return nil, fmt.Errorf("read ext2 superblock at offset %d: %w", offset, ErrNotExt2)
	}

	fsys, err := parseSuperblock(image, offset, raw)
	if err != nil {
		return nil, fmt.Errorf("read ext2 superblock at offset %d: %w", offset, err)
	}

	if err := fsys.checkImageHoldsFilesystem(); err != nil {
		return nil, fmt.Errorf("read ext2 filesystem at offset %d: %w", offset, err)
	}
	return fsys, nil
}

// notExt2 turns a short image (nothing where the superblock would be) into ErrNotExt2.
func notExt2(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrNotExt2
	}
	return err
}

func parseSuperblock(image io.ReaderAt, offset int64, raw []byte) (*FS, error) {
	le := binary.LittleEndian
	logBlockSize := le.Uint32(raw[24:])
	if logBlockSize > 6 {
		return nil, corrupt("block size 1024<<%d", logBlockSize)
	}

	fsys := &FS{
		image:          image,
		offset:         offset,
		blockSize:      1024 << logBlockSize,
		blocksCount:    uint64(le.Uint32(raw[4:])),
		firstDataBlock: uint64(le.Uint32(raw[20:])),
		inodesCount:    le.Uint32(raw[0:]),
		inodesPerGroup: le.Uint32(raw[40:]),
		inodeSize:      128,
		descSize:       32,
		incompat:       le.Uint32(raw[96:]),
		label:          strings.TrimRight(string(raw[120:136]), "\x00"),
	}
	if le.Uint32(raw[76:]) >= 1 {
		fsys.inodeSize = int64(le.Uint16(raw[88:]))
	}
	if fsys.incompat&incompat64Bit != 0 {
		fsys.blocksCount |= uint64(le.Uint32(raw[0x150:])) << 32
		fsys.descSize = int64(le.Uint16(raw[254:]))
	}

	if unknown := fsys.incompat &^ supportedIncompat; unknown != 0 {
		// Limitation: meta_bg, inline_data, encryption and compression are not read; unik
		// and mkfs defaults never set them.
		return nil, fmt.Errorf("unsupported ext2 incompatible features %#x", unknown)
	}
	blocksPerGroup := uint64(le.Uint32(raw[32:]))
	switch {
	case fsys.inodeSize < 128 || fsys.inodeSize > fsys.blockSize ||
		fsys.inodeSize&(fsys.inodeSize-1) != 0:
		return nil, corrupt("inode size %d", fsys.inodeSize)
	case fsys.descSize < 32 || fsys.descSize > fsys.blockSize:
		return nil, corrupt("group descriptor size %d", fsys.descSize)
	case blocksPerGroup == 0 || fsys.inodesPerGroup == 0:
		return nil, corrupt("%d blocks and %d inodes per group", blocksPerGroup,
			fsys.inodesPerGroup)
	case fsys.blocksCount <= fsys.firstDataBlock:
		return nil, corrupt("%d blocks, first data block %d", fsys.blocksCount,
			fsys.firstDataBlock)
	}
	fsys.groupCount = (fsys.blocksCount - fsys.firstDataBlock + blocksPerGroup - 1) /
		blocksPerGroup
	if fsys.groupCount*uint64(fsys.inodesPerGroup) < uint64(fsys.inodesCount) {
		return nil, corrupt("%d groups of %d inodes cannot hold %d inodes", fsys.groupCount,
			fsys.inodesPerGroup, fsys.inodesCount)
	}
	return fsys, nil
}

// checkImageHoldsFilesystem reads the filesystem's last byte, so that every later size check
// against blocksCount is a check against data that really exists.
func (f *FS) checkImageHoldsFilesystem() error {
	if f.blocksCount > (1<<62)/uint64(f.blockSize) {
		return corrupt("%d blocks", f.blocksCount)
	}
	last := make([]byte, 1)
	end := int64(f.blocksCount) * f.blockSize
	if _, err := f.image.ReadAt(last, f.offset+end-1); err != nil {
		return fmt.Errorf("image ends before the filesystem's %d bytes: %w", end, err)
	}
	return nil
}

// Label returns the volume label, e.g. "boot" for a unik image.
func (f *FS) Label() string {
	return f.label
}

// ReadFile returns the contents of the file at the absolute path name, e.g.
// "/boot/grub/menu.lst". A missing file gives an error wrapping fs.ErrNotExist. Files larger
// than the filesystem itself (sparse ones) must be streamed with Open instead.
func (f *FS) ReadFile(name string) ([]byte, error) {
	file, err := f.Open(name)
	if err != nil {
		return nil, err
	}
	if uint64(file.Size()) > f.blocksCount*uint64(f.blockSize) {
		return nil, fmt.Errorf("read %s: %d bytes is more than the filesystem holds; "+
			"open it to stream it", name, file.Size())
	}
	data := make([]byte, file.Size())
	if _, err := io.ReadFull(file, data); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return data, nil
}

// readBlock reads whole block number block of the filesystem into buf (len(buf) <= blockSize).
func (f *FS) readBlock(block uint64, buf []byte) error {
	if block >= f.blocksCount {
		return corrupt("block %d beyond the filesystem's %d blocks", block, f.blocksCount)
	}
	_, err := f.image.ReadAt(buf, f.offset+int64(block)*f.blockSize)
	if err != nil {
		return fmt.Errorf("read block %d: %w", block, err)
	}
	return nil
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}
