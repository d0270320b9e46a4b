package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandExitsUsage walks the whole command tree, so a command
// added later is covered without being listed: each one that runs declares
// how many arguments it takes, and a wrong count or an unknown flag is a
// usage error, exit 2 with the pointer to --help, as is an unknown command.
func TestEveryCommandExitsUsage(t *testing.T) {
	var leaves []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		if c.Runnable() {
			leaves = append(leaves, c)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd(DefaultFactory()))
	if len(leaves) < 15 {
		t.Fatalf("found only %d commands to run", len(leaves))
	}

	check := func(t *testing.T, args []string) {
		t.Helper()
		r := runBinary(t, nil, append(args, "--dir", t.TempDir())...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "--help") {
			t.Errorf("paxsetup %s: exit %d, want %d with the pointer to --help:\n%s", strings.Join(args, " "), r.code, exitUsage, r.stderr)
		}
	}
	for _, c := range leaves {
		path := strings.Fields(c.CommandPath())[1:]
		t.Run(strings.Join(path, " "), func(t *testing.T) {
			if c.Args == nil {
				t.Fatalf("%s declares no argument check (Args)", c.CommandPath())
			}
			// The first count the command refuses: too many, else none.
			bad := []string{"a", "b", "c", "d", "e"}
			if c.Args(c, bad) == nil {
				bad = nil
				if c.Args(c, bad) == nil {
					t.Fatalf("%s takes any number of arguments", c.CommandPath())
				}
			}
			check(t, append(append([]string{}, path...), bad...))
			check(t, append(append([]string{}, path...), "--no-such-flag"))
		})
	}
	t.Run("unknown command", func(t *testing.T) { check(t, []string{"nonexistent"}) })
}
