// Package box benchmarks the box `make box` bakes: how long its disk takes from power-on to a
// dom0 that answers SSH and passes `xenbox doctor`, booted with QEMU the way libvirt does.
//
// The benchmark runs with XENBOX_BOX_BENCH=1 (root, QEMU, a baked box in build/); `make bench`
// sets it after `make box`, and appends the box's build times by stage.
package box

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// vagrantKey is Vagrant's insecure private key, whose public half the box has. The package
// ships it world-readable, which ssh refuses, so a private copy is used.
const vagrantKey = "/usr/share/rubygems-integration/all/gems/vagrant-2.3.4/keys/vagrant"

// bootTimeout bounds one boot under emulation on a loaded machine.
const bootTimeout = 10 * time.Minute

// BenchmarkBoxBootToReady times the baked box's boot: SSH up, then `xenbox doctor` green.
func BenchmarkBoxBootToReady(b *testing.B) {
	if os.Getenv("XENBOX_BOX_BENCH") != "1" {
		b.Skip("boots the baked box under QEMU; set XENBOX_BOX_BENCH=1 (make bench does)")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		b.Fatal(err)
	}
	disk := extractBoxDisk(b, filepath.Join(repo, "build", "xenbox-libvirt.box"))
	key := privateKeyCopy(b)
	for i := 0; i < b.N; i++ {
		sshUp, ready := bootOnce(b, disk, key)
		b.ReportMetric(sshUp.Seconds(), "s/ssh-up")
		b.ReportMetric(ready.Seconds(), "s/doctor-green")
		record(b, "box boot to SSH up: %.1f s", sshUp.Seconds())
		record(b, "box boot to xenbox doctor green: %.1f s", ready.Seconds())
	}
	recordBuildTimes(b, filepath.Join(repo, "build", "box-timings.txt"))
}

// extractBoxDisk unpacks the box's qcow2 disk into a temporary directory.
func extractBoxDisk(b *testing.B, box string) string {
	b.Helper()
	if _, err := os.Stat(box); err != nil {
		b.Fatalf("no baked box: %v; run make box first", err)
	}
	dir := b.TempDir()
	if out, err := exec.Command("tar", "-C", dir, "-xf", box, "./box.img").CombinedOutput(); err != nil {
		b.Fatalf("unpack %s: %v\n%s", box, err, out)
	}
	return filepath.Join(dir, "box.img")
}

// privateKeyCopy is Vagrant's insecure key with the mode ssh accepts.
func privateKeyCopy(b *testing.B) string {
	b.Helper()
	key, err := os.ReadFile(vagrantKey)
	if err != nil {
		b.Fatalf("Vagrant's insecure key: %v; install vagrant", err)
	}
	path := filepath.Join(b.TempDir(), "vagrant")
	if err := os.WriteFile(path, key, 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// bootOnce boots an overlay of disk and returns the times to SSH up and to doctor green.
func bootOnce(b *testing.B, disk, key string) (sshUp, ready time.Duration) {
	b.Helper()
	dir := b.TempDir()
	overlay := filepath.Join(dir, "overlay.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-b", disk,
		"-F", "qcow2", overlay).CombinedOutput(); err != nil {
		b.Fatalf("qemu-img create: %v\n%s", err, out)
	}
	port := freePort(b)
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()

	start := time.Now()
	qemu := exec.Command("qemu-system-x86_64", "-accel", "tcg", "-cpu", "qemu64",
		"-m", "3072", "-smp", "2", "-display", "none", "-no-reboot",
		"-drive", "file="+overlay+",if=virtio,format=qcow2",
		"-netdev", fmt.Sprintf("user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:%d-:22", port),
		"-device", "virtio-net-pci,netdev=n0",
		"-serial", "file:"+filepath.Join(dir, "serial.log"))
	if err := qemu.Start(); err != nil {
		b.Fatalf("start qemu: %v", err)
	}
	defer func() {
		_ = qemu.Process.Kill()
		_ = qemu.Wait()
	}()

	if err := waitFor(ctx, func() bool { return ssh(ctx, key, port, "true") == nil }); err != nil {
		b.Fatalf("the box answered no SSH within %s; its console is in %s", bootTimeout, dir)
	}
	sshUp = time.Since(start)
	doctor := "sudo /usr/local/bin/xenbox --target local doctor"
	if err := waitFor(ctx, func() bool { return ssh(ctx, key, port, doctor) == nil }); err != nil {
		out, _ := exec.Command("ssh", sshArgs(key, port, doctor)...).CombinedOutput()
		b.Fatalf("xenbox doctor not green within %s:\n%s", bootTimeout, out)
	}
	return sshUp, time.Since(start)
}

func sshArgs(key string, port int, command string) []string {
	return []string{"-i", key, "-p", strconv.Itoa(port),
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
		"vagrant@127.0.0.1", command}
}

func ssh(ctx context.Context, key string, port int, command string) error {
	return exec.CommandContext(ctx, "ssh", sshArgs(key, port, command)...).Run()
}

// waitFor polls ready every two seconds until it holds or ctx ends.
func waitFor(ctx context.Context, ready func() bool) error {
	for !ready() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	return nil
}

func freePort(b *testing.B) int {
	b.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port
}

// record appends one line to the benchmark report XENBOX_BENCH_OUT, when set.
func record(b *testing.B, format string, args ...any) {
	b.Helper()
	line := fmt.Sprintf(format, args...)
	b.Log(line)
	out := os.Getenv("XENBOX_BENCH_OUT")
	if out == "" {
		return
	}
	file, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer file.Close()
	if _, err := fmt.Fprintln(file, line); err != nil {
		b.Fatal(err)
	}
}

// recordBuildTimes adds the stage times of the last make box to the report.
func recordBuildTimes(b *testing.B, timings string) {
	b.Helper()
	file, err := os.Open(timings)
	if err != nil {
		b.Logf("no box build times (%v); run make box", err)
		return
	}
	defer file.Close()
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		if fields := strings.Fields(scanner.Text()); len(fields) >= 2 {
			record(b, "make box, %s: %s s", fields[0], fields[1])
		}
	}
}
