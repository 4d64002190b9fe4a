package provisioners

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const (
	hd0Image  = "/usr/local/lib/xenbox/pv-grub-hd0-x86_64.bin"
	hd00Image = "/usr/local/lib/xenbox/pv-grub-hd00-x86_64.bin"
)

// installPVGrub runs `pvgrub.sh install` into destdir from the prebuilt images in prebuilt,
// asking for variants ("" leaves XENBOX_PVGRUB_VARIANTS unset).
func installPVGrub(t *testing.T, destdir, prebuilt, variants string) run {
	t.Helper()
	env := map[string]string{"XENBOX_PVGRUB_DIR": prebuilt}
	if variants != "" {
		env["XENBOX_PVGRUB_VARIANTS"] = variants
	}
	return provision(t, destdir, env, "pvgrub.sh", "install")
}

// variantsName names a subtest after XENBOX_PVGRUB_VARIANTS.
func variantsName(variants string) string {
	if variants == "" {
		return "unset"
	}
	return variants
}

func prebuiltPVGrub(t *testing.T) string {
	t.Helper()
	prebuilt, err := filepath.Abs("testdata/pvgrub")
	if err != nil {
		t.Fatal(err)
	}
	return prebuilt
}

// assertInstalledPVGrub fails unless destdir holds exactly the images want, each a copy of
// its prebuilt image.
func assertInstalledPVGrub(t *testing.T, destdir, prebuilt string, want ...string) {
	t.Helper()
	got := filesUnder(t, destdir)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("installed %q, want %q", got, want)
	}
	for _, image := range want {
		installed := readFile(t, filepath.Join(destdir, image))
		source := readFile(t, filepath.Join(prebuilt, filepath.Base(image)))
		if installed != source {
			t.Errorf("%s holds %q, want %q", image, installed, source)
		}
	}
}

func TestPVGrubInstallsOnlyTheVariantsAsked(t *testing.T) {
	requireRoot(t)
	prebuilt := prebuiltPVGrub(t)
	tests := []struct {
		variants string
		want     []string
	}{
		{"", []string{hd0Image, hd00Image}},
		{"hd0 hd00", []string{hd0Image, hd00Image}},
		{"hd0", []string{hd0Image}},
		{"hd00", []string{hd00Image}},
		{"hd00 hd0", []string{hd0Image, hd00Image}},
		{"  hd0   hd0 ", []string{hd0Image}},
	}
	for _, test := range tests {
		t.Run(variantsName(test.variants), func(t *testing.T) {
			destdir := t.TempDir()

			result := installPVGrub(t, destdir, prebuilt, test.variants)

			if result.err != nil {
				t.Fatalf("install failed: %v\n%s", result.err, result.log)
			}
			assertInstalledPVGrub(t, destdir, prebuilt, test.want...)
		})
	}
}

func TestPVGrubRerunWithFewerVariantsRemovesTheOthers(t *testing.T) {
	requireRoot(t)
	prebuilt := prebuiltPVGrub(t)
	destdir := t.TempDir()
	steps := []struct {
		variants string
		want     []string
	}{
		{"", []string{hd0Image, hd00Image}},
		{"hd0", []string{hd0Image}},
		{"hd00", []string{hd00Image}},
		{"hd0 hd00", []string{hd0Image, hd00Image}},
	}
	for _, step := range steps {
		result := installPVGrub(t, destdir, prebuilt, step.variants)

		if result.err != nil {
			t.Fatalf("install of %q failed: %v\n%s", step.variants, result.err, result.log)
		}
		assertInstalledPVGrub(t, destdir, prebuilt, step.want...)
	}
}

func TestPVGrubSecondInstallChangesNothing(t *testing.T) {
	requireRoot(t)
	prebuilt := prebuiltPVGrub(t)
	for _, variants := range []string{"", "hd0", "hd00"} {
		t.Run(variantsName(variants), func(t *testing.T) {
			destdir := t.TempDir()
			if first := installPVGrub(t, destdir, prebuilt, variants); first.err != nil {
				t.Fatalf("first install failed: %v\n%s", first.err, first.log)
			}
			before := snapshot(t, destdir)

			second := installPVGrub(t, destdir, prebuilt, variants)

			if second.err != nil {
				t.Fatalf("second install failed: %v\n%s", second.err, second.log)
			}
			assertUnchanged(t, before, snapshot(t, destdir))
			if second.log != "" {
				t.Errorf("second install said %q, want nothing", second.log)
			}
		})
	}
}

func TestPVGrubRefusesAVariantItDoesNotKnow(t *testing.T) {
	requireRoot(t)
	prebuilt := prebuiltPVGrub(t)
	tests := []struct{ variants, bad string }{
		{"hd1", "hd1"},
		{"hd0,hd00", "hd0,hd00"},
		{"hd0 HD00", "HD00"},
		{"hd0 ../hd00", "../hd00"},
	}
	for _, test := range tests {
		t.Run(test.variants, func(t *testing.T) {
			destdir := t.TempDir()
			if first := installPVGrub(t, destdir, prebuilt, ""); first.err != nil {
				t.Fatalf("install of both failed: %v\n%s", first.err, first.log)
			}
			before := snapshot(t, destdir)

			result := installPVGrub(t, destdir, prebuilt, test.variants)

			if result.err == nil {
				t.Fatalf("XENBOX_PVGRUB_VARIANTS=%q succeeded, want a failure", test.variants)
			}
			for _, part := range []string{"'" + test.bad + "'", "hd0 hd00"} {
				if !strings.Contains(result.log, part) {
					t.Errorf("error %q does not say %s", result.log, part)
				}
			}
			assertUnchanged(t, before, snapshot(t, destdir))
		})
	}
}

func TestPVGrubInstallNeedsOnlyTheImagesAsked(t *testing.T) {
	requireRoot(t)
	prebuilt := t.TempDir()
	writeFile(t, filepath.Join(prebuilt, "pv-grub-hd0-x86_64.bin"), "only hd0\n", 0o644)

	t.Run("asked for hd0", func(t *testing.T) {
		destdir := t.TempDir()

		result := installPVGrub(t, destdir, prebuilt, "hd0")

		if result.err != nil {
			t.Fatalf("install failed: %v\n%s", result.err, result.log)
		}
		assertInstalledPVGrub(t, destdir, prebuilt, hd0Image)
	})
	t.Run("asked for both", func(t *testing.T) {
		destdir := t.TempDir()

		result := installPVGrub(t, destdir, prebuilt, "")

		if result.err == nil || !strings.Contains(result.log, "pv-grub-hd00-x86_64.bin") {
			t.Errorf("install = %v, %q; want a failure naming the missing image",
				result.err, result.log)
		}
		if installed := filesUnder(t, destdir); len(installed) != 0 {
			t.Errorf("a failed install left %q", installed)
		}
	})
}

// fakeGRUBTree makes buildDir look like it holds GRUB built with the current patch, with
// testdata/fake-grub-mkimage as its grub-mkimage, and returns the tree.
func fakeGRUBTree(t *testing.T, buildDir string) string {
	t.Helper()
	patch := readFile(t, filepath.Join(provisionerDir, "patches/grub-xen-verbatim-cmdline.patch"))
	sum := sha256.Sum256([]byte(patch))
	tree := filepath.Join(buildDir, "grub2", "grub-2.06")
	writeFile(t, filepath.Join(tree, "built."+hex.EncodeToString(sum[:])[:16]), "", 0o644)
	writeFile(t, filepath.Join(tree, "grub-mkimage"),
		readFile(t, "testdata/fake-grub-mkimage"), 0o755)
	return tree
}

func TestPVGrubBuildBuildsOnlyTheVariantsAskedAndKeepsThemCached(t *testing.T) {
	requirePackages(t, "build-essential", "bison", "flex", "python3", "gawk", "dpkg-dev",
		"xz-utils", "patch")
	buildDir := t.TempDir()
	tree := fakeGRUBTree(t, buildDir)
	out := filepath.Join(buildDir, "pvgrub")
	build := func(variants string) []string {
		t.Helper()
		env := map[string]string{"XENBOX_BUILD_DIR": buildDir, "XENBOX_PVGRUB_VARIANTS": variants}
		result := mustProvision(t, "/", env, "pvgrub.sh", "build")
		if !strings.HasSuffix(result.log, out+"\n") {
			t.Errorf("build printed %q, want the directory %s last", result.log, out)
		}
		calls, err := os.ReadFile(filepath.Join(tree, "calls.log"))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(tree, "calls.log"))
		return strings.Fields(string(calls))
	}
	image := func(variant string) string {
		return filepath.Join(out, "pv-grub-"+variant+"-x86_64.bin")
	}

	if built := build("hd00"); !reflect.DeepEqual(built, []string{image("hd00") + ".tmp"}) {
		t.Errorf("build of hd00 ran grub-mkimage for %q, want hd00 only", built)
	}
	if _, err := os.Stat(image("hd0")); !os.IsNotExist(err) {
		t.Errorf("build of hd00 made %s", image("hd0"))
	}
	if config := readFile(t, image("hd00")); !strings.Contains(config,
		"legacy_configfile (hd0,msdos1)/boot/grub/menu.lst") {
		t.Errorf("hd00 image embeds %q, want the first partition's menu.lst", config)
	}
	if built := build("hd00"); len(built) != 0 {
		t.Errorf("second build of hd00 ran grub-mkimage for %q, want the cached image", built)
	}
	if built := build("hd0 hd00"); !reflect.DeepEqual(built, []string{image("hd0") + ".tmp"}) {
		t.Errorf("build of both after hd00 ran grub-mkimage for %q, want hd0 only", built)
	}
}
