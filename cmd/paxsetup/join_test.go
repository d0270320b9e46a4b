package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/setup"
)

// TestJoinDryRun: a node joined from the bundle holds the first node's
// users, certificate, generated passwords and secrets, byte for byte, and
// no CA key; paxsetup.yaml records which node it is and holds no secret.
// It can join again, and replays its answers; what would make it differ
// from the registry it serves is refused.
func TestJoinDryRun(t *testing.T) {
	s := newSharedSetup(t)
	p := s.export(t, "registry.bundle")
	node := filepath.Join(s.work, "node")
	code, out, errb, _ := nodeRun(t, nil, "init", "--join", p, "--passphrase-file", s.passFile, "--dir", node, "--port", "18444", "--name", "node2", "--dry-run")
	if code != 0 {
		t.Fatalf("join: exit %d\n%s%s", code, out, errb)
	}
	for _, want := range []string{"Joining https://registry.example.com:18444 as a node, from the bundle exported on", "the shared registry's users, certificate and secrets from the bundle",
		"Palette's endpoint is then\n  https://registry.example.com, on the load balancer's port,", "This node: ", "(container node2, port 18444),\njoined from the bundle exported on"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range setup.SharedFiles {
		first, err1 := os.ReadFile(filepath.Join(s.dir, f.Name))
		joined, err2 := os.ReadFile(filepath.Join(node, f.Name))
		if err1 != nil || err2 != nil || !bytes.Equal(first, joined) {
			t.Errorf("%s is not the first node's: %v %v", f.Name, err1, err2)
		}
	}
	if _, err := os.Stat(filepath.Join(node, "certs", "ca.key")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the node has a CA key: %v", err)
	}
	first, _ := setup.SavedSecrets(s.dir)
	if got, _ := setup.SavedSecrets(node); got != first {
		t.Errorf("the node's secrets differ from the first node's")
	}
	a, err := config.Load(node)
	if err != nil || a.Node == nil || a.Port != 18444 || a.Name != "node2" || a.Host != "registry.example.com" || (a.S3 != nil && a.S3.CredentialsFile != "") {
		t.Fatalf("node answers %+v (node %+v): %v", a, a.Node, err)
	}
	yaml, _ := os.ReadFile(config.Path(node))
	for _, secret := range secretsOf(t, s.dir) {
		if bytes.Contains(yaml, []byte(secret)) || strings.Contains(out+errb, secret) {
			t.Errorf("the secret %q is in paxsetup.yaml or the output", secret)
		}
	}

	// Joined again (a node replaced), and replayed: as dry runs on a live
	// node, both plan beside it.
	if code, out, errb, _ := nodeRun(t, nil, "init", "--join", p, "--passphrase-file", s.passFile, "--dir", node, "--dry-run"); code != 0 || !strings.Contains(out, "is untouched") {
		t.Fatalf("join again: exit %d\n%s%s", code, out, errb)
	}
	if code, out, errb, _ := nodeRun(t, nil, "init", "--yes", "--dir", node, "--dry-run"); code != 0 || !strings.Contains(out, "is untouched") {
		t.Fatalf("replay: exit %d\n%s%s", code, out, errb)
	}
	live := treeSum(t, node)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"init", "--yes", "--dir", node, "--san", "node3.example.com"}, "--san: not on this node (joined from the bundle exported on"},
		{[]string{"init", "--yes", "--dir", node, "--force"}, "--force: not on this node"},
		{[]string{"init", "--yes", "--dir", node, "--admin-password-file", s.passFile}, "--admin-password-file: not on this node"},
		{[]string{"certs", "gen", "--dir", node, "--force"}, "has no CA key to issue one"},
	} {
		code, _, stderr, asked := nodeRun(t, nil, tt.args...)
		if code != exitUsage || !strings.Contains(stderr, tt.want) || asked {
			t.Errorf("%v: exit %d, engine asked %v, stderr %q; want %d and %q", tt.args, code, asked, stderr, exitUsage, tt.want)
		}
	}
	if treeSum(t, node) != live {
		t.Error("a refused run changed the node")
	}
}

// TestJoinRefused: a bundle that cannot be opened, or a flag that would
// make the node differ from the registry it serves, exits 2 naming the
// cause and the fix, before the engine is asked: the node's folder stays
// as it was (absent for a first join, whole for a re-join).
func TestJoinRefused(t *testing.T) {
	s := newSharedSetup(t)
	good := s.export(t, "registry.bundle")
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	truncated := writeFile(t, s.work, "truncated.bundle", data[:len(data)/2])
	tampered := bytes.Clone(data)
	tampered[len(tampered)/2] ^= 0x01
	tamperedFile := writeFile(t, s.work, "tampered.bundle", tampered)
	wrongPass := writeSecret(t, s.work, "wrong.pass", "not-the-passphrase-at-all")
	notBundle := filepath.Join(s.dir, config.FileName)

	joined := filepath.Join(s.work, "joined")
	if code, out, errb, _ := nodeRun(t, nil, "init", "--join", good, "--passphrase-file", s.passFile, "--dir", joined, "--dry-run"); code != 0 {
		t.Fatalf("join: exit %d\n%s%s", code, out, errb)
	}
	withCAKey := filepath.Join(s.work, "with-ca-key")
	if err := os.MkdirAll(filepath.Join(withCAKey, "certs"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(withCAKey, "certs"), "ca.key", []byte("a CA key"))

	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"wrong passphrase", []string{"--join", good, "--passphrase-file", wrongPass}, nil, []string{"--passphrase-file", "wrong passphrase", "the one paxsetup export was given"}},
		{"wrong passphrase from the environment", []string{"--join", good}, map[string]string{EnvBundlePassphrase: "not-the-passphrase-at-all"}, []string{"--passphrase-file", "env " + EnvBundlePassphrase, "wrong passphrase"}},
		{"no passphrase and no terminal", []string{"--join", good}, nil, []string{"--passphrase-file", EnvBundlePassphrase}},
		{"truncated", []string{"--join", truncated, "--passphrase-file", s.passFile}, nil, []string{"--join", "damaged", "copy it again"}},
		{"a byte changed", []string{"--join", tamperedFile, "--passphrase-file", s.passFile}, nil, []string{"--join", "damaged", "tampered", "export a new one"}},
		{"not a bundle", []string{"--join", notBundle, "--passphrase-file", s.passFile}, nil, []string{"--join", "not a paxsetup bundle", "paxsetup export --out wrote"}},
		{"no such file", []string{"--join", filepath.Join(s.work, "nope.bundle"), "--passphrase-file", s.passFile}, nil, []string{"--join", "nope.bundle", "paxsetup export --out wrote"}},
		{"passphrase file without --join", []string{"--passphrase-file", s.passFile, "--yes"}, nil, []string{"--passphrase-file", "--join FILE"}},
	}
	for _, flag := range [][]string{
		{"--host", "other.example.com"}, {"--san", "node3.example.com"}, {"--mode", "http"}, {"--storage", "filesystem"},
		{"--s3-bucket", "other"}, {"--force"}, {"--admin-password-file", s.passFile}, {"--reader-user", "palette"},
		{"--bcrypt-cost", "12"}, {"--days", "30"}, {"--config", notBundle},
	} {
		tests = append(tests, struct {
			name string
			args []string
			env  map[string]string
			want []string
		}{"with " + flag[0], append([]string{"--join", good, "--passphrase-file", s.passFile}, flag...), nil, []string{flag[0] + ": not with --join", "A node takes only --dir, --port"}})
	}
	for _, tt := range tests {
		for _, dir := range []string{filepath.Join(s.work, "fresh"), joined, withCAKey} {
			if dir == withCAKey && tt.name != "wrong passphrase" {
				continue
			}
			t.Run(tt.name+" in "+filepath.Base(dir), func(t *testing.T) {
				before := treeSum(t, dir)
				code, stdout, stderr, asked := nodeRun(t, tt.env, append(append([]string{"init", "--dir", dir}, tt.args...), "--port", "18445")...)
				if code != exitUsage {
					t.Errorf("exit %d, want %d\n%s%s", code, exitUsage, stdout, stderr)
				}
				for _, w := range tt.want {
					if !strings.Contains(stderr, w) {
						t.Errorf("stderr lacks %q:\n%s", w, stderr)
					}
				}
				if strings.Contains(stdout+stderr, bundlePass) {
					t.Error("the passphrase was printed")
				}
				if after := treeSum(t, dir); after != before {
					t.Errorf("the refused join changed %s", dir)
				}
				if asked {
					t.Error("the refused join asked for the engine")
				}
			})
		}
	}

	// A folder where a registry was set up, or one with a CA key, is no
	// node's: joining would put another registry's files beside its key.
	for _, tt := range []struct{ dir, want string }{
		{s.dir, "holds a registry set up there, not a node joined from a bundle"},
		{withCAKey, "is a CA key, which a node does not have"},
	} {
		before := treeSum(t, tt.dir)
		code, _, stderr, asked := nodeRun(t, nil, "init", "--join", good, "--passphrase-file", s.passFile, "--dir", tt.dir, "--port", "18445")
		if code != exitUsage || !strings.Contains(stderr, "--dir: ") || !strings.Contains(stderr, tt.want) || asked {
			t.Errorf("join into %s: exit %d, engine asked %v, stderr %q", tt.dir, code, asked, stderr)
		}
		if treeSum(t, tt.dir) != before {
			t.Errorf("the refused join changed %s", tt.dir)
		}
	}
}

// TestJoinFlags: the flags a node may set reach the run with the bundle;
// the shared registry's are refused before it.
func TestJoinFlags(t *testing.T) {
	f, _, _ := newTestFactory(nil)
	var got *InitOptions
	cmd := NewCmdInit(f, &globalOptions{Dir: "/srv/node"}, func(_ context.Context, o *InitOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--join", "registry.bundle", "--passphrase-file", "pass", "--port", "8443", "--name", "node2", "--bind", "10.0.0.6",
		"--network", "lb", "--image", "example.com/registry:1", "--pull", "never", "--image-archive", "img.tar", "--log-level", "debug", "--timeout", "2m", "--dry-run", "--yes"})
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got == nil || got.Join != "registry.bundle" || got.PassphraseFile != "pass" || got.Flags.Port != 8443 || got.Flags.Name != "node2" || !got.DryRun {
		t.Fatalf("options %+v", got)
	}
	got = nil
	cmd.SetArgs([]string{"--join", "registry.bundle", "--host", "other.example.com"})
	err := cmd.Execute()
	var fe *answers.FlagError
	if !errors.As(err, &fe) || fe.Flag != "host" || got != nil {
		t.Errorf("--host with --join: %v, run %v", err, got != nil)
	}
}
