package metadata

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DefaultRecordDir is where xenbox debug and the vif hook keep one record per domain.
const DefaultRecordDir = "/var/lib/xenbox/metadata"

// DefaultUserData is what a guest reads when its record sets no user-data: unik's stub parses
// it as an empty set of environment variables.
const DefaultUserData = "{}"

// Record is what the metadata service tells one domain about itself. It is stored as
// <domain>.json in the record directory; empty fields take the defaults of Defaults.
type Record struct {
	Domain       string `json:"domain"`
	IP           string `json:"ip,omitempty"`  // the guest's address, when known
	MAC          string `json:"mac,omitempty"` // the vif's MAC, found in dom0's neighbour table
	InstanceType string `json:"instance-type,omitempty"`
	// UserData is served at /latest/user-data; "" means the service's default user-data.
	UserData string `json:"user-data,omitempty"`
	// NoUserData makes /latest/user-data a 404, as EC2 does for an instance launched without.
	NoUserData       bool      `json:"no-user-data,omitempty"`
	InstanceID       string    `json:"instance-id,omitempty"`
	ImageID          string    `json:"ami-id,omitempty"`
	AvailabilityZone string    `json:"availability-zone,omitempty"`
	AccountID        string    `json:"account-id,omitempty"`
	PendingTime      time.Time `json:"pending-time,omitzero"`
}

// WriteRecord stores record as <domain>.json in dir atomically (write, then rename), so the
// service never reads half a record.
func WriteRecord(dir string, record Record) error {
	if !validDomainName(record.Domain) {
		return fmt.Errorf("write metadata record: domain name %q is not a plain file name",
			record.Domain)
	}
	text, err := json.MarshalIndent(record, "", "  ")
	if err != nil {
		return fmt.Errorf("write metadata record of %s: %w", record.Domain, err)
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write metadata record of %s: %w", record.Domain, err)
	}
	temporary, err := os.CreateTemp(dir, "."+record.Domain+".*.tmp")
	if err != nil {
		return fmt.Errorf("write metadata record of %s: %w", record.Domain, err)
	}
	defer os.Remove(temporary.Name())
	if _, err := temporary.Write(append(text, '\n')); err != nil {
		temporary.Close()
		return fmt.Errorf("write metadata record of %s: %w", record.Domain, err)
	}
	if err := temporary.Close(); err != nil {
		return fmt.Errorf("write metadata record of %s: %w", record.Domain, err)
	}

	path := filepath.Join(dir, record.Domain+".json")
	if err := os.Rename(temporary.Name(), path); err != nil {
		return fmt.Errorf("write metadata record of %s: %w", record.Domain, err)
	}
	return nil
}

func validDomainName(name string) bool {
	if name == "" || name == "." || name == ".." || strings.HasPrefix(name, ".") {
		return false
	}
	return !strings.ContainsAny(name, "/\x00")
}

// Store is the record directory as the service sees it. Each lookup re-reads the records whose
// file changed (by modification time, size or inode), so writers need no signal to the service.
type Store struct {
	dir string

	mu    sync.Mutex
	files map[string]storedRecord // by file name
}

type storedRecord struct {
	stamp  fileStamp
	record Record
	err    error
}

type fileStamp struct {
	modTime time.Time
	size    int64
	inode   uint64
}

// NewStore returns the store of the records in dir. A missing dir holds no records.
func NewStore(dir string) *Store {
	return &Store{dir: dir, files: map[string]storedRecord{}}
}

// Dir is the record directory.
func (s *Store) Dir() string { return s.dir }

// Records returns the current records, and one error per record file that changed since the
// last call and cannot be read; a bad file is skipped, and reported again only once it changes.
func (s *Store) Records() ([]Record, []error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	entries, err := os.ReadDir(s.dir)
	if err != nil && !os.IsNotExist(err) {
		return nil, []error{fmt.Errorf("read metadata records in %s: %w", s.dir, err)}
	}

	seen := map[string]bool{}
	var records []Record
	var problems []error
	for _, entry := range entries {
		name := entry.Name()
		if !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") {
			continue
		}
		seen[name] = true
		stored, fresh := s.refresh(name)
		if stored.err != nil {
			if fresh {
				problems = append(problems, stored.err)
			}
			continue
		}
		records = append(records, stored.record)
	}

	for name := range s.files {
		if !seen[name] {
			delete(s.files, name)
		}
	}
	return records, problems
}

// refresh returns the record in file name, parsing it again only when it changed; fresh says
// whether it was parsed by this call.
func (s *Store) refresh(name string) (stored storedRecord, fresh bool) {
	path := filepath.Join(s.dir, name)
	info, err := os.Stat(path)
	if err != nil {
		// Removed between the listing and now: gone, like a record never written.
		return storedRecord{err: fmt.Errorf("read metadata record %s: %w", path, err)}, false
	}
	stamp := stampOf(info)
	if stored, ok := s.files[name]; ok && stored.stamp == stamp {
		return stored, false
	}

	stored = storedRecord{stamp: stamp}
	stored.record, stored.err = readRecord(path)
	s.files[name] = stored
	return stored, true
}

func readRecord(path string) (Record, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return Record{}, fmt.Errorf("read metadata record %s: %w", path, err)
	}
	var record Record
	if err := json.Unmarshal(text, &record); err != nil {
		return Record{}, fmt.Errorf("read metadata record %s: %w", path, err)
	}
	if record.Domain == "" {
		record.Domain = strings.TrimSuffix(filepath.Base(path), ".json")
	}
	if record.IP != "" {
		if _, err := netip.ParseAddr(record.IP); err != nil {
			return Record{}, fmt.Errorf("read metadata record %s: ip: %w", path, err)
		}
	}
	return record, nil
}

// Lookup finds the record of the guest calling from source: the record with that IP, or else
// the record whose MAC the neighbour table gives for source. ok is false when none matches.
func (s *Store) Lookup(source netip.Addr, neighbours NeighbourTable) (Record, bool, []error) {
	records, problems := s.Records()
	for _, record := range records {
		if address, err := netip.ParseAddr(record.IP); err == nil && address == source.Unmap() {
			return record, true, problems
		}
	}

	if neighbours == nil {
		return Record{}, false, problems
	}
	mac, found := neighbours.MACOf(source)
	if !found {
		return Record{}, false, problems
	}
	for _, record := range records {
		if record.MAC != "" && strings.EqualFold(record.MAC, mac) {
			return record, true, problems
		}
	}
	return Record{}, false, problems
}
