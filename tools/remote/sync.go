package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
)

// SyncResult says what Sync did.
type SyncResult struct {
	// Skipped is true when the Xen host already had the same file and nothing was sent.
	Skipped   bool
	BytesSent int64
	Duration  time.Duration
}

// readMissingStatus is the exit status ReadFile's script uses for a missing file.
const readMissingStatus = 66

// Sync copies the local file localPath to remotePath on the Xen host, unless a file with the
// same sha256 is already there. The copy goes to a temporary name beside remotePath and is
// renamed into place once complete, so remotePath never holds a half-written file.
func Sync(ctx context.Context, r Runner, localPath, remotePath string) (SyncResult, error) {
	started := time.Now()
	fail := func(err error) (SyncResult, error) {
		return SyncResult{}, fmt.Errorf("copy %s to %s on %s: %w",
			localPath, remotePath, r.Where(), err)
	}

	file, err := os.Open(localPath)
	if err != nil {
		return fail(err)
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return fail(err)
	}
	localSum, err := fileSHA256(file)
	if err != nil {
		return fail(err)
	}

	remoteSum, err := recordedSHA256(ctx, r, remotePath)
	if err != nil {
		return fail(err)
	}
	if remoteSum == localSum {
		return SyncResult{Skipped: true, Duration: time.Since(started)}, nil
	}

	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return fail(err)
	}
	sent, err := writeAtomically(ctx, r, remotePath, file, localSum, info.Mode().Perm(), true)
	if err != nil {
		return fail(err)
	}
	return SyncResult{BytesSent: sent, Duration: time.Since(started)}, nil
}

// WriteFile writes data to path on the Xen host with the given permissions, through a
// temporary file renamed into place, creating the parent directories.
func WriteFile(ctx context.Context, r Runner, path string, data []byte, mode fs.FileMode) error {
	sum := sha256.Sum256(data)
	_, err := writeAtomically(ctx, r, path, bytes.NewReader(data), hex.EncodeToString(sum[:]),
		mode.Perm(), false)
	if err != nil {
		return fmt.Errorf("write %s on %s: %w", path, r.Where(), err)
	}
	return nil
}

// ReadFile returns the content of path on the Xen host. A missing file is an error that
// wraps fs.ErrNotExist.
func ReadFile(ctx context.Context, r Runner, path string) ([]byte, error) {
	script := fmt.Sprintf(`[ -e "$1" ] || exit %d; exec cat -- "$1"`, readMissingStatus)
	data, err := r.Output(ctx, "sh", "-c", script, "sh", path)

	var exitErr *ExitError
	if errors.As(err, &exitErr) && exitErr.Code == readMissingStatus {
		return nil, fmt.Errorf("read %s on %s: %w", path, r.Where(), fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s on %s: %w", path, r.Where(), err)
	}
	return data, nil
}

// writeAtomically streams content to a temporary file beside remotePath, checks that what
// arrived has wantSum, sets mode and renames it into place. It returns the bytes sent.
func writeAtomically(
	ctx context.Context, r Runner, remotePath string, content io.Reader, wantSum string,
	mode fs.FileMode, recordDigest bool,
) (int64, error) {
	tempPath, err := tempNameBeside(remotePath)
	if err != nil {
		return 0, err
	}

	counter := &countingReader{reader: content}
	upload := `mkdir -p -- "$(dirname -- "$1")" && cat > "$1"`
	err = r.Run(ctx, Command{Args: []string{"sh", "-c", upload, "sh", tempPath}, Stdin: counter})
	if err != nil {
		removeQuietly(r, tempPath)
		return counter.count, fmt.Errorf("upload: %w", err)
	}

	gotSum, err := remoteSHA256(ctx, r, tempPath)
	if err != nil || gotSum != wantSum {
		removeQuietly(r, tempPath)
		if err == nil {
			err = fmt.Errorf("checksum %s of the upload differs from %s", gotSum, wantSum)
		}
		return counter.count, err
	}

	install := `chmod "$1" "$2" && mv -f -- "$2" "$3"`
	if recordDigest {
		// The digest file beside the copy lets the next sync skip hashing it again.
		install += ` &&
		printf '%s %s\n' "$4" "$(stat -c '%s %.9Y %i' -- "$3")" > "$3.sha256.tmp" &&
		mv -f -- "$3.sha256.tmp" "$3.sha256"`
	}
	modeText := fmt.Sprintf("%04o", mode)
	_, err = r.Output(ctx, "sh", "-c", install, "sh", modeText, tempPath, remotePath, wantSum)
	if err != nil {
		removeQuietly(r, tempPath)
		return counter.count, fmt.Errorf("move the upload into place: %w", err)
	}
	return counter.count, nil
}

// recordedSumScript prints the recorded digest of $1 while it still describes the file, else
// the file's sha256sum; nothing when $1 is not a file.
const recordedSumScript = `[ -f "$1" ] || exit 0
if [ -f "$1.sha256" ] && read -r sum meta < "$1.sha256" &&
	[ "$meta" = "$(stat -c '%s %.9Y %i' -- "$1")" ]; then
	echo "$sum"
else
	sha256sum -- "$1"
fi`

// recordedSHA256 returns the hex sha256 of path on the Xen host, or "" when it is not a file.
// It trusts the digest file that the last sync wrote beside path while the file's size,
// modification time and inode are still those recorded, and hashes the file otherwise:
// hashing a large image in an emulated dom0 takes seconds.
func recordedSHA256(ctx context.Context, r Runner, remotePath string) (string, error) {
	script := recordedSumScript
	out, err := r.Output(ctx, "sh", "-c", script, "sh", remotePath)
	if err != nil {
		return "", fmt.Errorf("checksum: %w", err)
	}
	sum, _, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	return strings.TrimPrefix(sum, `\`), nil
}

// remoteSHA256 returns the hex sha256 of path on the Xen host, or "" when it is not a file.
func remoteSHA256(ctx context.Context, r Runner, remotePath string) (string, error) {
	script := `if [ -f "$1" ]; then sha256sum -- "$1"; fi`
	out, err := r.Output(ctx, "sh", "-c", script, "sh", remotePath)
	if err != nil {
		return "", fmt.Errorf("checksum: %w", err)
	}
	sum, _, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	// sha256sum escapes names with a backslash in front of the sum.
	return strings.TrimPrefix(sum, `\`), nil
}

// fileSHA256 returns the hex sha256 of what is left to read in file.
func fileSHA256(file io.Reader) (string, error) {
	hash := sha256.New()
	if _, err := io.Copy(hash, file); err != nil {
		return "", fmt.Errorf("checksum: %w", err)
	}
	return hex.EncodeToString(hash.Sum(nil)), nil
}

// tempNameBeside returns remotePath.tmp.<random>, in the same directory so that the final
// rename stays within one filesystem and is atomic.
func tempNameBeside(remotePath string) (string, error) {
	var random [6]byte
	if _, err := rand.Read(random[:]); err != nil {
		return "", fmt.Errorf("make a temporary name: %w", err)
	}
	return path.Clean(remotePath) + ".tmp." + hex.EncodeToString(random[:]), nil
}

// removeQuietly deletes a leftover temporary file; failing to is not worth an error of its
// own, since the original error says what went wrong.
func removeQuietly(r Runner, remotePath string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.Output(ctx, "rm", "-f", "--", remotePath)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	reader io.Reader
	count  int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.reader.Read(p)
	c.count += int64(n)
	return n, err
}
