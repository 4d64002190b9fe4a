package unik

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

const (
	// ImagePrefix starts the name of every boot image unik leaves in its temp dir.
	ImagePrefix = "boot-creator-result.img."
	// DebugDirPrefix starts the name of every debug dir unik leaves in its temp dir.
	DebugDirPrefix = "bootable-image-directory."
)

// Artifact is one boot image and the debug dir built with it.
type Artifact struct {
	// Name is a short stable name for the user; see ArtifactName.
	Name     string
	Image    BootImage
	DebugDir DebugDir
	// PairErr says why DebugDir is empty: the image could not be read, or no debug dir has
	// its kernel. It is nil for a paired artifact.
	PairErr error
}

// Paired reports whether the artifact has a debug dir whose program.bin is the image's kernel.
func (a Artifact) Paired() bool {
	return a.PairErr == nil && a.DebugDir.Path != ""
}

// ArtifactName returns the user-facing name of the boot image at imagePath:
// boot-creator-result.img.123 is "unik-123"; any other file is its base name without the
// extension. Characters other than letters, digits, '.', '_' and '-' become '-', so the name
// can be a directory name in dom0 and part of a domain name.
func ArtifactName(imagePath string) string {
	base := filepath.Base(imagePath)
	name := strings.TrimSuffix(base, filepath.Ext(base))
	if suffix, ok := strings.CutPrefix(base, ImagePrefix); ok && suffix != "" {
		name = "unik-" + suffix
	}
	if name == "" {
		name = base
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '.' || r == '_' || r == '-' {
			return r
		}
		return '-'
	}, name)
}

// Find lists the boot images in unikTmp (unik's temp dir, ~/.unik/tmp), newest first, each
// paired with the debug dir whose program.bin equals the image's kernel. An image without a
// match, or that cannot be read, is listed with PairErr set rather than failing the search.
func Find(unikTmp string) ([]Artifact, error) {
	entries, err := os.ReadDir(unikTmp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("find unik images: %s does not exist; run "+
			"`unik build --no-cleanup`, or point --unik-tmp or UNIK_TMP at unik's temp dir",
			unikTmp)
	}
	if err != nil {
		return nil, fmt.Errorf("find unik images in %s: %w", unikTmp, err)
	}

	var imagePaths []string
	var debugDirs []DebugDir
	for _, entry := range entries {
		path := filepath.Join(unikTmp, entry.Name())
		switch {
		case strings.HasPrefix(entry.Name(), ImagePrefix) && entry.Type().IsRegular():
			imagePaths = append(imagePaths, path)
		case strings.HasPrefix(entry.Name(), DebugDirPrefix) && entry.IsDir():
			// A debug dir without a usable program.bin can match no image; skip it.
			if debugDir, err := ReadDebugDir(path); err == nil {
				debugDirs = append(debugDirs, debugDir)
			}
		}
	}

	artifacts := make([]Artifact, 0, len(imagePaths))
	for _, path := range imagePaths {
		artifacts = append(artifacts, pairByContent(path, debugDirs, unikTmp))
	}
	sort.SliceStable(artifacts, func(i, j int) bool {
		a, b := artifacts[i].Image, artifacts[j].Image
		if !a.ModTime.Equal(b.ModTime) {
			return a.ModTime.After(b.ModTime)
		}
		return a.Path > b.Path
	})
	return artifacts, nil
}

// pairByContent reads the image at path and finds the debug dir holding its kernel.
func pairByContent(path string, debugDirs []DebugDir, unikTmp string) Artifact {
	artifact := Artifact{Name: ArtifactName(path)}
	image, err := ReadBootImage(path)
	artifact.Image = image
	if err != nil {
		artifact.PairErr = err
		return artifact
	}

	for _, debugDir := range debugDirs {
		if debugDir.SHA256 == image.KernelSHA256 {
			artifact.DebugDir = debugDir
			return artifact
		}
	}
	artifact.PairErr = fmt.Errorf("pair %s with a debug dir: no %s* in %s has a %s equal "+
		"to the image's %s; pass the debug dir unik built with it, or rebuild with "+
		"`unik build --no-cleanup`", filepath.Base(path), DebugDirPrefix, unikTmp, ProgramBin,
		image.KernelPath())
	return artifact
}

// Pair reads the boot image and the debug dir given by the user and checks that the debug
// dir's program.bin is the kernel the image boots.
func Pair(imagePath, debugDirPath string) (Artifact, error) {
	image, err := ReadBootImage(imagePath)
	if err != nil {
		return Artifact{}, err
	}
	debugDir, err := ReadDebugDir(debugDirPath)
	if err != nil {
		return Artifact{}, err
	}

	if debugDir.SHA256 != image.KernelSHA256 {
		return Artifact{}, fmt.Errorf("pair %s with %s: %s differs from the image's %s; "+
			"pass the debug dir unik built with this image", filepath.Base(imagePath),
			filepath.Base(debugDirPath), ProgramBin, image.KernelPath())
	}
	return Artifact{Name: ArtifactName(imagePath), Image: image, DebugDir: debugDir}, nil
}

// Select picks the artifact the user named: by Name, image path or image base name; "" picks
// the newest paired one (artifacts come newest first from Find). Naming an unpaired artifact
// returns it together with its PairErr, for callers that can do without a debug dir.
func Select(artifacts []Artifact, name string) (Artifact, error) {
	if name == "" {
		return selectNewestPaired(artifacts)
	}

	for _, artifact := range artifacts {
		if !artifact.matches(name) {
			continue
		}
		if artifact.PairErr != nil {
			return artifact, fmt.Errorf("select %s: %w", artifact.Name, artifact.PairErr)
		}
		return artifact, nil
	}
	return Artifact{}, fmt.Errorf("select unik image %q: no such image; known: %s", name,
		knownNames(artifacts))
}

func (a Artifact) matches(name string) bool {
	if name == a.Name || name == filepath.Base(a.Image.Path) {
		return true
	}
	return filepath.Clean(name) == filepath.Clean(a.Image.Path) ||
		sameAbsolutePath(name, a.Image.Path)
}

func sameAbsolutePath(a, b string) bool {
	absoluteA, errA := filepath.Abs(a)
	absoluteB, errB := filepath.Abs(b)
	return errA == nil && errB == nil && absoluteA == absoluteB
}

func selectNewestPaired(artifacts []Artifact) (Artifact, error) {
	if len(artifacts) == 0 {
		return Artifact{}, errors.New("select unik image: none found; build one with " +
			"`unik build --no-cleanup`")
	}
	for _, artifact := range artifacts {
		if artifact.Paired() {
			return artifact, nil
		}
	}

	reasons := make([]string, 0, len(artifacts))
	for _, artifact := range artifacts {
		reasons = append(reasons, fmt.Sprintf("%s: %v", artifact.Name, artifact.PairErr))
	}
	return Artifact{}, fmt.Errorf("select unik image: none of them can be debugged:\n%s",
		strings.Join(reasons, "\n"))
}

func knownNames(artifacts []Artifact) string {
	if len(artifacts) == 0 {
		return "none"
	}
	names := make([]string, 0, len(artifacts))
	for _, artifact := range artifacts {
		names = append(names, artifact.Name)
	}
	return strings.Join(names, ", ")
}
