package metadata

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestListenAddressPrefersTheGivenAddress(t *testing.T) {
	address, err := ListenAddress("127.0.0.1:8169", "10.0.2.1", "no-such-bridge0", DefaultPort)

	if err != nil || address != "127.0.0.1:8169" {
		t.Errorf("ListenAddress = %q, %v, want 127.0.0.1:8169", address, err)
	}
}

func TestListenAddressJoinsTheConfiguredAddressAndPort(t *testing.T) {
	address, err := ListenAddress("", "10.0.2.1", "no-such-bridge0", 8080)

	if err != nil || address != "10.0.2.1:8080" {
		t.Errorf("ListenAddress = %q, %v, want 10.0.2.1:8080", address, err)
	}
}

func TestListenAddressOfAMissingBridgeSaysWhatToDo(t *testing.T) {
	_, err := ListenAddress("", "", "no-such-bridge0", DefaultPort)

	if err == nil || !strings.Contains(err.Error(), "give --listen ADDR:PORT") {
		t.Errorf("error %v, want one suggesting --listen", err)
	}
}

func TestListenAddressUsesTheBridgeIPv4Address(t *testing.T) {
	address, err := ListenAddress("", "", "lo", 8080)

	if err != nil || address != "127.0.0.1:8080" {
		t.Errorf("ListenAddress on lo = %q, %v, want 127.0.0.1:8080", address, err)
	}
}

func TestServeAnswersUntilCancelledThenStops(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, listener, NewServer(Config{})) }()

	response, err := http.Get("http://" + listener.Addr().String() + "/latest/user-data")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(response.Body)
	response.Body.Close()
	cancel()

	if string(body) != "{}" {
		t.Errorf("user-data %q, want {}", body)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve returned %v after cancel, want nil", err)
		}
	case <-time.After(shutdownGrace + time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := net.DialTimeout("tcp", listener.Addr().String(), time.Second); err == nil {
		t.Error("still listening after shutdown")
	}
}
