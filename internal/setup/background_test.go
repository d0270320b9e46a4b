package setup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
)

func TestKeysNeeded(t *testing.T) {
	tests := []struct {
		name     string
		mode     string
		present  []string // files in certs/
		replace  bool
		ca, leaf bool
	}{
		{"a first run", config.ModeSelfSigned, nil, false, true, true},
		{"a re-run keeps its certificate", config.ModeSelfSigned, []string{"ca.crt", "ca.key", "tls.crt", "tls.key"}, false, false, false},
		{"a server key alone is kept or refused", config.ModeSelfSigned, []string{"tls.key"}, false, false, false},
		{"--force reuses the CA", config.ModeSelfSigned, []string{"ca.crt", "ca.key", "tls.crt", "tls.key"}, true, false, true},
		{"a CA without a server certificate", config.ModeSelfSigned, []string{"ca.crt", "ca.key"}, false, false, true},
		{"a CA certificate without its key", config.ModeSelfSigned, []string{"ca.crt"}, false, true, true},
		{"--force without a CA", config.ModeSelfSigned, []string{"tls.crt", "tls.key"}, true, true, true},
		{"custom mode makes no key", config.ModeCustom, nil, false, false, false},
		{"letsencrypt mode makes no key", config.ModeLetsEncrypt, nil, true, false, false},
		{"http mode makes no key", config.ModeHTTP, nil, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			certs := Layout{Dir: dir}.Certs()
			if err := os.MkdirAll(certs, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, f := range tt.present {
				if err := os.WriteFile(filepath.Join(certs, f), []byte("x"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			a := config.Defaults()
			a.Mode = tt.mode
			ca, leaf := keysNeeded(dir, a, tt.replace)
			if ca != tt.ca || leaf != tt.leaf {
				t.Errorf("keysNeeded = CA %v, server %v; want %v, %v", ca, leaf, tt.ca, tt.leaf)
			}
		})
	}
}

// usersOptions are the options of a run in dir that sets the admin's
// password and generates the reader's, at the lowest bcrypt cost.
func usersOptions(dir string) Options {
	a := config.Defaults()
	a.BcryptCost = htpasswd.MinCost
	return Options{Dir: dir, Answers: a, AdminPassword: answers.Password{Value: "admin-password-0123"}}
}

func TestWriteUsersPrepared(t *testing.T) {
	for _, prepared := range []bool{false, true} {
		name := map[bool]string{false: "prepared in place", true: "prepared beside the checks"}[prepared]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			l := Layout{Dir: dir}
			if err := os.MkdirAll(l.Auth(), 0o755); err != nil {
				t.Fatal(err)
			}
			opts := usersOptions(dir)
			if prepared {
				opts.users = startUsers(l, opts)
			}
			generated, err := writeUsers(context.Background(), l, opts)
			if err != nil {
				t.Fatal(err)
			}
			f, err := htpasswd.Load(l.Htpasswd())
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Verify("admin", "admin-password-0123"); err != nil {
				t.Errorf("the admin's password: %v", err)
			}
			pw, ok := generated["spectro"]
			if !ok || len(generated) != 1 {
				t.Fatalf("generated = %v, want the reader's password alone", generated)
			}
			if err := f.Verify("spectro", pw); err != nil {
				t.Errorf("the reader's generated password: %v", err)
			}
			if saved, ok := LoadCredentials(dir, "spectro"); !ok || saved != pw {
				t.Error("the reader's generated password is not in the credentials file")
			}
		})
	}

	t.Run("a broken file fails alike", func(t *testing.T) {
		var msgs []string
		for _, prepared := range []bool{false, true} {
			dir := t.TempDir()
			l := Layout{Dir: dir}
			if err := os.MkdirAll(l.Auth(), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(l.Htpasswd(), []byte("admin without a hash\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			opts := usersOptions(dir)
			if prepared {
				opts.users = startUsers(l, opts)
			}
			_, err := writeUsers(context.Background(), l, opts)
			if err == nil {
				t.Fatal("a broken htpasswd file was accepted")
			}
			msgs = append(msgs, strings.ReplaceAll(err.Error(), dir, "DIR"))
		}
		if msgs[0] != msgs[1] || !strings.Contains(msgs[0], "fix or remove the file") {
			t.Errorf("errors differ or lack the fix:\n  in place: %s\n  beside:   %s", msgs[0], msgs[1])
		}
	})

	t.Run("cancelled while they are prepared", func(t *testing.T) {
		dir := t.TempDir()
		l := Layout{Dir: dir}
		opts := usersOptions(dir)
		// Never done: only the cancellation can end the wait.
		opts.users = &pendingUsers{done: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := writeUsers(ctx, l, opts); err != context.Canceled {
			t.Fatalf("err = %v, want ctx.Err() itself", err)
		}
		if _, err := os.Stat(l.Htpasswd()); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the htpasswd file was written (stat: %v)", err)
		}
		if _, err := os.Stat(filepath.Join(dir, CredentialsFile)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the credentials file was written (stat: %v)", err)
		}
	})
}

// TestRunRefusedWhileUsersArePrepared: the users are prepared from the
// run's start, but a check that refuses the run still comes first, with its
// own error, and nothing is written.
func TestRunRefusedWhileUsersArePrepared(t *testing.T) {
	dir := t.TempDir()
	l := Layout{Dir: dir}
	if err := os.MkdirAll(l.Auth(), 0o755); err != nil {
		t.Fatal(err)
	}
	broken := []byte("admin without a hash\n")
	if err := os.WriteFile(l.Htpasswd(), broken, 0o600); err != nil {
		t.Fatal(err)
	}
	opts := usersOptions(dir)
	// No certificate, so no key is made.
	opts.Answers.Mode = config.ModeHTTP
	eng := &fakeEngine{
		inspectFn:  func(string) (dockerctl.Container, error) { return dockerctl.Container{}, dockerctl.ErrNotFound },
		publishing: []dockerctl.Container{{ID: "other", Name: "web"}},
	}
	_, err := Run(context.Background(), eng, opts)
	if !errors.Is(err, ErrPortInUse) {
		t.Fatalf("err = %v, want the port check's refusal", err)
	}
	if strings.Contains(err.Error(), "htpasswd") {
		t.Errorf("the refusal mentions the users' file: %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "auth" {
		t.Errorf("the setup folder holds %v, want auth/ alone", entries)
	}
	if got, _ := os.ReadFile(l.Htpasswd()); string(got) != string(broken) {
		t.Errorf("the htpasswd file changed to %q", got)
	}
	if len(eng.calls) != 0 {
		t.Errorf("the engine was asked to %q", eng.calls)
	}
}
