package htpasswd_test

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/registry/auth"
	// Registers the "htpasswd" access controller: its file parser is
	// unexported, so the registry's own code is reached through the
	// controller that `REGISTRY_AUTH=htpasswd` selects.
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"

	"github.com/paxsetup/paxsetup/internal/htpasswd"
)

// TestRegistryAcceptsWrittenFile proves with the registry's own code that the
// file this package writes lets the right passwords in and keeps others out.
func TestRegistryAcceptsWrittenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "htpasswd-basic")
	f, err := htpasswd.Parse(strings.NewReader("# made by hand\n"))
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]string{
		"admin":   "admin password 1",
		"spectro": "spectro pässwörd 🔑",
		"a#b":     strings.Repeat("x", htpasswd.MaxPasswordBytes),
	}
	for _, u := range []string{"admin", "spectro", "a#b"} {
		if err := f.Set(u, users[u], htpasswd.MinCost); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Write(path); err != nil {
		t.Fatal(err)
	}

	ac, err := auth.GetAccessController("htpasswd", map[string]any{"realm": "paxsetup test", "path": path})
	if err != nil {
		t.Fatalf("registry htpasswd access controller: %v", err)
	}

	tests := []struct {
		name     string
		user     string
		password string
		wantOK   bool
	}{
		{name: "admin", user: "admin", password: users["admin"], wantOK: true},
		{name: "multibyte password", user: "spectro", password: users["spectro"], wantOK: true},
		{name: "hash inside the name, 72-byte password", user: "a#b", password: users["a#b"], wantOK: true},
		{name: "wrong password", user: "admin", password: "admin password 2"},
		{name: "another user's password", user: "spectro", password: users["admin"]},
		{name: "unknown user", user: "docker", password: users["admin"]},
		{name: "comment is not a user", user: "# made by hand", password: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "https://registry.test/v2/", nil)
			req.SetBasicAuth(tt.user, tt.password)
			grant, err := ac.Authorized(req)
			if tt.wantOK {
				if err != nil {
					t.Fatalf("registry rejected %q: %v", tt.user, err)
				}
				if grant.User.Name != tt.user {
					t.Errorf("grant for %q, want %q", grant.User.Name, tt.user)
				}
				return
			}
			if err == nil {
				t.Fatalf("registry accepted %q with a wrong password", tt.user)
			}
			if !strings.Contains(err.Error(), auth.ErrAuthenticationFailure.Error()) {
				t.Errorf("registry error %q is not an authentication failure", err)
			}
		})
	}
}
