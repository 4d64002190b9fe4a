package main

import (
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/xenbox/xenbox/tools/metadata"
)

// Flag names of `xenbox metadata serve`.
const (
	flagListen          = "listen"
	flagAddress         = "address"
	flagListenPort      = "listen-port"
	flagRecords         = "records"
	flagRequireToken    = "require-token"
	flagDefaultUserData = "default-user-data"
)

// metadataCommand is `xenbox metadata serve`, the EC2 metadata service the box runs in dom0.
func (env *environment) metadataCommand() *cli.Command {
	return &cli.Command{
		Name:  "metadata",
		Usage: "the EC2 instance metadata service guests reach at 169.254.169.254 (in dom0)",
		Subcommands: []*cli.Command{{
			Name:  "serve",
			Usage: "serve each guest its own user-data and meta-data until SIGTERM or SIGINT",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: flagListen, EnvVars: []string{"XENBOX_METADATA_LISTEN"},
					Usage: "`ADDR:PORT` to listen on, instead of --address and --listen-port"},
				&cli.StringFlag{Name: flagAddress, EnvVars: []string{"XENBOX_METADATA_ADDRESS"},
					Usage: "IPv4 `ADDRESS` to listen on (default: --bridge's address)"},
				&cli.IntFlag{Name: flagListenPort, EnvVars: []string{"XENBOX_METADATA_PORT"},
					Value: metadata.DefaultPort, Usage: "`PORT` to listen on"},
				&cli.StringFlag{Name: flagBridge, EnvVars: []string{"XENBOX_METADATA_BRIDGE"},
					Value: "xenbr0", Usage: "bridge the guests sit on"},
				&cli.StringFlag{Name: flagRecords, EnvVars: []string{"XENBOX_METADATA_RECORDS"},
					Value: metadata.DefaultRecordDir, Usage: "`DIR` of the per-domain records"},
				&cli.StringFlag{Name: flagDefaultUserData,
					EnvVars: []string{"XENBOX_METADATA_DEFAULT_USER_DATA"},
					Usage: "`FILE` whose content guests without their own user-data read " +
						"(default: " + metadata.DefaultUserData + "; read once, at most 16 KiB)"},
				&cli.BoolFlag{Name: flagRequireToken,
					Usage: "IMDSv2 only: refuse requests without a valid session token"},
			},
			OnUsageError: onUsageError,
			Action:       env.serveMetadata,
		}},
	}
}

func (env *environment) serveMetadata(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("metadata serve takes no arguments, got %q", c.Args().Slice())
	}
	defaultUserData, err := readDefaultUserData(c.String(flagDefaultUserData))
	if err != nil {
		return err
	}

	address, err := metadata.ListenAddress(c.String(flagListen), c.String(flagAddress),
		c.String(flagBridge), c.Int(flagListenPort))
	if err != nil {
		return err
	}

	listener, err := net.Listen("tcp", address)
	if err != nil {
		return fmt.Errorf("start the metadata service: %w", err)
	}
	logger := log.New(env.stderr, "", log.LstdFlags)
	logger.Printf("serving EC2 metadata on %s from %s", listener.Addr(), c.String(flagRecords))
	if defaultUserData != "" {
		logger.Printf("guests without their own user-data read %s",
			c.String(flagDefaultUserData))
	}

	server := metadata.NewServer(metadata.Config{
		Store:           metadata.NewStore(c.String(flagRecords)),
		Neighbours:      metadata.DefaultNeighbours,
		RequireToken:    c.Bool(flagRequireToken),
		DefaultUserData: defaultUserData,
		Log:             logger,
	})
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := metadata.Serve(ctx, listener, server); err != nil {
		return err
	}
	logger.Printf("metadata service stopped")
	return nil
}

// readDefaultUserData is the content of the --default-user-data file, "" when none is given.
func readDefaultUserData(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	text, err := metadata.ReadUserDataFile(path)
	if err != nil {
		return "", fmt.Errorf("start the metadata service: %w", err)
	}
	return text, nil
}
