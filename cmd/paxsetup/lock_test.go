package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/paxsetup/paxsetup/internal/setuplock"
)

// TestLockWritersWaitReadersDoNot holds a setup folder's lock and runs every
// command against it: each writer gives up (PAXSETUP_LOCK_WAIT=0) naming
// the holder and changing no file; each reader runs as if no lock existed.
func TestLockWritersWaitReadersDoNot(t *testing.T) {
	img := standInImage(t)
	work := t.TempDir()
	dir := filepath.Join(work, "setup")
	pw := writeSecret(t, work, "new.pw", "new-password-0123")
	base := []string{"--dir", dir, "--no-color"}
	f, _, errb := newTestFactory(nil)
	if code := Main(append([]string{"init", "--yes", "--dry-run", "--host", e2eHost, "--port", strconv.Itoa(freePort(t)),
		"--image", img, "--pull", "never", "--name", uniqueName(t)}, base...), f); code != 0 {
		t.Fatalf("init --dry-run exited %d:\n%s", code, errb)
	}

	held, err := setuplock.Acquire(t.Context(), dir, setuplock.Options{Command: "paxsetup test"})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	before := snapshot(t, dir)
	root := t.TempDir()

	for _, tt := range []struct {
		name   string
		args   []string
		writes bool
	}{
		{"init", []string{"init", "--yes"}, true},
		{"init dry run", []string{"init", "--yes", "--dry-run"}, true},
		{"upgrade", []string{"upgrade", "--pull", "never"}, true},
		{"down", []string{"down", "--yes"}, true},
		{"users add", []string{"users", "add", "ci", "--password-file", pw}, true},
		{"users passwd", []string{"users", "passwd", "admin", "--password-file", pw}, true},
		{"users remove", []string{"users", "remove", "spectro"}, true},
		{"trust", []string{"trust", "--root", root, "--target", "docker"}, true},
		{"certs gen into the setup", []string{"certs", "gen", "--force"}, true},
		{"users list", []string{"users", "list"}, false},
		{"trust dry run", []string{"trust", "--root", root, "--target", "docker", "--dry-run"}, false},
		{"certs gen elsewhere", []string{"certs", "gen", "--out", filepath.Join(work, "other")}, false},
		{"certs inspect", []string{"certs", "inspect", filepath.Join(dir, "certs", "tls.crt")}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, out, errb := newTestFactory(map[string]string{EnvLockWait: "0"})
			code := Main(append(tt.args, base...), f)
			holder := fmt.Sprintf("paxsetup test (pid %d)", os.Getpid())
			if !tt.writes {
				if code != 0 || strings.Contains(errb.String(), holder) {
					t.Errorf("a reader was held up by the lock: exit %d\n%s%s", code, out, errb)
				}
				return
			}
			if code != exitError || !strings.Contains(errb.String(), holder) {
				t.Errorf("exit %d, want %d naming the holder:\n%s%s", code, exitError, out, errb)
			}
			after := snapshot(t, dir)
			for p, sum := range before {
				if after[p] != sum {
					t.Errorf("%s changed while another run held the lock", p)
				}
			}
			if len(after) != len(before) {
				t.Errorf("files appeared while another run held the lock: %d, were %d", len(after), len(before))
			}
		})
	}

	t.Run("bad wait", func(t *testing.T) {
		f, _, errb := newTestFactory(map[string]string{EnvLockWait: "soon"})
		if code := Main(append([]string{"users", "remove", "spectro"}, base...), f); code != exitUsage || !strings.Contains(errb.String(), EnvLockWait) {
			t.Errorf("exit %d, want %d naming %s:\n%s", code, exitUsage, EnvLockWait, errb)
		}
	})
}
