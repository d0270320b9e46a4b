package htpasswd_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/paxsetup/paxsetup/internal/htpasswd"
)

// apacheHtpasswd returns the path of Apache's htpasswd. CI installs it, so a
// missing tool fails the test rather than skipping the compatibility proof.
func apacheHtpasswd(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("htpasswd")
	if err != nil {
		t.Fatalf("Apache's htpasswd is not on PATH (%v): install it with \"apt-get install -y apache2-utils\" and run the tests again", err)
	}
	return p
}

// runApache runs Apache's htpasswd and returns its exit code and output.
// Passwords go through argv here only because this is a test.
func runApache(t *testing.T, args ...string) (int, string) {
	t.Helper()
	out, err := exec.Command(apacheHtpasswd(t), args...).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	default:
		t.Fatalf("run htpasswd %s: %v", strings.Join(args, " "), err)
		return -1, ""
	}
}

func TestApacheVerifiesWrittenFile(t *testing.T) {
	apacheHtpasswd(t)
	path := filepath.Join(t.TempDir(), "htpasswd-basic")
	f := &htpasswd.File{}
	users := map[string]string{"admin": "admin password 1", "spectro": "spectro pässwörd 🔑"}
	for _, u := range []string{"admin", "spectro"} {
		if err := f.Set(u, users[u], htpasswd.MinCost); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Write(path); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		user     string
		password string
		wantOK   bool
	}{
		{name: "admin", user: "admin", password: users["admin"], wantOK: true},
		{name: "multibyte password", user: "spectro", password: users["spectro"], wantOK: true},
		{name: "wrong password", user: "admin", password: "admin password 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := runApache(t, "-vb", path, tt.user, tt.password)
			if tt.wantOK && code != 0 {
				t.Fatalf("htpasswd -vb rejected %q (exit %d): %s", tt.user, code, out)
			}
			if !tt.wantOK && code == 0 {
				t.Fatalf("htpasswd -vb accepted %q with a wrong password: %s", tt.user, out)
			}
		})
	}
}

func TestEditApacheFile(t *testing.T) {
	apacheHtpasswd(t)
	path := filepath.Join(t.TempDir(), "htpasswd-basic")
	if code, out := runApache(t, "-B", "-C", "4", "-c", "-b", path, "admin", "apache admin pw"); code != 0 {
		t.Fatalf("htpasswd -B -c -b (exit %d): %s", code, out)
	}
	if code, out := runApache(t, "-B", "-C", "4", "-b", path, "ci", "apache ci pw"); code != 0 {
		t.Fatalf("htpasswd -B -b (exit %d): %s", code, out)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	f, err := htpasswd.Load(path)
	if err != nil {
		t.Fatalf("load a file made by Apache's htpasswd: %v", err)
	}
	if err := f.Verify("admin", "apache admin pw"); err != nil {
		t.Errorf("Apache's hash does not verify here: %v", err)
	}
	if err := f.Set("spectro", "spectro password 1", htpasswd.MinCost); err != nil {
		t.Fatal(err)
	}
	if err := f.Write(path); err != nil {
		t.Fatal(err)
	}

	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(after), string(before)) {
		t.Errorf("Apache's lines changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	g, err := htpasswd.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := g.Users(), []string{"admin", "ci", "spectro"}; !slices.Equal(got, want) {
		t.Errorf("Users() = %q, want %q", got, want)
	}
	for _, c := range []struct{ user, password string }{
		{"admin", "apache admin pw"},
		{"ci", "apache ci pw"},
		{"spectro", "spectro password 1"},
	} {
		if code, out := runApache(t, "-vb", path, c.user, c.password); code != 0 {
			t.Errorf("htpasswd -vb %s after the edit (exit %d): %s", c.user, code, out)
		}
	}
}

func TestApacheMD5FileIsRefused(t *testing.T) {
	apacheHtpasswd(t)
	path := filepath.Join(t.TempDir(), "htpasswd-basic")
	// -m is Apache's MD5 ($apr1$), what `htpasswd -c -b` made before bcrypt was
	// the default; the registry ignores such lines.
	if code, out := runApache(t, "-m", "-c", "-b", path, "bob", "bob password"); code != 0 {
		t.Fatalf("htpasswd -m -c -b (exit %d): %s", code, out)
	}
	_, err := htpasswd.Load(path)
	checkErr(t, err, `line 1: user "bob": not a bcrypt hash (MD5 $apr1$)`)
	if !errors.Is(err, htpasswd.ErrNotBcrypt) {
		t.Errorf("error %v does not wrap ErrNotBcrypt", err)
	}
}
