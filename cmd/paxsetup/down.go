package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/setup"
	"github.com/paxsetup/paxsetup/internal/wizard"
)

// DownOptions are the inputs of `paxsetup down`.
type DownOptions struct {
	IO      *IOStreams
	Factory *Factory
	Dir     string

	Yes               bool
	DeleteData        bool
	ConfirmDeleteData string
	Timeout           time.Duration
}

// errNotConfirmed means the operator did not confirm; nothing was changed.
var errNotConfirmed = errors.New("not confirmed: nothing was stopped or deleted")

// NewCmdDown stops and removes the registry container. runF replaces the
// run in flag tests.
func NewCmdDown(f *Factory, g *globalOptions, runF func(context.Context, *DownOptions) error) *cobra.Command {
	opts := &DownOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop and remove the registry container, keeping every file",
		Long: `down stops the setup's registry container (found by its labels, whatever
its name) and removes it. Every file stays: the answers, the users, the
certificates, and the packs in data/. ` + "`paxsetup init --yes`" + ` starts the
registry again as it was.

On a terminal down asks first; without one it needs --yes.

--delete-data also deletes data/, every pack the registry holds. --yes is
never enough for that: on a terminal you type the setup's folder path to
confirm; without one, --confirm-delete-data must repeat that path.`,
		Example: `  paxsetup down
  paxsetup down --yes
  paxsetup down --yes --delete-data --confirm-delete-data /var/lib/paxsetup`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = g.Dir
			if opts.ConfirmDeleteData != "" && !opts.DeleteData {
				return flagError("confirm-delete-data", errors.New("only goes with --delete-data"))
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runDown(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "do not ask before stopping the registry (never enough for --delete-data)")
	fl.BoolVar(&opts.DeleteData, "delete-data", false, "also delete data/, every pack the registry holds")
	fl.StringVar(&opts.ConfirmDeleteData, "confirm-delete-data", "", "the setup's folder path, repeated to confirm --delete-data without a terminal")
	fl.DurationVar(&opts.Timeout, "timeout", 10*time.Second, "how long the registry gets to finish requests before it is killed")
	return cmd
}

func runDown(ctx context.Context, opts *DownOptions) error {
	lock, err := lockSetup(ctx, opts.Factory, opts.Dir, "down")
	if err != nil {
		return err
	}
	defer lock.Release()
	a, err := setup.Load(opts.Dir)
	if err != nil {
		return err
	}
	data := setup.Layout{Dir: opts.Dir}.Data()
	interactive := opts.IO.Interactive() || opts.Factory.Prompter != nil
	p := opts.Factory.prompter(ctx, false)
	// Every question is asked, and every flag rule checked, before anything
	// is stopped: a refusal changes nothing.
	if opts.DeleteData {
		if err := confirmDeleteData(opts, p, interactive, data); err != nil {
			return err
		}
	}

	eng, err := opts.Factory.Docker(ctx)
	if err != nil {
		return err
	}
	defer eng.Close()
	ctrs, err := findRegistry(ctx, eng, opts.Dir, a.Name)
	if err != nil {
		return err
	}

	out := opts.IO.Out
	if len(ctrs) > 0 && !opts.Yes {
		if !interactive {
			return answers.ErrNotInteractive
		}
		names := make([]string, len(ctrs))
		for i, c := range ctrs {
			names[i] = c.Name
		}
		yes, err := p.Confirm("Stop and remove "+strings.Join(names, ", ")+"?",
			"Palette cannot reach its packs until `paxsetup init` starts the registry again.", false)
		if err != nil {
			return err
		}
		if !yes {
			return errNotConfirmed
		}
	}

	// Removal goes on when the operator presses Ctrl-C: a half-removed
	// setup is harder to reason about than a removed one.
	bg := context.WithoutCancel(ctx)
	for _, c := range ctrs {
		if c.Running {
			if err := eng.Stop(bg, c.ID, opts.Timeout); err != nil {
				return err
			}
		}
		if err := eng.Remove(bg, c.ID); err != nil {
			return err
		}
		fmt.Fprintf(out, "Stopped and removed container %s (%s).\n", c.Name, shortID(c.ID))
	}
	if len(ctrs) == 0 {
		fmt.Fprintf(out, "No container of the setup in %s: nothing to stop.\n", opts.Dir)
	}

	if opts.DeleteData {
		if err := os.RemoveAll(data); err != nil {
			return fmt.Errorf("delete %s: %w", data, err)
		}
		fmt.Fprintf(out, "Deleted %s.\n", data)
	}
	kept := "Kept every file in " + opts.Dir
	if opts.DeleteData {
		kept = "Kept every other file in " + opts.Dir
	}
	fmt.Fprintf(out, "%s: `paxsetup init --yes --dir %s` starts the registry again.\n", kept, opts.Dir)
	return nil
}

// confirmDeleteData makes the operator repeat the setup's path: on a
// terminal by typing it, without one through --confirm-delete-data. A
// mistyped or forgotten path deletes nothing.
func confirmDeleteData(opts *DownOptions, p wizard.Prompter, interactive bool, data string) error {
	if opts.ConfirmDeleteData != "" {
		given, err := filepath.Abs(opts.ConfirmDeleteData)
		if err != nil || filepath.Clean(given) != filepath.Clean(opts.Dir) {
			return flagError("confirm-delete-data", fmt.Errorf("%q is not the setup's folder %s: nothing was stopped or deleted", opts.ConfirmDeleteData, opts.Dir))
		}
		return nil
	}
	if !interactive {
		return flagError("confirm-delete-data", fmt.Errorf("--delete-data without a terminal needs --confirm-delete-data=%s (the setup's folder), so that no script deletes packs by accident", opts.Dir))
	}
	typed, err := p.Input("Type the setup's folder path ("+opts.Dir+") to confirm",
		"This deletes "+data+": every pack the registry holds, for good.", "", nil)
	if err != nil {
		return err
	}
	typed = strings.TrimSpace(typed)
	if filepath.Clean(typed) != filepath.Clean(opts.Dir) || typed == "" {
		return errNotConfirmed
	}
	return nil
}
