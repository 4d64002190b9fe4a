package unik

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// testdata returns the path of a file in the repository's testdata/unik.
func testdata(name string) string {
	return filepath.Join("..", "..", "testdata", "unik", name)
}

// imageSpec says how buildImage differs from a plain unik AWS image.
type imageSpec struct {
	kernel     string // file in testdata/unik/kernels to install as /boot/program.bin
	layout     Layout
	menu       string // replaces menu.lst (and grub.conf) when not empty
	noMenu     bool   // leaves menu.lst and grub.conf out
	noKernel   bool   // leaves /boot/program.bin out
	modifiedAt time.Time
}

const partitionOffset = 1 << 20

// buildImage makes a boot image the way unik does (mkfs -L boot -I 128 -t ext2 over the
// boot tree) at dir/name and returns its path.
func buildImage(t *testing.T, dir, name string, spec imageSpec) string {
	t.Helper()
	if _, err := exec.LookPath("mkfs.ext2"); err != nil {
		t.Skipf("mkfs.ext2 not installed: %v", err)
	}
	tree := filepath.Join(t.TempDir(), "tree")
	copyTree(t, testdata("aws-tree"), tree)
	grub := filepath.Join(tree, "boot", "grub")
	switch {
	case spec.noMenu:
		mustDo(t, os.Remove(filepath.Join(grub, "menu.lst")))
		mustDo(t, os.Remove(filepath.Join(grub, "grub.conf")))
	case spec.menu != "":
		mustDo(t, os.WriteFile(filepath.Join(grub, "menu.lst"), []byte(spec.menu), 0o644))
		mustDo(t, os.WriteFile(filepath.Join(grub, "grub.conf"), []byte(spec.menu), 0o644))
	}
	if !spec.noKernel {
		copyFile(t, testdata("kernels/"+spec.kernel), filepath.Join(tree, "boot",
			"program.bin"))
	}

	image := filepath.Join(dir, name)
	args := []string{"-q", "-F", "-L", "boot", "-I", "128", "-d", tree}
	if spec.layout == Partitioned {
		args = append(args, "-E", "offset=1048576")
	}
	args = append(args, image, "4M")
	if out, err := exec.Command("mkfs.ext2", args...).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext2 %v: %v\n%s", args, err, out)
	}
	if spec.layout == Partitioned {
		writeMBR(t, image, partitionOffset/512, 4<<20/512)
	}
	if !spec.modifiedAt.IsZero() {
		mustDo(t, os.Chtimes(image, spec.modifiedAt, spec.modifiedAt))
	}
	return image
}

// writeMBR writes a DOS partition table with one Linux partition, as fdisk would.
func writeMBR(t *testing.T, image string, startSector, sectors uint32) {
	t.Helper()
	mbr := make([]byte, 512)
	entry := mbr[446:]
	entry[0] = 0x80 // bootable
	entry[4] = 0x83 // Linux
	binary.LittleEndian.PutUint32(entry[8:], startSector)
	binary.LittleEndian.PutUint32(entry[12:], sectors)
	mbr[510], mbr[511] = 0x55, 0xAA

	file, err := os.OpenFile(image, os.O_WRONLY, 0)
	mustDo(t, err)
	defer file.Close()
	_, err = file.WriteAt(mbr, 0)
	mustDo(t, err)
}

// makeDebugDir makes dir/name holding kernel (a file in testdata/unik/kernels) as
// program.bin; an empty kernel leaves program.bin out.
func makeDebugDir(t *testing.T, dir, name, kernel string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	mustDo(t, os.MkdirAll(path, 0o755))
	if kernel != "" {
		copyFile(t, testdata("kernels/"+kernel), filepath.Join(path, "program.bin"))
	}
	return path
}

func kernelSHA256(t *testing.T, kernel string) string {
	t.Helper()
	data, err := os.ReadFile(testdata("kernels/" + kernel))
	mustDo(t, err)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, entry os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		relative, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		if entry.IsDir() {
			return os.MkdirAll(filepath.Join(to, relative), 0o755)
		}
		copyFile(t, path, filepath.Join(to, relative))
		return nil
	})
	mustDo(t, err)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	mustDo(t, err)
	mustDo(t, os.MkdirAll(filepath.Dir(to), 0o755))
	mustDo(t, os.WriteFile(to, data, 0o644))
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
