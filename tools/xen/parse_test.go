package xen

import (
	"os"
	"testing"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("../../testdata/xen/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseListReadsEveryDomainLine(t *testing.T) {
	domains, err := ParseList(readTestdata(t, "xl-list.txt"))
	if err != nil {
		t.Fatal(err)
	}

	want := []DomainInfo{
		{Name: "Domain-0", ID: 0, MemoryMiB: 1024, VCPUs: 2, State: "r-----"},
		{Name: "xenbox-hello", ID: 3, MemoryMiB: 613, VCPUs: 1, State: "--p---"},
		{Name: "xenbox-web", ID: 12, MemoryMiB: 1740, VCPUs: 2, State: "-b----"},
	}
	if len(domains) != len(want) {
		t.Fatalf("got %d domains %+v, want %d", len(domains), domains, len(want))
	}
	for i := range want {
		if domains[i] != want[i] {
			t.Errorf("domain %d = %+v, want %+v", i, domains[i], want[i])
		}
	}
}

func TestParseListOfDom0OnlyHasOneDomain(t *testing.T) {
	domains, err := ParseList(readTestdata(t, "xl-list-dom0-only.txt"))
	if err != nil || len(domains) != 1 || domains[0].Name != "Domain-0" {
		t.Errorf("got %+v, %v; want only Domain-0", domains, err)
	}
}

func TestParseListRejectsANonNumericColumn(t *testing.T) {
	if _, err := ParseList(readTestdata(t, "xl-list-bad-vcpus.txt")); err == nil {
		t.Error("parse succeeded, want an error about the VCPUs column")
	}
}

func TestParseInfoReadsVersionMemoryAndCommandLine(t *testing.T) {
	tests := []struct {
		file, version string
		freeMiB       int
		prerelease    string
	}{
		{"xl-info-4.17.5-pre.txt", "4.17.5-pre", 957, "pre"},
		{"xl-info-4.17.3.txt", "4.17.3", 3012, ""},
	}
	for _, test := range tests {
		info, err := ParseInfo(readTestdata(t, test.file))
		if err != nil {
			t.Errorf("%s: %v", test.file, err)
			continue
		}
		if info.XenVersion.Original() != test.version || info.FreeMiB != test.freeMiB ||
			info.XenVersion.Prerelease() != test.prerelease {
			t.Errorf("%s: version %s (prerelease %q), free %d MiB; want %s, %q, %d",
				test.file, info.XenVersion, info.XenVersion.Prerelease(), info.FreeMiB,
				test.version, test.prerelease, test.freeMiB)
		}
		wantCommandLine := "placeholder console=com1 dom0_mem=1024M,max:1024M loglvl=all " +
			"guest_loglvl=all"
		if info.CommandLine != wantCommandLine {
			t.Errorf("%s: command line %q, want %q", test.file, info.CommandLine,
				wantCommandLine)
		}
		if info.XenCaps != "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64" {
			t.Errorf("%s: xen_caps %q", test.file, info.XenCaps)
		}
	}
}

func TestParseInfoSegmentsCompareAsReleases(t *testing.T) {
	info, err := ParseInfo(readTestdata(t, "xl-info-4.17.5-pre.txt"))
	if err != nil {
		t.Fatal(err)
	}
	segments := info.XenVersion.Segments()
	if segments[0] != 4 || segments[1] != 17 || segments[2] != 5 {
		t.Errorf("segments %v, want 4 17 5", segments)
	}
}

func TestParseInfoRequiresXenVersion(t *testing.T) {
	if _, err := ParseInfo(readTestdata(t, "xl-info-no-version.txt")); err == nil {
		t.Error("parse succeeded, want an error about the missing xen_version")
	}
}

func TestParseDomIDRejectsText(t *testing.T) {
	if id, err := ParseDomID([]byte("12\n")); err != nil || id != 12 {
		t.Errorf("ParseDomID(12) = %d, %v", id, err)
	}
	for _, out := range []string{"", "web\n", "-1"} {
		if _, err := ParseDomID([]byte(out)); err == nil {
			t.Errorf("ParseDomID(%q) succeeded, want an error", out)
		}
	}
}
