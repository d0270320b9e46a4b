package wizard

import (
	"context"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"
)

// serialForm runs a huh form so that every key lands in the question on
// screen when it was typed.
//
// huh moves to the next question through commands (NextField, then
// nextGroup) that Bubble Tea runs concurrently and delivers as later
// messages. Keys read in the same burst (a paste, a fast typist while a
// check runs) are queued before those messages, so they reached the
// question just answered: "reg.example.com⏎10.1.2.3" typed at once put
// "10" into the host name. Here huh's own commands run at once, inside the
// Update that handles the key, so the form has moved on before the next key
// is handled. Commands from elsewhere (cursor blinks, quitting, terminal
// requests) go to Bubble Tea as usual.
type serialForm struct {
	form *huh.Form
}

// Init starts the form.
func (m *serialForm) Init() tea.Cmd { return m.settle(m.form.Init()) }

// Update hands msg to the form and settles what it sets off.
func (m *serialForm) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	f, cmd := m.form.Update(msg)
	m.form = f.(*huh.Form)
	return m, m.settle(cmd)
}

// View draws the form.
func (m *serialForm) View() tea.View {
	v := tea.NewView(m.form.View())
	v.ReportFocus = true
	return v
}

// maxSettle bounds the huh messages one key may set off: a form that keeps
// sending itself messages is a bug, not a reason to hang.
const maxSettle = 1000

// settle runs cmd's tree now as far as it is huh's and Bubble Tea's
// grouping, feeding huh's messages back into the form, and returns the rest
// for Bubble Tea to run.
func (m *serialForm) settle(cmd tea.Cmd) tea.Cmd {
	var later []tea.Cmd
	queue := []tea.Cmd{cmd}
	for n := 0; len(queue) > 0; n++ {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		if n > maxSettle || !immediate(c) {
			later = append(later, c)
			continue
		}
		switch msg := c().(type) {
		case nil:
		case tea.BatchMsg:
			queue = append(queue, msg...)
		default:
			if !fromHuh(msg) {
				later = append(later, func() tea.Msg { return msg })
				continue
			}
			f, next := m.form.Update(msg)
			m.form = f.(*huh.Form)
			queue = append(queue, next)
		}
	}
	return tea.Batch(later...)
}

// immediate reports whether c is a command that returns at once: one of
// huh's own (moving between fields and groups, recomputing a title; huh
// starts no timers), or Bubble Tea's grouping of commands, whose closure
// only returns the group (named compactCmds, under the caller's name where
// it was inlined). Anything else may wait (a blink's timer) and is left to
// Bubble Tea.
func immediate(c tea.Cmd) bool {
	fn := runtime.FuncForPC(reflect.ValueOf(c).Pointer())
	if fn == nil {
		return false
	}
	name := fn.Name()
	return strings.HasPrefix(name, huhPkg+".") || strings.Contains(name, ".compactCmds[")
}

// fromHuh reports whether msg is one of huh's own messages.
func fromHuh(msg tea.Msg) bool {
	t := reflect.TypeOf(msg)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath() == huhPkg
}

var huhPkg = reflect.TypeOf(huh.Form{}).PkgPath()

// runSerial runs form as a program on in and out until it is submitted or
// aborted.
func runSerial(ctx context.Context, form *huh.Form, in io.Reader, out io.Writer) error {
	form.SubmitCmd = tea.Quit
	form.CancelCmd = tea.Interrupt
	opts := []tea.ProgramOption{tea.WithContext(ctx)}
	if in != nil {
		opts = append(opts, tea.WithInput(in))
	}
	if out != nil {
		opts = append(opts, tea.WithOutput(out))
	}
	m := &serialForm{form: form}
	_, err := tea.NewProgram(m, opts...).Run()
	switch {
	case m.form.State == huh.StateAborted, errors.Is(err, tea.ErrInterrupted), ctx.Err() != nil:
		return huh.ErrUserAborted
	case err != nil:
		return err
	}
	return nil
}
