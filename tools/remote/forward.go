package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// Forward makes remotePort of dom0's loopback reachable on a free port of this machine's
// loopback, through its own ssh process; stop kills that process.
func (s *SSH) Forward(ctx context.Context, remotePort int) (string, func() error, error) {
	return s.ForwardPort(ctx, 0, remotePort)
}

// ForwardPort is Forward on a chosen local port; 0 picks a free one.
func (s *SSH) ForwardPort(
	ctx context.Context, localPort, remotePort int,
) (string, func() error, error) {
	if localPort == 0 {
		port, err := FreeLocalPort()
		if err != nil {
			return "", nil, fmt.Errorf("forward port %d of %s: %w", remotePort, s.Where(), err)
		}
		localPort = port
	}
	localAddr := fmt.Sprintf("127.0.0.1:%d", localPort)
	// The readiness check below looks for a listener, so one must not be there already.
	if localPortListening(localPort) {
		return "", nil, fmt.Errorf("forward %s to port %d of %s: the local port is already "+
			"in use; pick another one", localAddr, remotePort, s.Where())
	}

	stderr := &tailBuffer{max: 16 << 10}
	args := append(s.baseArgs(false),
		"-N", "-o", "ExitOnForwardFailure=yes",
		"-L", fmt.Sprintf("%s:127.0.0.1:%d", localAddr, remotePort),
		"--", s.target.Host)
	// The forward outlives ctx, which only bounds the wait for it to be ready.
	process := s.program.Command(context.Background(), args)
	process.Stderr = stderr
	// Its own process group keeps a ^C typed into gdb (to interrupt the guest) from ending
	// the forward gdb is talking through.
	process.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := process.Start(); err != nil {
		return "", nil, fmt.Errorf("forward port %d of %s: %w", remotePort, s.Where(), err)
	}
	exited := make(chan error, 1)
	go func() { exited <- process.Wait() }()

	stop := func() error {
		select {
		case <-exited:
			return nil
		default:
		}
		if err := process.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("stop forwarding %s to port %d of %s: %w",
				localAddr, remotePort, s.Where(), err)
		}
		<-exited
		return nil
	}

	if err := s.waitForForward(ctx, localPort, exited, stderr); err != nil {
		stop()
		return "", nil, fmt.Errorf("forward %s to port %d of %s: %w",
			localAddr, remotePort, s.Where(), err)
	}
	return localAddr, stop, nil
}

// waitForForward waits until the ssh process listens on localPort, or exits, or the wait
// takes longer than connecting should.
func (s *SSH) waitForForward(
	ctx context.Context, localPort int, exited chan error, stderr *tailBuffer,
) error {
	deadline := time.NewTimer(s.target.ConnectTimeout + 10*time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()

	for {
		select {
		case err := <-exited:
			exited <- err // so that stop sees the process has ended
			return fmt.Errorf("ssh exited (%v): %s", err, lastLines(stderr.String(), 3))
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("ssh did not listen within %s: %s",
				s.target.ConnectTimeout+10*time.Second, lastLines(stderr.String(), 3))
		case <-tick.C:
			if localPortListening(localPort) {
				return nil
			}
		}
	}
}

// localPortListening reports whether something listens on 127.0.0.1:port of this machine.
// It never connects to the port: behind a forward may sit gdbsx, which serves exactly one
// connection and would take a probe for gdb.
func localPortListening(port int) bool {
	if runtime.GOOS == "linux" {
		table, err := os.ReadFile("/proc/net/tcp")
		if err == nil {
			ports, err := ParseListeningPorts(table)
			if err == nil {
				return ports[port]
			}
		}
	}

	// Limitation: elsewhere than Linux the check binds the port for an instant, which can
	// make an ssh that binds at that very moment fail with ExitOnForwardFailure.
	listener, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return true
	}
	listener.Close()
	return false
}

// FreeLocalPort returns a TCP port of 127.0.0.1 that nothing listens on right now.
//
// Limitation: another program may take the port between this check and its use; the
// forward then fails with a clear error rather than reaching the wrong service.
func FreeLocalPort() (int, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free local port: %w", err)
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port, nil
}
