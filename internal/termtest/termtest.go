// Package termtest runs a program on a real pseudo-terminal and renders what
// it writes through a VT emulator, so tests can assert what a person sees:
// the rows, the columns, the cursor, the scrollback.
package termtest

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"
	"github.com/creack/pty"
)

// Key sequences as a terminal sends them to the program.
const (
	Enter     = "\r"
	Tab       = "\t"
	ShiftTab  = "\x1b[Z"
	CtrlC     = "\x03"
	Up        = "\x1b[A"
	Down      = "\x1b[B"
	Backspace = "\x7f"
	Esc       = "\x1b"
)

// Term is a program running on a pseudo-terminal of a fixed size, together
// with the screen a terminal emulator draws from its output.
type Term struct {
	// Timeout bounds WaitFor and WaitUntil. Start sets it to 30 seconds.
	Timeout time.Duration

	tb   testing.TB
	cmd  *exec.Cmd
	ptmx *os.File
	cols int
	keys int

	// mu guards emu and raw. vt.SafeEmulator would not do: its String,
	// Scrollback lines and Close go unguarded.
	mu  sync.Mutex
	emu *vt.Emulator
	raw []byte

	exitCode int           // set before exited is closed
	exited   chan struct{} // the process has been reaped
	drained  chan struct{} // the pty master reached its end: all output is in emu
	replied  chan struct{} // the emulator's replies are no longer copied
}

// Start runs cmd on a new pseudo-terminal of cols x rows and feeds everything
// it writes to an emulator of the same size. A nil cmd.Env means the test's
// environment, with TERM set to xterm-256color: the TERM the test itself runs
// under describes some other terminal, not the emulator. A cmd.Env without
// TERM gets the same one. Cleanup kills the process and closes everything.
func Start(tb testing.TB, cmd *exec.Cmd, cols, rows int) *Term {
	tb.Helper()
	if cmd.Env == nil {
		cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "TERM=") })
	}
	if !slices.ContainsFunc(cmd.Env, func(kv string) bool { return strings.HasPrefix(kv, "TERM=") }) {
		cmd.Env = append(slices.Clip(cmd.Env), "TERM=xterm-256color")
	}
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)})
	if err != nil {
		tb.Fatalf("start %s on a pty: %v", cmd.Path, err)
	}
	t := &Term{
		Timeout: 30 * time.Second,
		tb:      tb,
		cmd:     cmd,
		ptmx:    ptmx,
		cols:    cols,
		emu:     vt.NewEmulator(cols, rows),
		exited:  make(chan struct{}),
		drained: make(chan struct{}),
		replied: make(chan struct{}),
	}
	go t.readOutput()
	go t.copyReplies()
	go func() {
		_ = cmd.Wait() // its error is a failed exit, which ExitCode reports
		t.exitCode = cmd.ProcessState.ExitCode()
		close(t.exited)
	}()
	tb.Cleanup(t.close)
	return t
}

func (t *Term) readOutput() {
	defer close(t.drained)
	buf := make([]byte, 32<<10)
	for {
		n, err := t.ptmx.Read(buf)
		if n > 0 {
			t.mu.Lock()
			t.raw = append(t.raw, buf[:n]...)
			_, _ = t.emu.Write(buf[:n])
			t.mu.Unlock()
		}
		if err != nil {
			return // EIO once the program and its children closed the terminal
		}
	}
}

// copyReplies hands the program the emulator's answers to its queries (device
// attributes, cursor position, colours, modes), as a terminal would: Bubble
// Tea and others may wait for them. The emulator writes each answer into an
// unbuffered pipe while it parses output, so the pipe is drained even after
// a failed write: an unread answer would stall readOutput.
func (t *Term) copyReplies() {
	defer close(t.replied)
	if _, err := io.Copy(t.ptmx, t.emu); err != nil {
		_, _ = io.Copy(io.Discard, t.emu)
	}
}

func (t *Term) close() {
	if !t.Exited() {
		// pty.Start made the process a session leader: its group holds
		// whatever it started on the terminal.
		_ = syscall.Kill(-t.cmd.Process.Pid, syscall.SIGKILL)
	}
	<-t.exited
	_ = t.ptmx.Close()
	<-t.drained
	// Emulator.Close sets a flag that Read checks without a lock, so the
	// reply pipe is closed first and Close waits until nothing reads it.
	_ = t.emu.InputPipe().(io.Closer).Close()
	<-t.replied
	_ = t.emu.Close()
}

// Screen returns the visible rows as plain text without styles, trailing
// spaces trimmed: exactly one string per row.
func (t *Term) Screen() []string {
	t.mu.Lock()
	s := t.emu.String()
	t.mu.Unlock()
	return strings.Split(s, "\n")
}

// ScreenString returns the screen for a failure message: a column ruler, row
// numbers, the right edge, and the cursor.
func (t *Term) ScreenString() string {
	rows := t.Screen()
	x, y := t.Cursor()
	var b strings.Builder
	b.WriteString("    ")
	for c := 0; c < t.cols; c += 10 {
		fmt.Fprintf(&b, "%-10d", c/10%10)
	}
	b.WriteString("\n    ")
	for c := range t.cols {
		fmt.Fprint(&b, c%10)
	}
	b.WriteByte('\n')
	for i, r := range rows {
		fmt.Fprintf(&b, "%3d|%s%s|\n", i, r, strings.Repeat(" ", max(0, t.cols-ansi.StringWidth(r))))
	}
	fmt.Fprintf(&b, "cursor at column %d, row %d", x, y)
	return b.String()
}

// History returns the lines that scrolled off the top followed by the screen,
// without the blank rows below the last text: everything a person could
// scroll back to. The emulator also keeps the rows a program erases with
// ED 2 (ESC [2J), as VTE-based terminals do.
func (t *Term) History() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	for _, l := range t.emu.Scrollback().Lines() {
		b.WriteString(strings.TrimRight(l.String(), " "))
		b.WriteByte('\n')
	}
	b.WriteString(t.emu.String())
	return strings.TrimRight(b.String(), "\n")
}

// Cursor returns the cursor's column and row, counted from 0.
func (t *Term) Cursor() (x, y int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.emu.CursorPosition()
	return p.X, p.Y
}

// Colors returns the foreground and background colours of the cell at column
// x, row y; nil means the terminal's own, whatever its theme.
func (t *Term) Colors(x, y int) (fg, bg color.Color) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.emu.CellAt(x, y)
	if c == nil {
		return nil, nil
	}
	return c.Style.Fg, c.Style.Bg
}

// WaitFor waits until text is on the screen, and fails the test with the
// screen when Timeout passes or the program's output ends without it.
func (t *Term) WaitFor(text string) {
	t.tb.Helper()
	t.WaitUntil(fmt.Sprintf("%q on the screen", text), func(screen []string) bool {
		return strings.Contains(strings.Join(screen, "\n"), text)
	})
}

// WaitUntil waits until ok accepts the screen, and fails the test with the
// screen when Timeout passes or the program's output ends first. desc names
// what was awaited, for the failure message.
func (t *Term) WaitUntil(desc string, ok func(screen []string) bool) {
	t.tb.Helper()
	if err := t.waitFor(desc, ok, t.Timeout); err != nil {
		t.tb.Fatalf("%v; screen:\n%s", err, t.ScreenString())
	}
}

var errEnded = errors.New("the program's output ended")

func (t *Term) waitFor(desc string, ok func(screen []string) bool, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		// Whether the output ended is read before the screen, so that the
		// last output is looked at before giving up.
		ended := closed(t.drained)
		if ok(t.Screen()) {
			return nil
		}
		if ended {
			return fmt.Errorf("%w without %s", errEnded, desc)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no %s after %v", desc, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Send writes each key sequence to the terminal at once, as fast as a
// program would receive a burst of typing. An element that begins with Esc is
// one key (an escape sequence, or Alt with a key); any other element counts
// one key per rune, so Send(Enter) is one key and Send("hello") is five.
func (t *Term) Send(keys ...string) {
	t.tb.Helper()
	for _, k := range keys {
		if _, err := io.WriteString(t.ptmx, k); err != nil {
			t.tb.Fatalf("send %q to the terminal: %v", k, err)
		}
		if strings.HasPrefix(k, Esc) {
			t.keys++
		} else {
			t.keys += utf8.RuneCountInString(k)
		}
	}
}

// Type sends s one rune per write, as separate key presses.
func (t *Term) Type(s string) {
	t.tb.Helper()
	for _, r := range s {
		t.Send(string(r))
	}
}

// Keys returns how many keys Send and Type have pressed.
func (t *Term) Keys() int { return t.keys }

// Raw returns a copy of every byte read from the terminal so far: the
// program's output after the line discipline, including the echo of typed
// keys.
func (t *Term) Raw() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.raw)
}

// Mark returns the length of Raw now, so that Raw()[mark:] is the output of
// what happened since.
func (t *Term) Mark() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.raw)
}

// BareLF counts the line feeds in b that do not follow a carriage return; a
// line feed at the very start counts. Text printed with output processing
// off (OPOST, as in raw mode) has them, and each one leaves the next line
// starting where the last one ended. Bubble Tea's renderer also moves the
// cursor down with bare line feeds on purpose, so measure a window of plain
// printed text, between two Marks, not a whole TUI session.
func BareLF(b []byte) int {
	n := 0
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			n++
		}
	}
	return n
}

// Staircase returns the rows whose text starts at the very column where the
// previous non-empty row's text ends: where a bare line feed leaves the
// cursor. Rows that start at column 0 never match, since a non-empty row ends
// at column 1 or later; text indented on purpose can match by chance, so for
// indented layouts prefer BareLF over the bytes.
func Staircase(rows []string) []int {
	var stairs []int
	end := -1
	for i, r := range rows {
		r = strings.TrimRight(r, " ")
		text := strings.TrimLeft(r, " ")
		if text == "" {
			continue
		}
		if start := len(r) - len(text); start == end {
			stairs = append(stairs, i)
		}
		end = ansi.StringWidth(r)
	}
	return stairs
}

// Wait waits up to 2 minutes for the program to exit and for its output to
// reach the emulator, and returns its exit code: -1 if a signal ended it.
func (t *Term) Wait() int {
	t.tb.Helper()
	timeout := time.After(2 * time.Minute)
	select {
	case <-t.exited:
	case <-timeout:
		t.tb.Fatalf("the program did not exit within 2 minutes; screen:\n%s", t.ScreenString())
	}
	select {
	case <-t.drained:
	case <-timeout:
		t.tb.Fatalf("the program exited, but a process it started still holds the terminal; screen:\n%s", t.ScreenString())
	}
	return t.exitCode
}

// Exited reports whether the program has exited.
func (t *Term) Exited() bool { return closed(t.exited) }

func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
