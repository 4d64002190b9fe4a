package vagrant

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestVagrantfileValidatesForLibvirt(t *testing.T) {
	requireVagrant(t)
	b := newBox(t)

	for _, provision := range []string{"all", "check", "none"} {
		b.setenv("XENBOX_PROVISION", provision)
		b.mustRun(t, time.Minute, "vagrant", "validate")
	}
}

// Prebuilt pieces add upload steps; each step needs a name of its own, or Vagrant merges two
// steps into one that is neither.
func TestVagrantfileValidatesWithPrebuiltPieces(t *testing.T) {
	requireVagrant(t)
	b := newBox(t)
	prebuilt := filepath.Join(b.work, "prebuilt")
	for _, name := range []string{"xen-gdbsx.gz", "xen-gdbsx.gz.version", "gdbsx",
		"gdbsx.xen-version", "pv-grub-hd0-x86_64.bin", "pv-grub-hd00-x86_64.bin"} {
		writeFile(t, filepath.Join(prebuilt, name), "stand-in\n", 0o644)
	}
	writeFile(t, filepath.Join(b.work, "xenbox"), "stand-in\n", 0o755)
	b.setenv("XENBOX_PROVISION", "all")
	b.setenv("XENBOX_HYPERVISOR", filepath.Join(prebuilt, "xen-gdbsx.gz"))
	b.setenv("XENBOX_GDBSX", filepath.Join(prebuilt, "gdbsx"))
	b.setenv("XENBOX_PVGRUB_DIR", prebuilt)
	b.setenv("XENBOX_LINUX_BINARY", filepath.Join(b.work, "xenbox"))

	b.mustRun(t, time.Minute, "vagrant", "validate")
}

// VirtualBox cannot be installed here, and Vagrant refuses to validate for a provider that is
// not usable; a stand-in VBoxManage that only tells its version makes it usable enough for
// Vagrant to check the virtualbox block's settings.
func TestVagrantfileValidatesForVirtualBox(t *testing.T) {
	requireVagrant(t)
	b := newBox(t)
	bin := filepath.Join(b.work, "bin")
	standIn := "#!/bin/sh\n[ \"$1\" = --version ] && echo 7.0.14r161095 && exit 0\nexit 1\n"
	writeFile(t, filepath.Join(bin, "VBoxManage"), standIn, 0o755)
	b.setenv("PATH", bin+":"+os.Getenv("PATH"))
	b.setenv("VAGRANT_DEFAULT_PROVIDER", "virtualbox")

	b.mustRun(t, time.Minute, "vagrant", "validate")
}

func TestVagrantfileRefusesBadKnobs(t *testing.T) {
	requireVagrant(t)
	tests := []struct{ name, value, want string }{
		{"XENBOX_LIBVIRT_DRIVER", "xen", "use kvm or qemu"},
		{"XENBOX_GDBSX_PORTS", "10003-9999", "FIRST <= LAST"},
		{"XENBOX_DOM0_MEMORY", "lots", "use a size like 1024M"},
		{"XENBOX_PROVISION", "sometimes", "use auto, all, check or none"},
		{"XENBOX_VM_MEMORY", "3G", "not a whole number"},
	}
	for _, test := range tests {
		b := newBox(t)
		b.setenv(test.name, test.value)

		validate := b.run(t, time.Minute, "vagrant", "validate")

		if validate.Code == 0 || !strings.Contains(validate.Out, test.want) {
			t.Errorf("%s=%s: exit %d, want a failure saying %q", test.name, test.value,
				validate.Code, test.want)
		}
	}
}

func writeFile(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
}
