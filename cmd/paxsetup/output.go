package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/pflag"
)

// The --output of the commands that report: text for people, JSON for
// scripts, the same facts in both.
const (
	outputText = "text"
	outputJSON = "json"
)

// addOutputFlag registers --output on a reporting command.
func addOutputFlag(fl *pflag.FlagSet, p *string) {
	fl.StringVar(p, "output", outputText, "text or json")
}

// checkOutput refuses an --output other than text or json.
func checkOutput(format string) error {
	if format != outputText && format != outputJSON {
		return flagError("output", fmt.Errorf("%q: use text or json", format))
	}
	return nil
}

// writeOutput writes report as indented JSON with --output json, and with
// text otherwise.
func writeOutput(w io.Writer, format string, report any, text func()) error {
	if format != outputJSON {
		text()
		return nil
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(report)
}
