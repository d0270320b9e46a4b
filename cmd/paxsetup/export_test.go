package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/bundle"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/setup"
)

const bundlePass = "a-bundle-passphrase-0123"

// nodeRun runs paxsetup in-process with no engine and no terminal. asked
// reports whether the command asked for the engine at all.
func nodeRun(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string, asked bool) {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	for _, k := range []string{EnvBundlePassphrase, answers.EnvAdminPassword, answers.EnvReaderPassword, setup.EnvS3AccessKey, setup.EnvS3SecretKey} {
		if _, ok := env[k]; !ok {
			env[k] = ""
		}
	}
	f, out, errb := newTestFactory(env)
	f.Docker = func(context.Context) (dockerctl.API, error) {
		asked = true
		return nil, errors.New("no engine in this test")
	}
	code = Main(args, f)
	return code, out.String(), errb.String(), asked
}

// sharedSetup is a first node with S3 storage, made by a dry run (its
// files are written; nothing is started), and a file with the bundle's
// passphrase.
type sharedSetup struct {
	work, dir, passFile string
}

func newSharedSetup(t *testing.T) sharedSetup {
	t.Helper()
	work := t.TempDir()
	s := sharedSetup{work: work, dir: filepath.Join(work, "first"), passFile: writeSecret(t, work, "bundle.pass", bundlePass)}
	creds := writeSecret(t, work, "s3.creds", "aws_access_key_id=AKIAFIRSTNODE\naws_secret_access_key=first-node-s3-secret-0123")
	code, out, errb, _ := nodeRun(t, nil, "init", "--yes", "--dry-run", "--dir", s.dir, "--host", "registry.example.com",
		"--san", "node1.example.com", "--san", "node2.example.com", "--port", "18443", "--bcrypt-cost", "4",
		"--storage", "s3", "--s3-region", "eu-west-1", "--s3-bucket", "packs", "--s3-credentials-file", creds)
	if code != 0 {
		t.Fatalf("the first node's dry run: exit %d\n%s%s", code, out, errb)
	}
	return s
}

// export writes the first node's bundle at name in the work folder.
func (s sharedSetup) export(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(s.work, name)
	if code, out, errb, _ := nodeRun(t, nil, "export", "--dir", s.dir, "--out", p, "--passphrase-file", s.passFile); code != 0 {
		t.Fatalf("export: exit %d\n%s%s", code, out, errb)
	}
	return p
}

// secretsOf are the values that must never be printed or saved in clear.
func secretsOf(t *testing.T, dir string) []string {
	t.Helper()
	saved, err := setup.SavedSecrets(dir)
	if err != nil || saved.HTTPSecret == "" {
		t.Fatalf("secrets of %s: %+v %v", dir, saved, err)
	}
	out := []string{bundlePass, saved.HTTPSecret, saved.S3Keys.SecretKey, saved.S3Keys.AccessKey}
	for _, u := range []string{"admin", "spectro"} {
		if pw, ok := setup.LoadCredentials(dir, u); ok {
			out = append(out, pw)
		}
	}
	return out
}

// TestExportWritesABundle: the bundle is 0600, holds the shared files and
// secrets but not the CA key, and export names what it holds without
// showing a secret.
func TestExportWritesABundle(t *testing.T) {
	s := newSharedSetup(t)
	p := filepath.Join(s.work, "registry.bundle")
	code, out, errb, asked := nodeRun(t, nil, "export", "--dir", s.dir, "--out", p, "--passphrase-file", s.passFile)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errb)
	}
	if asked {
		t.Error("export asked for the engine")
	}
	for _, want := range []string{"mode 0600", "auth/htpasswd-basic (users admin, spectro)", "certs/tls.key", "credentials",
		"the S3 access keys", "the registry's http secret", "Not the CA key", "paxsetup init --join registry.bundle --passphrase-file FILE",
		"its own --dir,\n--port and --name"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range secretsOf(t, s.dir) {
		if strings.Contains(out+errb, secret) {
			t.Errorf("export printed the secret %q", secret)
		}
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("bundle: %v, %v", fi, err)
	}
	b, err := bundle.Read(p, bundlePass)
	if err != nil {
		t.Fatal(err)
	}
	saved, _ := setup.SavedSecrets(s.dir)
	if b.Secrets.HTTPSecret != saved.HTTPSecret || b.Secrets.S3SecretKey != saved.S3Keys.SecretKey || b.Answers.Host != "registry.example.com" {
		t.Errorf("bundle secrets or answers differ from the setup's: %+v", b.Answers)
	}
	var names []string
	for n, data := range b.Files {
		names = append(names, n)
		if live, _ := os.ReadFile(filepath.Join(s.dir, n)); !bytes.Equal(live, data) {
			t.Errorf("%s differs from the setup's", n)
		}
	}
	slices.Sort(names)
	if want := []string{"auth/htpasswd-basic", "certs/ca.crt", "certs/chain.pem", "certs/tls.crt", "certs/tls.key", "credentials"}; !slices.Equal(names, want) {
		t.Errorf("files %q, want %q", names, want)
	}

	before, _ := os.ReadFile(p)
	if code, out, errb, _ := nodeRun(t, map[string]string{EnvBundlePassphrase: bundlePass}, "export", "--dir", s.dir, "--out", p, "--force"); code != 0 {
		t.Fatalf("export --force: exit %d\n%s%s", code, out, errb)
	}
	if after, _ := os.ReadFile(p); bytes.Equal(after, before) {
		t.Error("--force did not replace the bundle")
	}
}

// TestExportRefused: each refusal exits 2 naming the flag and the fix,
// writes no bundle and leaves the setup as it was.
func TestExportRefused(t *testing.T) {
	s := newSharedSetup(t)
	fsSetup := savedSetup(t)
	leSetup := savedSetup(t)
	le, _ := config.Load(leSetup)
	le.Mode, le.Email, le.Storage, le.S3 = config.ModeLetsEncrypt, "ops@example.com", "s3", &config.S3Config{Region: "eu-west-1", Bucket: "packs"}
	if err := config.Save(leSetup, le); err != nil {
		t.Fatal(err)
	}
	short := writeSecret(t, s.work, "short.pass", "fifteen-chars15")
	existing := writeFile(t, s.work, "existing.bundle", []byte("keep me"))
	missingDir := filepath.Join(s.work, "absent")
	tests := []struct {
		name string
		dir  string
		args []string
		env  map[string]string
		want []string
	}{
		{"no setup", missingDir, nil, nil, []string{"--dir", "no setup in " + missingDir, "--storage s3"}},
		{"packs in data/", fsSetup, nil, nil, []string{"--dir", "--storage filesystem", "no other node sees", "--storage s3"}},
		{"Let's Encrypt", leSetup, nil, nil, []string{"--dir", "each node would order its own", "--mode custom"}},
		{"a short passphrase", s.dir, []string{"--passphrase-file", short}, nil, []string{"--passphrase-file", "15 characters", "at least 16"}},
		{"a short passphrase from the environment", s.dir, []string{}, map[string]string{EnvBundlePassphrase: "short"}, []string{"--passphrase-file", "env " + EnvBundlePassphrase}},
		{"no passphrase and no terminal", s.dir, []string{}, nil, []string{"--passphrase-file", EnvBundlePassphrase}},
		{"an existing --out", s.dir, []string{"--out", existing}, nil, []string{"--out", "exists", "--force"}},
		{"--out is a folder", s.dir, []string{"--out", s.work}, nil, []string{"--out", "is a folder"}},
		{"--out in no folder", s.dir, []string{"--out", filepath.Join(missingDir, "x.bundle")}, nil, []string{"--out", "does not exist"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(s.work, "new.bundle")
			args := []string{"export", "--dir", tt.dir}
			if !slices.Contains(tt.args, "--out") {
				args = append(args, "--out", out)
			}
			if tt.args == nil {
				args = append(args, "--passphrase-file", s.passFile)
			}
			args = append(args, tt.args...)
			before := treeSum(t, tt.dir)
			code, stdout, stderr, asked := nodeRun(t, tt.env, args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d\n%s%s", code, exitUsage, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if after := treeSum(t, tt.dir); after != before {
				t.Errorf("the refused export changed %s", tt.dir)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("the refused export wrote %s", out)
			}
			if data, _ := os.ReadFile(existing); string(data) != "keep me" {
				t.Errorf("the existing --out changed")
			}
			if asked {
				t.Error("export asked for the engine")
			}
		})
	}
	if code, _, stderr, _ := nodeRun(t, nil, "export", "--dir", s.dir); code != exitUsage || !strings.Contains(stderr, "--out") {
		t.Errorf("no --out: exit %d, %s", code, stderr)
	}
}
