package session

import (
	"context"
	"fmt"
	"path"
)

// SyncArtifact copies the spec's boot image and program.bin to ImagePath and ProgramBinPath in
// dom0, printing per file what was sent or that it was unchanged.
func SyncArtifact(ctx context.Context, box Box, spec Spec, steps *Steps) error {
	if err := spec.requireDebugDir(); err != nil {
		return err
	}

	files := []struct{ local, remote string }{
		{spec.Artifact.Image.Path, ImagePath(spec.Name())},
		{spec.Artifact.DebugDir.ProgramBin, ProgramBinPath(spec.Name())},
	}
	for _, file := range files {
		title := fmt.Sprintf("copying %s to %s", path.Base(file.remote), box.Where())
		err := steps.Report(title, func() (string, error) {
			result, err := box.Sync(ctx, file.local, file.remote)
			return describeSync(result), err
		})
		if err != nil {
			return fmt.Errorf("sync %s to %s: %w", file.local, box.Where(), err)
		}
	}
	return nil
}

func describeSync(result SyncResult) string {
	if result.Skipped {
		return "unchanged, skipped"
	}
	mib := float64(result.Bytes) / (1 << 20)
	return fmt.Sprintf("sent %.1f MiB in %s", mib, FormatSeconds(result.Duration))
}
