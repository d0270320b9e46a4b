// Package fsutil writes files so that a reader sees either the old content or
// the new, never a torn or half-permissioned file.
package fsutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"time"
)

// ErrExists is returned by WriteFileExclusive when the target already exists.
var ErrExists = fs.ErrExist

// WriteFileAtomic writes data to path through a temporary file in the same
// folder: the content is synced and the final mode set before the rename, so a
// key file is never visible, even briefly, with a wider mode than perm.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) error {
	return WriteFilesAtomic([]File{{Path: path, Data: data, Perm: perm}})
}

// File is one file of a set written together.
type File struct {
	Path string
	Data []byte
	Perm fs.FileMode
}

// WriteFilesAtomic writes a set of files that belong together (a key and its
// certificate): every file is written in full to a temporary file first,
// and only then are they renamed into place, one after the other. A write
// that fails, on a full disk say, leaves every target as it was; renames
// need no space.
func WriteFilesAtomic(files []File) error {
	var temps []string
	done := false
	defer func() {
		if !done {
			for _, t := range temps {
				os.Remove(t)
			}
		}
	}()
	for _, f := range files {
		tmp, err := writeTemp(f.Path, f.Data, f.Perm)
		if err != nil {
			return err
		}
		temps = append(temps, tmp)
	}
	dirs := map[string]bool{}
	for i, f := range files {
		if err := os.Rename(temps[i], f.Path); err != nil {
			return fmt.Errorf("write %s: %w", f.Path, err)
		}
		dirs[filepath.Dir(f.Path)] = true
	}
	done = true
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// writeTemp writes data, synced and with its final mode, to a temporary
// file beside path, and returns its name. When path exists, the temporary
// file takes its owner (a file handed to the registry's user stays readable
// by it) and a modification time later than its own: the registry re-reads
// a file whose time changed, and at the kernel's coarse clock granularity a
// quick rewrite could otherwise keep the same time.
func writeTemp(path string, data []byte, perm fs.FileMode) (string, error) {
	old, statErr := os.Stat(path)
	if statErr != nil && !errors.Is(statErr, fs.ErrNotExist) {
		return "", fmt.Errorf("write %s: %w", path, statErr)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	fail := func(err error) (string, error) {
		tmp.Close()
		os.Remove(name)
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fail(err)
	}
	if statErr == nil {
		if uid, gid, ok := Owner(old); ok && (uid != os.Geteuid() || gid != os.Getegid()) {
			if err := tmp.Chown(uid, gid); err != nil && !errors.Is(err, fs.ErrPermission) {
				return fail(err)
			}
		}
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(name)
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if statErr == nil {
		now := time.Now()
		if !now.After(old.ModTime()) {
			now = old.ModTime().Add(time.Millisecond)
		}
		if err := os.Chtimes(name, now, now); err != nil {
			os.Remove(name)
			return "", fmt.Errorf("write %s: %w", path, err)
		}
	}
	return name, nil
}

// Owner returns the user and group owning the file fi describes, where the
// system has owners (ok is false elsewhere). It reads them through
// reflection because the fields live in a per-platform syscall.Stat_t, and
// paxsetup's packages still compile for platforms it does not run on.
func Owner(fi fs.FileInfo) (uid, gid int, ok bool) {
	v := reflect.ValueOf(fi.Sys())
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return 0, 0, false
	}
	u, g := v.Elem().FieldByName("Uid"), v.Elem().FieldByName("Gid")
	if !u.IsValid() || !g.IsValid() || !u.CanUint() || !g.CanUint() {
		return 0, 0, false
	}
	return int(u.Uint()), int(g.Uint()), true
}

// Staged is a file written in full beside its target and not yet in place:
// a caller that must change another file with it writes that one between
// Stage and Commit, so that a full disk fails before either is changed.
// Commit only renames.
type Staged struct {
	tmp, path string
}

// Stage writes data beside path as WriteFileAtomic does, without putting it
// in place.
func Stage(path string, data []byte, perm fs.FileMode) (*Staged, error) {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return nil, err
	}
	return &Staged{tmp: tmp, path: path}, nil
}

// Commit puts the staged file in place.
func (s *Staged) Commit() error {
	if err := os.Rename(s.tmp, s.path); err != nil {
		os.Remove(s.tmp)
		return fmt.Errorf("write %s: %w", s.path, err)
	}
	return syncDir(filepath.Dir(s.path))
}

// Abort removes the staged file; the target stays as it was.
func (s *Staged) Abort() { os.Remove(s.tmp) }

// WriteFileExclusive is WriteFileAtomic that refuses to replace an existing
// file: it returns an error wrapping ErrExists instead.
func WriteFileExclusive(path string, data []byte, perm fs.FileMode) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("write %s: %w", path, ErrExists)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return WriteFileAtomic(path, data, perm)
}

// Exists reports whether path names an existing file or folder.
func Exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// syncDir makes the rename durable: without it a crash can lose the new
// directory entry even though the file's data was synced.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
