package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/xenbox/xenbox/tools/metadata"
	"github.com/xenbox/xenbox/tools/xen"
	"github.com/xenbox/xenbox/tools/xlconfig"
)

// Start runs `xenbox debug`: it syncs the artifact, checks dom0 before touching xl, writes the
// xl config, creates the domain paused, attaches gdbsx and saves the session state. Any failure
// after the domain exists rolls back: gdbsx stopped, domain destroyed, state removed.
func Start(ctx context.Context, host Host, spec Spec, steps *Steps) (State, error) {
	domain, err := spec.Domain()
	if err != nil {
		return State{}, err
	}
	config, err := xlconfig.Render(domain)
	if err != nil {
		return State{}, fmt.Errorf("render xl config of %s: %w", domain.Name, err)
	}

	// A running domain or a busy port fails before the image is copied, not after.
	if problems := domainAndPortProblems(ctx, host, spec, domain); len(problems) > 0 {
		return State{}, fmt.Errorf("cannot start domain %s:\n%w", domain.Name,
			errors.Join(problems...))
	}

	if err := SyncArtifact(ctx, host.Box, spec, steps); err != nil {
		return State{}, err
	}

	if err := Preflight(ctx, host, spec, domain); err != nil {
		return State{}, err
	}

	if err := host.Box.WriteFile(ctx, ConfigPath(domain.Name), config); err != nil {
		return State{}, fmt.Errorf("write xl config of %s: %w", domain.Name, err)
	}
	if err := writeMetadataRecord(ctx, host.Box, spec, domain); err != nil {
		return State{}, err
	}

	return createAndAttach(ctx, host, spec, steps)
}

// Preflight fails, before xl is called, on everything in dom0 that would make the domain or
// gdbsx fail, each with what to do about it.
func Preflight(ctx context.Context, host Host, spec Spec, domain xlconfig.Domain) error {
	problems := domainAndPortProblems(ctx, host, spec, domain)

	for _, file := range requiredFiles(spec, domain) {
		if err := requireFile(ctx, host.Box, file.path, file.fix); err != nil {
			problems = append(problems, err)
		}
	}

	if err := errors.Join(problems...); err != nil {
		return fmt.Errorf("cannot start domain %s:\n%w", domain.Name, err)
	}
	return nil
}

// domainAndPortProblems says what stops a domain of that name, or its gdbsx, from starting.
func domainAndPortProblems(ctx context.Context, host Host, spec Spec,
	domain xlconfig.Domain) []error {
	var problems []error

	if _, err := host.XL.DomID(ctx, domain.Name); err == nil {
		problems = append(problems, fmt.Errorf(
			"domain %s is already running; run `xenbox destroy %s` or pick another --name",
			domain.Name, domain.Name))
	} else if !errors.Is(err, xen.ErrNoSuchDomain) {
		problems = append(problems, fmt.Errorf("look for domain %s: %w", domain.Name, err))
	}

	port := spec.GDBSXPort()
	if free, err := host.Box.PortFree(ctx, port); err != nil {
		problems = append(problems, fmt.Errorf("check port %d: %w", port, err))
	} else if !free {
		problems = append(problems, fmt.Errorf(
			"port %d is in use in %s; stop what listens there or pick another --port",
			port, host.Box.Where()))
	}
	return problems
}

type requiredFile struct{ path, fix string }

func requiredFiles(spec Spec, domain xlconfig.Domain) []requiredFile {
	resync := fmt.Sprintf("run `xenbox sync %s`", domain.Name)
	files := []requiredFile{{domain.DiskPath, "boot image missing; " + resync}}
	if domain.Boot == xlconfig.Direct {
		files = append(files, requiredFile{domain.KernelPath, "program.bin missing; " + resync})
	} else {
		files = append(files, requiredFile{domain.PVGrubPath,
			"PV-GRUB missing; run the pvgrub provisioner (provisioners/pvgrub.sh) in the box, " +
				"or boot without it with --direct"})
	}
	if domain.Bridge != "" {
		files = append(files, requiredFile{"/sys/class/net/" + domain.Bridge,
			"bridge " + domain.Bridge + " missing; run the network provisioner in the box, " +
				"or start the domain without network with --bridge \"\""})
	}
	return files
}

func requireFile(ctx context.Context, box Box, path, fix string) error {
	found, err := box.Exists(ctx, path)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%s: %s", path, fix)
	}
	return nil
}

// createAndAttach creates the domain paused and attaches gdbsx; on failure it leaves nothing.
func createAndAttach(ctx context.Context, host Host, spec Spec, steps *Steps) (
	state State, err error) {
	name := spec.Name()
	state = State{
		Domain:          name,
		Port:            spec.GDBSXPort(),
		Width:           spec.Artifact.DebugDir.Class,
		Boot:            BootPVGrub,
		Image:           ImagePath(name),
		ProgramBin:      ProgramBinPath(name),
		LocalProgramBin: spec.Artifact.DebugDir.ProgramBin,
		Created:         time.Now().UTC(),
	}
	if spec.Direct {
		state.Boot = BootDirect
	}

	// The domain may exist even when xl create fails part way, so roll back from here on.
	defer func() {
		if err != nil {
			err = errors.Join(err, rollback(ctx, host, state))
		}
	}()

	err = steps.Do(fmt.Sprintf("creating domain %s (paused)", name), func() error {
		return host.XL.Create(ctx, ConfigPath(name), true)
	})
	if err != nil {
		return state, fmt.Errorf("create domain %s: %w", name, err)
	}
	if state.DomID, err = host.XL.DomID(ctx, name); err != nil {
		return state, fmt.Errorf("find domid of %s: %w", name, err)
	}

	state, err = attachGDBSX(ctx, host, state, steps)
	if err != nil {
		return state, err
	}

	// gdbsx holds a pause of its own from attach until gdb continues; dropping the one xl
	// create -p took leaves the domain stopped exactly until then. Otherwise gdb's first
	// continue would only drop gdbsx's pause and stop again at once.
	if err = host.XL.Unpause(ctx, name); err != nil {
		return state, fmt.Errorf("hand domain %s over to gdbsx: %w", name, err)
	}

	if err = SaveState(ctx, host.Box, state); err != nil {
		return state, err
	}
	return state, nil
}

// attachGDBSX starts a fresh gdbsx on the domain; gdbsx serves one gdb connection only.
func attachGDBSX(ctx context.Context, host Host, state State, steps *Steps) (State, error) {
	title := fmt.Sprintf("attaching gdbsx to domain %s (domid %d) on port %d",
		state.Domain, state.DomID, state.Port)
	err := steps.Do(title, func() error {
		pid, err := host.GDBSX.Start(ctx, state.DomID, state.Width, state.Port,
			GDBSXLogPath(state.Domain))
		state.GDBSXPID = pid
		return err
	})
	if err != nil {
		return state, fmt.Errorf("attach gdbsx to domain %s (log %s): %w",
			state.Domain, GDBSXLogPath(state.Domain), err)
	}
	return state, nil
}

// rollback undoes what createAndAttach did, even when ctx was cancelled.
func rollback(ctx context.Context, host Host, state State) error {
	return teardown(context.WithoutCancel(ctx), host, state, true)
}

// teardown stops gdbsx, then destroys the domain and removes the state when destroy is set.
func teardown(ctx context.Context, host Host, state State, destroy bool) error {
	var errs []error
	if state.GDBSXPID != 0 {
		if err := host.GDBSX.Stop(ctx, state.GDBSXPID); err != nil {
			errs = append(errs, fmt.Errorf("stop gdbsx (pid %d): %w", state.GDBSXPID, err))
		}
	}
	if destroy {
		err := host.XL.Destroy(ctx, state.Domain)
		if err != nil && !errors.Is(err, xen.ErrNoSuchDomain) {
			errs = append(errs, fmt.Errorf("destroy domain %s: %w", state.Domain, err))
		}
		if err := RemoveState(ctx, host.Box, state.Domain); err != nil {
			errs = append(errs, err)
		}
		if err := host.Box.Remove(ctx, MetadataRecordPath(state.Domain)); err != nil {
			errs = append(errs, fmt.Errorf("remove metadata record of %s: %w", state.Domain, err))
		}
	}
	return errors.Join(errs...)
}

// writeMetadataRecord tells the box's metadata service what to answer the domain: its
// user-data and instance type, found through the vif's MAC once the guest asks.
func writeMetadataRecord(ctx context.Context, box Box, spec Spec, domain xlconfig.Domain) error {
	mac := domain.MAC
	if mac == "" {
		mac = xlconfig.DeriveMAC(domain.Name)
	}
	instanceType := spec.InstanceType
	if instanceType == "" {
		instanceType = DefaultInstanceType
	}
	record := metadata.Record{Domain: domain.Name, MAC: mac, InstanceType: instanceType,
		UserData: spec.UserData, PendingTime: time.Now().UTC().Truncate(time.Second)}
	text, err := json.MarshalIndent(record, "", "  ")
	if err != nil {
		return fmt.Errorf("write metadata record of %s: %w", domain.Name, err)
	}
	if err := box.WriteFile(ctx, MetadataRecordPath(domain.Name), append(text, '\n')); err != nil {
		return fmt.Errorf("write metadata record of %s: %w", domain.Name, err)
	}
	return nil
}
