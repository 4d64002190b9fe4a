package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeLocalFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// leftovers returns the temporary upload files left in dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, "*.tmp.*"))
	if err != nil {
		t.Fatal(err)
	}
	return matches
}

func TestSyncCopiesANewFileIntoFreshDirectories(t *testing.T) {
	dir := t.TempDir()
	local := filepath.Join(dir, "boot-creator-result.img.4471")
	content := bytes.Repeat([]byte("ext2 image "), 10000)
	writeLocalFile(t, local, content)
	remotePath := filepath.Join(dir, "var/lib/xenbox/images/hello/boot.img")

	result, err := Sync(context.Background(), NewLocal(), local, remotePath)
	if err != nil {
		t.Fatal(err)
	}

	if result.Skipped || result.BytesSent != int64(len(content)) {
		t.Errorf("result = %+v, want %d bytes sent", result, len(content))
	}
	got, err := os.ReadFile(remotePath)
	if err != nil || !bytes.Equal(got, content) {
		t.Errorf("remote file differs from the local one (err %v)", err)
	}
	if left := leftovers(t, filepath.Dir(remotePath)); len(left) != 0 {
		t.Errorf("temporary files left behind: %q", left)
	}
}

func TestSyncSkipsAFileWithTheSameChecksum(t *testing.T) {
	dir := t.TempDir()
	local, remotePath := filepath.Join(dir, "program.bin"), filepath.Join(dir, "remote.bin")
	writeLocalFile(t, local, []byte("unstripped kernel"))
	writeLocalFile(t, remotePath, []byte("unstripped kernel"))

	result, err := Sync(context.Background(), NewLocal(), local, remotePath)
	if err != nil {
		t.Fatal(err)
	}

	if !result.Skipped || result.BytesSent != 0 {
		t.Errorf("result = %+v, want skipped with nothing sent", result)
	}
}

func TestSyncReplacesAFileThatDiffers(t *testing.T) {
	dir := t.TempDir()
	local, remotePath := filepath.Join(dir, "program.bin"), filepath.Join(dir, "remote.bin")
	writeLocalFile(t, local, []byte("new kernel"))
	writeLocalFile(t, remotePath, []byte("old kernel, longer than the new one"))

	result, err := Sync(context.Background(), NewLocal(), local, remotePath)
	if err != nil {
		t.Fatal(err)
	}

	got, _ := os.ReadFile(remotePath)
	if result.Skipped || string(got) != "new kernel" {
		t.Errorf("result %+v, remote file %q; want it replaced by the new kernel", result, got)
	}
}

func TestSyncFailsOnAMissingLocalFile(t *testing.T) {
	dir := t.TempDir()
	_, err := Sync(context.Background(), NewLocal(), filepath.Join(dir, "absent"),
		filepath.Join(dir, "remote"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error = %v, want one wrapping fs.ErrNotExist", err)
	}
}

func TestSyncLeavesNoHalfWrittenFileWhenTheUploadFails(t *testing.T) {
	runner := &FakeRunner{}
	runner.On("sh", "-c", recordedSumScript).Returns("")
	runner.On("sh", "-c").Fails(1, "cat: write error: No space left on device")
	runner.On("rm", "-f", "--").Returns("")
	local := filepath.Join(t.TempDir(), "boot.img")
	writeLocalFile(t, local, []byte("image"))

	_, err := Sync(context.Background(), runner, local, "/var/lib/xenbox/images/a/boot.img")

	if err == nil || !strings.Contains(err.Error(), "No space left on device") {
		t.Fatalf("error = %v, want the upload failure", err)
	}
	calls := runner.CommandLines()
	last := calls[len(calls)-1]
	if !strings.HasPrefix(last, "rm -f -- /var/lib/xenbox/images/a/boot.img.tmp.") {
		t.Errorf("last command %q, want removal of the temporary file", last)
	}
	for _, call := range calls {
		if strings.Contains(call, "mv -f") {
			t.Errorf("a failed upload was moved into place: %q", call)
		}
	}
}

func TestWriteFileAndReadFileRoundTripWithMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions", "xenbox-hello.json")
	data := []byte(`{"domain":"xenbox-hello","gdbsx_pid":4012}` + "\n")

	if err := WriteFile(context.Background(), NewLocal(), path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(context.Background(), NewLocal(), path)
	if err != nil {
		t.Fatal(err)
	}

	if !bytes.Equal(got, data) {
		t.Errorf("read %q, want %q", got, data)
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode())
	}
}

func TestReadFileOfAMissingFileWrapsErrNotExist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.json")

	_, err := ReadFile(context.Background(), NewLocal(), path)

	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error = %v, want one wrapping fs.ErrNotExist", err)
	}
}

func TestReadFileOfADirectoryIsNotErrNotExist(t *testing.T) {
	_, err := ReadFile(context.Background(), NewLocal(), t.TempDir())

	if err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error = %v, want a read failure that is not fs.ErrNotExist", err)
	}
}

func TestResyncTrustsTheRecordedDigestOnlyWhileTheCopyIsUnchanged(t *testing.T) {
	dir := t.TempDir()
	local, remotePath := filepath.Join(dir, "local.img"), filepath.Join(dir, "remote", "boot.img")
	writeLocalFile(t, local, []byte("image one"))
	ctx := context.Background()
	if _, err := Sync(ctx, NewLocal(), local, remotePath); err != nil {
		t.Fatal(err)
	}
	digest, err := os.ReadFile(remotePath + ".sha256")
	wantSum := fmt.Sprintf("%x ", sha256.Sum256([]byte("image one")))
	if err != nil || !strings.HasPrefix(string(digest), wantSum) {
		t.Fatalf("digest file %q (%v), want the copy's sha256 first", digest, err)
	}

	again, err := Sync(ctx, NewLocal(), local, remotePath)
	if err != nil || !again.Skipped || again.BytesSent != 0 {
		t.Fatalf("re-sync %+v (%v), want skipped with no bytes sent", again, err)
	}

	// Someone changes the copy in dom0: its size no longer matches the digest file.
	if err := os.WriteFile(remotePath, []byte("changed in dom0"), 0o644); err != nil {
		t.Fatal(err)
	}
	repaired, err := Sync(ctx, NewLocal(), local, remotePath)
	if err != nil || repaired.Skipped {
		t.Fatalf("sync after a change in dom0 %+v (%v), want the image sent again", repaired, err)
	}
	if got, _ := os.ReadFile(remotePath); string(got) != "image one" {
		t.Errorf("remote copy %q, want %q", got, "image one")
	}
}
