package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/bundle"
	"github.com/paxsetup/paxsetup/internal/fsutil"
	"github.com/paxsetup/paxsetup/internal/secretenv"
	"github.com/paxsetup/paxsetup/internal/wizard"
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
func readPassphrase(ctx context.Context, f *Factory, file, prompt string, isNew bool) (passphrase, error) {
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
	if f.Prompter == nil && !f.IO.Interactive() {
		return passphrase{}, &answers.FlagError{Flag: "passphrase-file", Err: fmt.Errorf("no passphrase and no terminal to ask for one on: give --passphrase-file FILE or set %s", EnvBundlePassphrase)}
	}
	p := passphrase{source: "the terminal", terminal: true}
	ask := f.prompter(ctx, false)
	if !isNew {
		v, err := ask.Password(prompt, "", nil)
		if err != nil {
			return passphrase{}, err
		}
		p.value = v
		return check(p)
	}
	v, err := askNewSecret(ask, f.IO.ErrOut, prompt, "At least 16 characters: a copy of the bundle can be attacked offline.", bundle.CheckPassphrase)
	if err != nil {
		return passphrase{}, &answers.FlagError{Flag: "passphrase-file", Err: err}
	}
	p.value = v
	return p, nil
}

// askNewSecret asks for a new password or passphrase, checked by validate as
// it is typed, then for it again: three times two that differ give up.
func askNewSecret(p wizard.Prompter, errOut io.Writer, title, help string, validate func(string) error) (string, error) {
	for attempt := 1; ; attempt++ {
		first, err := p.Password(title, help, validate)
		if err != nil {
			return "", err
		}
		second, err := p.Password("Type it again", "", nil)
		if err != nil {
			return "", err
		}
		if second == first {
			return first, nil
		}
		if attempt == 3 {
			return "", errors.New("nothing set: the two entries differed three times")
		}
		fmt.Fprintln(errOut, "The two entries differ; try again.")
	}
}
