package fsutil

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWriteFileAtomic(t *testing.T) {
	tests := []struct {
		name string
		perm os.FileMode
	}{
		{"key file", 0o600},
		{"certificate", 0o644},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			if err := os.WriteFile(path, []byte("old"), 0o666); err != nil {
				t.Fatal(err)
			}
			if err := WriteFileAtomic(path, []byte("new"), tt.perm); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "new" {
				t.Errorf("content = %q, want %q", got, "new")
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tt.perm {
				t.Errorf("mode = %v, want %v", fi.Mode().Perm(), tt.perm)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("folder holds %d entries, want only the file (no temp files left)", len(entries))
			}
		})
	}
}

func TestWriteFileAtomicMissingFolder(t *testing.T) {
	err := WriteFileAtomic(filepath.Join(t.TempDir(), "nope", "f"), []byte("x"), 0o600)
	if err == nil {
		t.Fatal("want an error for a missing folder")
	}
}

func TestWriteFileExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := WriteFileExclusive(path, []byte("first"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := WriteFileExclusive(path, []byte("second"), 0o600)
	if !errors.Is(err, ErrExists) {
		t.Fatalf("err = %v, want ErrExists", err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "first" {
		t.Errorf("content = %q, the first write must survive", got)
	}
}

// TestRewriteKeepsOwnerAndMovesTime: a file handed to another user (the
// registry's) keeps that owner when rewritten, and gets a modification time
// after the old one even when the old one lies in the future, so a reader
// that watches the time sees the change.
func TestRewriteKeepsOwnerAndMovesTime(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test gives a file to another user: run the suite as root (scripts/test does)")
	}
	path := filepath.Join(t.TempDir(), "htpasswd")
	if err := WriteFileAtomic(path, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour)
	if err := os.Chown(path, 1000, 1001); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, future, future); err != nil {
		t.Fatal(err)
	}
	st, err := Stage(path, []byte("new\n"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != "old\n" {
		t.Fatalf("Stage changed the target before Commit: %q", data)
	}
	if err := st.Commit(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if uid, gid, ok := Owner(fi); !ok || uid != 1000 || gid != 1001 {
		t.Errorf("owner = %d:%d (%v), want 1000:1001 kept", uid, gid, ok)
	}
	if !fi.ModTime().After(future) || fi.Mode().Perm() != 0o600 {
		t.Errorf("mtime %v, mode %v; want after %v, 0600", fi.ModTime(), fi.Mode().Perm(), future)
	}
}
