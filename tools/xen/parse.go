package xen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/go-version"
)

// ParseDomID reads the output of `xl domid NAME`: one number.
func ParseDomID(out []byte) (int, error) {
	text := strings.TrimSpace(string(out))
	domID, err := strconv.Atoi(text)
	if err != nil || domID < 0 {
		return 0, fmt.Errorf("xl domid printed %q, not a domain ID", text)
	}
	return domID, nil
}

// ParseList reads the table `xl list` prints:
//
//	Name                                        ID   Mem VCPUs	State	Time(s)
//	Domain-0                                     0  1024     2     r-----      21.5
//
// Columns are taken from the right, so a name with spaces in it still parses.
func ParseList(out []byte) ([]DomainInfo, error) {
	var domains []DomainInfo
	scanner := bufio.NewScanner(bytes.NewReader(out))
	for line := 1; scanner.Scan(); line++ {
		fields := strings.Fields(scanner.Text())
		if len(fields) == 0 || (line == 1 && fields[0] == "Name") {
			continue
		}
		domain, err := parseListLine(fields)
		if err != nil {
			return nil, fmt.Errorf("xl list line %d %q: %w", line, scanner.Text(), err)
		}
		domains = append(domains, domain)
	}
	return domains, scanner.Err()
}

// parseListLine reads the fields of one domain line of `xl list`.
func parseListLine(fields []string) (DomainInfo, error) {
	// Name (one or more words), ID, Mem, VCPUs, State, Time(s).
	if len(fields) < 6 {
		return DomainInfo{}, fmt.Errorf("want 6 columns, got %d", len(fields))
	}
	n := len(fields)
	numbers := make([]int, 3)
	for i, column := range []string{"ID", "Mem", "VCPUs"} {
		value, err := strconv.Atoi(fields[n-5+i])
		if err != nil {
			return DomainInfo{}, fmt.Errorf("column %s is %q, not a number", column, fields[n-5+i])
		}
		numbers[i] = value
	}
	return DomainInfo{
		Name:      strings.Join(fields[:n-5], " "),
		ID:        numbers[0],
		MemoryMiB: numbers[1],
		VCPUs:     numbers[2],
		State:     fields[n-2],
	}, nil
}

// ParseInfo reads the "key : value" lines of `xl info`. xen_version is required; the
// other fields are left zero when absent.
func ParseInfo(out []byte) (HostInfo, error) {
	values := map[string]string{}
	scanner := bufio.NewScanner(bytes.NewReader(out))
	for scanner.Scan() {
		key, value, found := strings.Cut(scanner.Text(), ":")
		if found {
			values[strings.TrimSpace(key)] = strings.TrimSpace(value)
		}
	}
	if err := scanner.Err(); err != nil {
		return HostInfo{}, err
	}

	var info HostInfo
	versionText, ok := values["xen_version"]
	if !ok {
		return HostInfo{}, errors.New("xl info printed no xen_version")
	}
	xenVersion, err := version.NewVersion(versionText)
	if err != nil {
		return HostInfo{}, fmt.Errorf("xl info printed xen_version %q: %w", versionText, err)
	}
	info.XenVersion = xenVersion
	info.XenCaps = values["xen_caps"]
	info.CommandLine = values["xen_commandline"]

	if free, ok := values["free_memory"]; ok {
		info.FreeMiB, err = strconv.Atoi(free)
		if err != nil {
			return HostInfo{}, fmt.Errorf("xl info printed free_memory %q, not a number", free)
		}
	}
	return info, nil
}
