package remote

import "testing"

func TestExitErrorNamesAnInlineScriptByItsFirstLine(t *testing.T) {
	err := &ExitError{Args: []string{"sh", "-c", "[ -f \"$1\" ] || exit 0\nsha256sum -- \"$1\"",
		"sh", "/var/lib/xenbox/images/a/boot.img"}, Where: "dom0", Code: 1, Stderr: "boom"}

	want := `sh -c '[ -f "$1" ] || exit 0 ...' /var/lib/xenbox/images/a/boot.img on dom0 ` +
		`exited with status 1: boom`
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestExitErrorOfAnUnreachableHostSaysSo(t *testing.T) {
	err := &ExitError{Args: []string{"xl", "info"}, Where: "dom0 via ssh box", Code: 255,
		Stderr: "ssh: connect to host 127.0.0.1 port 1: Connection refused"}

	want := "cannot reach dom0 via ssh box: ssh: connect to host 127.0.0.1 port 1: " +
		"Connection refused"
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
