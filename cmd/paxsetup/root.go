package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/fatih/color"
	"github.com/spf13/cobra"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/render"
)

// Exit codes, documented in the README and in `paxsetup --help`.
const (
	exitOK        = 0
	exitError     = 1
	exitUsage     = 2
	exitCheck     = 3
	exitInterrupt = 130
)

// globalOptions are the flags every command takes.
type globalOptions struct {
	Dir     string
	NoColor bool
}

// Main runs paxsetup with args and returns the exit code.
func Main(args []string, f *Factory) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	root := newRootCmd(f)
	root.SetArgs(args)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	return reportError(f, cmd, ctx, err)
}

func newRootCmd(f *Factory) *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "paxsetup",
		Short: "Set up and check a private pack registry for Spectro Cloud Palette",
		Long: `paxsetup takes a Linux host with a Docker engine to a running, verified,
Palette-ready pack registry (the spectro-registry image behind TLS and basic
auth), and keeps it healthy afterwards.

Commands that write in --dir hold a lock on it: a second one waits for the
first, up to 2 minutes (PAXSETUP_LOCK_WAIT, e.g. 10m, or 0 not to wait).

Exit codes: 0 success; 1 failure; 2 invalid flags or input; 3 a check failed
(verify, preflight, status); 130 interrupted.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if g.NoColor || f.Getenv("NO_COLOR") != "" || !f.IO.StdoutTTY {
				color.NoColor = true
			}
			if g.Dir == "" {
				g.Dir = defaultDir(f)
			}
			// The folder's name is written into paxsetup.yaml, PALETTE.txt
			// and the commands printed: a newline in it would add lines.
			if i := strings.IndexFunc(g.Dir, unicode.IsControl); i >= 0 {
				r, _ := utf8.DecodeRuneInString(g.Dir[i:])
				return flagError("dir", fmt.Errorf("%q contains a control character (%U): give a folder name without newlines, tabs or escapes (also in PAXSETUP_DIR)", g.Dir, r))
			}
			abs, err := filepath.Abs(g.Dir)
			if err != nil {
				return flagError("dir", err)
			}
			g.Dir = abs
			return nil
		},
	}
	root.PersistentFlags().StringVar(&g.Dir, "dir", "", "the setup's home folder (env PAXSETUP_DIR; default /var/lib/paxsetup as root, else ~/.local/share/paxsetup)")
	root.PersistentFlags().BoolVar(&g.NoColor, "no-color", false, "no colour in the output (also NO_COLOR)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{err: err}
	})

	root.AddCommand(
		NewCmdInit(f, g, nil),
		NewCmdVerify(f, g, nil),
		NewCmdPreflight(f, g, nil),
		NewCmdVersion(f),
		NewCmdCerts(f, g),
		NewCmdTrust(f, g, nil),
		NewCmdStatus(f, g, nil),
		NewCmdLogs(f, g, nil),
		NewCmdDown(f, g, nil),
		NewCmdUpgrade(f, g, nil),
		NewCmdUsers(f, g, nil),
		NewCmdExport(f, g, nil),
	)
	groupsRefuseArgs(root)
	argsAreUsage(root)
	return root
}

// groupsRefuseArgs makes a group of commands (certs, users) runnable, so that
// an argument that names none of its commands ("certs gne") is refused by
// its NoArgs like any wrong argument, exit 2, instead of printing the help
// and exiting 0; alone, the group prints its help.
func groupsRefuseArgs(c *cobra.Command) {
	if c.HasSubCommands() && c.Run == nil && c.RunE == nil && c.HasParent() {
		c.Args = cobra.NoArgs
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
	for _, sub := range c.Commands() {
		groupsRefuseArgs(sub)
	}
}

// argsAreUsage makes a wrong number of arguments, or an unknown one, a usage
// error on every command (exit 2, with the pointer to --help), as a bad flag
// is: cobra's argument checks return plain errors.
func argsAreUsage(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return &usageError{err: err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		argsAreUsage(sub)
	}
}

func defaultDir(f *Factory) string {
	if d := f.Getenv("PAXSETUP_DIR"); d != "" {
		return d
	}
	if os.Geteuid() == 0 {
		return "/var/lib/paxsetup"
	}
	if d := f.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "paxsetup")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "paxsetup"
	}
	return filepath.Join(home, ".local", "share", "paxsetup")
}

// dirArg is " --dir DIR" for commands printed for the operator to run, or
// "" when dir is the default folder those commands use anyway.
func dirArg(f *Factory, dir string) string {
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return filepath.Clean(p)
	}
	if abs(dir) == abs(defaultDir(f)) {
		return ""
	}
	return " --dir " + render.ShellQuote(abs(dir))
}

// usageError is a call paxsetup cannot parse: a wrong number of arguments,
// an unknown flag or command. It exits 2 with the pointer to --help.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// flagError is a flag given a value that cannot be used: the one type every
// command reports it with, so it always exits 2 naming the flag.
func flagError(flag string, err error) error {
	return &answers.FlagError{Flag: flag, Err: err}
}

// checkFailed is a check that ran and found a problem; its report is
// already printed.
var errCheckFailed = errors.New("checks failed")
