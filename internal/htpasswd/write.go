package htpasswd

import (
	"fmt"

	"github.com/paxsetup/paxsetup/internal/fsutil"
)

// Write saves the file at path atomically with mode 0600: the hashes are
// secrets to an offline guesser, and the registry never sees a half-written
// file.
//
// A running registry (distribution 3.x) re-reads the file when its
// modification time differs from the one it last read (auth/htpasswd's
// Authorized), so the new file is given a time later than the old one's even
// when the clock, at the kernel's coarse granularity, has not moved. The old
// file's owner is kept, so a file handed to the registry's user stays
// readable by it.
func (f *File) Write(path string) error {
	st, err := f.Stage(path)
	if err != nil {
		return err
	}
	return st.Commit()
}

// Staged is the file written in full beside its target and not yet in
// place (see fsutil.Staged).
type Staged = fsutil.Staged

// Stage writes the file beside path, with its final mode, owner and
// modification time (see Write), without putting it in place.
func (f *File) Stage(path string) (*Staged, error) {
	st, err := fsutil.Stage(path, f.Bytes(), 0o600)
	if err != nil {
		return nil, fmt.Errorf("save htpasswd file: %w", err)
	}
	return st, nil
}
