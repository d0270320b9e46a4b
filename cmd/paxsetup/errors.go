package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/fatih/color"
	"github.com/spf13/cobra"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/setup"
	"github.com/paxsetup/paxsetup/internal/setuplock"
	"github.com/paxsetup/paxsetup/internal/wizard"
)

// reportError prints what failed and the next thing to do, and returns the
// exit code. It is the one place errors become exit codes.
func reportError(f *Factory, cmd *cobra.Command, ctx context.Context, err error) int {
	w := f.IO.ErrOut
	red := color.New(color.FgRed, color.Bold).SprintFunc()
	var ue *usageError
	var fe *answers.FlagError
	switch {
	case errors.Is(err, errCheckFailed):
		return exitCheck
	// After a signal, whatever failed failed because of it: a check cut
	// short is no finding, and its hints would not be true.
	case errors.Is(err, wizard.ErrAborted) || ctx.Err() != nil:
		// One line, and nothing else to say: every file is either complete
		// or untouched, and no container was left half-started.
		fmt.Fprintln(w, "interrupted")
		return exitInterrupt
	case errors.Is(err, wizard.ErrDeclined):
		// Not an interruption: the operator read the plan and said No.
		fmt.Fprintln(w, err)
		return exitError
	case errors.As(err, &fe) || errors.Is(err, answers.ErrNotInteractive):
		// The message names the flag and the fix: one line is enough.
		fmt.Fprintf(w, "%s %v\n", red("error:"), err)
		return exitUsage
	case errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command "):
		// The last: cobra's own word for a command it does not know, which
		// it gives as plain text before any command runs.
		fmt.Fprintf(w, "%s %v\n", red("error:"), err)
		if cmd != nil {
			fmt.Fprintf(w, "Run '%s --help' for the flags.\n", cmd.CommandPath())
		}
		return exitUsage
	}
	fmt.Fprintf(w, "%s %v\n", red("error:"), err)
	if hint := hintFor(err); hint != "" {
		fmt.Fprintln(w, hint)
	}
	return exitError
}

func hintFor(err error) string {
	switch {
	case errors.Is(err, dockerctl.ErrEngineUnreachable), errors.Is(err, dockerctl.ErrPermission):
		return "Then check the engine with: paxsetup preflight, or docker info"
	case errors.Is(err, setuplock.ErrHeld):
		return "Nothing was changed. Run it again once that run has finished, or wait longer with " + EnvLockWait + "=10m."
	case errors.Is(err, setup.ErrContainerCrash), errors.Is(err, setup.ErrVerifyFailed):
		return "Nothing else was changed. Fix the cause and re-run paxsetup init: it reuses the files already written."
	}
	return ""
}
