package remote

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// rumprunJSON is a rump kernel command line as unik writes it into menu.lst.
const rumprunJSON = `{"net":{"if":"xenif0","cloner":"true","type":"inet","method":"dhcp"},` +
	`"blk": {"source":"etfs","path":"sda1","fstype":"blk","mountpoint":"/bootpart"}}`

// awkwardWords are arguments a remote shell must see exactly as given.
var awkwardWords = []string{
	"plain", "with space", "it's", `"double"`, "$HOME", "`id`", "$(id)", "a\\b", "*", "",
	"semi;colon", "new\nline", "-leading-dash", "tab\there", rumprunJSON,
}

func TestShellQuoteLeavesSafeWordsBare(t *testing.T) {
	for _, word := range []string{"xl", "-p", "/var/lib/xenbox/domains/web.cfg", "a=b,c:d@e%f+"} {
		if got := ShellQuote(word); got != word {
			t.Errorf("ShellQuote(%q) = %q, want it unchanged", word, got)
		}
	}
}

func TestShellQuoteEscapesSingleQuotes(t *testing.T) {
	tests := map[string]string{
		"it's":       `'it'\''s'`,
		"":           `''`,
		"with space": `'with space'`,
		"$HOME":      `'$HOME'`,
	}
	for word, want := range tests {
		if got := ShellQuote(word); got != want {
			t.Errorf("ShellQuote(%q) = %q, want %q", word, got, want)
		}
	}
}

func TestShellJoinSurvivesARealShell(t *testing.T) {
	line := shellJoin(append([]string{"printf", `%s\0`}, awkwardWords...))

	out, err := exec.CommandContext(context.Background(), "sh", "-c", line).Output()
	if err != nil {
		t.Fatalf("sh -c %q: %v", line, err)
	}

	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if !slices.Equal(got, awkwardWords) {
		t.Errorf("shell saw %q\nwant %q", got, awkwardWords)
	}
}
