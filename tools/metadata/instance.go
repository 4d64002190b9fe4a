package metadata

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Defaults of what a guest sees when its record does not say.
const (
	DefaultInstanceType     = "t1.micro"
	DefaultImageID          = "ami-00000000000000000"
	DefaultAvailabilityZone = "us-east-1a"
	DefaultAccountID        = "000000000000"
)

// identityDocumentVersion is the version EC2 puts in every instance identity document.
const identityDocumentVersion = "2017-09-30"

// instance is one guest's metadata with every default applied.
type instance struct {
	Domain           string
	InstanceID       string
	ImageID          string
	InstanceType     string
	LocalIPv4        string
	MAC              string
	AvailabilityZone string
	AccountID        string
	PendingTime      time.Time
	UserData         string
	NoUserData       bool
}

func newInstance(record Record, found bool, source netip.Addr, mac string,
	started time.Time) instance {
	guest := instance{
		Domain:           record.Domain,
		InstanceID:       record.InstanceID,
		ImageID:          or(record.ImageID, DefaultImageID),
		InstanceType:     or(record.InstanceType, DefaultInstanceType),
		LocalIPv4:        or(record.IP, source.String()),
		MAC:              mac,
		AvailabilityZone: or(record.AvailabilityZone, DefaultAvailabilityZone),
		AccountID:        or(record.AccountID, DefaultAccountID),
		PendingTime:      record.PendingTime,
		UserData:         or(record.UserData, DefaultUserData),
		NoUserData:       record.NoUserData,
	}
	if guest.InstanceID == "" {
		guest.InstanceID = derivedInstanceID(record.Domain, found, source)
	}
	if guest.PendingTime.IsZero() {
		guest.PendingTime = started
	}
	return guest
}

// derivedInstanceID is an id shaped like EC2's (i- and 17 hex digits): from the domain name
// when the guest has a record, so it survives a new DHCP lease, else from its IPv4 address.
func derivedInstanceID(domain string, found bool, source netip.Addr) string {
	if !found && source.Is4() {
		address := source.As4()
		return fmt.Sprintf("i-%017x", binary.BigEndian.Uint32(address[:]))
	}
	sum := sha256.Sum256([]byte(domain + "\x00" + source.String()))
	if found {
		sum = sha256.Sum256([]byte(domain))
	}
	return "i-" + hex.EncodeToString(sum[:])[:17]
}

// Indexes, as EC2 lists them: one name a line, directories with a trailing slash.
var indexes = map[string][]string{
	"":                                  {"latest"},
	"/latest":                           {"dynamic", "meta-data", "user-data"},
	"/latest/meta-data":                 metaDataIndex,
	"/latest/meta-data/placement":       {"availability-zone", "region"},
	"/latest/dynamic":                   {"instance-identity/"},
	"/latest/dynamic/instance-identity": {"document"},
}

var metaDataIndex = []string{"ami-id", "hostname", "instance-id", "instance-type",
	"local-hostname", "local-ipv4", "mac", "placement/"}

// answer returns the body served at path (without a trailing slash), and whether there is one.
func (guest instance) answer(path string) (string, bool) {
	if names, ok := indexes[path]; ok {
		return strings.Join(names, "\n"), true
	}

	switch path {
	case "/latest/user-data":
		return guest.UserData, !guest.NoUserData
	case "/latest/dynamic/instance-identity/document":
		return guest.identityDocument(), true
	}

	leaf, ok := strings.CutPrefix(path, "/latest/meta-data/")
	if !ok {
		return "", false
	}
	value := guest.metaData()[leaf]
	return value, value != ""
}

func (guest instance) metaData() map[string]string {
	return map[string]string{
		"ami-id":                      guest.ImageID,
		"hostname":                    guest.hostname(),
		"instance-id":                 guest.InstanceID,
		"instance-type":               guest.InstanceType,
		"local-hostname":              guest.hostname(),
		"local-ipv4":                  guest.LocalIPv4,
		"mac":                         guest.MAC,
		"placement/availability-zone": guest.AvailabilityZone,
		"placement/region":            guest.region(),
	}
}

// hostname is EC2's private DNS name: ip-10-0-2-15.ec2.internal in us-east-1,
// ip-10-0-2-15.REGION.compute.internal elsewhere.
func (guest instance) hostname() string {
	name := "ip-" + strings.ReplaceAll(guest.LocalIPv4, ".", "-")
	if guest.region() == "us-east-1" {
		return name + ".ec2.internal"
	}
	return name + "." + guest.region() + ".compute.internal"
}

// region is the availability zone without its letter.
func (guest instance) region() string {
	return strings.TrimRight(guest.AvailabilityZone, "abcdefghijklmnopqrstuvwxyz")
}

// identityDocument is /latest/dynamic/instance-identity/document.
//
// Limitation: the document is not signed (no pkcs7, signature or rsa2048 siblings): there is
// no AWS key to sign with, and unik guests do not verify it.
func (guest instance) identityDocument() string {
	document := struct {
		AccountID        string `json:"accountId"`
		Architecture     string `json:"architecture"`
		AvailabilityZone string `json:"availabilityZone"`
		ImageID          string `json:"imageId"`
		InstanceID       string `json:"instanceId"`
		InstanceType     string `json:"instanceType"`
		PendingTime      string `json:"pendingTime"`
		PrivateIP        string `json:"privateIp"`
		Region           string `json:"region"`
		Version          string `json:"version"`
	}{
		AccountID:        guest.AccountID,
		Architecture:     "x86_64",
		AvailabilityZone: guest.AvailabilityZone,
		ImageID:          guest.ImageID,
		InstanceID:       guest.InstanceID,
		InstanceType:     guest.InstanceType,
		PendingTime:      guest.PendingTime.UTC().Format(time.RFC3339),
		PrivateIP:        guest.LocalIPv4,
		Region:           guest.region(),
		Version:          identityDocumentVersion,
	}
	text, _ := json.MarshalIndent(document, "", "  ") // strings only: cannot fail
	return string(text)
}

func or(value, fallback string) string {
	if value == "" {
		return fallback
	}
	return value
}
