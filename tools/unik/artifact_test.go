package unik

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// unikTmpWithThreeImages lays out a unik temp dir: unik-222 (newest, kernel B, debug dir
// .555), unik-111 (kernel A, debug dir .999) and unik-333 (oldest, 32-bit kernel C, no debug
// dir), plus a debug dir without program.bin.
func unikTmpWithThreeImages(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	buildImage(t, dir, "boot-creator-result.img.111",
		imageSpec{kernel: "rump-64.bin", modifiedAt: now.Add(-2 * time.Hour)})
	buildImage(t, dir, "boot-creator-result.img.222",
		imageSpec{kernel: "other-64.bin", modifiedAt: now.Add(-1 * time.Hour)})
	buildImage(t, dir, "boot-creator-result.img.333",
		imageSpec{kernel: "rump-32.bin", modifiedAt: now.Add(-3 * time.Hour)})
	makeDebugDir(t, dir, "bootable-image-directory.999", "rump-64.bin")
	makeDebugDir(t, dir, "bootable-image-directory.555", "other-64.bin")
	makeDebugDir(t, dir, "bootable-image-directory.777", "")
	mustDo(t, os.WriteFile(filepath.Join(dir, "unrelated.log"), []byte("x"), 0o644))
	return dir
}

func TestFindPairsImagesWithDebugDirsByContentNewestFirst(t *testing.T) {
	dir := unikTmpWithThreeImages(t)

	artifacts, err := Find(dir)
	mustDo(t, err)

	want := []struct{ name, debugDir string }{
		{"unik-222", "bootable-image-directory.555"},
		{"unik-111", "bootable-image-directory.999"},
		{"unik-333", ""},
	}
	if len(artifacts) != len(want) {
		t.Fatalf("Find returned %d artifacts, want %d: %+v", len(artifacts), len(want),
			artifacts)
	}
	for i, w := range want {
		got := artifacts[i]
		if got.Name != w.name || filepath.Base(got.DebugDir.Path) != filepath.Base(w.debugDir) &&
			w.debugDir != "" || got.Paired() != (w.debugDir != "") {
			t.Errorf("artifact %d = %s paired with %q (%v), want %s with %q", i, got.Name,
				got.DebugDir.Path, got.PairErr, w.name, w.debugDir)
		}
	}
	unpaired := artifacts[2]
	if unpaired.DebugDir.Path != "" || unpaired.PairErr == nil ||
		!strings.Contains(unpaired.PairErr.Error(), "no bootable-image-directory.* in "+dir+
			" has a program.bin equal to the image's /boot/program.bin") {
		t.Errorf("unpaired artifact: debug dir %q, reason %v", unpaired.DebugDir.Path,
			unpaired.PairErr)
	}
	if unpaired.Image.KernelSHA256 != kernelSHA256(t, "rump-32.bin") {
		t.Errorf("unpaired artifact lost its image details: %+v", unpaired.Image)
	}
}

func TestFindListsUnreadableImageWithReason(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "boot-creator-result.img.5")
	mustDo(t, os.WriteFile(broken, []byte("truncated by a full disk"), 0o644))

	artifacts, err := Find(dir)
	mustDo(t, err)

	if len(artifacts) != 1 || artifacts[0].Name != "unik-5" || artifacts[0].Paired() ||
		!strings.Contains(artifacts[0].PairErr.Error(), "not an ext2 filesystem") ||
		artifacts[0].Image.Size != 24 {
		t.Errorf("Find = %+v", artifacts)
	}
}

func TestFindRejectsMissingUnikTmpWithAdvice(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-dir")

	_, err := Find(missing)

	for _, part := range []string{missing, "does not exist", "unik build --no-cleanup",
		"--unik-tmp", "UNIK_TMP"} {
		if err == nil || !strings.Contains(err.Error(), part) {
			t.Errorf("Find(missing) = %v, want error containing %q", err, part)
		}
	}
}

func TestPairRejectsImageWhoseKernelDiffers(t *testing.T) {
	dir := t.TempDir()
	image := buildImage(t, dir, "boot-creator-result.img.123", imageSpec{kernel: "rump-64.bin"})
	debugDir := makeDebugDir(t, dir, "bootable-image-directory.456", "other-64.bin")

	_, err := Pair(image, debugDir)

	want := "pair boot-creator-result.img.123 with bootable-image-directory.456: " +
		"program.bin differs from the image's /boot/program.bin; " +
		"pass the debug dir unik built with this image"
	if err == nil || err.Error() != want {
		t.Errorf("Pair = %v\nwant %s", err, want)
	}
}

func TestPairAcceptsDebugDirBuiltWithImage(t *testing.T) {
	dir := t.TempDir()
	image := buildImage(t, dir, "boot-creator-result.img.123", imageSpec{kernel: "rump-64.bin"})
	debugDir := makeDebugDir(t, dir, "bootable-image-directory.456", "rump-64.bin")

	artifact, err := Pair(image, debugDir)
	mustDo(t, err)

	if artifact.Name != "unik-123" || !artifact.Paired() || artifact.DebugDir.Class != 64 ||
		artifact.Image.Entry.CommandLine != rumpCommandLine {
		t.Errorf("Pair = %+v", artifact)
	}
}

func TestPairReportsUnreadableInputs(t *testing.T) {
	dir := t.TempDir()
	image := buildImage(t, dir, "boot-creator-result.img.1", imageSpec{kernel: "rump-64.bin"})
	notELF := makeDebugDir(t, dir, "bootable-image-directory.2", "not-elf.bin")

	_, err := Pair(image, notELF)
	if err == nil || !strings.Contains(err.Error(), "is not an ELF kernel") {
		t.Errorf("Pair with non-ELF program.bin = %v", err)
	}
	_, err = Pair(filepath.Join(dir, "absent.img"), notELF)
	if err == nil || !strings.Contains(err.Error(), "absent.img") {
		t.Errorf("Pair with missing image = %v", err)
	}
}

func TestSelectPicksArtifactByNameOrPath(t *testing.T) {
	dir := unikTmpWithThreeImages(t)
	artifacts, err := Find(dir)
	mustDo(t, err)

	tests := map[string]string{
		"":                            "unik-222",
		"unik-111":                    "unik-111",
		"boot-creator-result.img.111": "unik-111",
		filepath.Join(dir, "boot-creator-result.img.222"): "unik-222",
	}
	for name, want := range tests {
		got, err := Select(artifacts, name)
		if err != nil || got.Name != want {
			t.Errorf("Select(%q) = %s, %v; want %s", name, got.Name, err, want)
		}
	}
}

func TestSelectExplainsWhatCannotBeSelected(t *testing.T) {
	dir := unikTmpWithThreeImages(t)
	artifacts, err := Find(dir)
	mustDo(t, err)
	unpairedOnly := []Artifact{artifacts[2]}

	tests := []struct {
		name      string
		artifacts []Artifact
		selector  string
		wantText  string
	}{
		{"unknown name", artifacts, "unik-9",
			`select unik image "unik-9": no such image; known: unik-222, unik-111, unik-333`},
		{"unpaired by name", artifacts, "unik-333", "select unik-333: pair " +
			"boot-creator-result.img.333 with a debug dir"},
		{"no paired image", unpairedOnly, "", "none of them can be debugged:\n" +
			"unik-333: pair boot-creator-result.img.333"},
		{"no images", nil, "", "none found; build one with `unik build --no-cleanup`"},
	}
	for _, test := range tests {
		_, err := Select(test.artifacts, test.selector)
		if err == nil || !strings.Contains(err.Error(), test.wantText) {
			t.Errorf("%s: Select = %v\nwant error containing %q", test.name, err,
				test.wantText)
		}
	}

	named, _ := Select(artifacts, "unik-333")
	if named.Name != "unik-333" || named.Image.Path == "" {
		t.Errorf("Select of an unpaired image did not return it: %+v", named)
	}
}

func TestArtifactNameIsShortAndSafe(t *testing.T) {
	tests := map[string]string{
		"/home/u/.unik/tmp/boot-creator-result.img.123": "unik-123",
		"boot-creator-result.img.004":                   "unik-004",
		"/images/my-app.img":                            "my-app",
		"odd name$.raw":                                 "odd-name-",
		"boot-creator-result.img.":                      "boot-creator-result.img",
	}
	for path, want := range tests {
		if got := ArtifactName(path); got != want {
			t.Errorf("ArtifactName(%q) = %q, want %q", path, got, want)
		}
	}
}
