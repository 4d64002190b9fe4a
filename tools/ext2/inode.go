package ext2

import (
	"encoding/binary"
	"sort"
)

const (
	modeTypeMask  = 0xF000
	modeDirectory = 0x4000
	modeRegular   = 0x8000
	modeSymlink   = 0xA000

	flagExtents    = 0x80000
	flagInlineData = 0x10000000

	inodeReadSize   = 128
	blockPointers   = 15
	directPointers  = 12
	extentMagic     = 0xF30A
	extentEntrySize = 12
	maxExtentDepth  = 5
	uninitExtentLen = 32768
	maxFileSize     = 1 << 62
)

// inode is the part of an on-disk inode this reader uses.
type inode struct {
	number uint32
	mode   uint16
	size   uint64
	flags  uint32
	block  [blockPointers * 4]byte
}

func (i inode) isDirectory() bool { return i.mode&modeTypeMask == modeDirectory }
func (i inode) isRegular() bool   { return i.mode&modeTypeMask == modeRegular }
func (i inode) isSymlink() bool   { return i.mode&modeTypeMask == modeSymlink }

// run maps length consecutive file blocks starting at logical to disk blocks from physical.
// File blocks that no run covers are holes and read as zeros.
type run struct {
	logical, physical, length uint64
}

// readInode reads inode number from its group's inode table.
func (f *FS) readInode(number uint32) (inode, error) {
	if number == 0 || number > f.inodesCount {
		return inode{}, corrupt("inode %d outside 1..%d", number, f.inodesCount)
	}
	group := uint64(number-1) / uint64(f.inodesPerGroup)
	index := uint64(number-1) % uint64(f.inodesPerGroup)

	table, err := f.inodeTable(group)
	if err != nil {
		return inode{}, err
	}
	position := table*uint64(f.blockSize) + index*uint64(f.inodeSize)
	if err := f.checkInside(position, inodeReadSize); err != nil {
		return inode{}, err
	}
	raw := make([]byte, inodeReadSize)
	if _, err := f.image.ReadAt(raw, f.offset+int64(position)); err != nil {
		return inode{}, corrupt("read inode %d: %v", number, err)
	}

	le := binary.LittleEndian
	node := inode{
		number: number,
		mode:   le.Uint16(raw[0:]),
		size:   uint64(le.Uint32(raw[4:])),
		flags:  le.Uint32(raw[32:]),
	}
	if node.isRegular() {
		node.size |= uint64(le.Uint32(raw[108:])) << 32
	}
	copy(node.block[:], raw[40:100])
	if node.size > maxFileSize {
		return inode{}, corrupt("inode %d claims %d bytes", number, node.size)
	}
	return node, nil
}

// inodeTable returns the first block of group's inode table from the group descriptors.
func (f *FS) inodeTable(group uint64) (uint64, error) {
	if group >= f.groupCount {
		return 0, corrupt("group %d of %d", group, f.groupCount)
	}
	position := (f.firstDataBlock+1)*uint64(f.blockSize) + group*uint64(f.descSize)
	if err := f.checkInside(position, uint64(f.descSize)); err != nil {
		return 0, err
	}
	raw := make([]byte, f.descSize)
	if _, err := f.image.ReadAt(raw, f.offset+int64(position)); err != nil {
		return 0, corrupt("read group descriptor %d: %v", group, err)
	}

	table := uint64(binary.LittleEndian.Uint32(raw[8:]))
	if f.descSize >= 64 {
		table |= uint64(binary.LittleEndian.Uint32(raw[0x28:])) << 32
	}
	return table, nil
}

// checkInside fails unless length bytes at position lie inside the filesystem.
func (f *FS) checkInside(position, length uint64) error {
	end := f.blocksCount * uint64(f.blockSize)
	if position > end || length > end-position {
		return corrupt("%d bytes at %d beyond the filesystem's %d bytes", length, position, end)
	}
	return nil
}

// dataRuns returns where the blocks of node's data are, sorted by file block.
func (f *FS) dataRuns(node inode) ([]run, error) {
	if node.flags&flagInlineData != 0 {
		// Limitation: inline data (tiny files kept inside the inode) is not read; mkfs
		// enables it only when asked to.
		return nil, corrupt("inode %d keeps its data inline, which is not supported",
			node.number)
	}
	fileBlocks := (node.size + uint64(f.blockSize) - 1) / uint64(f.blockSize)
	builder := &runBuilder{fsys: f, fileBlocks: fileBlocks}

	// A file cannot have more mapping blocks than its filesystem, so a map that claims more
	// is corrupt; the budget also ends a map whose blocks point at each other.
	budget := f.blocksCount
	var err error
	if node.flags&flagExtents != 0 {
		err = f.walkExtents(node.block[:], -1, &budget, builder)
	} else {
		err = f.walkBlockMap(node.block[:], &budget, builder)
	}
	if err != nil {
		return nil, corrupt("inode %d: %v", node.number, err)
	}
	return builder.sorted()
}

// runBuilder collects runs, merging blocks that follow each other on disk.
type runBuilder struct {
	fsys       *FS
	fileBlocks uint64
	mapped     uint64
	runs       []run
}

func (b *runBuilder) add(logical, physical, length uint64) error {
	if physical == 0 || logical >= b.fileBlocks || length == 0 {
		return nil
	}
	length = min(length, b.fileBlocks-logical)
	if physical >= b.fsys.blocksCount || length > b.fsys.blocksCount-physical {
		return corrupt("data block %d beyond the filesystem's %d blocks", physical,
			b.fsys.blocksCount)
	}
	b.mapped += length
	if b.mapped > b.fsys.blocksCount {
		return corrupt("file maps more blocks than the filesystem has")
	}

	if n := len(b.runs); n > 0 {
		last := &b.runs[n-1]
		if last.logical+last.length == logical && last.physical+last.length == physical {
			last.length += length
			return nil
		}
	}
	b.runs = append(b.runs, run{logical: logical, physical: physical, length: length})
	return nil
}

func (b *runBuilder) sorted() ([]run, error) {
	sort.Slice(b.runs, func(i, j int) bool { return b.runs[i].logical < b.runs[j].logical })
	for i := 1; i < len(b.runs); i++ {
		previous := b.runs[i-1]
		if previous.logical+previous.length > b.runs[i].logical {
			return nil, corrupt("file block %d mapped twice", b.runs[i].logical)
		}
	}
	return b.runs, nil
}

// walkBlockMap follows the classic ext2 block map: 12 direct pointers, then single, double
// and triple indirect blocks.
func (f *FS) walkBlockMap(pointers []byte, budget *uint64, builder *runBuilder) error {
	le := binary.LittleEndian
	logical := uint64(0)
	for i := 0; i < directPointers && logical < builder.fileBlocks; i++ {
		if err := builder.add(logical, uint64(le.Uint32(pointers[4*i:])), 1); err != nil {
			return err
		}
		logical++
	}
	for level := 1; level <= 3 && logical < builder.fileBlocks; level++ {
		block := uint64(le.Uint32(pointers[4*(directPointers+level-1):]))
		if err := f.walkIndirect(block, level, &logical, budget, builder); err != nil {
			return err
		}
	}
	return nil
}

// walkIndirect adds the blocks an indirect block of the given level points to, advancing
// logical past every file block it covers (holes included).
func (f *FS) walkIndirect(block uint64, level int, logical, budget *uint64,
	builder *runBuilder) error {
	perBlock := uint64(f.blockSize / 4)
	if block == 0 {
		span := uint64(1)
		for range level {
			span *= perBlock
		}
		*logical += min(span, builder.fileBlocks-*logical)
		return nil
	}

	if *budget == 0 {
		return corrupt("block map larger than the filesystem")
	}
	*budget--
	raw := make([]byte, f.blockSize)
	if err := f.readBlock(block, raw); err != nil {
		return err
	}
	for i := uint64(0); i < perBlock && *logical < builder.fileBlocks; i++ {
		pointer := uint64(binary.LittleEndian.Uint32(raw[4*i:]))
		if level == 1 {
			if err := builder.add(*logical, pointer, 1); err != nil {
				return err
			}
			*logical++
			continue
		}
		if err := f.walkIndirect(pointer, level-1, logical, budget, builder); err != nil {
			return err
		}
	}
	return nil
}

// walkExtents adds the leaf extents of the extent tree node in raw. wantDepth is the depth
// the node must declare (-1 for the root, whose depth is read from it); budget bounds the
// number of tree blocks read, so a tree that points at itself ends.
func (f *FS) walkExtents(raw []byte, wantDepth int, budget *uint64, builder *runBuilder) error {
	le := binary.LittleEndian
	if len(raw) < extentEntrySize || le.Uint16(raw[0:]) != extentMagic {
		return corrupt("extent node without magic")
	}
	entries := int(le.Uint16(raw[2:]))
	depth := int(le.Uint16(raw[6:]))
	if wantDepth >= 0 && depth != wantDepth || depth > maxExtentDepth {
		return corrupt("extent node of depth %d", depth)
	}
	if extentEntrySize*(1+entries) > len(raw) {
		return corrupt("extent node with %d entries in %d bytes", entries, len(raw))
	}

	for i := range entries {
		entry := raw[extentEntrySize*(1+i):]
		if depth == 0 {
			if err := addExtent(entry, builder); err != nil {
				return err
			}
			continue
		}

		if *budget == 0 {
			return corrupt("extent tree larger than the filesystem")
		}
		*budget--
		child := uint64(le.Uint32(entry[4:])) | uint64(le.Uint16(entry[8:]))<<32
		node := make([]byte, f.blockSize)
		if err := f.readBlock(child, node); err != nil {
			return err
		}
		if err := f.walkExtents(node, depth-1, budget, builder); err != nil {
			return err
		}
	}
	return nil
}

// addExtent adds one leaf extent; an uninitialized extent is left as a hole (reads as zeros).
func addExtent(entry []byte, builder *runBuilder) error {
	le := binary.LittleEndian
	logical := uint64(le.Uint32(entry[0:]))
	length := uint64(le.Uint16(entry[4:]))
	physical := uint64(le.Uint16(entry[6:]))<<32 | uint64(le.Uint32(entry[8:]))
	if length > uninitExtentLen {
		return nil
	}
	return builder.add(logical, physical, length)
}
