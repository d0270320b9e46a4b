package wizard

import (
	"io"
	"os"
	"sync"

	"golang.org/x/term"
)

// ttyInput hands the terminal's keystrokes to one form at a time.
//
// Each huh form runs its own Bubble Tea program, and a program that has
// ended can leave its reader blocked on the terminal, where it swallows the
// next key meant for the following form (charmbracelet/bubbletea#616). Here a
// single goroutine reads the terminal, and every form reads through its own
// handle, closed when the form ends: a stale reader then gets EOF and can take
// no key away. The terminal stays in raw mode for the whole wizard, so a
// Ctrl-C between two forms reaches the next form as a key, not as a signal.
type ttyInput struct {
	src   *os.File
	state *term.State

	mu   sync.Mutex
	cond *sync.Cond
	buf  []byte
	err  error
}

func newTTYInput(f *os.File) (*ttyInput, error) {
	state, err := term.MakeRaw(int(f.Fd()))
	if err != nil {
		return nil, err
	}
	t := &ttyInput{src: f, state: state}
	t.cond = sync.NewCond(&t.mu)
	go t.pump()
	return t, nil
}

func (t *ttyInput) pump() {
	b := make([]byte, 1024)
	for {
		n, err := t.src.Read(b)
		t.mu.Lock()
		t.buf = append(t.buf, b[:n]...)
		if err != nil {
			t.err = err
		}
		t.cond.Broadcast()
		t.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// reader returns a handle for one form.
func (t *ttyInput) reader() *formInput { return &formInput{t: t} }

// restore gives the terminal back its mode from before the wizard.
func (t *ttyInput) restore() error { return term.Restore(int(t.src.Fd()), t.state) }

type formInput struct {
	t      *ttyInput
	closed bool
}

func (r *formInput) Read(p []byte) (int, error) {
	t := r.t
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.buf) == 0 && t.err == nil && !r.closed {
		t.cond.Wait()
	}
	if r.closed {
		return 0, io.EOF
	}
	if len(t.buf) == 0 {
		return 0, t.err
	}
	n := copy(p, t.buf)
	t.buf = t.buf[n:]
	return n, nil
}

func (r *formInput) close() {
	r.t.mu.Lock()
	r.closed = true
	r.t.cond.Broadcast()
	r.t.mu.Unlock()
}
