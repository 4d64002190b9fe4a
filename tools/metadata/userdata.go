package metadata

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxUserDataSize is EC2's limit on an instance's user-data, in bytes.
const MaxUserDataSize = 16 * 1024

// ReadUserDataFile returns the content of the file at path as user-data, refusing a file that
// is empty or larger than EC2 would accept.
func ReadUserDataFile(path string) (string, error) {
	file, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read user-data file: %w", err)
	}
	defer file.Close()

	text, err := io.ReadAll(io.LimitReader(file, MaxUserDataSize+1))
	if err != nil {
		return "", fmt.Errorf("read user-data file: %w", err)
	}
	if len(text) > MaxUserDataSize {
		return "", fmt.Errorf("read user-data file %s: %w", path, errUserDataTooLarge)
	}
	if len(text) == 0 {
		return "", fmt.Errorf("read user-data file %s: %w", path, errUserDataEmpty)
	}
	return string(text), nil
}

var (
	errUserDataTooLarge = fmt.Errorf("it is over EC2's user-data limit of %d bytes; "+
		"shorten it", MaxUserDataSize)
	errUserDataEmpty = errors.New("it is empty; write the user-data guests should read " +
		"(unik guests expect a JSON object such as {})")
)
