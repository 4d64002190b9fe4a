// Package doctor checks that the Xen box can run a debug session: Xen running, a hypervisor
// built with gdbsx support, gdbsx matching it, the PV-GRUB binaries, the guests' network
// (xenbr0, bridged frames through iptables, the metadata vif hook and service), a free gdbsx
// port, and a recent enough gdb on this machine. Each failed check says how to fix it.
package doctor

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/xenbox/xenbox/tools/remote"
	"github.com/xenbox/xenbox/tools/session"
	"github.com/xenbox/xenbox/tools/xen"
)

// Check is the outcome of one check of the Xen host.
type Check struct {
	Name   string
	OK     bool
	Detail string // what was found
	Fix    string // what to do when the check failed
}

// Host is what the checks look at: dom0 through its runner, files and xl, and this machine's gdb.
type Host struct {
	Runner remote.Runner
	Box    session.Box
	XL     xen.XL
	// LocalGDBVersion returns what `gdb --version` prints on this machine.
	LocalGDBVersion func(ctx context.Context) ([]byte, error)
	Port            int // the gdbsx port debug will use
}

// Run performs every check in the order a user fixes them.
func Run(ctx context.Context, host Host) []Check {
	xenCheck, info := checkXen(ctx, host)
	checks := []Check{
		xenCheck,
		checkHypervisorGDBSX(ctx, host, xenCheck.OK),
		checkGDBSX(ctx, host, info),
		checkPVGrub(ctx, host),
	}
	checks = append(checks, checkNetwork(ctx, host)...)
	return append(checks, checkPort(ctx, host), checkLocalGDB(ctx, host))
}

// Failed reports whether any check failed.
func Failed(checks []Check) bool {
	for _, check := range checks {
		if !check.OK {
			return true
		}
	}
	return false
}

// Print writes the checks as a table, each failure followed by its fix.
func Print(w io.Writer, checks []Check) error {
	table := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(table, "CHECK\tRESULT\tDETAIL")
	for _, check := range checks {
		result := "ok"
		if !check.OK {
			result = "FAIL"
		}
		fmt.Fprintf(table, "%s\t%s\t%s\n", check.Name, result, oneLine(check.Detail))
		if !check.OK && check.Fix != "" {
			fmt.Fprintf(table, "\t\tfix: %s\n", check.Fix)
		}
	}
	return table.Flush()
}

func oneLine(text string) string {
	return strings.Join(strings.Fields(text), " ")
}

func passed(name, detail string) Check {
	return Check{Name: name, OK: true, Detail: detail}
}

func failed(name, detail, fix string) Check {
	return Check{Name: name, Detail: detail, Fix: fix}
}
