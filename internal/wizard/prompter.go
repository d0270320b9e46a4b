package wizard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
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

// HuhPrompter asks on the terminal with huh. The questions of a flow are one
// form, a group per question, so that one Bubble Tea program owns the
// terminal for the whole question phase: Shift-Tab goes back, and no key
// typed between two questions is lost.
type HuhPrompter struct {
	// In and Out are the terminal, as files: Bubble Tea sets the terminal's
	// mode itself, and only knows it is a terminal when it gets the file.
	In  io.Reader
	Out io.Writer
	// Accessible asks with plain line prompts, for screen readers and dumb
	// terminals.
	Accessible bool
	// Context ends a question when it is cancelled (a SIGINT in accessible
	// mode, where the terminal is not raw and Ctrl-C is a signal).
	Context context.Context

	flushed bool
}

// keyMap is huh's, with Ctrl-J taken as Enter. A terminal that is not in raw
// mode turns Enter into a line feed (ICRNL), which reads as Ctrl-J once a
// form takes over: huh's default binds Ctrl-J to Down in a list, so an
// Enter typed between two programs chose the next option instead of the
// current one.
func keyMap() *huh.KeyMap {
	km := huh.NewDefaultKeyMap()
	enter := func(b *key.Binding) { b.SetKeys(append(b.Keys(), "ctrl+j")...) }
	km.Select.Down.SetKeys("down", "j", "ctrl+n")
	for _, b := range []*key.Binding{&km.Select.Next, &km.Select.Submit, &km.Input.Next, &km.Input.Submit,
		&km.Confirm.Next, &km.Confirm.Submit} {
		enter(b)
	}
	return km
}

// theme is huh's Charm theme with every text a person must read (options,
// help, the unchosen button, placeholders) in the terminal's own foreground.
// The Charm theme picks fixed greys by the background it believes the
// terminal has, and believes it light unless told: on a white xterm its
// options were white on white, and on a dark terminal that reports its
// background, dark grey on black. Accent colours stay: they read on both.
func theme(isDark bool) *huh.Styles {
	t := huh.ThemeCharm(isDark)
	for _, s := range []*huh.FieldStyles{&t.Focused, &t.Blurred} {
		s.Option = s.Option.UnsetForeground()
		s.UnselectedOption = s.UnselectedOption.UnsetForeground()
		s.Description = s.Description.UnsetForeground()
		s.BlurredButton = s.BlurredButton.UnsetForeground().UnsetBackground()
		s.TextInput.Placeholder = s.TextInput.Placeholder.UnsetForeground().Faint(true)
		s.TextInput.Text = s.TextInput.Text.UnsetForeground()
	}
	t.Group.Description = t.Focused.Description
	return t
}

func (p *HuhPrompter) form(groups ...*huh.Group) *huh.Form {
	f := huh.NewForm(groups...).WithShowHelp(false).WithAccessible(p.Accessible).WithKeyMap(keyMap()).
		WithTheme(huh.ThemeFunc(theme))
	if p.Out != nil {
		f = f.WithOutput(p.Out)
	}
	if p.In != nil {
		f = f.WithInput(p.In)
	}
	return f
}

func (p *HuhPrompter) run(f *huh.Form) error {
	ctx := p.Context
	if ctx == nil {
		ctx = context.Background()
	}
	var err error
	if p.Accessible {
		// Accessible fields block on a line read that no signal ends.
		done := make(chan error, 1)
		go func() { done <- f.Run() }()
		select {
		case err = <-done:
		case <-ctx.Done():
			return ErrAborted
		}
	} else {
		err = runSerial(ctx, f, p.In, p.Out)
	}
	if errors.Is(err, huh.ErrUserAborted) || ctx.Err() != nil {
		return ErrAborted
	}
	return err
}

// runForm asks the questions as one form. Keys typed before it is drawn
// (an Enter pressed while the checks ran) are discarded first, so that
// none chooses an answer the operator has not seen.
func (p *HuhPrompter) runForm(qs []*question) error {
	if p.Accessible {
		return askEach(p, qs)
	}
	p.flushInput()
	groups := make([]*huh.Group, 0, len(qs))
	for _, q := range qs {
		g := huh.NewGroup(p.field(q))
		if q.when != nil {
			when := q.when
			g = g.WithHideFunc(func() bool { return !when() })
		}
		groups = append(groups, g)
	}
	return p.run(p.form(groups...))
}

// flushInput drops what was typed on the terminal and not read yet, once.
func (p *HuhPrompter) flushInput() {
	if p.flushed {
		return
	}
	p.flushed = true
	if f, ok := p.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		flushTerminalInput(f)
	}
}

func (p *HuhPrompter) field(q *question) huh.Field {
	b := &backable{}
	check := func(s string) error {
		if b.back {
			return nil
		}
		return q.check(s)
	}
	switch q.kind {
	case kindSelect:
		opts := make([]huh.Option[string], len(q.options))
		for i, o := range q.options {
			opts[i] = huh.NewOption(o.Label, o.Value)
		}
		s := huh.NewSelect[string]().Options(opts...).Value(q.text)
		if q.deps != nil {
			s.TitleFunc(q.title, q.deps).DescriptionFunc(q.help, q.deps)
		} else {
			s.Title(q.title()).Description(q.help())
		}
		b.Field = s
	case kindConfirm:
		c := huh.NewConfirm().Affirmative("Yes").Negative("No").Value(q.yes)
		if q.validate != nil {
			// Only going ahead needs a plan that can be set up.
			c.Validate(func(yes bool) error {
				if !yes {
					return nil
				}
				return check("")
			})
		}
		if q.reserve > 0 {
			c.Description(strings.Repeat("\n", q.reserve-1))
		}
		if q.deps != nil {
			c.TitleFunc(q.title, q.deps).DescriptionFunc(q.help, q.deps)
		} else {
			c.Title(q.title()).Description(q.help())
		}
		b.Field = c
	default:
		in := huh.NewInput().Value(q.text).Validate(check)
		if q.kind == kindPassword {
			in.EchoMode(huh.EchoModePassword)
		} else {
			in.Placeholder(q.def)
		}
		if q.deps != nil {
			in.TitleFunc(q.title, q.deps).DescriptionFunc(q.help, q.deps)
		} else {
			in.Title(q.title()).Description(q.help())
		}
		b.Field = in
	}
	return b
}

// backable lets the operator go back from a question whose answer is not
// valid yet. huh validates a field as it loses focus and then refuses to
// change groups, in either direction: Shift-Tab from a refused answer left
// the form stuck on a question it no longer showed as active.
type backable struct {
	huh.Field
	back bool // Shift-Tab was pressed since the field was focused
}

// Focus starts the field afresh: its answer is checked again.
func (b *backable) Focus() tea.Cmd {
	b.back = false
	return b.Field.Focus()
}

// Update hands msg to the field, noting whether it goes back. The blur
// that follows Shift-Tab comes as a later message, after keys typed in
// between, so the mark stays until the field is focused again.
func (b *backable) Update(msg tea.Msg) (huh.Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok && key.Matches(k, keyMap().Input.Prev) {
		b.back = true
	}
	m, cmd := b.Field.Update(msg)
	b.Field = m.(huh.Field)
	return b, cmd
}

// ask runs one question as a form of its own. In accessible mode, whose
// prompts show only the title, the help is printed first.
func (p *HuhPrompter) ask(q *question) error {
	if p.Accessible && p.Out != nil {
		if h := q.help(); h != "" {
			fmt.Fprintln(p.Out, h)
		}
	}
	return p.run(p.form(huh.NewGroup(p.field(q))))
}

// Input asks for a line of text; an empty answer takes def, shown as the
// placeholder, so Enter accepts the default.
func (p *HuhPrompter) Input(title, help, def string, validate func(string) error) (string, error) {
	if p.Accessible && def != "" {
		title = fmt.Sprintf("%s [%s]", title, def)
	}
	q := &question{kind: kindInput, title: static(title), help: static(help), def: def, validate: validate, text: new(string)}
	if err := p.ask(q); err != nil {
		return "", err
	}
	return q.value(), nil
}

// Password asks for a secret without echoing it.
func (p *HuhPrompter) Password(title, help string, validate func(string) error) (string, error) {
	q := &question{kind: kindPassword, title: static(title), help: static(help), validate: validate, text: new(string)}
	if err := p.ask(q); err != nil {
		return "", err
	}
	return *q.text, nil
}

// Confirm asks a yes/no question.
func (p *HuhPrompter) Confirm(title, help string, def bool) (bool, error) {
	q := &question{kind: kindConfirm, title: static(title), help: static(help), yes: &def}
	if err := p.ask(q); err != nil {
		return false, err
	}
	return *q.yes, nil
}

// Select asks for one of options; def is chosen when the operator presses
// Enter.
func (p *HuhPrompter) Select(title, help string, options []Option, def string) (string, error) {
	v := def
	q := &question{kind: kindSelect, title: static(title), help: static(help), options: options, text: &v}
	if err := p.ask(q); err != nil {
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
