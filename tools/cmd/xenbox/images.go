package main

import (
	"fmt"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xenbox/xenbox/tools/unik"
)

// images lists the artifacts unik left, newest first, with why an image has no debug dir.
func (env *environment) images(c *cli.Context) error {
	if err := env.noExtraArgs(c); err != nil {
		return err
	}
	if c.Args().Present() {
		return usagef("images takes no arguments")
	}
	artifacts, err := env.findArtifacts(c.String(flagUnikTmp))
	if err != nil {
		return err
	}

	table := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(table, "NAME\tIMAGE\tDEBUG DIR\tKERNEL\tAGE\tLAYOUT")
	now := time.Now()
	for _, artifact := range artifacts {
		fmt.Fprintf(table, "%s\t%s\t%s\t%s\t%s\t%s\n", artifact.Name,
			filepath.Base(artifact.Image.Path), debugDirColumn(artifact),
			shortHash(artifact.Image.KernelSHA256), age(now.Sub(artifact.Image.ModTime)),
			layoutName(artifact.Image.Layout))
	}
	return table.Flush()
}

func debugDirColumn(artifact unik.Artifact) string {
	if !artifact.Paired() {
		return fmt.Sprintf("none: %v", artifact.PairErr)
	}
	return filepath.Base(artifact.DebugDir.Path)
}

func shortHash(sha256 string) string {
	if len(sha256) > 12 {
		return sha256[:12]
	}
	return sha256
}

// age renders a duration the way a user reads an image's age: 42s, 5m, 3h, 2d.
func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

// layoutName names a layout after the AWS PV-GRUB that boots it.
func layoutName(layout unik.Layout) string {
	if layout == unik.Partitioned {
		return "hd00"
	}
	return "hd0"
}
