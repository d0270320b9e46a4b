package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/paxsetup/paxsetup/internal/setup"
	"github.com/paxsetup/paxsetup/internal/setuplock"
)

// EnvLockWait bounds how long a command waits for another run that holds
// the setup folder's lock (a Go duration; 0 gives up at once).
const EnvLockWait = "PAXSETUP_LOCK_WAIT"

// defaultLockWait outlasts a typical init or upgrade (an image pull and the
// registry's first answer), so that a second run started by accident or by
// a scheduler goes on after it; a longer one is reported, not waited out.
const defaultLockWait = 2 * time.Minute

// lockSetup takes the lock of the setup folder dir for the writing command
// command (e.g. "init", "users add"), saying on stderr when it has to wait
// and for whom.
func lockSetup(ctx context.Context, f *Factory, dir, command string) (*setuplock.Lock, error) {
	wait := defaultLockWait
	if f.Getenv != nil {
		if s := f.Getenv(EnvLockWait); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d < 0 {
				return nil, &usageError{err: fmt.Errorf("%s=%q: want a duration such as 30s or 10m, or 0 not to wait", EnvLockWait, s)}
			}
			wait = d
		}
	}
	lock, err := setuplock.Acquire(ctx, dir, setuplock.Options{
		Command: "paxsetup " + command,
		Wait:    wait,
		Waiting: func(h setuplock.Holder) {
			fmt.Fprintf(f.IO.ErrOut, "waiting for %s held by %s\n", dir, h)
		},
		Now: f.Now,
	})
	if err != nil {
		return nil, err
	}
	// Every writer goes through here: none may follow a link out of the
	// setup folder.
	if err := setup.CheckNoLinks(dir); err != nil {
		_ = lock.Release()
		return nil, err
	}
	return lock, nil
}

// inside reports whether path is dir or lies under it.
func inside(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
