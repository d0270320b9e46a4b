package trust

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/paxsetup/paxsetup/internal/fsutil"
)

// Ledger is what trust installed, kept in a file between runs so that an
// uninstall removes exactly that: the files whose content trust wrote (a
// file it replaced gets its old content back), and the folders it created,
// once they are empty. Without it an uninstall cannot tell a certs.d folder
// trust made from one that was there before, and the trust stores would not
// be left as they were.
type Ledger struct {
	path    string
	Entries []LedgerEntry `json:"entries"`
}

// LedgerEntry is one file trust wrote.
type LedgerEntry struct {
	// Path is the file's full path, root included.
	Path string `json:"path"`
	// SHA256 is the hash of what trust wrote: a file changed since is not
	// trust's to remove.
	SHA256 string `json:"sha256"`
	// Replaced says a file was there before; Previous and Mode are its
	// content and mode, put back on uninstall. CA certificates are public,
	// so keeping them here discloses nothing.
	Replaced bool        `json:"replaced,omitempty"`
	Previous []byte      `json:"previous,omitempty"`
	Mode     fs.FileMode `json:"mode,omitempty"`
	// Dirs are the folders trust created for the file, deepest first.
	Dirs []string `json:"dirs,omitempty"`
	// Untouched says the file held exactly this content before trust ran:
	// an uninstall leaves it.
	Untouched bool `json:"untouched,omitempty"`
}

// LoadLedger reads the ledger at path; a missing file is an empty ledger.
func LoadLedger(path string) (*Ledger, error) {
	l := &Ledger{path: path}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, l); err != nil {
		return nil, fmt.Errorf("read %s: %w (remove it to forget what trust installed)", path, err)
	}
	return l, nil
}

// save writes the ledger, or removes its file when it holds nothing.
func (l *Ledger) save() error {
	if len(l.Entries) == 0 {
		if err := os.Remove(l.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(l.path, append(data, '\n'), 0o644)
}

func (l *Ledger) find(path string) int {
	return slices.IndexFunc(l.Entries, func(e LedgerEntry) bool { return e.Path == path })
}

// handOver gives folders trust created, deepest first, to an entry whose
// file lies under the first of them, so that they are removed with that
// entry's file once empty. With no such entry the folders hold only what
// trust did not write, and stay.
func (l *Ledger) handOver(dirs []string) {
	for i := range l.Entries {
		if strings.HasPrefix(l.Entries[i].Path, dirs[0]+string(filepath.Separator)) {
			for _, d := range dirs {
				if !slices.Contains(l.Entries[i].Dirs, d) {
					l.Entries[i].Dirs = append(l.Entries[i].Dirs, d)
				}
			}
			// Deepest first.
			slices.SortStableFunc(l.Entries[i].Dirs, func(a, b string) int {
				return strings.Count(b, string(filepath.Separator)) - strings.Count(a, string(filepath.Separator))
			})
			return
		}
	}
}

func hashOf(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// write installs s.Data and records what it takes to undo it. A file that
// already holds exactly s.Data, and that no earlier run wrote, is recorded
// as untouched, so an uninstall leaves it.
func (l *Ledger) write(s Step) error {
	prev, err := os.ReadFile(s.Path)
	switch {
	case err == nil && bytes.Equal(prev, s.Data):
		if l.find(s.Path) < 0 {
			l.Entries = append(l.Entries, LedgerEntry{Path: s.Path, SHA256: hashOf(s.Data), Untouched: true})
			return withRootHint(l.save())
		}
		return nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return withRootHint(err)
	}
	e := LedgerEntry{Path: s.Path, SHA256: hashOf(s.Data)}
	if err == nil {
		fi, statErr := os.Stat(s.Path)
		if statErr != nil {
			return withRootHint(statErr)
		}
		e.Replaced, e.Previous, e.Mode = true, prev, fi.Mode().Perm()
	}
	for d := filepath.Dir(s.Path); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return withRootHint(err)
		}
		e.Dirs = append(e.Dirs, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := writeFile(s); err != nil {
		return err
	}
	if i := l.find(s.Path); i >= 0 {
		// Installed again over trust's own earlier file (a new CA): what
		// was there before trust, and the folders trust made, stay those
		// of the first install.
		e.Replaced, e.Previous, e.Mode, e.Dirs = l.Entries[i].Replaced, l.Entries[i].Previous, l.Entries[i].Mode, l.Entries[i].Dirs
		l.Entries[i] = e
	} else {
		l.Entries = append(l.Entries, e)
	}
	return withRootHint(l.save())
}

// remove undoes a recorded write. It reports handled=false when the ledger
// has no entry for the file, and the step's Outcome: "kept" when the file
// changed since trust wrote it (it is then left alone), "preexisting" when
// it was there before trust, "restored" when it got back the content trust
// had replaced.
func (l *Ledger) remove(s Step) (handled bool, outcome string, err error) {
	i := l.find(s.Path)
	if i < 0 {
		return false, "", nil
	}
	kept := false
	e := l.Entries[i]
	cur, err := os.ReadFile(s.Path)
	switch {
	case e.Untouched:
		outcome, kept, err = "preexisting", true, nil
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return true, "", withRootHint(err)
	case hashOf(cur) != e.SHA256:
		kept = true
	case e.Replaced:
		err = fsutil.WriteFileAtomic(s.Path, e.Previous, e.Mode)
		outcome = "restored"
	default:
		err = os.Remove(s.Path)
	}
	if kept && outcome == "" {
		outcome = "kept"
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return true, outcome, withRootHint(err)
	}
	l.Entries = slices.Delete(l.Entries, i, i+1)
	if !kept {
		for j, d := range e.Dirs {
			if entries, err := os.ReadDir(d); err != nil || len(entries) > 0 {
				// Still holds other files: a folder trust created for
				// several of them (certs.d itself) goes with the last
				// one, so hand the rest to another entry under it.
				l.handOver(e.Dirs[j:])
				break
			}
			if err := os.Remove(d); err != nil {
				return true, outcome, withRootHint(err)
			}
		}
	}
	return true, outcome, withRootHint(l.save())
}
