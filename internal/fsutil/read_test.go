package fsutil

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadRegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	small := filepath.Join(dir, "small")
	if err := os.WriteFile(small, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, bytes.Repeat([]byte("x"), 1025), 0o600); err != nil {
		t.Fatal(err)
	}
	exact := filepath.Join(dir, "exact")
	if err := os.WriteFile(exact, bytes.Repeat([]byte("x"), 1024), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(small, link); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		path    string
		want    string
		wantErr error
		msg     string
	}{
		{name: "regular file", path: small, want: "secret\n"},
		{name: "symlink to a regular file", path: link, want: "secret\n"},
		{name: "at the limit", path: exact, want: strings.Repeat("x", 1024)},
		{name: "over the limit", path: big, wantErr: ErrTooLarge, msg: "1 KiB"},
		{name: "FIFO", path: fifo, wantErr: ErrNotRegular, msg: "a named pipe"},
		{name: "/dev/zero", path: "/dev/zero", wantErr: ErrNotRegular, msg: "a character device"},
		{name: "folder", path: dir, wantErr: ErrNotRegular, msg: "a folder"},
		{name: "missing", path: filepath.Join(dir, "none"), wantErr: os.ErrNotExist},
	} {
		t.Run(tt.name, func(t *testing.T) {
			type result struct {
				data []byte
				err  error
			}
			done := make(chan result, 1)
			go func() {
				data, err := ReadRegularFile(tt.path, 1024)
				done <- result{data, err}
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("ReadRegularFile blocked")
			}
			if tt.wantErr != nil {
				if !errors.Is(r.err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", r.err, tt.wantErr)
				}
				if !strings.Contains(r.err.Error(), tt.path) || !strings.Contains(r.err.Error(), tt.msg) {
					t.Errorf("err = %q, want the path and %q", r.err, tt.msg)
				}
				return
			}
			if r.err != nil || string(r.data) != tt.want {
				t.Errorf("got %q, %v; want %q", r.data, r.err, tt.want)
			}
		})
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{64 << 10: "64 KiB", 1 << 20: "1 MiB", 1000: "1000 bytes"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestWriteFilesAtomicAllOrNothing fails the second write of a set (its
// folder is missing, as a full disk would fail it): the first target keeps
// its old content, and no temporary file is left.
func TestWriteFilesAtomicAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	first := filepath.Join(dir, "tls.key")
	if err := os.WriteFile(first, []byte("old key"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := WriteFilesAtomic([]File{
		{Path: first, Data: []byte("new key"), Perm: 0o600},
		{Path: filepath.Join(dir, "missing", "tls.crt"), Data: []byte("new cert"), Perm: 0o644},
	})
	if err == nil {
		t.Fatal("the set was written although its second file could not be")
	}
	if got, _ := os.ReadFile(first); string(got) != "old key" {
		t.Errorf("the first file holds %q, want its old content", got)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "tls.key" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	if err := WriteFilesAtomic([]File{{Path: first, Data: []byte("new key"), Perm: 0o600}, {Path: filepath.Join(dir, "tls.crt"), Data: []byte("new cert"), Perm: 0o644}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(first); string(got) != "new key" {
		t.Errorf("the first file holds %q after a good write", got)
	}
}
