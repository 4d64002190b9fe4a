package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkDebugToBreakpoint times what a user waits for: from `xenbox debug` to gdb stopped
// at a breakpoint in the unikernel, through PV-GRUB and with --direct.
func BenchmarkDebugToBreakpoint(b *testing.B) {
	h := requireXenB(b)
	for _, boot := range []struct{ name, flag string }{{"pvgrub", ""}, {"direct", "--direct"}} {
		b.Run(boot.name, func(b *testing.B) {
			var total time.Duration
			for i := 0; i < b.N; i++ {
				domain := fmt.Sprintf("bench-%s-%d", boot.name, i)
				b.StopTimer()
				if r := h.xenboxRun(b, "sync", "--name", domain, h.whole.Name); r.Code != 0 {
					b.Fatalf("sync exited %d", r.Code)
				}
				b.StartTimer()
				start := time.Now()
				args := []string{"debug", "--name", domain, "--bridge", "", "--memory", "32"}
				if boot.flag != "" {
					args = append(args, boot.flag)
				}
				if r := h.xenboxRun(b, append(args, h.whole.Name)...); r.Code != 0 {
					b.Fatalf("debug exited %d", r.Code)
				}
				gdb := h.xenboxRun(b, "gdb", "--name", domain, "--break", "tick", h.whole.Name,
					"--", "-batch", "-ex", "continue")
				mustMatch(b, gdb.Out, `Breakpoint 1, tick \(counter=1\)`)
				total += time.Since(start)
			}
			seconds := total.Seconds() / float64(b.N)
			b.ReportMetric(seconds, "s/debug-to-breakpoint")
			record(b, "debug to breakpoint (%s): %.1f s", boot.name, seconds)
		})
	}
}

// BenchmarkSync64MiBImage compares xenbox sync of a 64 MiB image with scp of the same file,
// and times a re-sync of the unchanged image (goal: under 0.2 s, no image bytes sent).
func BenchmarkSync64MiBImage(b *testing.B) {
	h := requireXenB(b)
	dir := b.TempDir()
	big, err := h.packInto(dir, "--size", "64")
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		domain := fmt.Sprintf("bench-sync-%d", i)
		first := timed(func() {
			r := h.xenboxRun(b, "--unik-tmp", dir, "sync", "--name", domain, big.Name)
			mustMatch(b, r.Out, `boot\.img .*sent 64\.0 MiB`)
		})
		scp := timed(func() {
			cmd := exec.Command("scp", "-q", "-F", filepath.Join(h.xen, "ssh_config"), big.Image,
				"dom0:/var/tmp/bench-scp.img")
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("scp: %v\n%s", err, out)
			}
		})
		again := timed(func() {
			r := h.xenboxRun(b, "--unik-tmp", dir, "sync", "--name", domain, big.Name)
			mustMatch(b, r.Out, `boot\.img .*unchanged, skipped`)
		})
		h.dom0(b, "rm -rf /var/tmp/bench-scp.img /var/lib/xenbox/images/"+domain)
		b.ReportMetric(first.Seconds(), "s/first-sync")
		b.ReportMetric(scp.Seconds(), "s/scp")
		b.ReportMetric(again.Seconds(), "s/re-sync")
		record(b, "sync of a 64 MiB image: first %.1f s, scp %.1f s (xenbox/scp %.2f), "+
			"re-sync of the unchanged image %.2f s", first.Seconds(), scp.Seconds(),
			first.Seconds()/scp.Seconds(), again.Seconds())
	}
}

func requireXenB(b *testing.B) *harness {
	b.Helper()
	if suite == nil {
		b.Skip("benchmarks boot Xen under QEMU: run them with make bench (XENBOX_E2E=1)")
	}
	return suite
}

func timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

// record appends one line of figures to XENBOX_BENCH_OUT (make bench: build/bench.txt).
func record(b *testing.B, format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	b.Log(line)
	path := os.Getenv("XENBOX_BENCH_OUT")
	if path == "" {
		return
	}
	file, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer file.Close()
	stamp := time.Now().UTC().Format(time.RFC3339)
	if _, err := fmt.Fprintf(file, "%s %s\n", stamp, strings.TrimSpace(line)); err != nil {
		b.Fatal(err)
	}
}
