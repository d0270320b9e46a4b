package wizard

import (
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"
)

// TestImmediate pins how serialForm tells huh's commands from others, by
// the package of the function: a huh or Bubble Tea release that moves them
// must fail here, not leave keys in the wrong question.
func TestImmediate(t *testing.T) {
	noop := func() tea.Msg { return nil }
	tests := []struct {
		name string
		cmd  tea.Cmd
		want bool
	}{
		{"huh's next field", huh.NextField, true},
		{"huh's previous field", huh.PrevField, true},
		{"Bubble Tea's batch", tea.Batch(huh.NextField, noop), true},
		{"a timer", tea.Tick(time.Hour, func(time.Time) tea.Msg { return nil }), false},
		{"quitting", tea.Quit, false},
		{"a command of ours", noop, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := immediate(tt.cmd); got != tt.want {
				t.Errorf("immediate = %v, want %v", got, tt.want)
			}
		})
	}
	if !fromHuh(huh.NextField()) || fromHuh(tea.QuitMsg{}) {
		t.Error("fromHuh does not tell huh's messages from Bubble Tea's")
	}
}

// TestSerialFormMovesBeforeTheNextKey sends two answers' keys to a form
// without a terminal: the second key must reach the second question.
func TestSerialFormMovesBeforeTheNextKey(t *testing.T) {
	var first, second string
	form := huh.NewForm(
		huh.NewGroup(huh.NewInput().Value(&first)),
		huh.NewGroup(huh.NewInput().Value(&second)),
	)
	m := &serialForm{form: form}
	m.settle(m.form.Init())
	for _, k := range []tea.KeyPressMsg{{Code: 'a', Text: "a"}, {Code: tea.KeyEnter}, {Code: 'b', Text: "b"}} {
		m.Update(k)
	}
	if first != "a" || second != "b" {
		t.Errorf("first %q, second %q: want a and b", first, second)
	}
}
