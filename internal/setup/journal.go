package setup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/fsutil"
)

// engineCallTimeout bounds one engine call of a swap: a frozen engine must
// not keep the registry down longer than this.
const engineCallTimeout = 30 * time.Second

// Swap steps, in order.
const (
	swapStopping = "stopping the old registry"
	swapAside    = "old registry set aside"
	swapCreated  = "new registry created"
	swapVerified = "new registry verified"
)

// swapJournal is what a swap has done so far.
type swapJournal struct {
	path string

	Name       string    `json:"name"`                 // the registry's container name
	Old        string    `json:"old"`                  // the old container's ID
	OldRunning bool      `json:"old_running"`          // whether it served before the swap
	Aside      string    `json:"aside"`                // its name while the new one is tried
	New        string    `json:"new,omitempty"`        // the new container's ID, once created
	Step       string    `json:"step"`                 // the last step done
	Started    time.Time `json:"started"`              // when the swap began
	PID        int       `json:"pid"`                  // the run that made the swap
	Image      string    `json:"new_image,omitempty"`  // the new container's image
	Spec       string    `json:"new_spec,omitempty"`   // the new container's spec hash
	Error      string    `json:"last_error,omitempty"` // why a rollback did not finish
	// Previous is set when the run kept a copy of the live files
	// (PreviousDir): undoing the swap puts them back first, so the old
	// registry starts with its own users and certificate.
	Previous bool `json:"previous_files,omitempty"`
}

func journalPath(dir string) string { return Layout{Dir: dir}.Journal() }

// save records step before the run goes on to the next one.
func (j *swapJournal) save(step string) error {
	j.Step = step
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(j.path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("record the container swap: %w", err)
	}
	return nil
}

// done forgets the swap: the registry is in a serving state again.
func (j *swapJournal) done() error {
	if err := os.Remove(j.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", j.path, err)
	}
	return nil
}

// call runs one engine call of the swap with its own deadline and without
// the run's cancellation: an operator's Ctrl-C must not stop a swap halfway,
// between a stopped old registry and a new one not yet started.
func call(ctx context.Context, f func(context.Context) error) error {
	c, cancel := context.WithTimeout(context.WithoutCancel(ctx), engineCallTimeout)
	defer cancel()
	return f(c)
}

// rollback puts the old registry back as it was: the new container removed,
// the old one under its name again and, if it served, started.
func (j *swapJournal) rollback(ctx context.Context, eng Engine) error {
	if j.New != "" {
		if err := removeGone(ctx, eng, j.New); err != nil {
			return err
		}
	}
	if j.New == "" {
		if err := j.clearName(ctx, eng); err != nil {
			return err
		}
	}
	// The files first, so that the old registry starts with its own; but a
	// registry with the new files beats none, so a failure here does not
	// stop the rest.
	var filesErr error
	if j.Previous {
		p, err := loadPrevious(filepath.Dir(j.path))
		if err == nil {
			err = p.restore()
		}
		if err != nil {
			filesErr = fmt.Errorf("put back the previous files (a copy is in %s): %w", Layout{Dir: filepath.Dir(j.path)}.Previous(), err)
		}
	}
	old, err := inspect(ctx, eng, j.Old)
	if err != nil {
		return fmt.Errorf("the previous registry %s: %w", short(j.Old), err)
	}
	// A create that a killed run sent may still be under way in the
	// engine: the name it takes is cleared again when the rename finds it.
	for try := 0; old.Name != j.Name; try++ {
		err := call(ctx, func(c context.Context) error { return eng.Rename(c, j.Old, j.Name) })
		if err == nil {
			break
		}
		if !errors.Is(err, dockerctl.ErrConflict) || try == 5 {
			return err
		}
		time.Sleep(200 * time.Millisecond)
		if err := j.clearName(ctx, eng); err != nil {
			return err
		}
	}
	// Started even if it looks running: a start of a running container
	// changes nothing, and the engine may not have seen the stop through.
	if j.OldRunning {
		if err := call(ctx, func(c context.Context) error { return eng.Start(c, j.Old) }); err != nil {
			return err
		}
	}
	if filesErr != nil {
		return filesErr
	}
	return j.done()
}

// clearName removes a container that holds the registry's name and is not
// the old registry: a new one created just before the run died, not yet
// recorded. One that paxsetup did not make is left alone, and refused.
func (j *swapJournal) clearName(ctx context.Context, eng Engine) error {
	holder, err := inspect(ctx, eng, j.Name)
	switch {
	case errors.Is(err, dockerctl.ErrNotFound):
		return nil
	case err != nil:
		return err
	case holder.ID == j.Old:
		return nil
	case !holder.Managed():
		return fmt.Errorf("a container %q that paxsetup did not make holds the registry's name: remove it (docker rm -f %s) and run paxsetup init again", j.Name, j.Name)
	}
	return removeGone(ctx, eng, holder.ID)
}

// finish completes a swap whose new registry was verified: the old one goes.
func (j *swapJournal) finish(ctx context.Context, eng Engine) error {
	if err := removeGone(ctx, eng, j.Old); err != nil {
		return fmt.Errorf("remove the previous registry %q: %w", j.Aside, err)
	}
	return j.done()
}

// removeGone removes a container and makes sure it is gone. A removal that
// a killed run sent may still be under way in the engine, which then
// refuses a second one ("already in progress"): that is waited out.
func removeGone(ctx context.Context, eng Engine, id string) error {
	var err error
	for try := 0; try < 25; try++ {
		err = call(ctx, func(c context.Context) error { return eng.Remove(c, id) })
		if err == nil || errors.Is(err, dockerctl.ErrNotFound) {
			return nil
		}
		if _, ierr := inspect(ctx, eng, id); errors.Is(ierr, dockerctl.ErrNotFound) {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return err
}

func inspect(ctx context.Context, eng Engine, id string) (dockerctl.Container, error) {
	var c dockerctl.Container
	err := call(ctx, func(cc context.Context) (err error) { c, err = eng.Inspect(cc, id); return err })
	return c, err
}

// RecoverSwap finishes or undoes a container swap that an earlier run left
// half done, so that the registry serves again before this run changes
// anything, and says what it did. It reports whether there was one.
func RecoverSwap(ctx context.Context, eng Engine, dir string, out io.Writer) (bool, error) {
	if out == nil {
		out = io.Discard
	}
	data, err := os.ReadFile(journalPath(dir))
	if errors.Is(err, os.ErrNotExist) {
		// No swap began: a run that died after writing its files left
		// them beside the copy of the live ones, which the registry still
		// runs with.
		p, err := loadPrevious(dir)
		if err != nil || p == nil {
			return false, err
		}
		if err := p.restore(); err != nil {
			return true, fmt.Errorf("an earlier run was interrupted after writing its files, and putting the previous ones back failed: %w", err)
		}
		fmt.Fprintln(out, "An earlier run was interrupted after writing its files, before its registry started: put the previous files back.")
		return true, nil
	}
	if err != nil {
		return true, fmt.Errorf("read the swap journal: %w", err)
	}
	j := &swapJournal{path: journalPath(dir)}
	if err := json.Unmarshal(data, j); err != nil || j.Name == "" || j.Old == "" {
		return true, fmt.Errorf("%s is not a swap journal paxsetup can read (%v): check `docker ps -a`, put the registry back by hand, then remove the file", j.path, err)
	}
	when := j.Started.Local().Format("2006-01-02 15:04:05")
	if j.Step == swapVerified {
		if err := j.finish(ctx, eng); err != nil {
			return true, err
		}
		fmt.Fprintf(out, "An earlier run (pid %d, %s) was interrupted after its new registry answered: removed the previous one (%s).\n", j.PID, when, j.Aside)
		return true, nil
	}
	if err := j.rollback(ctx, eng); err != nil {
		return true, fmt.Errorf("an earlier run (pid %d, %s) was interrupted while replacing the registry (%s), and putting the previous one back failed: %w", j.PID, when, j.Step, err)
	}
	fmt.Fprintf(out, "An earlier run (pid %d, %s) was interrupted while replacing the registry (%s): put the previous registry back.\n", j.PID, when, j.Step)
	return true, nil
}
