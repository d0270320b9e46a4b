package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/fatih/color"
)

// stepWriter shows each step with a spinner and its duration on a terminal;
// elsewhere, and in accessible mode, each step is one plain line.
func stepWriter(opts *InitOptions, out io.Writer) io.Writer {
	if !opts.IO.StdoutTTY || accessible(opts) {
		return out
	}
	return &spinnerSteps{w: out}
}

type spinnerSteps struct {
	mu      sync.Mutex
	w       io.Writer
	current string // the spinner line being shown, if any
}

// Write prints output of a step (pull progress, say) above the spinner line.
func (s *spinnerSteps) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current != "" {
		fmt.Fprint(s.w, "\r\x1b[K")
	}
	n, err := s.w.Write(p)
	if s.current != "" {
		fmt.Fprint(s.w, s.current)
	}
	return n, err
}

var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// Step runs fn while a spinner shows the step's name and elapsed time, then
// leaves one line with the outcome and the duration.
func (s *spinnerSteps) Step(name string, fn func() error) error {
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		s.mu.Lock()
		s.current = fmt.Sprintf("%s %s %.1fs", color.CyanString(spinnerFrames[i%len(spinnerFrames)]), name, time.Since(start).Seconds())
		fmt.Fprint(s.w, "\r\x1b[K"+s.current)
		s.mu.Unlock()
		select {
		case err := <-done:
			s.mu.Lock()
			s.current = ""
			mark := color.GreenString("✓")
			if err != nil {
				mark = color.RedString("✗")
			}
			fmt.Fprintf(s.w, "\r\x1b[K%s %s (%s)\n", mark, name, time.Since(start).Round(time.Millisecond))
			s.mu.Unlock()
			return err
		case <-tick.C:
		}
	}
}

// onTerminal runs fn as one step with a spinner when w is a terminal, and
// plainly otherwise, so logs and pipes get plain output.
func onTerminal(w io.Writer, terminal bool, name string, fn func() error) error {
	if !terminal {
		return fn()
	}
	return (&spinnerSteps{w: w}).Step(name, fn)
}
