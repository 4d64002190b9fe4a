package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xenbox/xenbox/tools/remote"
	"github.com/xenbox/xenbox/tools/session"
	"github.com/xenbox/xenbox/tools/unik"
	"github.com/xenbox/xenbox/tools/xlconfig"
)

// targetFrom reads the global flags that say how to reach dom0.
func targetFrom(c *cli.Context) (targetOptions, error) {
	boxPorts, err := remote.ParsePortRange(c.String(flagBoxPorts))
	if err != nil {
		return targetOptions{}, usagef("--%s: %v", flagBoxPorts, err)
	}
	target := targetOptions{
		Target:    c.String(flagTarget),
		BoxDir:    c.String(flagBoxDir),
		BoxPorts:  boxPorts,
		SSHConfig: c.String(flagSSHConfig),
		SSHHost:   c.String(flagSSHHost),
		Identity:  c.String(flagIdentity),
	}
	return target, target.validate()
}

// selectArtifact finds the artifact named by IMAGE, or pairs --image with --debug-dir.
func (env *environment) selectArtifact(c *cli.Context) (unik.Artifact, error) {
	if err := atMostOneArg(c); err != nil {
		return unik.Artifact{}, err
	}
	imagePath, debugDirPath := c.String(flagImage), c.String(flagDebugDir)
	if imagePath != "" || debugDirPath != "" {
		if imagePath == "" || debugDirPath == "" {
			return unik.Artifact{}, usagef("--image and --debug-dir go together")
		}
		if c.Args().Present() {
			return unik.Artifact{}, usagef("give either IMAGE or --image and --debug-dir")
		}
		return env.pairArtifact(imagePath, debugDirPath)
	}

	artifacts, err := env.findArtifacts(c.String(flagUnikTmp))
	if err != nil {
		return unik.Artifact{}, err
	}
	return unik.Select(artifacts, c.Args().First())
}

// domainName is the domain IMAGE or --name names, for commands that only need the name:
// --name, else the selected artifact's name, else IMAGE itself when no artifact matches it
// (unik may have cleaned up since the domain was created).
func (env *environment) domainName(c *cli.Context) (string, error) {
	if err := atMostOneArg(c); err != nil {
		return "", err
	}
	if name := c.String(flagName); name != "" {
		return name, checkName(c, name)
	}
	artifact, err := env.selectArtifact(c)
	var usage usageError
	switch {
	case err == nil, artifact.Name != "":
		return artifact.Name, checkName(c, artifact.Name)
	case errors.As(err, &usage) || !c.Args().Present():
		return "", err
	default:
		return c.Args().First(), checkName(c, c.Args().First())
	}
}

// checkName refuses a domain name xl would refuse; it also becomes a file name in dom0.
func checkName(c *cli.Context, name string) error {
	if err := xlconfig.ValidateName(name); err != nil {
		if c.IsSet(flagName) {
			return usagef("--name %q: %v", name, err)
		}
		return fmt.Errorf("domain name %q: %w; pick one with --name", name, err)
	}
	return nil
}

// specFrom reads the selection and domain flags into a session spec. With withoutDebugDir,
// an image unik left without a matching debug dir is accepted.
func (env *environment) specFrom(c *cli.Context, withoutDebugDir bool) (session.Spec, error) {
	artifact, err := env.selectArtifact(c)
	// An image read whole but without a debug dir still has a config to show.
	unpaired := artifact.Image.KernelSHA256 != "" && artifact.PairErr != nil
	if err != nil && !(withoutDebugDir && unpaired) {
		return session.Spec{}, err
	}
	spec := session.Spec{
		Artifact:     artifact,
		DomainName:   c.String(flagName),
		InstanceType: c.String(flagInstanceType),
		MemoryMiB:    c.Int(flagMemory),
		VCPUs:        c.Int(flagVCPUs),
		Direct:       c.Bool(flagDirect),
		PVGrubPath:   c.String(flagPVGrub),
		Bridge:       c.String(flagBridge),
		Port:         c.Int(flagPort),
	}
	if spec.MemoryMiB < 0 || spec.VCPUs < 0 {
		return session.Spec{}, usagef("--memory and --vcpus must be positive")
	}
	if spec.Port <= 0 || spec.Port > 65535 {
		return session.Spec{}, usagef("--port %d is not a TCP port", spec.Port)
	}
	if err := checkName(c, spec.Name()); err != nil {
		return session.Spec{}, err
	}
	if spec.UserData, err = userData(c.String(flagUserData)); err != nil {
		return session.Spec{}, err
	}
	return spec, nil
}

// userData reads --user-data: a file when one of that name exists, else the text itself. unik
// guests read it as a JSON object of strings (their environment), so anything else is refused
// here rather than found out at the guest's boot.
func userData(value string) (string, error) {
	if value == "" {
		return "", nil
	}
	text := value
	if data, err := os.ReadFile(value); err == nil {
		text = string(data)
	} else if !errors.Is(err, fs.ErrNotExist) && !strings.HasPrefix(strings.TrimSpace(value), "{") {
		return "", fmt.Errorf("read --user-data %s: %w", value, err)
	}
	var environment map[string]string
	if err := json.Unmarshal([]byte(text), &environment); err != nil {
		return "", usagef("--user-data %s: not a JSON object of strings (unik guests read "+
			"their environment from it): %v", shorten(value), err)
	}
	return text, nil
}

// shorten keeps a long flag value readable in a message.
func shorten(value string) string {
	if len(value) > 40 {
		return value[:37] + "..."
	}
	return value
}

// steps is the step printer of the command, showing commands when -v is given.
func (env *environment) steps(c *cli.Context) *session.Steps {
	return &session.Steps{Out: env.stdout, Verbose: c.Bool(flagVerbose)}
}

// dom0 connects to the Xen host the global flags name.
func (env *environment) dom0(c *cli.Context) (*dom0, error) {
	target, err := targetFrom(c)
	if err != nil {
		return nil, err
	}
	var verbose = env.stderr
	if !c.Bool(flagVerbose) {
		verbose = nil
	}
	return env.connect(c.Context, target, verbose)
}
