package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/xenbox/xenbox/tools/doctor"
	"github.com/xenbox/xenbox/tools/session"
)

func (env *environment) sync(c *cli.Context) error {
	if err := env.noExtraArgs(c); err != nil {
		return err
	}
	artifact, err := env.selectArtifact(c)
	if err != nil {
		return err
	}
	spec := session.Spec{Artifact: artifact, DomainName: c.String(flagName)}
	if err := checkName(c, spec.Name()); err != nil {
		return err
	}

	return env.withDom0(c, func(ctx context.Context, host *dom0) error {
		return session.SyncArtifact(ctx, host.host.Box, spec, env.steps(c))
	})
}

func (env *environment) debug(c *cli.Context) error {
	if err := env.noExtraArgs(c); err != nil {
		return err
	}
	spec, err := env.specFrom(c, false)
	if err != nil {
		return err
	}

	return env.withDom0(c, func(ctx context.Context, host *dom0) error {
		state, err := session.Start(ctx, host.host, spec, env.steps(c))
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "domain %s (domid %d) is paused; gdbsx listens on port %d in %s\n"+
			"connect with: xenbox gdb %s\n",
			state.Domain, state.DomID, state.Port, host.runner.Where(), state.Domain)
		return nil
	})
}

// gdb runs gdb against the session of the selected image, starting one when there is none.
// gdb handles ^C itself, so xenbox ignores SIGINT while it runs; SIGTERM cleans up.
func (env *environment) gdb(c *cli.Context) error {
	spec, err := env.specFrom(c, false)
	if err != nil {
		return err
	}
	options := session.GDBOptions{Breaks: c.StringSlice(flagBreak), Extra: env.gdbArgs,
		Keep: c.Bool(flagKeep)}

	host, err := env.dom0(c)
	if err != nil {
		return err
	}
	defer host.close()

	state, err := env.sessionFor(c, host, spec)
	if err != nil {
		return err
	}

	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, os.Interrupt)
	defer signal.Stop(interrupts)
	done := make(chan struct{})
	defer close(done)
	go env.interruptOnSignal(c, host, state, interrupts, done)

	debugger := env.newDebugger(gdbBinary())
	if c.Bool(flagVerbose) {
		debugger = showingDebugger{Debugger: debugger, out: env.stderr}
	}
	code, err := session.RunGDB(c.Context, host.host, host.forwarder, debugger, state,
		options, env.steps(c))
	if err != nil {
		return err
	}
	return exitStatus(code)
}

// interruptOnSignal pauses the domain on each ^C until done, so that gdb stops a running
// guest: gdbsx itself does not hear gdb's interrupt while the guest runs.
func (env *environment) interruptOnSignal(c *cli.Context, host *dom0, state session.State,
	interrupts <-chan os.Signal, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-interrupts:
			if err := session.Interrupt(c.Context, host.host, state); err != nil {
				fmt.Fprintf(env.stderr, "xenbox: %v\n", err)
			}
		}
	}
}

// sessionFor loads the session of spec's domain, or runs debug when there is none.
func (env *environment) sessionFor(c *cli.Context, host *dom0, spec session.Spec) (
	session.State, error) {
	state, err := session.LoadState(c.Context, host.host.Box, spec.Name())
	if !errors.Is(err, session.ErrNoSession) {
		return state, err
	}

	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt)
	defer stop()
	return session.Start(ctx, host.host, spec, env.steps(c))
}

func (env *environment) console(c *cli.Context) error {
	if err := env.noExtraArgs(c); err != nil {
		return err
	}
	if c.Bool(flagFollow) && !c.Bool(flagLog) {
		return usagef("--follow goes with --log")
	}
	name, err := env.domainName(c)
	if err != nil {
		return err
	}

	return env.withDom0(c, func(ctx context.Context, host *dom0) error {
		if c.Bool(flagLog) {
			return session.ConsoleLog(ctx, host.runner, name, c.Bool(flagFollow), env.stdout,
				env.stderr)
		}
		return session.Console(ctx, host.runner, name, env.stdin, env.stdout, env.stderr)
	})
}

func (env *environment) destroy(c *cli.Context) error {
	if err := env.noExtraArgs(c); err != nil {
		return err
	}
	name, err := env.domainName(c)
	if err != nil {
		return err
	}

	return env.withDom0(c, func(ctx context.Context, host *dom0) error {
		destroyed, err := session.Destroy(ctx, host.host, name, env.steps(c))
		if err == nil && !destroyed {
			fmt.Fprintf(env.stdout, "nothing to destroy: no session or domain %s\n", name)
		}
		return err
	})
}

// config prints the xl config debug would write; it needs no dom0.
func (env *environment) config(c *cli.Context) error {
	if err := env.noExtraArgs(c); err != nil {
		return err
	}
	spec, err := env.specFrom(c, true)
	if err != nil {
		return err
	}

	config, err := spec.Config()
	if err != nil {
		return err
	}
	_, err = env.stdout.Write(config)
	return err
}

func (env *environment) doctor(c *cli.Context) error {
	if err := env.noExtraArgs(c); err != nil {
		return err
	}
	port := c.Int(flagPort)

	return env.withDom0(c, func(ctx context.Context, host *dom0) error {
		checks := doctor.Run(ctx, doctor.Host{
			Runner: host.runner,
			Box:    host.host.Box,
			XL:     host.host.XL,
			Port:   port,
			LocalGDBVersion: func(ctx context.Context) ([]byte, error) {
				return env.localGDBVersion(ctx, gdbBinary())
			},
		})
		if err := doctor.Print(env.stdout, checks); err != nil {
			return err
		}
		if doctor.Failed(checks) {
			return exitStatus(exitFailure)
		}
		return nil
	})
}

// withDom0 connects to dom0 and runs work with a context that ^C and SIGTERM cancel, so that
// an interrupted command still rolls back what it started.
func (env *environment) withDom0(c *cli.Context,
	work func(ctx context.Context, host *dom0) error) error {
	host, err := env.dom0(c)
	if err != nil {
		return err
	}
	defer host.close()

	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return work(ctx, host)
}
