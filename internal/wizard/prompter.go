package wizard

import (
	"errors"
	"fmt"
	"io"
	"os"

	"charm.land/huh/v2"
	"golang.org/x/term"
)

// ErrAborted is the operator leaving the wizard (Ctrl-C, Esc): nothing was
// written, and paxsetup exits 130.
var ErrAborted = errors.New("aborted")

// Option is one choice of a Select question.
type Option struct {
	Value string
	Label string
}

// Prompter asks the operator one question at a time. The terminal
// implementation uses huh; tests use a fake. A validate function's error is
// shown to the operator, who answers again.
type Prompter interface {
	Input(title, help, def string, validate func(string) error) (string, error)
	Password(title, help string, validate func(string) error) (string, error)
	Confirm(title, help string, def bool) (bool, error)
	Select(title, help string, options []Option, def string) (string, error)
}

// HuhPrompter asks on the terminal with huh forms, one field each. Call
// Close when the questions are over, to give the terminal back.
type HuhPrompter struct {
	In  io.Reader
	Out io.Writer
	// Accessible asks with plain line prompts, for screen readers and dumb
	// terminals.
	Accessible bool

	tty *ttyInput
}

func (p *HuhPrompter) run(f huh.Field) error {
	form := huh.NewForm(huh.NewGroup(f)).WithShowHelp(false).WithAccessible(p.Accessible)
	if p.Out != nil {
		form = form.WithOutput(p.Out)
	}
	in := p.In
	if file, ok := in.(*os.File); ok && !p.Accessible && term.IsTerminal(int(file.Fd())) {
		if p.tty == nil {
			t, err := newTTYInput(file)
			if err != nil {
				return fmt.Errorf("prepare the terminal: %w", err)
			}
			p.tty = t
		}
		r := p.tty.reader()
		defer r.close()
		in = r
	}
	if in != nil {
		form = form.WithInput(in)
	}
	err := form.Run()
	if errors.Is(err, huh.ErrUserAborted) {
		return ErrAborted
	}
	return err
}

// Close gives the terminal back its mode from before the questions.
func (p *HuhPrompter) Close() error {
	if p.tty == nil {
		return nil
	}
	return p.tty.restore()
}

// Input asks for a line of text; an empty answer takes def, shown as the
// placeholder, so Enter accepts the default.
func (p *HuhPrompter) Input(title, help, def string, validate func(string) error) (string, error) {
	var v string
	check := func(s string) error {
		if s == "" {
			s = def
		}
		if validate == nil {
			return nil
		}
		return validate(s)
	}
	if p.Accessible && def != "" {
		title = fmt.Sprintf("%s [%s]", title, def)
	}
	in := huh.NewInput().Title(title).Description(help).Placeholder(def).Value(&v).Validate(check)
	if err := p.run(in); err != nil {
		return "", err
	}
	if v == "" {
		v = def
	}
	return v, nil
}

// Password asks for a secret without echoing it.
func (p *HuhPrompter) Password(title, help string, validate func(string) error) (string, error) {
	var v string
	in := huh.NewInput().Title(title).Description(help).EchoMode(huh.EchoModePassword).Value(&v)
	if validate != nil {
		in = in.Validate(validate)
	}
	if err := p.run(in); err != nil {
		return "", err
	}
	return v, nil
}

// Confirm asks a yes/no question.
func (p *HuhPrompter) Confirm(title, help string, def bool) (bool, error) {
	v := def
	if err := p.run(huh.NewConfirm().Title(title).Description(help).Value(&v)); err != nil {
		return false, err
	}
	return v, nil
}

// Select asks for one of options; def is chosen when the operator presses
// Enter.
func (p *HuhPrompter) Select(title, help string, options []Option, def string) (string, error) {
	v := def
	opts := make([]huh.Option[string], len(options))
	for i, o := range options {
		opts[i] = huh.NewOption(o.Label, o.Value)
	}
	if err := p.run(huh.NewSelect[string]().Title(title).Description(help).Options(opts...).Value(&v)); err != nil {
		return "", err
	}
	return v, nil
}

// AccessibleFromEnv reports whether the environment asks for accessible mode.
func AccessibleFromEnv(getenv func(string) string) bool {
	if getenv == nil {
		getenv = os.Getenv
	}
	v := getenv("ACCESSIBLE")
	return v != "" && v != "0" && v != "false"
}
