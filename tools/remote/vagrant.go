package remote

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// SSHFromVagrant returns a Runner for the box of the Vagrantfile in vagrantDir: it runs
// `vagrant ssh-config [machine]` there and uses what it prints as a private ssh config file.
// machine may be empty for a single-machine Vagrantfile.
func SSHFromVagrant(ctx context.Context, vagrantDir, machine string) (*SSH, error) {
	config, err := VagrantSSHConfig(ctx, vagrantDir, machine)
	if err != nil {
		return nil, err
	}
	return SSHFromVagrantConfig(config, vagrantDir)
}

// VagrantSSHConfig runs `vagrant ssh-config [machine]` in vagrantDir and returns its output.
func VagrantSSHConfig(ctx context.Context, vagrantDir, machine string) ([]byte, error) {
	if err := checkVagrantDir(vagrantDir); err != nil {
		return nil, err
	}
	args := []string{"ssh-config"}
	if machine != "" {
		args = append(args, machine)
	}
	vagrant := exec.CommandContext(ctx, "vagrant", args...)
	vagrant.Dir = vagrantDir
	var stderr bytes.Buffer
	vagrant.Stderr = &stderr

	config, err := vagrant.Output()
	if errors.Is(err, exec.ErrNotFound) {
		return nil, fmt.Errorf("find the Xen box: vagrant is not installed; point xenbox at a " +
			"dom0 with --ssh-config FILE --ssh-host HOST or --target ssh://root@HOST:PORT, " +
			"or --target local inside dom0")
	}
	if err != nil {
		return nil, fmt.Errorf("read the ssh settings of the box in %s: %w: %s; is the box up "+
			"(vagrant up)?", vagrantDir, err, strings.Join(strings.Fields(stderr.String()), " "))
	}
	return config, nil
}

// checkVagrantDir says what is wrong with a box directory before vagrant gets to say it less
// clearly: a missing directory, or one without a Vagrantfile.
func checkVagrantDir(vagrantDir string) error {
	const fix = "; run xenbox in the Vagrantfile's directory or point --box-dir " +
		"(XENBOX_BOX_DIR) at it"
	if vagrantDir == "" {
		return errors.New("find the Xen box: the box directory is empty" + fix)
	}
	info, err := os.Stat(vagrantDir)
	if err != nil {
		return fmt.Errorf("find the Xen box: %w%s", err, fix)
	}
	if !info.IsDir() {
		return fmt.Errorf("find the Xen box: %s is not a directory%s", vagrantDir, fix)
	}
	if _, err := os.Stat(filepath.Join(vagrantDir, "Vagrantfile")); err != nil {
		return fmt.Errorf("find the Xen box: no Vagrantfile in %s%s", vagrantDir, fix)
	}
	return nil
}

// SSHFromVagrantConfig writes config, the output of `vagrant ssh-config`, to a file only
// this user can read, and returns a Runner for its first host. Commands go through sudo
// when the box logs in as another user than root (Vagrant's default user is "vagrant").
func SSHFromVagrantConfig(config []byte, vagrantDir string) (*SSH, error) {
	host, user := vagrantHostAndUser(config)
	if host == "" {
		return nil, fmt.Errorf("read the ssh settings of the box in %s: no Host line in the "+
			"output of vagrant ssh-config", vagrantDir)
	}

	configFile, err := writePrivateConfig(config, vagrantDir)
	if err != nil {
		return nil, err
	}
	return NewSSH(SSHTarget{ConfigFile: configFile, Host: host, Sudo: user != "root"})
}

// vagrantHostAndUser returns the first Host of an ssh config and the User set for it.
func vagrantHostAndUser(config []byte) (host, user string) {
	scanner := bufio.NewScanner(bytes.NewReader(config))
	for scanner.Scan() {
		key, value, _ := strings.Cut(strings.TrimSpace(scanner.Text()), " ")
		value = strings.TrimSpace(value)
		switch strings.ToLower(key) {
		case "host":
			if host != "" {
				return host, user
			}
			host = value
		case "user":
			if host != "" && user == "" {
				user = value
			}
		}
	}
	return host, user
}

// writePrivateConfig stores config in the user's cache directory under a name derived
// from vagrantDir, readable only by this user, and returns its path.
func writePrivateConfig(config []byte, vagrantDir string) (string, error) {
	cacheDir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("store the ssh settings of the box in %s: %w", vagrantDir, err)
	}
	dir := filepath.Join(cacheDir, "xenbox", "ssh")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("store the ssh settings of the box in %s: %w", vagrantDir, err)
	}

	absDir, err := filepath.Abs(vagrantDir)
	if err != nil {
		absDir = vagrantDir
	}
	sum := sha256.Sum256([]byte(absDir))
	path := filepath.Join(dir, "vagrant-"+hex.EncodeToString(sum[:6])+".config")

	temp, err := os.CreateTemp(dir, ".vagrant-*.config")
	if err != nil {
		return "", fmt.Errorf("store the ssh settings of the box in %s: %w", vagrantDir, err)
	}
	_, writeErr := temp.Write(config)
	closeErr := temp.Close()
	if err := errors.Join(writeErr, closeErr, os.Rename(temp.Name(), path)); err != nil {
		os.Remove(temp.Name())
		return "", fmt.Errorf("store the ssh settings of the box in %s: %w", vagrantDir, err)
	}
	return path, nil
}
