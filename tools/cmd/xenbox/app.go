package main

import (
	"path/filepath"

	"github.com/mitchellh/go-homedir"
	"github.com/urfave/cli/v2"

	"github.com/xenbox/xenbox/tools/remote"
	"github.com/xenbox/xenbox/tools/session"
)

// Flag names, shared by the flag definitions and the code that reads them.
const (
	flagUnikTmp      = "unik-tmp"
	flagTarget       = "target"
	flagBoxDir       = "box-dir"
	flagBoxPorts     = "box-gdbsx-ports"
	flagSSHConfig    = "ssh-config"
	flagSSHHost      = "ssh-host"
	flagIdentity     = "identity"
	flagVerbose      = "verbose"
	flagImage        = "image"
	flagDebugDir     = "debug-dir"
	flagName         = "name"
	flagInstanceType = "instance-type"
	flagMemory       = "memory"
	flagVCPUs        = "vcpus"
	flagDirect       = "direct"
	flagPVGrub       = "pvgrub"
	flagBridge       = "bridge"
	flagPort         = "port"
	flagKeep         = "keep"
	flagBreak        = "break"
	flagUserData     = "user-data"
	flagLog          = "log"
	flagFollow       = "follow"
)

// newApp builds the command line.
//
// Limitation: urfave/cli v2 parses flags only up to the first positional argument and global
// flags only before the command, so `xenbox debug unik-123 --direct` is a usage error; the
// help text says where flags go.
func newApp(env *environment) *cli.App {
	app := &cli.App{
		Name:  "xenbox",
		Usage: "debug a unik Xen PV image for AWS EC2 in a local Xen box with gdb",
		Description: "Global flags go before the command, command flags before IMAGE: " +
			"xenbox -v debug --direct unik-123",
		EnableBashCompletion: true,
		HideVersion:          true,
		Reader:               env.stdin,
		Writer:               env.stdout,
		ErrWriter:            env.stderr,
		Flags:                globalFlags(),
		Commands:             commands(env),
		// Errors are reported by run, which picks the exit code.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   onUsageError,
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("unknown command %q", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
	}
	for _, command := range app.Commands {
		command.OnUsageError = onUsageError
	}
	return app
}

func onUsageError(_ *cli.Context, err error, _ bool) error {
	return usageError{err}
}

func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagUnikTmp, EnvVars: []string{"UNIK_TMP"},
			Value: defaultUnikTmp(), Usage: "`DIR` where unik build --no-cleanup left its artifacts"},
		&cli.StringFlag{Name: flagTarget, EnvVars: []string{"XENBOX_TARGET"}, Value: targetAuto,
			Usage: "dom0 to use: auto, local, vagrant or ssh://user@host:port"},
		&cli.StringFlag{Name: flagBoxDir, EnvVars: []string{"XENBOX_BOX_DIR"}, Value: ".",
			Usage: "the Vagrantfile's directory"},
		&cli.StringFlag{Name: flagBoxPorts, EnvVars: []string{"XENBOX_GDBSX_PORTS"},
			Value: remote.DefaultBoxGDBSXPorts,
			Usage: "`FIRST-LAST` dom0 ports the Vagrantfile forwards to the same local port " +
				"(gdb uses Vagrant's forward when the provider cannot tell it)"},
		&cli.StringFlag{Name: flagSSHConfig, EnvVars: []string{"XENBOX_SSH_CONFIG"},
			Usage: "ssh config file that describes dom0 (instead of vagrant ssh-config)"},
		&cli.StringFlag{Name: flagSSHHost, EnvVars: []string{"XENBOX_SSH_HOST"},
			Value: "default", Usage: "host entry of --ssh-config"},
		&cli.StringFlag{Name: flagIdentity, Usage: "private key for an ssh:// target"},
		&cli.BoolFlag{Name: flagVerbose, Aliases: []string{"v"},
			Usage: "show each command run, on stderr"},
	}
}

// defaultUnikTmp is unik's temporary directory, ~/.unik/tmp.
func defaultUnikTmp() string {
	home, err := homedir.Dir()
	if err != nil {
		return filepath.Join(".unik", "tmp")
	}
	return filepath.Join(home, ".unik", "tmp")
}

func selectionFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagImage, Usage: "boot image to use, paired with --debug-dir"},
		&cli.StringFlag{Name: flagDebugDir, Usage: "debug dir holding the image's program.bin"},
		&cli.StringFlag{Name: flagName, Usage: "domain name (default: the artifact's name)"},
	}
}

func domainFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagInstanceType, EnvVars: []string{"XENBOX_INSTANCE_TYPE"},
			Value: session.DefaultInstanceType, Usage: "EC2 PV instance type to emulate"},
		&cli.IntFlag{Name: flagMemory, Usage: "memory in MiB (overrides the instance type)"},
		&cli.IntFlag{Name: flagVCPUs, Usage: "vCPUs (overrides the instance type)"},
		&cli.BoolFlag{Name: flagDirect,
			Usage: "boot program.bin directly with menu.lst's command line, without PV-GRUB"},
		&cli.StringFlag{Name: flagPVGrub,
			Usage: "PV-GRUB binary in dom0 (default: the box's one for the image's layout)"},
		&cli.StringFlag{Name: flagBridge, Value: session.DefaultBridge,
			Usage: `bridge of the domain's network interface; "" for no network`},
		&cli.StringFlag{Name: flagUserData, EnvVars: []string{"XENBOX_USER_DATA"},
			Usage: "user-data the metadata service gives the guest: a JSON object, or a `FILE` " +
				"holding one (default {})"},
		portFlag(),
	}
}

func portFlag() cli.Flag {
	return &cli.IntFlag{Name: flagPort, EnvVars: []string{"XENBOX_GDBSX_PORT"},
		Value: session.DefaultPort, Usage: "port gdbsx listens on in dom0"}
}

func concat(groups ...[]cli.Flag) []cli.Flag {
	var flags []cli.Flag
	for _, group := range groups {
		flags = append(flags, group...)
	}
	return flags
}

func commands(env *environment) []*cli.Command {
	const imageArg = "[IMAGE]"
	return []*cli.Command{
		{Name: "images", Usage: "list unik --no-cleanup artifacts, each image with its debug dir",
			Action: env.images},
		{Name: "sync", Usage: "copy the image and its program.bin into the Xen box",
			ArgsUsage: imageArg, Flags: selectionFlags(), Action: env.sync},
		{Name: "debug", Usage: "create the domain paused, attach gdbsx, say where gdb connects",
			ArgsUsage: imageArg, Flags: concat(selectionFlags(), domainFlags()),
			Action: env.debug},
		{Name: "gdb", Usage: "run gdb with program.bin's symbols, connected before the " +
			"unikernel runs; arguments after -- go to gdb",
			ArgsUsage: imageArg + " [-- GDB ARGS]",
			Flags: concat(selectionFlags(), domainFlags(), []cli.Flag{
				&cli.StringSliceFlag{Name: flagBreak,
					Usage: "set a breakpoint at `LOCATION` once connected (repeatable)"},
				&cli.BoolFlag{Name: flagKeep, Usage: "keep the domain when gdb exits"},
			}),
			Action: env.gdb},
		{Name: "console", Usage: "attach to the guest console (xl console)",
			ArgsUsage: imageArg,
			Flags: concat(selectionFlags(), []cli.Flag{
				&cli.BoolFlag{Name: flagLog, Usage: "print the kept console log instead"},
				&cli.BoolFlag{Name: flagFollow, Aliases: []string{"f"},
					Usage: "with --log, keep printing what the guest writes"},
			}),
			Action: env.console},
		{Name: "destroy", Usage: "end gdbsx, destroy the domain, remove the session state",
			ArgsUsage: imageArg, Flags: selectionFlags(), Action: env.destroy},
		{Name: "config", Usage: "print the xl config debug would use",
			ArgsUsage: imageArg, Flags: concat(selectionFlags(), domainFlags()),
			Action: env.config},
		{Name: "doctor", Usage: "check the Xen host; each failure says the fix",
			Flags: []cli.Flag{portFlag()}, Action: env.doctor},
		env.metadataCommand(),
	}
}

// noExtraArgs rejects gdb arguments given to a command other than gdb.
func (env *environment) noExtraArgs(c *cli.Context) error {
	if len(env.gdbArgs) > 0 {
		return usagef("%s takes no arguments after --", c.Command.Name)
	}
	return nil
}

// atMostOneArg rejects more than one positional argument.
func atMostOneArg(c *cli.Context) error {
	if c.NArg() > 1 {
		return usagef("%s takes at most one IMAGE, got %q (flags go before IMAGE)",
			c.Command.Name, c.Args().Slice())
	}
	return nil
}
