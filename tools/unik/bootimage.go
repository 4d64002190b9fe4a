package unik

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/xenbox/xenbox/tools/ext2"
)

// MenuPath is where PV-GRUB reads the boot menu inside the boot filesystem.
const MenuPath = "/boot/grub/menu.lst"

// BootImage is a unik disk image for AWS (boot-creator-result.img.*) as PV-GRUB sees it.
type BootImage struct {
	Path    string
	Size    int64
	ModTime time.Time
	// Layout and FSOffset say where the ext2 boot filesystem starts on the disk.
	Layout   Layout
	FSOffset int64
	// Menu is the parsed /boot/grub/menu.lst; Entry is its default entry.
	Menu  Menu
	Entry MenuEntry
	// KernelSHA256 is the hex SHA-256 of the file the default entry's kernel line names.
	KernelSHA256 string
}

// ReadBootImage reads the boot image at path: it finds the ext2 filesystem, parses the menu,
// and hashes the kernel the default entry boots. Each error names the file and what is wrong;
// with an error the returned BootImage still holds what was read (Path, Size, ModTime at
// least, once the file opened).
func ReadBootImage(path string) (BootImage, error) {
	file, err := os.Open(path)
	if err != nil {
		return BootImage{}, fmt.Errorf("read boot image: %w", err)
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return BootImage{}, fmt.Errorf("read boot image: %w", err)
	}
	image := BootImage{Path: path, Size: info.Size(), ModTime: info.ModTime()}

	fsys, layout, offset, err := locateFilesystem(file)
	if err != nil {
		return image, fmt.Errorf("read boot image %s: %w", path, err)
	}
	image.Layout, image.FSOffset = layout, offset

	image.Menu, image.Entry, err = readDefaultEntry(fsys)
	if err != nil {
		return image, fmt.Errorf("read boot image %s: %w", path, err)
	}

	image.KernelSHA256, err = hashKernel(fsys, image.Entry.Kernel, image.Size)
	if err != nil {
		return image, fmt.Errorf("read boot image %s: %w", path, err)
	}
	return image, nil
}

// KernelPath returns the path inside the boot filesystem of the default entry's kernel.
func (b BootImage) KernelPath() string {
	return kernelFilePath(b.Entry.Kernel)
}

func readDefaultEntry(fsys *ext2.FS) (Menu, MenuEntry, error) {
	text, err := fsys.ReadFile(MenuPath)
	if errors.Is(err, fs.ErrNotExist) {
		return Menu{}, MenuEntry{}, fmt.Errorf("no %s; PV-GRUB boots unik images from it",
			MenuPath)
	}
	if err != nil {
		return Menu{}, MenuEntry{}, err
	}

	menu, err := ParseMenu(text)
	if err != nil {
		return Menu{}, MenuEntry{}, err
	}
	entry, err := menu.DefaultEntry()
	if err != nil {
		return menu, MenuEntry{}, fmt.Errorf("%s: %w", MenuPath, err)
	}
	return menu, entry, nil
}

// kernelFilePath drops a GRUB device prefix such as "(hd0)" from a kernel path.
//
// Limitation: the kernel is looked up in the boot filesystem whatever device the prefix
// names; unik images have a single filesystem.
func kernelFilePath(kernel string) string {
	if strings.HasPrefix(kernel, "(") {
		if end := strings.Index(kernel, ")"); end >= 0 {
			return kernel[end+1:]
		}
	}
	return kernel
}

// hashKernel hashes the kernel file; a kernel claiming more bytes than the whole image holds
// is damage (hashing its holes could take hours), not a kernel.
func hashKernel(fsys *ext2.FS, kernel string, imageSize int64) (string, error) {
	path := kernelFilePath(kernel)
	file, err := fsys.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("kernel %s named by %s is missing", path, MenuPath)
	}
	if err != nil {
		return "", fmt.Errorf("kernel %s: %w", path, err)
	}
	defer file.Close()
	if file.Size() > imageSize {
		return "", fmt.Errorf("kernel %s claims %d bytes, more than the image's %d: the "+
			"filesystem is damaged", path, file.Size(), imageSize)
	}
	return hashReader(file)
}

func hashReader(reader io.Reader) (string, error) {
	hash := sha256.New()
	if _, err := io.Copy(hash, reader); err != nil {
		return "", err
	}
	return hex.EncodeToString(hash.Sum(nil)), nil
}
