package metadata

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStoreSeesARecordRewrittenAfterTheFirstLookup(t *testing.T) {
	dir := t.TempDir()
	store := NewStore(dir)
	guest := netip.MustParseAddr("10.0.2.40")
	record := Record{Domain: "app", IP: "10.0.2.40", UserData: `{"A":"1"}`}
	if err := WriteRecord(dir, record); err != nil {
		t.Fatal(err)
	}
	first, _, _ := store.Lookup(guest, nil)

	record = Record{Domain: "app", IP: "10.0.2.40", UserData: `{"A":"2"}`}
	if err := WriteRecord(dir, record); err != nil {
		t.Fatal(err)
	}
	second, found, problems := store.Lookup(guest, nil)

	if first.UserData != `{"A":"1"}` || second.UserData != `{"A":"2"}` || !found ||
		len(problems) != 0 {
		t.Errorf("user-data %q then %q (found %v, problems %v), want the new one second",
			first.UserData, second.UserData, found, problems)
	}
}

func TestStoreForgetsARemovedRecord(t *testing.T) {
	dir := t.TempDir()
	store := NewStore(dir)
	guest := netip.MustParseAddr("10.0.2.41")
	if err := WriteRecord(dir, Record{Domain: "gone", IP: "10.0.2.41"}); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := store.Lookup(guest, nil); !found {
		t.Fatal("record not found before removal")
	}

	if err := os.Remove(filepath.Join(dir, "gone.json")); err != nil {
		t.Fatal(err)
	}

	if record, found, _ := store.Lookup(guest, nil); found {
		t.Errorf("found %+v after its file was removed", record)
	}
}

func TestStoreReportsABadRecordOnceAndServesTheOthers(t *testing.T) {
	dir := t.TempDir()
	store := NewStore(dir)
	if err := os.WriteFile(filepath.Join(dir, "broken.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "badip.json"),
		[]byte(`{"domain":"badip","ip":"10.0.2"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteRecord(dir, Record{Domain: "fine", IP: "10.0.2.42"}); err != nil {
		t.Fatal(err)
	}

	record, found, first := store.Lookup(netip.MustParseAddr("10.0.2.42"), nil)
	_, _, second := store.Lookup(netip.MustParseAddr("10.0.2.42"), nil)

	if !found || record.Domain != "fine" {
		t.Errorf("found %v %+v, want the record of fine", found, record)
	}
	if len(first) != 2 || len(second) != 0 {
		t.Errorf("problems %v then %v, want two then none", first, second)
	}
	for _, problem := range first {
		if !strings.Contains(problem.Error(), "read metadata record "+dir) {
			t.Errorf("problem %q does not name the file", problem)
		}
	}
}

func TestStoreWithoutDirectoryHasNoRecords(t *testing.T) {
	store := NewStore(filepath.Join(t.TempDir(), "missing"))

	records, problems := store.Records()

	if len(records) != 0 || len(problems) != 0 {
		t.Errorf("records %v, problems %v, want none", records, problems)
	}
}

func TestRecordWithoutDomainIsNamedAfterItsFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "unnamed.json"), []byte(`{"ip":"10.0.2.43"}`),
		0o644); err != nil {
		t.Fatal(err)
	}

	record, found, _ := NewStore(dir).Lookup(netip.MustParseAddr("10.0.2.43"), nil)

	if !found || record.Domain != "unnamed" {
		t.Errorf("found %v, domain %q, want unnamed", found, record.Domain)
	}
}

func TestWriteRecordRejectsNamesThatAreNotFileNames(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"", ".", "..", ".hidden", "a/b", "../escape"} {
		if err := WriteRecord(dir, Record{Domain: name}); err == nil {
			t.Errorf("WriteRecord accepted domain %q", name)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("rejected records left %d files behind", len(entries))
	}
}

func TestNeighbourTableIgnoresIncompleteEntries(t *testing.T) {
	tests := []struct {
		address string
		mac     string
		found   bool
	}{
		{"10.0.2.30", "00:16:3e:aa:bb:cc", true},
		{"10.0.2.31", "", false},
		{"10.0.2.32", "", false},
	}
	for _, test := range tests {
		mac, found := ProcARP("testdata/arp").MACOf(netip.MustParseAddr(test.address))
		if mac != test.mac || found != test.found {
			t.Errorf("MACOf(%s) = %q, %v, want %q, %v", test.address, mac, found, test.mac,
				test.found)
		}
	}
}
