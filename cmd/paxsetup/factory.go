package main

import (
	"context"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/wizard"
)

// IOStreams are the command's standard streams and whether they are terminals.
type IOStreams struct {
	In        io.Reader
	Out       io.Writer
	ErrOut    io.Writer
	StdinTTY  bool
	StdoutTTY bool
}

// Interactive reports whether questions can be asked.
func (s *IOStreams) Interactive() bool { return s.StdinTTY && s.StdoutTTY }

// Factory holds what commands need from the outside world, so that tests can
// replace each part. Nothing below cmd builds its own clients.
type Factory struct {
	IO       *IOStreams
	Prompter wizard.Prompter
	Docker   func(ctx context.Context) (dockerctl.API, error)
	Now      func() time.Time
	Getenv   func(string) string
}

// prompter is what asks the operator: the Factory's Prompter (a test's), or
// huh on the terminal.
func (f *Factory) prompter(ctx context.Context, accessible bool) wizard.Prompter {
	if f.Prompter != nil {
		return f.Prompter
	}
	return &wizard.HuhPrompter{In: f.IO.In, Out: f.IO.Out, Accessible: accessible || wizard.AccessibleFromEnv(f.Getenv), Context: ctx}
}

// DefaultFactory wires the real terminal, engine and clock.
func DefaultFactory() *Factory {
	return &Factory{
		IO: &IOStreams{
			In:        os.Stdin,
			Out:       os.Stdout,
			ErrOut:    os.Stderr,
			StdinTTY:  term.IsTerminal(int(os.Stdin.Fd())),
			StdoutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		},
		Docker: func(ctx context.Context) (dockerctl.API, error) { return dockerctl.Connect(ctx) },
		Now:    time.Now,
		Getenv: os.Getenv,
	}
}
