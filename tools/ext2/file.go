package ext2

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// maxSymlinkHops bounds how many symbolic links one path may pass through.
const maxSymlinkHops = 8

// File is an open regular file of the filesystem; it streams the data, so hashing a large
// kernel does not load it into memory.
type File struct {
	fsys     *FS
	name     string
	size     int64
	runs     []run
	position int64
}

// Open opens the regular file at the absolute path name for reading, following symbolic
// links. A missing file gives an error wrapping fs.ErrNotExist.
func (f *FS) Open(name string) (*File, error) {
	node, err := f.resolve(name)
	if err != nil {
		return nil, err
	}
	if !node.isRegular() {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("not a regular file")}
	}

	runs, err := f.dataRuns(node)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &File{fsys: f, name: name, size: int64(node.size), runs: runs}, nil
}

// Size returns the file's length in bytes.
func (file *File) Size() int64 {
	return file.size
}

// Read reads the next bytes of the file.
func (file *File) Read(p []byte) (int, error) {
	n, err := file.ReadAt(p, file.position)
	file.position += int64(n)
	return n, err
}

// ReadAt reads len(p) bytes from offset off of the file; holes read as zeros.
func (file *File) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: file.name, Err: fs.ErrInvalid}
	}
	read := 0
	for read < len(p) && off < file.size {
		n, err := file.readChunk(p[read:], off)
		read += n
		off += int64(n)
		if err != nil {
			return read, &fs.PathError{Op: "read", Path: file.name, Err: err}
		}
	}
	if read < len(p) {
		return read, io.EOF
	}
	return read, nil
}

// readChunk reads from off up to the end of the run or hole that holds off.
func (file *File) readChunk(p []byte, off int64) (int, error) {
	blockSize := file.fsys.blockSize
	logical := uint64(off / blockSize)
	length := min(int64(len(p)), file.size-off)

	index := sort.Search(len(file.runs), func(i int) bool {
		return file.runs[i].logical+file.runs[i].length > logical
	})
	if index == len(file.runs) || file.runs[index].logical > logical {
		holeEnd := file.size
		if index < len(file.runs) {
			holeEnd = min(holeEnd, int64(file.runs[index].logical)*blockSize)
		}
		n := min(length, holeEnd-off)
		clear(p[:n])
		return int(n), nil
	}

	found := file.runs[index]
	runEnd := int64(found.logical+found.length) * blockSize
	n := min(length, runEnd-off)
	disk := int64(found.physical)*blockSize + off - int64(found.logical)*blockSize
	return file.fsys.image.ReadAt(p[:n], file.fsys.offset+disk)
}

// Close releases nothing; it exists so a File is an io.ReadCloser.
func (file *File) Close() error {
	return nil
}

// resolve finds the inode at the absolute path name, following symbolic links.
func (f *FS) resolve(name string) (inode, error) {
	if !strings.HasPrefix(name, "/") {
		return inode{}, &fs.PathError{Op: "open", Path: name,
			Err: errors.New("path is not absolute")}
	}

	remaining := strings.Split(strings.Trim(path.Clean(name), "/"), "/")
	walked := "/"
	node, err := f.readInode(rootInode)
	for hops := 0; err == nil && len(remaining) > 0; {
		component := remaining[0]
		remaining = remaining[1:]
		if component == "" {
			continue
		}
		if !node.isDirectory() {
			return inode{}, &fs.PathError{Op: "open", Path: name,
				Err: fmt.Errorf("%s is not a directory", walked)}
		}

		var child inode
		child, err = f.lookup(node, component, name)
		if err != nil {
			break
		}
		if !child.isSymlink() {
			node, walked = child, path.Join(walked, component)
			continue
		}

		hops++
		if hops > maxSymlinkHops {
			return inode{}, &fs.PathError{Op: "open", Path: name,
				Err: errors.New("too many symbolic links")}
		}
		var target string
		target, err = f.readSymlink(child)
		if err != nil {
			break
		}
		if !strings.HasPrefix(target, "/") {
			target = path.Join(walked, target)
		}
		remaining = append(strings.Split(strings.Trim(path.Clean(target), "/"), "/"),
			remaining...)
		walked = "/"
		node, err = f.readInode(rootInode)
	}
	if err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			return inode{}, err
		}
		return inode{}, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return node, nil
}

// readSymlink returns a symbolic link's target: kept in the inode when shorter than 60 bytes
// ("fast" symlink), otherwise in data blocks like a file.
func (f *FS) readSymlink(link inode) (string, error) {
	if link.size < uint64(len(link.block)) && link.flags&flagExtents == 0 {
		return string(link.block[:link.size]), nil
	}

	if link.size > uint64(f.blockSize) {
		return "", corrupt("symbolic link %d of %d bytes", link.number, link.size)
	}
	runs, err := f.dataRuns(link)
	if err != nil {
		return "", err
	}
	file := &File{fsys: f, name: "symlink", size: int64(link.size), runs: runs}
	target := make([]byte, link.size)
	if _, err := io.ReadFull(file, target); err != nil {
		return "", err
	}
	return string(target), nil
}

// lookup finds the entry called component in directory dir, scanning it block by block.
// The hashed index of large directories needs no special case: its blocks read as empty
// entries to a linear scan.
func (f *FS) lookup(dir inode, component, name string) (inode, error) {
	if dir.size > f.blocksCount*uint64(f.blockSize) {
		return inode{}, corrupt("directory inode %d claims %d bytes", dir.number, dir.size)
	}
	runs, err := f.dataRuns(dir)
	if err != nil {
		return inode{}, err
	}
	dirFile := &File{fsys: f, name: name, size: int64(dir.size), runs: runs}
	block := make([]byte, f.blockSize)
	for off := int64(0); off < dirFile.size; off += f.blockSize {
		n, err := dirFile.ReadAt(block, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return inode{}, err
		}

		number, err := f.findEntry(block[:n], component)
		if err != nil {
			return inode{}, corrupt("directory inode %d: %v", dir.number, err)
		}
		if number != 0 {
			return f.readInode(number)
		}
	}
	return inode{}, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// findEntry returns the inode number of the entry called component in one directory block,
// or 0 when the block has no such entry.
func (f *FS) findEntry(block []byte, component string) (uint32, error) {
	le := binary.LittleEndian
	for position := 0; position+8 <= len(block); {
		number := le.Uint32(block[position:])
		recordLength := int(le.Uint16(block[position+4:]))
		nameLength := int(block[position+6])
		if f.incompat&incompatFiletype == 0 {
			nameLength = int(le.Uint16(block[position+6:]))
		}
		if recordLength < 8 || position+recordLength > len(block) ||
			8+nameLength > recordLength {
			return 0, fmt.Errorf("bad entry at byte %d", position)
		}

		entryName := block[position+8 : position+8+nameLength]
		if number != 0 && string(entryName) == component {
			return number, nil
		}
		position += recordLength
	}
	return 0, nil
}
