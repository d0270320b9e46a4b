package setup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/verify"
)

// stopTimeout is how long the registry gets to finish uploads in flight
// before it is killed.
const stopTimeout = 10 * time.Second

// runContainer makes the registry run with spec: it leaves an identical
// running container alone, starts a stopped one, and replaces a different one
// only once the new one answers; if the new one fails, the old one is put
// back and started again.
func runContainer(ctx context.Context, eng Engine, spec dockerctl.Spec, old *dockerctl.Container, vopts verify.Options) (id, action string, rep verify.Report, err error) {
	if old != nil && old.Labels[LabelSpec] == spec.Labels[LabelSpec] {
		action = "unchanged"
		if !old.Running {
			if err := eng.Start(ctx, old.ID); err != nil {
				return old.ID, "", rep, fmt.Errorf("start container %q: %w", spec.Name, err)
			}
			action = "started"
		}
		rep, err = waitReady(ctx, eng, old.ID, vopts)
		return old.ID, action, rep, err
	}

	if old == nil {
		id, rep, err = startNew(ctx, eng, spec, vopts)
		if err != nil {
			return "", "", rep, err
		}
		return id, "created", rep, nil
	}

	// The new container needs the old one's port and name, so the old one is
	// stopped and set aside, not removed, until the new one has proved itself.
	aside := fmt.Sprintf("%s-previous-%d", spec.Name, time.Now().Unix())
	if old.Running {
		if err := eng.Stop(ctx, old.ID, stopTimeout); err != nil {
			return "", "", rep, fmt.Errorf("stop the running registry %q: %w", spec.Name, err)
		}
	}
	if err := eng.Rename(ctx, old.ID, aside); err != nil {
		restart(ctx, eng, old)
		return "", "", rep, fmt.Errorf("set aside the running registry %q: %w", spec.Name, err)
	}
	id, rep, err = startNew(ctx, eng, spec, vopts)
	if err != nil {
		// Put the old registry back under a context that a Ctrl-C of the
		// operator has not cancelled: leaving no registry is the worst outcome.
		bg := context.WithoutCancel(ctx)
		if rerr := eng.Rename(bg, old.ID, spec.Name); rerr != nil {
			return "", "", rep, fmt.Errorf("%w; and restoring the previous registry failed: %v (it is the container %q)", err, rerr, aside)
		}
		restart(bg, eng, old)
		return "", "", rep, fmt.Errorf("%w; the previous registry was restored", err)
	}
	if err := eng.Remove(ctx, old.ID); err != nil {
		return id, "replaced", rep, fmt.Errorf("remove the previous registry %q: %w", aside, err)
	}
	return id, "replaced", rep, nil
}

func restart(ctx context.Context, eng Engine, old *dockerctl.Container) {
	if old.Running {
		_ = eng.Start(ctx, old.ID)
	}
}

// startNew creates and starts a container and waits until it serves; a
// container that never serves is removed, so a failed run leaves none behind.
func startNew(ctx context.Context, eng Engine, spec dockerctl.Spec, vopts verify.Options) (string, verify.Report, error) {
	id, err := eng.Create(ctx, spec)
	if err != nil {
		return "", verify.Report{}, fmt.Errorf("create container %q: %w", spec.Name, err)
	}
	bg := context.WithoutCancel(ctx)
	if err := eng.Start(ctx, id); err != nil {
		_ = eng.Remove(bg, id)
		return "", verify.Report{}, fmt.Errorf("start container %q: %w", spec.Name, err)
	}
	rep, err := waitReady(ctx, eng, id, vopts)
	if err != nil {
		_ = eng.Remove(bg, id)
		return "", rep, err
	}
	return id, rep, nil
}

// waitReady verifies the registry while watching the container: a registry
// that exits is reported at once with its last log lines, not after the
// verification's timeout.
func waitReady(ctx context.Context, eng Engine, id string, vopts verify.Options) (verify.Report, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan verify.Report, 1)
	go func() { done <- verify.Run(ctx, vopts) }()

	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case rep := <-done:
			if !rep.OK() {
				return rep, fmt.Errorf("%w: %s", ErrVerifyFailed, describeFailures(rep))
			}
			return rep, nil
		case <-tick.C:
			c, err := eng.Inspect(ctx, id)
			if err != nil {
				if errors.Is(err, context.Canceled) {
					continue
				}
				return verify.Report{}, err
			}
			if !c.Running {
				cancel()
				<-done
				logs, _ := eng.Logs(context.WithoutCancel(ctx), id, 20)
				return verify.Report{}, fmt.Errorf("%w with code %d right after starting; its last log lines:\n%s", ErrContainerCrash, c.ExitCode, indent(logs))
			}
		}
	}
}

func describeFailures(rep verify.Report) string {
	var parts []string
	for _, c := range rep.Failed() {
		s := c.Name + ": " + c.Detail
		if c.Fix != "" {
			s += " (fix: " + c.Fix + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "  (no output)"
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}
