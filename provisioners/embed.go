// Package provisioners carries the box's provisioner scripts, the single source of truth for
// what a xenbox dom0 contains, inside Go programs: the Packer plugin uploads them into the VM
// it bakes into a box, byte for byte as they are in this directory.
package provisioners

import (
	"embed"
	"io/fs"
	"path"
	"strings"
)

// Files holds the provisioner scripts, the files they read from their own directory (the vif
// hook and its helper) and the patches they apply, under the names they have here.
//
//go:embed *.sh vif-metadata vif-metadata.hook patches/*.patch
var Files embed.FS

// Names lists every file of Files in lexical order, e.g. "xen.sh" and
// "patches/gdbsx-answer-detach.patch".
func Names() ([]string, error) {
	var names []string
	err := fs.WalkDir(Files, ".", func(name string, entry fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !entry.IsDir() {
			names = append(names, name)
		}
		return nil
	})
	return names, err
}

// Mode is the permission a file of Files has in the repository: embedding drops file modes,
// so they are restated here. Everything at the top level is a script (common.sh too, so that
// it can be run by path); patches are data.
func Mode(name string) fs.FileMode {
	if strings.Contains(name, "/") || path.Ext(name) == ".patch" {
		return 0o644
	}
	return 0o755
}
