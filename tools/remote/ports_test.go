package remote

import (
	"context"
	"net"
	"os"
	"testing"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("../../testdata/remote/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseListeningPortsKeepsOnlyListeningSockets(t *testing.T) {
	tests := []struct {
		file string
		want map[int]bool
	}{
		{"proc-net-tcp.txt", map[int]bool{22: true, 9999: true}},
		{"proc-net-tcp6.txt", map[int]bool{22: true, 9000: true}},
	}
	for _, test := range tests {
		ports, err := ParseListeningPorts(readTestdata(t, test.file))
		if err != nil {
			t.Errorf("%s: %v", test.file, err)
			continue
		}
		if len(ports) != len(test.want) {
			t.Errorf("%s: ports %v, want %v", test.file, ports, test.want)
		}
		for port := range test.want {
			if !ports[port] {
				t.Errorf("%s: port %d not listed as listening in %v", test.file, port, ports)
			}
		}
	}
}

func TestParseListeningPortsRejectsABadAddress(t *testing.T) {
	if _, err := ParseListeningPorts(readTestdata(t, "proc-net-tcp-bad.txt")); err == nil {
		t.Error("parse succeeded, want an error about the local address")
	}
}

func TestPortFreeReadsBothTablesOnTheXenHost(t *testing.T) {
	runner := &FakeRunner{}
	tables := string(readTestdata(t, "proc-net-tcp.txt")) +
		string(readTestdata(t, "proc-net-tcp6.txt"))
	runner.On("sh", "-c").Returns(tables)

	for port, wantFree := range map[int]bool{9999: false, 9000: false, 9998: true, 8000: true} {
		free, err := PortFree(context.Background(), runner, port)
		if err != nil {
			t.Fatal(err)
		}
		if free != wantFree {
			t.Errorf("PortFree(%d) = %v, want %v", port, free, wantFree)
		}
	}
}

func TestPortFreeSeesARealListenerOnThisMachine(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := listener.Addr().(*net.TCPAddr).Port

	free, err := PortFree(context.Background(), NewLocal(), port)
	if err != nil {
		t.Fatal(err)
	}
	if free {
		t.Errorf("port %d reported free while listening", port)
	}

	listener.Close()
	free, err = PortFree(context.Background(), NewLocal(), port)
	if err != nil {
		t.Fatal(err)
	}
	if !free {
		t.Errorf("port %d reported busy after closing", port)
	}
}
