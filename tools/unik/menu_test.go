package unik

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

const rumpCommandLine = `{"net":{"if":"xenif0","cloner":"true","type":"inet",` +
	`"method":"dhcp"},"blk": {"source":"etfs","path":"sda1","fstype":"blk",` +
	`"mountpoint":"/bootpart"}}`

func readMenu(t *testing.T, name string) Menu {
	t.Helper()
	text, err := os.ReadFile(testdata("menus/" + name))
	mustDo(t, err)
	menu, err := ParseMenu(text)
	if err != nil {
		t.Fatalf("ParseMenu(%s): %v", name, err)
	}
	return menu
}

func TestParseMenuKeepsRumpCommandLineByteForByte(t *testing.T) {
	menu := readMenu(t, "rump.menu.lst")

	want := Menu{Default: 0, Fallback: 1, Timeout: 1, Hidden: true, Entries: []MenuEntry{{
		Title: "Unik", Root: "(hd0)", Kernel: "/boot/program.bin",
		CommandLine: rumpCommandLine,
	}}}
	if !reflect.DeepEqual(menu, want) {
		t.Errorf("ParseMenu =\n%+v\nwant\n%+v", menu, want)
	}
}

func TestParseMenuStripsOnlyTheSeparatorAndTheLineEnding(t *testing.T) {
	menu := readMenu(t, "hd00-crlf.menu.lst")

	entry, err := menu.DefaultEntry()
	mustDo(t, err)
	if entry.CommandLine != "-v  trailing space kept " {
		t.Errorf("CommandLine = %q", entry.CommandLine)
	}
	if entry.Root != "(hd0,0)" || entry.Title != "Unik" {
		t.Errorf("entry = %+v", entry)
	}
}

func TestParseMenuAcceptsGrubLegacySpellings(t *testing.T) {
	menu := readMenu(t, "two-entries.menu.lst")

	want := Menu{Default: 1, Fallback: 0, Timeout: 3, Entries: []MenuEntry{
		{Title: "First", Root: "(hd0)", Kernel: "/boot/first.bin"},
		{Title: "Second one", Root: "(hd0,0)", Kernel: "(hd0,0)/boot/program.bin",
			CommandLine: "console=hvc0 'single quoted'"},
	}}
	if !reflect.DeepEqual(menu, want) {
		t.Errorf("ParseMenu =\n%+v\nwant\n%+v", menu, want)
	}
	entry, err := menu.DefaultEntry()
	if err != nil || entry.Title != "Second one" {
		t.Errorf("DefaultEntry = %+v, %v; want the second entry", entry, err)
	}
}

func TestParseMenuUsesGrubDefaultsForUnsetValues(t *testing.T) {
	menu, err := ParseMenu([]byte("title A\nkernel /k"))
	mustDo(t, err)

	want := Menu{Default: 0, Fallback: -1, Timeout: -1,
		Entries: []MenuEntry{{Title: "A", Kernel: "/k"}}}
	if !reflect.DeepEqual(menu, want) {
		t.Errorf("ParseMenu = %+v, want %+v", menu, want)
	}
}

func TestParseMenuRejectsMalformedNumbers(t *testing.T) {
	tests := map[string]string{
		"default=saved\ntitle A\nkernel /k\n": "line 1: default \"saved\"",
		"\n\ntimeout=soon\n":                  "line 3: timeout \"soon\"",
		"fallback=-1\n":                       "line 1: fallback \"-1\"",
		"title A\nkernel\n":                   "line 2: kernel line names no kernel",
	}
	for text, wantText := range tests {
		_, err := ParseMenu([]byte(text))
		if err == nil || !strings.Contains(err.Error(), wantText) {
			t.Errorf("ParseMenu(%q) = %v, want error containing %q", text, err, wantText)
		}
	}
}

func TestDefaultEntryRejectsMenusWithoutBootableDefault(t *testing.T) {
	noEntries := readMenu(t, "no-entries.menu.lst")
	tests := []struct {
		name     string
		menu     Menu
		wantText string
	}{
		{"no entries", noEntries, "menu has no boot entries"},
		{"default beyond entries", Menu{Default: 2, Entries: []MenuEntry{{Kernel: "/k"}}},
			"default entry 2 does not exist; it has 1"},
		{"no kernel line", Menu{Entries: []MenuEntry{{Title: "Empty"}}},
			`entry "Empty" has no kernel line`},
	}
	for _, test := range tests {
		_, err := test.menu.DefaultEntry()
		if err == nil || !strings.Contains(err.Error(), test.wantText) {
			t.Errorf("%s: DefaultEntry = %v, want error containing %q", test.name, err,
				test.wantText)
		}
	}
}
