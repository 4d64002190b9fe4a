package remote

import (
	"regexp"
	"strings"
)

// shellSafe matches words that any POSIX shell reads back unchanged without quotes.
var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// ShellQuote quotes one word for a POSIX shell: words made only of safe characters are left
// as they are, anything else goes in single quotes, each single quote inside it closing the
// quotes, escaped with a backslash, and reopening them.
func ShellQuote(word string) string {
	if shellSafe.MatchString(word) {
		return word
	}
	return "'" + strings.ReplaceAll(word, "'", `'\''`) + "'"
}

// shellJoin quotes each word and joins them with spaces into one shell command line, which
// is what ssh hands to the remote user's shell.
func shellJoin(words []string) string {
	quoted := make([]string, len(words))
	for i, word := range words {
		quoted[i] = ShellQuote(word)
	}
	return strings.Join(quoted, " ")
}
