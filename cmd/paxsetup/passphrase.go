package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/bundle"
	"github.com/paxsetup/paxsetup/internal/fsutil"
	"github.com/paxsetup/paxsetup/internal/secretenv"
)

// EnvBundlePassphrase carries a bundle's passphrase into unattended runs,
// so that it never appears on a command line.
const EnvBundlePassphrase = secretenv.BundlePassphrase

// passphrase is a bundle's passphrase and where it came from.
type passphrase struct {
	value    string
	source   string // "file PATH", "env NAME" or "the terminal"
	terminal bool
}

// readPassphrase takes a bundle's passphrase from --passphrase-file, else
// from the environment, else from a prompt on the terminal, typed twice
// when it seals a new bundle (isNew). A new one must be long enough to
// stand offline guessing (bundle.CheckPassphrase).
func readPassphrase(f *Factory, file, prompt string, isNew bool) (passphrase, error) {
	check := func(p passphrase) (passphrase, error) {
		if p.value == "" {
			return passphrase{}, &answers.FlagError{Flag: "passphrase-file", Err: fmt.Errorf("the passphrase from %s is empty", p.source)}
		}
		if isNew {
			if err := bundle.CheckPassphrase(p.value); err != nil {
				return passphrase{}, &answers.FlagError{Flag: "passphrase-file", Err: fmt.Errorf("%w (from %s)", err, p.source)}
			}
		}
		return p, nil
	}
	switch {
	case file != "":
		data, err := fsutil.ReadRegularFile(file, fsutil.MaxSecretFile)
		if err != nil {
			return passphrase{}, &answers.FlagError{Flag: "passphrase-file", Err: fmt.Errorf("cannot read the passphrase file: %v", err)}
		}
		// One trailing line break is the editor's, not the passphrase's.
		v := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
		return check(passphrase{value: v, source: "file " + file})
	case f.Getenv(EnvBundlePassphrase) != "":
		return check(passphrase{value: f.Getenv(EnvBundlePassphrase), source: "env " + EnvBundlePassphrase})
	}
	in, ok := f.IO.In.(*os.File)
	if !ok || !f.IO.StdinTTY {
		return passphrase{}, &answers.FlagError{Flag: "passphrase-file", Err: fmt.Errorf("no passphrase and no terminal to ask for one on: give --passphrase-file FILE or set %s", EnvBundlePassphrase)}
	}
	w := f.IO.ErrOut
	read := func(q string) (string, error) {
		fmt.Fprint(w, q)
		b, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(w)
		if err != nil {
			return "", fmt.Errorf("read the passphrase: %w", err)
		}
		return string(b), nil
	}
	p := passphrase{source: "the terminal", terminal: true}
	if !isNew {
		v, err := read(prompt)
		if err != nil {
			return passphrase{}, err
		}
		p.value = v
		return check(p)
	}
	for attempt := 1; ; attempt++ {
		first, err := read(prompt)
		if err != nil {
			return passphrase{}, err
		}
		problem := bundle.CheckPassphrase(first)
		if problem == nil {
			second, err := read("Type it again: ")
			if err != nil {
				return passphrase{}, err
			}
			if second == first {
				p.value = first
				return p, nil
			}
			problem = errors.New("the two passphrases differ")
		}
		if attempt == 3 {
			return passphrase{}, &answers.FlagError{Flag: "passphrase-file", Err: fmt.Errorf("no passphrase set: %w", problem)}
		}
		fmt.Fprintf(w, "%v; try again.\n", problem)
	}
}
