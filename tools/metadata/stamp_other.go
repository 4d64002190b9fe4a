//go:build !unix

package metadata

import "os"

// stampOf identifies one version of a record file by its modification time and size.
func stampOf(info os.FileInfo) fileStamp {
	return fileStamp{modTime: info.ModTime(), size: info.Size()}
}
