package ext2

import (
	"bytes"
	"io"
	"testing"
)

// FuzzOpenReadsCorruptImagesWithoutPanicking feeds damaged filesystems to the reader: it must
// answer with an error or data, never panic or allocate beyond the image's size.
// Run it with:
//
//	go test ./tools/ext2 -run "^$" -fuzz FuzzOpenReads -fuzztime 60s
func FuzzOpenReadsCorruptImagesWithoutPanicking(f *testing.F) {
	tree := map[string][]byte{
		"boot/grub/menu.lst": []byte("default=0\ntitle Unik\n"),
		"boot/program.bin":   pattern(20000, 7),
	}
	f.Add(makeImage(f, "mkfs.ext2", tree, "64k", "-b", "1024", "-N", "16", "-I", "128"))
	f.Add(makeImage(f, "mkfs.ext4", tree, "128k", "-b", "1024", "-N", "16",
		"-O", "^has_journal"))

	f.Fuzz(func(t *testing.T, image []byte) {
		fsys, err := Open(bytes.NewReader(image), 0)
		if err != nil {
			return
		}
		for _, name := range []string{"/boot/grub/menu.lst", "/boot/program.bin", "/x/y"} {
			data, err := fsys.ReadFile(name)
			if err == nil && len(data) > len(image) {
				t.Fatalf("%s: %d bytes from a %d-byte image", name, len(data), len(image))
			}
			if file, err := fsys.Open(name); err == nil {
				// A corrupt size can describe an endless hole; read a bounded amount.
				_, _ = io.CopyN(io.Discard, file, int64(4*len(image)))
			}
		}
	})
}
