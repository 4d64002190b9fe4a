package ext2

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// makeImage runs mkfs (e.g. "mkfs.ext2") on a copy of tree and returns the image's bytes.
func makeImage(t testing.TB, mkfs string, tree map[string][]byte, size string,
	args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath(mkfs); err != nil {
		t.Skipf("%s not installed: %v", mkfs, err)
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "tree")
	for name, data := range tree {
		target := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	image := filepath.Join(dir, "image")
	cmd := exec.Command(mkfs, append(append([]string{"-q", "-F", "-d", root}, args...),
		image, size)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	data, err := os.ReadFile(image)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// pattern returns n bytes that differ from block to block, so a misplaced block is noticed.
func pattern(n int, seed byte) []byte {
	data := make([]byte, n)
	state := uint32(seed) + 1
	for i := range data {
		state = state*1664525 + 1013904223
		data[i] = byte(state >> 24)
	}
	return data
}

func TestReadFileReturnsContentsForEveryBlockMapLevel(t *testing.T) {
	tree := map[string][]byte{
		"boot/grub/menu.lst": []byte("default=0\n"),
		"direct":             pattern(12*1024, 1),
		"single-indirect":    pattern(200*1024, 2),
		"double-indirect":    pattern(300*1024+17, 3),
	}
	image := makeImage(t, "mkfs.ext2", tree, "4M", "-b", "1024", "-I", "128", "-L", "boot")

	fsys, err := Open(bytes.NewReader(image), 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range tree {
		got, err := fsys.ReadFile("/" + name)
		if err != nil {
			t.Fatalf("ReadFile(/%s): %v", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("ReadFile(/%s): %d bytes differ from the %d written", name, len(got),
				len(want))
		}
	}
}

func TestReadFileFollowsTripleIndirectBlocksAndHoles(t *testing.T) {
	dir := t.TempDir()
	sparse := filepath.Join(dir, "tree", "sparse")
	if err := os.MkdirAll(filepath.Dir(sparse), 0o755); err != nil {
		t.Fatal(err)
	}
	const tail = 68 << 20 // beyond 12+256+65536 blocks of 1 KiB: triple indirect
	file, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := file.WriteAt([]byte("end of sparse"), tail); err != nil {
		t.Fatal(err)
	}
	file.Close()
	image := filepath.Join(dir, "image")
	out, err := exec.Command("mkfs.ext2", "-q", "-b", "1024", "-d", filepath.Dir(sparse),
		image, "8M").CombinedOutput()
	if err != nil {
		t.Skipf("mkfs.ext2: %v\n%s", err, out)
	}
	data, err := os.ReadFile(image)
	if err != nil {
		t.Fatal(err)
	}

	fsys, err := Open(bytes.NewReader(data), 0)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := fsys.Open("/sparse")
	if err != nil {
		t.Fatal(err)
	}
	if opened.Size() != tail+13 {
		t.Fatalf("size %d, want %d", opened.Size(), tail+13)
	}
	end := make([]byte, 13)
	if _, err := opened.ReadAt(end, tail); err != nil || string(end) != "end of sparse" {
		t.Errorf("tail = %q, %v", end, err)
	}
	hole := make([]byte, 4096)
	hole[0] = 1
	if _, err := opened.ReadAt(hole, 1<<20); err != nil || !bytes.Equal(hole,
		make([]byte, 4096)) {
		t.Errorf("hole did not read as zeros: %v", err)
	}
}

func TestReadFileReadsExt4Extents(t *testing.T) {
	tree := map[string][]byte{
		"boot/program.bin": pattern(3<<20+5, 4),
		"small":            []byte("hello"),
	}
	image := makeImage(t, "mkfs.ext4", tree, "16M", "-L", "boot")

	fsys, err := Open(bytes.NewReader(image), 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range tree {
		got, err := fsys.ReadFile("/" + name)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("ReadFile(/%s): %d bytes, %v; want %d bytes", name, len(got), err,
				len(want))
		}
	}
	if fsys.Label() != "boot" {
		t.Errorf("label %q, want boot", fsys.Label())
	}
}

func TestOpenReadsFilesystemAtOffset(t *testing.T) {
	const offset = 1 << 20
	tree := map[string][]byte{"boot/program.bin": pattern(40000, 5)}
	image := makeImage(t, "mkfs.ext2", tree, "4M", "-L", "boot", "-E", "offset=1048576")

	if _, err := Open(bytes.NewReader(image), 0); !errors.Is(err, ErrNotExt2) {
		t.Errorf("Open at 0: %v, want ErrNotExt2", err)
	}
	fsys, err := Open(bytes.NewReader(image), offset)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fsys.ReadFile("/boot/program.bin")
	if err != nil || !bytes.Equal(got, tree["boot/program.bin"]) {
		t.Errorf("ReadFile: %d bytes, %v", len(got), err)
	}
}

func TestOpenStreamsFileInPieces(t *testing.T) {
	want := pattern(1<<20+3, 6)
	image := makeImage(t, "mkfs.ext2", map[string][]byte{"big": want}, "8M", "-b", "4096")
	fsys, err := Open(bytes.NewReader(image), 0)
	if err != nil {
		t.Fatal(err)
	}

	file, err := fsys.Open("/big")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var got bytes.Buffer
	if _, err := io.CopyBuffer(&got, struct{ io.Reader }{file}, make([]byte, 777)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("streamed %d bytes that differ from the %d written", got.Len(), len(want))
	}
}

func TestReadFileFollowsSymbolicLinks(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "tree")
	long := strings.Repeat("d", 70)
	for _, d := range []string{"boot/grub", long} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	must(t, os.WriteFile(filepath.Join(root, "boot/grub/menu.lst"), []byte("menu"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, long, "file"), []byte("far"), 0o644))
	must(t, os.Symlink("menu.lst", filepath.Join(root, "boot/grub/grub.conf")))
	must(t, os.Symlink("/"+long+"/file", filepath.Join(root, "slow")))
	must(t, os.Symlink("/boot", filepath.Join(root, "bootlink")))
	image := filepath.Join(dir, "image")
	if out, err := exec.Command("mkfs.ext2", "-q", "-d", root, image,
		"2M").CombinedOutput(); err != nil {
		t.Skipf("mkfs.ext2: %v\n%s", err, out)
	}
	data, err := os.ReadFile(image)
	must(t, err)
	fsys, err := Open(bytes.NewReader(data), 0)
	must(t, err)

	for name, want := range map[string]string{
		"/boot/grub/grub.conf":    "menu",
		"/slow":                   "far",
		"/bootlink/grub/menu.lst": "menu",
	} {
		got, err := fsys.ReadFile(name)
		if err != nil || string(got) != want {
			t.Errorf("ReadFile(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
}

func TestReadFileErrors(t *testing.T) {
	tree := map[string][]byte{"boot/program.bin": []byte("kernel")}
	image := makeImage(t, "mkfs.ext2", tree, "2M")
	fsys, err := Open(bytes.NewReader(image), 0)
	must(t, err)

	tests := []struct {
		name     string
		wantText string
		notExist bool
	}{
		{"/boot/grub/menu.lst", "file does not exist", true},
		{"/nothing", "file does not exist", true},
		{"/boot", "not a regular file", false},
		{"/boot/program.bin/x", "/boot/program.bin is not a directory", false},
		{"boot/program.bin", "not absolute", false},
	}
	for _, test := range tests {
		_, err := fsys.ReadFile(test.name)
		if err == nil || !strings.Contains(err.Error(), test.wantText) {
			t.Errorf("ReadFile(%s) = %v, want error containing %q", test.name, err,
				test.wantText)
		}
		if errors.Is(err, fs.ErrNotExist) != test.notExist {
			t.Errorf("ReadFile(%s): errors.Is(%v, fs.ErrNotExist) != %v", test.name, err,
				test.notExist)
		}
	}
}

func TestOpenRejectsWhatIsNotExt2(t *testing.T) {
	tests := map[string][]byte{
		"zeros":       make([]byte, 1<<16),
		"short image": []byte("MZ"),
		"text":        bytes.Repeat([]byte("not a filesystem "), 200),
	}
	for name, image := range tests {
		if _, err := Open(bytes.NewReader(image), 0); !errors.Is(err, ErrNotExt2) {
			t.Errorf("%s: Open = %v, want ErrNotExt2", name, err)
		}
	}
}

func TestOpenRejectsTruncatedImage(t *testing.T) {
	image := makeImage(t, "mkfs.ext2", map[string][]byte{"a": []byte("a")}, "2M")
	_, err := Open(bytes.NewReader(image[:1<<20]), 0)
	if err == nil || !strings.Contains(err.Error(), "image ends before") {
		t.Errorf("Open of half an image = %v, want an error about the image ending", err)
	}
}

func TestReadFileFindsEntriesInLargeDirectories(t *testing.T) {
	tree := map[string][]byte{}
	for i := range 600 {
		tree["many/"+strings.Repeat("x", 40)+string(rune('a'+i%26))+
			strings.Repeat("y", i%7)+itoa(i)] = []byte(itoa(i))
	}
	for _, mkfs := range []string{"mkfs.ext2", "mkfs.ext4"} {
		image := makeImage(t, mkfs, tree, "8M")
		fsys, err := Open(bytes.NewReader(image), 0)
		must(t, err)
		for name, want := range tree {
			got, err := fsys.ReadFile("/" + name)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s: ReadFile(/%s) = %q, %v", mkfs, name, got, err)
			}
		}
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
