package provisioner

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// fakeVM is a packersdk.Communicator standing in for the Debian VM being baked: it records
// the commands and uploads and answers like a VM that reboots into Xen. The SDK's
// MockCommunicator answers every command the same way, so it cannot play a reboot.
type fakeVM struct {
	mu       sync.Mutex
	commands []string
	uploads  map[string]fakeUpload
	uploaded []string // remote paths in upload order

	bootID string
	// unreachableAfterReboot is how many commands fail to start after the reboot, as while
	// the VM is down.
	unreachableAfterReboot int
	unreachable            int
	// sameBootIDAfterReboot is how many boot id reads still see the old boot, as while the
	// reboot has not started yet.
	sameBootIDAfterReboot int
	rebooted              bool
	neverRebootsIntoXen   bool // xl info keeps failing after the reboot

	failingScript string // a command containing this exits with failingStatus
	failingStatus int

	bridgeFlags  string // of xenbr0 in `ip link show`
	userData     string // what the metadata service serves
	doctorOutput string
	doctorStatus int
}

type fakeUpload struct {
	Data string
	Mode fs.FileMode
}

func newFakeVM() *fakeVM {
	return &fakeVM{
		uploads:                map[string]fakeUpload{},
		bootID:                 "3b2f3e3c-before",
		unreachableAfterReboot: 2,
		sameBootIDAfterReboot:  1,
		bridgeFlags:            "BROADCAST,MULTICAST,UP,LOWER_UP",
		userData:               "{}",
		doctorOutput:           "CHECK  RESULT  DETAIL\nxen running  ok  4.17\n",
	}
}

// commandsContaining are the recorded commands that contain text.
func (vm *fakeVM) commandsContaining(text string) []string {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	var found []string
	for _, command := range vm.commands {
		if strings.Contains(command, text) {
			found = append(found, command)
		}
	}
	return found
}

func (vm *fakeVM) Start(_ context.Context, cmd *packersdk.RemoteCmd) error {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	vm.commands = append(vm.commands, cmd.Command)
	if vm.unreachable > 0 {
		vm.unreachable--
		return errors.New("dial tcp 127.0.0.1:2222: connect: connection refused")
	}

	stdout, stderr, status := vm.answer(cmd.Command)
	go func() {
		if cmd.Stdout != nil {
			_, _ = io.WriteString(cmd.Stdout, stdout)
		}
		if cmd.Stderr != nil {
			_, _ = io.WriteString(cmd.Stderr, stderr)
		}
		cmd.SetExited(status)
	}()
	return nil
}

// answer plays the VM; it is called with mu held.
func (vm *fakeVM) answer(command string) (stdout, stderr string, status int) {
	switch {
	case vm.failingScript != "" && strings.Contains(command, vm.failingScript):
		return "", "==> failing: error: something broke\n", vm.failingStatus
	case strings.Contains(command, bootIDCommand):
		if vm.rebooted && vm.sameBootIDAfterReboot > 0 {
			vm.sameBootIDAfterReboot--
			return "3b2f3e3c-before\n", "", 0
		}
		return vm.bootID + "\n", "", 0
	case strings.Contains(command, "systemd-run"):
		vm.rebooted = true
		vm.unreachable = vm.unreachableAfterReboot
		vm.bootID = "9c41d2aa-after"
		return "", "", 0
	case strings.Contains(command, "xl info"):
		if !vm.rebooted || vm.neverRebootsIntoXen || vm.bootID != "9c41d2aa-after" {
			return "", "xencall: error: Could not obtain handle on privileged command interface\n", 1
		}
		return "host                   : box\nxen_version            : 4.17.5+72-g01140da4e8\n", "", 0
	case strings.Contains(command, "ip link show xenbr0"):
		return "7: xenbr0: <" + vm.bridgeFlags + "> mtu 1500 qdisc noqueue state UP\n", "", 0
	case strings.Contains(command, "ip -4 -o addr show dev xenbr0"):
		return "7: xenbr0    inet 10.99.0.1/24 brd 10.99.0.255 scope global xenbr0\n", "", 0
	case strings.Contains(command, "/dev/tcp"):
		return "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + vm.userData, "", 0
	case strings.Contains(command, "doctor"):
		return vm.doctorOutput, "", vm.doctorStatus
	}
	return "", "", 0
}

func (vm *fakeVM) Upload(path string, content io.Reader, info *os.FileInfo) error {
	data, err := io.ReadAll(content)
	if err != nil {
		return err
	}
	vm.mu.Lock()
	defer vm.mu.Unlock()
	var mode fs.FileMode
	if info != nil {
		mode = (*info).Mode()
	}
	vm.uploads[path] = fakeUpload{Data: string(data), Mode: mode}
	vm.uploaded = append(vm.uploaded, path)
	return nil
}

func (vm *fakeVM) UploadDir(string, string, []string) error {
	return errors.New("fakeVM: the provisioner uploads file by file")
}

func (vm *fakeVM) Download(string, io.Writer) error {
	return errors.New("fakeVM: the provisioner downloads nothing")
}

func (vm *fakeVM) DownloadDir(string, string, []string) error {
	return errors.New("fakeVM: the provisioner downloads nothing")
}
