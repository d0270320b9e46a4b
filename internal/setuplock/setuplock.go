// Package setuplock keeps two paxsetup runs from writing one setup folder at
// the same time: every writer holds an exclusive lock on <dir>/.lock, and a
// second writer learns from that file who holds it.
//
// The lock is flock(2), not a PID file: the kernel drops it when its holder
// exits, however it exits (kill -9, a crash, a lost SSH session), so there is
// never a stale lock to detect, guess about or break by hand.
package setuplock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// FileName is the lock file in the setup folder. It holds the current
// holder, and nothing once the lock is released.
const FileName = ".lock"

// dirMode is the mode init gives the setup folder, so a folder the lock
// creates first is the folder init would have made.
const dirMode = 0o755

// ErrHeld is what a HeldError matches with errors.Is.
var ErrHeld = errors.New("setup folder locked by another run")

// Holder is the run that holds a setup folder's lock. It names the command
// only (e.g. "paxsetup init"), never its arguments: the file is readable by
// whoever can read the folder.
type Holder struct {
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	Host    string    `json:"host"`
	Since   time.Time `json:"since"`
}

// Known reports whether the holder could be read from the lock file: a
// holder writes it just after taking the lock, so for a moment it is empty.
func (h Holder) Known() bool { return h.PID != 0 }

// String names the holder for an operator, e.g.
// "paxsetup init (pid 4242) since 14:03:07".
func (h Holder) String() string {
	if !h.Known() {
		return "another paxsetup run"
	}
	s := fmt.Sprintf("%s (pid %d", h.Command, h.PID)
	// A PID means nothing on another machine (a folder on shared storage).
	if me, err := os.Hostname(); err == nil && h.Host != "" && h.Host != me {
		s += " on " + h.Host
	}
	s += ")"
	if !h.Since.IsZero() {
		since := h.Since.Local()
		layout := "15:04:05"
		if time.Since(since) > 20*time.Hour {
			layout = "2006-01-02 15:04:05"
		}
		s += " since " + since.Format(layout)
	}
	return s
}

// HeldError is returned when another run holds the lock and did not release
// it within the wait.
type HeldError struct {
	Dir    string
	Holder Holder
	Waited time.Duration
}

func (e *HeldError) Error() string {
	if e.Waited > 0 {
		return fmt.Sprintf("%s is in use by %s; gave up after waiting %s", e.Dir, e.Holder, e.Waited)
	}
	return fmt.Sprintf("%s is in use by %s", e.Dir, e.Holder)
}

// Is makes errors.Is(err, ErrHeld) true.
func (e *HeldError) Is(target error) bool { return target == ErrHeld }

// Options say who takes the lock and how long it waits for it.
type Options struct {
	// Command names the holder in the lock file, e.g. "paxsetup init".
	Command string
	// Wait bounds the wait for another holder; zero or less gives up at
	// once.
	Wait time.Duration
	// Waiting, if set, is called once when the lock is found held and
	// Acquire starts to wait, so that the operator knows why nothing
	// happens.
	Waiting func(Holder)
	// Now stamps the holder's start; nil means time.Now.
	Now func() time.Time
	// Poll is how often a waiter tries again; zero means 100 ms. flock
	// cannot block with a deadline, hence the polling.
	Poll time.Duration
}

// Lock is a held setup folder lock.
type Lock struct {
	f    *os.File
	path string
	dir  string
	// created are the folders this run made to hold the lock file, from
	// the outermost in; they go again if the run leaves nothing in them.
	created []string
}

// Acquire takes the lock of the setup folder dir, creating the folder (mode
// 0755, as init does) and the lock file (0600) when missing. While another
// run holds it, Acquire waits up to opts.Wait, then returns a *HeldError
// naming the holder; a cancelled ctx ends the wait with ctx's error.
func Acquire(ctx context.Context, dir string, opts Options) (*Lock, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Poll <= 0 {
		opts.Poll = 100 * time.Millisecond
	}
	var created []string
	var holder Holder
	var deadline <-chan time.Time
	announced := false
	for tries := 1; ; tries++ {
		made, err := makeDirs(dir)
		if err != nil {
			return nil, err
		}
		created = append(created, made...)
		l, h, err := try(dir, opts)
		if err != nil {
			return nil, err
		}
		if l != nil {
			l.created = created
			return l, nil
		}
		if h.Known() {
			holder = h
		}
		if opts.Wait <= 0 {
			return nil, &HeldError{Dir: dir, Holder: holder}
		}
		if deadline == nil {
			t := time.NewTimer(opts.Wait)
			defer t.Stop()
			deadline = t.C
		}
		// The holder's name appears a moment after its lock; a few tries
		// give it the time to, before the operator is told "someone".
		if !announced && (holder.Known() || tries >= 5) {
			announced = true
			if opts.Waiting != nil {
				opts.Waiting(holder)
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for %s, in use by %s: %w", dir, holder, ctx.Err())
		case <-deadline:
			return nil, &HeldError{Dir: dir, Holder: holder, Waited: opts.Wait}
		case <-time.After(opts.Poll):
		}
	}
}

// try makes one attempt: the lock, or the holder as the file names it.
func try(dir string, opts Options) (*Lock, Holder, error) {
	path := filepath.Join(dir, FileName)
	for {
		f, err := openLockFile(path)
		if err != nil {
			return nil, Holder{}, fmt.Errorf("open the lock %s: %w", path, err)
		}
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, Holder{}, fmt.Errorf("lock %s: %w", path, err)
		}
		if !ok {
			h := readHolder(f)
			f.Close()
			return nil, h, nil
		}
		// A holder that leaves nothing behind removes the lock file before
		// it unlocks (Release), so a lock won on a file that is no longer
		// at path guards nothing: open the file that is there now.
		if !stillAt(f, path) {
			f.Close()
			if _, err := makeDirs(dir); err != nil {
				return nil, Holder{}, err
			}
			continue
		}
		host, _ := os.Hostname()
		h := Holder{PID: os.Getpid(), Command: opts.Command, Host: host, Since: opts.Now()}
		if err := writeHolder(f, h); err != nil {
			f.Close()
			return nil, Holder{}, fmt.Errorf("write the lock %s: %w", path, err)
		}
		return &Lock{f: f, path: path, dir: dir}, h, nil
	}
}

// Release removes the lock file and unlocks, so that a run leaves no trace
// of its lock: a refused run leaves the setup folder as it found it. When
// this run created the setup folder and left it empty, the folder goes too.
// Closing the file is what unlocks; a process that exits without Release
// unlocks all the same (and leaves the file, which the next run reuses).
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	defer f.Close()
	// Removed while still locked: a waiter that then wins the lock on the
	// removed file sees it is gone (stillAt) and starts again.
	if err := os.Remove(l.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the lock %s: %w", l.path, err)
	}
	for i := len(l.created) - 1; i >= 0; i-- {
		// Only an empty folder can be removed: one the run wrote in stays.
		if os.Remove(l.created[i]) != nil {
			break
		}
	}
	return nil
}

// makeDirs creates dir and its missing parents and returns the folders it
// created, the outermost first.
func makeDirs(dir string) ([]string, error) {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	var created []string
	for i := len(missing) - 1; i >= 0; i-- {
		err := os.Mkdir(missing[i], dirMode)
		if errors.Is(err, fs.ErrExist) {
			// Another run made it first: then it is not ours to remove.
			continue
		}
		if err != nil {
			return created, fmt.Errorf("create %s: %w", dir, err)
		}
		created = append(created, missing[i])
	}
	return created, nil
}

func stillAt(f *os.File, path string) bool {
	held, err := f.Stat()
	if err != nil {
		return false
	}
	now, err := os.Lstat(path)
	return err == nil && os.SameFile(held, now)
}

// writeHolder rewrites the file in place: replacing it by a rename would
// move the path to a new file that nobody has locked.
func writeHolder(f *os.File, h Holder) error {
	data, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err = f.WriteAt(append(data, '\n'), 0)
	return err
}

// readHolder reads who holds the lock; a zero Holder when the file is
// empty or torn (its holder is writing it).
func readHolder(f *os.File) Holder {
	buf := make([]byte, 4096)
	n, _ := f.ReadAt(buf, 0)
	var h Holder
	if json.Unmarshal(buf[:n], &h) != nil {
		return Holder{}
	}
	return h
}
