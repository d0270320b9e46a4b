package setup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/fsutil"
)

// liveNames are the files and folders of a setup that a run rewrites and the
// registry reads (data/ is the registry's, and never touched).
var liveNames = []string{"auth", "certs", "config", CredentialsFile, config.FileName, "PALETTE.txt"}

// previous is the copy of a setup's live files.
type previous struct {
	dir, root string
	files     map[string]bool // paths relative to dir
	done      bool            // restored or discarded
}

// keepPrevious copies the live files of dir into DIR/.previous, with their
// modes and owners. It returns nil when there is nothing live to keep (a
// first run).
func keepPrevious(dir string) (*previous, error) {
	p := &previous{dir: dir, root: Layout{Dir: dir}.Previous(), files: map[string]bool{}}
	if err := os.RemoveAll(p.root); err != nil {
		return nil, fmt.Errorf("clear %s: %w", p.root, err)
	}
	err := walkLive(dir, func(rel string, fi fs.FileInfo) error {
		p.files[rel] = true
		return copyFile(filepath.Join(dir, rel), filepath.Join(p.root, rel), fi)
	})
	if err != nil {
		os.RemoveAll(p.root)
		return nil, fmt.Errorf("keep a copy of the live files: %w", err)
	}
	if len(p.files) == 0 {
		os.RemoveAll(p.root)
		return nil, nil
	}
	return p, nil
}

// loadPrevious finds the copy an interrupted run left, or nil.
func loadPrevious(dir string) (*previous, error) {
	p := &previous{dir: dir, root: Layout{Dir: dir}.Previous(), files: map[string]bool{}}
	err := filepath.WalkDir(p.root, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == p.root {
			return fs.SkipAll
		}
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(p.root, path)
		if err == nil {
			p.files[rel] = true
		}
		return err
	})
	if err != nil || len(p.files) == 0 {
		return nil, err
	}
	return p, nil
}

// restore puts the kept files back in place, each by one rename from the
// copy (the folders stay: a running registry's mounts hold them; and a
// rename needs no free space, so this works on the disk that just filled),
// removes the files the run added, and forgets the copy.
func (p *previous) restore() error {
	if p == nil || p.done {
		return nil
	}
	var added []string
	if err := walkLive(p.dir, func(rel string, _ fs.FileInfo) error {
		if !p.files[rel] {
			added = append(added, rel)
		}
		return nil
	}); err != nil {
		return err
	}
	for rel := range p.files {
		dst := filepath.Join(p.dir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(p.root, rel), dst); err != nil {
			return fmt.Errorf("put back %s: %w", rel, err)
		}
	}
	for _, rel := range added {
		if err := os.Remove(filepath.Join(p.dir, rel)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return p.discard()
}

// restoredElsewhere records that the swap journal's rollback, which reads
// the copy from disk, has put the files back: restoring them again from
// this record would find the copy gone.
func (p *previous) restoredElsewhere() {
	if p != nil {
		p.done = true
	}
}

// discard forgets the copy: the new files are the setup now.
func (p *previous) discard() error {
	if p == nil || p.done {
		return nil
	}
	p.done = true
	return os.RemoveAll(p.root)
}

// walkLive calls fn for every regular file of the setup's live names.
func walkLive(dir string, fn func(rel string, fi fs.FileInfo) error) error {
	for _, name := range liveNames {
		root := filepath.Join(dir, name)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && path == root {
				return nil
			}
			if err != nil || d.IsDir() {
				return err
			}
			fi, err := d.Info()
			if err != nil || !fi.Mode().IsRegular() {
				return err
			}
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return err
			}
			return fn(rel, fi)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies src to dst atomically with src's mode and, when this
// process may, its owner: a file handed to the image's user stays theirs.
func copyFile(src, dst string, fi fs.FileInfo) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(dst, data, fi.Mode().Perm()); err != nil {
		return err
	}
	if uid, gid, ok := fsutil.Owner(fi); ok && os.Geteuid() == 0 {
		return os.Lchown(dst, uid, gid)
	}
	return nil
}
