package main

import (
	"strings"
	"testing"
)

// TestArgumentsAreUsageErrors: a stray or missing argument is a usage error
// on every command, as a bad flag is: exit 2 and the pointer to --help.
func TestArgumentsAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"init", "extra"}, {"verify", "extra"}, {"preflight", "extra"}, {"status", "extra"}, {"logs", "extra"},
		{"down", "extra"}, {"upgrade", "extra"}, {"trust", "extra"}, {"version", "extra"},
		{"certs", "gen", "extra"}, {"certs", "inspect"}, {"users", "list", "extra"}, {"users", "add"},
		{"users", "passwd"}, {"users", "remove", "a", "b"}, {"nonexistent"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runBinary(t, nil, append(args, "--dir", t.TempDir())...)
			if r.code != exitUsage || !strings.Contains(r.stderr, "--help") {
				t.Errorf("exit %d, want %d with the pointer to --help:\n%s", r.code, exitUsage, r.stderr)
			}
		})
	}
}
