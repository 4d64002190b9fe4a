//go:build unix

package metadata

import (
	"os"
	"syscall"
)

// stampOf identifies one version of a record file; the inode changes on an atomic rename.
func stampOf(info os.FileInfo) fileStamp {
	stamp := fileStamp{modTime: info.ModTime(), size: info.Size()}
	if sys, ok := info.Sys().(*syscall.Stat_t); ok {
		stamp.inode = uint64(sys.Ino)
	}
	return stamp
}
