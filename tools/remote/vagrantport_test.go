package remote

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

// fakeVagrant answers `vagrant port` with output, or fails with err, and records its calls.
type fakeVagrant struct {
	output []byte
	err    error
	calls  [][]string
}

func (v *fakeVagrant) Output(_ context.Context, dir string, args ...string) ([]byte, error) {
	v.calls = append(v.calls, append([]string{dir}, args...))
	return v.output, v.err
}

// fakeForwarder stands for xenbox's own SSH forward.
type fakeForwarder struct {
	forwarded []int
}

func (f *fakeForwarder) Forward(_ context.Context, remotePort int) (string, func() error,
	error) {
	f.forwarded = append(f.forwarded, remotePort)
	return "127.0.0.1:40000", func() error { return nil }, nil
}

func listeningOn(ports ...int) func(int) bool {
	return func(port int) bool {
		for _, listening := range ports {
			if port == listening {
				return true
			}
		}
		return false
	}
}

var errNoCapability = errors.New("exit status 1")

func TestVagrantForwarderPicksVagrantsForwardOrSSH(t *testing.T) {
	virtualbox := readTestdata(t, "vagrant-port-virtualbox.txt")
	libvirt := readTestdata(t, "vagrant-port-libvirt.txt")
	tests := []struct {
		name       string
		output     []byte
		err        error
		listening  []int
		guestPort  int
		want       string
		wantViaSSH bool
	}{
		{name: "provider reports the forward", output: virtualbox, listening: []int{2201},
			guestPort: 9999, want: "127.0.0.1:2201"},
		{name: "reported forward not listening", output: virtualbox, listening: []int{9999},
			guestPort: 9999, wantViaSSH: true},
		{name: "provider cannot report, same port listens", output: libvirt,
			err: errNoCapability, listening: []int{10001}, guestPort: 10001,
			want: "127.0.0.1:10001"},
		{name: "provider cannot report, nothing listens", output: libvirt,
			err: errNoCapability, guestPort: 9999, wantViaSSH: true},
		{name: "port outside the Vagrantfile's range", output: libvirt, err: errNoCapability,
			listening: []int{12000}, guestPort: 12000, wantViaSSH: true},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			vagrant := &fakeVagrant{output: test.output, err: test.err}
			ssh := &fakeForwarder{}
			forwarder := VagrantForwarder{
				Ports: VagrantPorts{Dir: "/box", Vagrant: vagrant,
					ConventionPorts: []int{9999, 10000, 10001, 10002, 10003},
					Listening:       listeningOn(test.listening...)},
				Fallback: ssh,
			}

			addr, stop, err := forwarder.Forward(context.Background(), test.guestPort)
			if err != nil {
				t.Fatal(err)
			}
			if err := stop(); err != nil {
				t.Errorf("stop: %v", err)
			}

			if test.wantViaSSH {
				if !reflect.DeepEqual(ssh.forwarded, []int{test.guestPort}) || addr != "127.0.0.1:40000" {
					t.Errorf("got %s, SSH forwards %v; want an SSH forward of %d",
						addr, ssh.forwarded, test.guestPort)
				}
				return
			}
			if addr != test.want || len(ssh.forwarded) != 0 {
				t.Errorf("got %s, SSH forwards %v; want %s and no SSH forward",
					addr, ssh.forwarded, test.want)
			}
		})
	}
}

func TestVagrantPortsAsksVagrantInTheBoxDir(t *testing.T) {
	vagrant := &fakeVagrant{err: errNoCapability}
	ports := VagrantPorts{Dir: "/work/box", Vagrant: vagrant, Listening: listeningOn()}

	ports.HostPort(context.Background(), 9999)

	want := [][]string{{"/work/box", "port", "--guest", "9999", "--machine-readable"}}
	if !reflect.DeepEqual(vagrant.calls, want) {
		t.Errorf("vagrant called with %q, want %q", vagrant.calls, want)
	}
}

func TestParseVagrantPortReadsOnlyTheInfoLine(t *testing.T) {
	tests := []struct {
		name   string
		output string
		want   int
		wantOK bool
	}{
		{"virtualbox", string(readTestdata(t, "vagrant-port-virtualbox.txt")), 2201, true},
		{"libvirt error", string(readTestdata(t, "vagrant-port-libvirt.txt")), 0, false},
		{"empty", "", 0, false},
		{"not a port", "1,,ui,info,No forwarded ports\n", 0, false},
		{"out of range", "1,,ui,info,70000\n", 0, false},
	}
	for _, test := range tests {
		port, ok := ParseVagrantPort([]byte(test.output))
		if port != test.want || ok != test.wantOK {
			t.Errorf("%s: got %d %v, want %d %v", test.name, port, ok, test.want, test.wantOK)
		}
	}
}

func TestParsePortRange(t *testing.T) {
	tests := []struct {
		spec    string
		want    []int
		wantErr bool
	}{
		{"9999-10003", []int{9999, 10000, 10001, 10002, 10003}, false},
		{" 9999 ", []int{9999}, false},
		{"10003-9999", nil, true},
		{"0-3", nil, true},
		{"9999-70000", nil, true},
		{"1000-1001", nil, true},  // below 1024, as the Vagrantfile refuses
		{"9999-10063", nil, true}, // 65 ports, one more than the Vagrantfile forwards
		{"65534-65535", []int{65534, 65535}, false},
		{"ports", nil, true},
		{"", nil, true},
	}
	for _, test := range tests {
		ports, err := ParsePortRange(test.spec)
		if (err != nil) != test.wantErr || !reflect.DeepEqual(ports, test.want) {
			t.Errorf("ParsePortRange(%q) = %v, %v; want %v, error %v", test.spec, ports, err,
				test.want, test.wantErr)
		}
	}
}
