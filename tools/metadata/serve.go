package metadata

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// DefaultPort is the port guests reach through 169.254.169.254:80 after the vif hook's DNAT.
const DefaultPort = 80

// shutdownGrace is how long requests in flight may take to finish once asked to stop.
const shutdownGrace = 5 * time.Second

// ListenAddress is where the service listens: listen (ADDR:PORT) when given, else address at
// port, else the first IPv4 address of bridge at port.
func ListenAddress(listen, address, bridge string, port int) (string, error) {
	if listen != "" {
		return listen, nil
	}
	if address != "" {
		return net.JoinHostPort(address, fmt.Sprint(port)), nil
	}
	found, err := bridgeAddress(bridge)
	if err != nil {
		return "", fmt.Errorf("find the metadata service's address on bridge %s: %w "+
			"(give --listen ADDR:PORT, or bring the bridge up with an address)", bridge, err)
	}
	return net.JoinHostPort(found.String(), fmt.Sprint(port)), nil
}

func bridgeAddress(bridge string) (net.IP, error) {
	link, err := net.InterfaceByName(bridge)
	if err != nil {
		return nil, err
	}
	addresses, err := link.Addrs()
	if err != nil {
		return nil, err
	}
	for _, address := range addresses {
		if network, ok := address.(*net.IPNet); ok && network.IP.To4() != nil {
			return network.IP, nil
		}
	}
	return nil, errors.New("it has no IPv4 address")
}

// Serve answers on listener until ctx is done, then lets requests in flight finish.
func Serve(ctx context.Context, listener net.Listener, handler http.Handler) error {
	server := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()

	select {
	case err := <-served:
		return fmt.Errorf("serve metadata on %s: %w", listener.Addr(), err)
	case <-ctx.Done():
	}

	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("stop metadata service on %s: %w", listener.Addr(), err)
	}
	<-served
	return nil
}
