// Package fsutil writes files so that a reader sees either the old content or
// the new, never a torn or half-permissioned file.
package fsutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
// file beside path, and returns its name.
func writeTemp(path string, data []byte, perm fs.FileMode) (string, error) {
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
	return name, nil
}

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
