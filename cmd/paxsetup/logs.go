package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/setup"
)

// LogsOptions are the inputs of `paxsetup logs`.
type LogsOptions struct {
	IO      *IOStreams
	Factory *Factory
	Dir     string

	Follow     bool
	Tail       string
	Timestamps bool
	Since      time.Duration
}

// NewCmdLogs shows the registry's log. runF replaces the run in flag tests.
func NewCmdLogs(f *Factory, g *globalOptions, runF func(context.Context, *LogsOptions) error) *cobra.Command {
	opts := &LogsOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Show the registry's log",
		Long: `logs shows the log of the setup's registry container (found by its labels,
whatever its name): the registry's stdout on stdout, its stderr on stderr.

The engine keeps at most 3 files of 10 MB for the registry, so the log
cannot fill the disk; older lines are gone.`,
		Example: `  paxsetup logs --tail 50
  paxsetup logs --follow`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = g.Dir
			if opts.Tail != "all" {
				if n, err := strconv.Atoi(opts.Tail); err != nil || n < 0 {
					return flagError("tail", fmt.Errorf("%q: give a number of lines, or all", opts.Tail))
				}
			}
			if opts.Since < 0 {
				return flagError("since", fmt.Errorf("%s: give how far back to start, e.g. 10m", opts.Since))
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runLogs(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&opts.Follow, "follow", "f", false, "keep showing new lines until interrupted")
	fl.StringVarP(&opts.Tail, "tail", "n", "100", "how many of the last lines to show, or all")
	fl.BoolVarP(&opts.Timestamps, "timestamps", "t", false, "prefix each line with the time the engine received it")
	fl.DurationVar(&opts.Since, "since", 0, "show only lines from this long ago, e.g. 10m")
	return cmd
}

func runLogs(ctx context.Context, opts *LogsOptions) error {
	a, err := setup.Load(opts.Dir)
	if err != nil {
		return err
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
	if len(ctrs) == 0 {
		return fmt.Errorf("no registry container for the setup in %s: start it with `paxsetup init --yes --dir %s`", opts.Dir, opts.Dir)
	}
	lo := dockerctl.LogOptions{Tail: opts.Tail, Follow: opts.Follow, Timestamps: opts.Timestamps}
	if opts.Since > 0 {
		lo.Since = opts.Factory.Now().Add(-opts.Since)
	}
	// Following ends with the operator's Ctrl-C: that is how it is used,
	// not a failure, so it exits 0.
	return eng.StreamLogs(ctx, ctrs[0].ID, lo, opts.IO.Out, opts.IO.ErrOut)
}
