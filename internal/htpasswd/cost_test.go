package htpasswd_test

import (
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/registry/auth"

	"github.com/paxsetup/paxsetup/internal/htpasswd"
)

func TestCost(t *testing.T) {
	f := &htpasswd.File{}
	for user, cost := range map[string]int{"low": htpasswd.MinCost, "default": htpasswd.DefaultCost} {
		if err := f.Set(user, "a password of 12+", cost); err != nil {
			t.Fatal(err)
		}
	}
	for user, want := range map[string]int{"low": htpasswd.MinCost, "default": htpasswd.DefaultCost} {
		got, err := f.Cost(user)
		if err != nil || got != want {
			t.Errorf("Cost(%q) = %d, %v; want %d", user, got, err, want)
		}
	}
	if _, err := f.Cost("nobody"); err == nil || !strings.Contains(err.Error(), "nobody") {
		t.Errorf("Cost of a missing user: err = %v", err)
	}
}

// TestRegistrySeesEveryWrite edits the file under a live registry access
// controller, twice within the clock's granularity, and checks the registry
// notices each edit: it re-reads the file only when its modification time
// changes.
func TestRegistrySeesEveryWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "htpasswd-basic")
	f := &htpasswd.File{}
	if err := f.Set("admin", "admin password 1", htpasswd.MinCost); err != nil {
		t.Fatal(err)
	}
	if err := f.Write(path); err != nil {
		t.Fatal(err)
	}
	ac, err := auth.GetAccessController("htpasswd", map[string]any{"realm": "r", "path": path})
	if err != nil {
		t.Fatal(err)
	}
	login := func(user, pw string) bool {
		req := httptest.NewRequest("GET", "https://registry.test/v2/", nil)
		req.SetBasicAuth(user, pw)
		_, err := ac.Authorized(req)
		return err == nil
	}
	if !login("admin", "admin password 1") {
		t.Fatal("the registry refused the first file")
	}
	before, _ := os.Stat(path)
	for i := 2; i <= 4; i++ {
		pw := fmt.Sprintf("admin password %d", i)
		if err := f.Set("admin", pw, htpasswd.MinCost); err != nil {
			t.Fatal(err)
		}
		if err := f.Write(path); err != nil {
			t.Fatal(err)
		}
		if !login("admin", pw) {
			t.Fatalf("write %d: the registry still uses an older file", i)
		}
		if login("admin", fmt.Sprintf("admin password %d", i-1)) {
			t.Fatalf("write %d: the old password still works", i)
		}
	}
	after, _ := os.Stat(path)
	if !after.ModTime().After(before.ModTime()) {
		t.Errorf("modification time went from %v to %v", before.ModTime(), after.ModTime())
	}
}

func TestWriteKeepsModeAndGivesLaterTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "htpasswd-basic")
	if err := os.WriteFile(path, []byte("# old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, future, future); err != nil {
		t.Fatal(err)
	}
	f := &htpasswd.File{}
	if err := f.Set("admin", "admin password 1", htpasswd.MinCost); err != nil {
		t.Fatal(err)
	}
	if err := f.Write(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	if !fi.ModTime().After(future) {
		t.Errorf("mtime %v is not after the old file's %v: a registry would keep the old users", fi.ModTime(), future)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

// BenchmarkRegistryLoginCost is what one request with basic auth costs the
// registry at each --bcrypt-cost: it runs bcrypt on every request (it keeps
// no session), through its own htpasswd access controller.
func BenchmarkRegistryLoginCost(b *testing.B) {
	for cost := htpasswd.MinCost; cost <= htpasswd.MaxCost; cost++ {
		b.Run(fmt.Sprintf("cost=%d", cost), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "htpasswd-basic")
			f := &htpasswd.File{}
			if err := f.Set("admin", "admin password 1", cost); err != nil {
				b.Fatal(err)
			}
			if err := f.Write(path); err != nil {
				b.Fatal(err)
			}
			ac, err := auth.GetAccessController("htpasswd", map[string]any{"realm": "r", "path": path})
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest("GET", "https://registry.test/v2/", nil)
			req.SetBasicAuth("admin", "admin password 1")
			for b.Loop() {
				if _, err := ac.Authorized(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkApacheTwoUsers is the manual procedure's way to the same file:
// `htpasswd -Bbn` once per user, at the default cost, to compare with
// BenchmarkTwoUserFile. (The passwords are on argv only because this is a
// benchmark of the procedure paxsetup replaces.)
func BenchmarkApacheTwoUsers(b *testing.B) {
	tool, err := exec.LookPath("htpasswd")
	if err != nil {
		b.Fatalf("Apache's htpasswd is not on PATH: install apache2-utils")
	}
	cost := fmt.Sprint(htpasswd.DefaultCost)
	for b.Loop() {
		var file []byte
		for _, u := range [][2]string{{"admin", "admin password 1"}, {"spectro", "spectro password 1"}} {
			out, err := exec.Command(tool, "-Bbn", "-C", cost, u[0], u[1]).Output()
			if err != nil {
				b.Fatal(err)
			}
			file = append(file, out...)
		}
		if len(file) == 0 {
			b.Fatal("empty file")
		}
	}
}
