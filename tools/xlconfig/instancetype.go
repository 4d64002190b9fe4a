// Package xlconfig describes the Xen PV domain that runs a unik boot image the way EC2 would
// (instance type memory and vCPUs, PV-GRUB or a direct kernel, the disk as sda1) and renders
// it as an xl domain config.
package xlconfig

import (
	"fmt"
	"math"
	"strings"
)

// InstanceType is an EC2 instance type that runs paravirtualized (PV) guests.
type InstanceType struct {
	Name      string
	MemoryMiB int
	VCPUs     int
}

// pvInstanceTypes are the EC2 types that run PV guests; later types (t2, t3...) are HVM only.
// Memory is EC2's figure in GiB.
var pvInstanceTypes = []struct {
	name      string
	memoryGiB float64
	vcpus     int
}{
	{"t1.micro", 0.613, 1},
	{"m1.small", 1.7, 1},
	{"m1.medium", 3.75, 1},
	{"m1.large", 7.5, 2},
	{"m1.xlarge", 15, 4},
	{"m3.medium", 3.75, 1},
	{"m3.large", 7.5, 2},
	{"c1.medium", 1.7, 2},
	{"c1.xlarge", 7, 8},
	{"m2.xlarge", 17.1, 2},
}

// InstanceTypes returns the PV instance types in EC2's order. MemoryMiB is EC2's GiB figure
// times 1024, rounded to the nearest MiB.
func InstanceTypes() []InstanceType {
	types := make([]InstanceType, 0, len(pvInstanceTypes))
	for _, t := range pvInstanceTypes {
		types = append(types, InstanceType{
			Name:      t.name,
			MemoryMiB: int(math.Round(t.memoryGiB * 1024)),
			VCPUs:     t.vcpus,
		})
	}
	return types
}

// LookupInstanceType returns the PV instance type called name, e.g. "m1.small"; an unknown
// name is an error listing the PV types.
func LookupInstanceType(name string) (InstanceType, error) {
	types := InstanceTypes()
	names := make([]string, 0, len(types))
	for _, t := range types {
		if t.Name == name {
			return t, nil
		}
		names = append(names, t.Name)
	}
	return InstanceType{}, fmt.Errorf("unknown instance type %q: unik's AWS images boot "+
		"as PV guests, and the PV instance types are %s", name, strings.Join(names, ", "))
}
