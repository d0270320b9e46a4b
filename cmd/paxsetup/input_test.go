package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
)

// inputFixtures are hostile and harmless files the refused runs name.
type inputFixtures struct {
	fifo, big, bigPEM, pw, cert, key, ca, creds string
}

func newInputFixtures(t *testing.T) inputFixtures {
	t.Helper()
	d := t.TempDir()
	fx := inputFixtures{
		fifo:   filepath.Join(d, "fifo"),
		big:    filepath.Join(d, "big"),
		bigPEM: filepath.Join(d, "big.pem"),
		pw:     writeSecret(t, d, "pw", adminPW),
		creds:  writeSecret(t, d, "creds", "aws_access_key_id=AKIAEXAMPLE\naws_secret_access_key=secret-example-0123"),
	}
	if err := syscall.Mkfifo(fx.fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fx.big, bytes.Repeat([]byte("a"), 64<<10+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fx.bigPEM, bytes.Repeat([]byte("a"), 1<<20+1), 0o600); err != nil {
		t.Fatal(err)
	}
	fx.cert, fx.key, fx.ca = writeServerCert(t, d)
	return fx
}

// writeServerCert makes a CA and a server certificate for e2eHost in dir.
func writeServerCert(t *testing.T, dir string) (cert, key, ca string) {
	t.Helper()
	out := filepath.Join(dir, "certs")
	r := runBinary(t, nil, "certs", "gen", "--dir", dir, "--host", e2eHost, "--out", out)
	if r.code != 0 {
		t.Fatalf("certs gen: %d %s", r.code, r.stderr)
	}
	return filepath.Join(out, "tls.crt"), filepath.Join(out, "tls.key"), filepath.Join(out, "ca.crt")
}

// runRefused runs the binary and fails the test should it not return
// within seconds: a refused input must never make it wait.
func runRefused(t *testing.T, env []string, args ...string) run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, paxsetupBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("paxsetup %s did not return within 30 s", strings.Join(args, " "))
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return run{code, out.String(), errb.String()}
}

// treeSum hashes every name, mode and content under dir, or returns "" when
// dir does not exist.
func treeSum(t *testing.T, dir string) string {
	t.Helper()
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h.Write([]byte(rel + "\x00" + fi.Mode().String() + "\x00"))
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(h.Sum(nil))
}

// savedSetup is a setup folder holding answers and the admin's htpasswd
// entry: a refused run must leave it byte-identical.
func savedSetup(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "setup")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	a := config.Defaults()
	a.Host = e2eHost
	if err := config.Save(dir, a); err != nil {
		t.Fatal(err)
	}
	var hf htpasswd.File
	if err := hf.Set(a.AdminUser, adminPW, htpasswd.MinCost); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "auth"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := hf.Write(filepath.Join(dir, "auth", "htpasswd-basic")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// refusedCase is one run that must be refused: exit 2, an error naming
// want, and the setup folder as it was.
type refusedCase struct {
	name string
	args []string
	env  []string
	want string
	// existing runs against a saved setup rather than a fresh folder.
	existing bool
	// envDir leaves --dir to PAXSETUP_DIR.
	envDir bool
}

func checkRefused(t *testing.T, cases []refusedCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "setup")
			if tt.existing {
				dir = savedSetup(t)
			}
			before := treeSum(t, dir)
			args := append([]string{}, tt.args...)
			for i, a := range args {
				args[i] = strings.ReplaceAll(a, "DIR", dir)
			}
			if !tt.envDir && !strings.Contains(strings.Join(args, " "), "--dir") {
				args = append(args, "--dir", dir)
			}
			r := runRefused(t, append([]string{"PAXSETUP_ADMIN_PASSWORD=", "PAXSETUP_READER_PASSWORD=", "PAXSETUP_PASSWORD="}, tt.env...), args...)
			if r.code != exitUsage {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", r.code, exitUsage, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, r.stderr)
			}
			if after := treeSum(t, dir); after != before {
				if before == "" {
					t.Errorf("the refused run created %s", dir)
				} else {
					t.Errorf("the refused run changed %s", dir)
				}
			}
		})
	}
}

// TestRefusedInputFiles: a FIFO, /dev/zero or an oversized file given for
// any file flag is refused at once, naming the flag and the limit.
func TestRefusedInputFiles(t *testing.T) {
	fx := newInputFixtures(t)
	initYes := []string{"init", "--yes", "--host", e2eHost, "--dry-run"}
	custom := append(append([]string{}, initYes...), "--mode", "custom")
	s3 := append(append([]string{}, initYes...), "--storage", "s3", "--s3-region", "eu-west-1", "--s3-bucket", "packs")
	with := func(base []string, more ...string) []string { return append(append([]string{}, base...), more...) }
	checkRefused(t, []refusedCase{
		{name: "admin password FIFO", args: with(initYes, "--admin-password-file", fx.fifo), want: "--admin-password-file"},
		{name: "admin password /dev/zero", args: with(initYes, "--admin-password-file", "/dev/zero"), want: "--admin-password-file"},
		{name: "admin password too large", args: with(initYes, "--admin-password-file", fx.big), want: "64 KiB"},
		{name: "reader password FIFO", args: with(initYes, "--reader-password-file", fx.fifo), want: "--reader-password-file"},
		{name: "reader password /dev/zero on a setup", args: with(initYes, "--reader-password-file", "/dev/zero"), want: "--reader-password-file", existing: true},
		{name: "s3 credentials FIFO", args: with(s3, "--s3-credentials-file", fx.fifo), want: "--s3-credentials-file"},
		{name: "s3 credentials /dev/zero", args: with(s3, "--s3-credentials-file", "/dev/zero"), want: "--s3-credentials-file"},
		{name: "s3 credentials too large", args: with(s3, "--s3-credentials-file", fx.big), want: "64 KiB"},
		{name: "config FIFO", args: with(initYes, "--config", fx.fifo), want: "--config"},
		{name: "config /dev/zero", args: with(initYes, "--config", "/dev/zero"), want: "--config"},
		{name: "config too large", args: with(initYes, "--config", fx.bigPEM), want: "1 MiB"},
		{name: "cert file FIFO", args: with(custom, "--cert-file", fx.fifo, "--key-file", fx.key, "--ca-file", fx.ca), want: "--cert-file"},
		{name: "key file /dev/zero", args: with(custom, "--cert-file", fx.cert, "--key-file", "/dev/zero", "--ca-file", fx.ca), want: "--key-file"},
		{name: "ca file too large", args: with(custom, "--cert-file", fx.cert, "--key-file", fx.key, "--ca-file", fx.bigPEM), want: "--ca-file"},
		{name: "users add password FIFO", args: []string{"users", "add", "someone", "--password-file", fx.fifo}, want: "--password-file", existing: true},
		{name: "users passwd /dev/zero", args: []string{"users", "passwd", "admin", "--password-file", "/dev/zero"}, want: "--password-file", existing: true},
		{name: "verify password FIFO", args: []string{"verify", "--endpoint", "https://" + e2eHost, "--user", "admin", "--password-file", fx.fifo}, want: "--password-file"},
		{name: "verify ca file /dev/zero", args: []string{"verify", "--endpoint", "https://" + e2eHost, "--ca-file", "/dev/zero"}, want: "--ca-file"},
		{name: "certs inspect FIFO", args: []string{"certs", "inspect", fx.fifo}, want: "FILE"},
		{name: "certs inspect /dev/zero", args: []string{"certs", "inspect", "/dev/zero"}, want: "FILE"},
		{name: "certs inspect too large", args: []string{"certs", "inspect", fx.bigPEM}, want: "1 MiB"},
		{name: "certs inspect key FIFO", args: []string{"certs", "inspect", fx.cert, "--key", fx.fifo}, want: "--key"},
		{name: "certs inspect ca /dev/zero", args: []string{"certs", "inspect", fx.cert, "--ca-file", "/dev/zero"}, want: "--ca-file"},
	})
}

// manySANs is one --san over the cap.
func manySANs() []string {
	var args []string
	for i := range 101 {
		args = append(args, "--san", fmt.Sprintf("n%d.example.com", i))
	}
	return args
}

// TestRefusedNumbers: ports are plain decimal, --days stays within ten
// years, and --san is capped, in every command that takes them.
func TestRefusedNumbers(t *testing.T) {
	initYes := []string{"init", "--yes", "--host", e2eHost, "--dry-run"}
	with := func(base []string, more ...string) []string { return append(append([]string{}, base...), more...) }
	checkRefused(t, []refusedCase{
		{name: "init port octal", args: with(initYes, "--port", "030443"), want: "--port"},
		{name: "init port hex", args: with(initYes, "--port", "0x1bb"), want: "--port"},
		{name: "init port underscore", args: with(initYes, "--port", "4_43"), want: "--port"},
		{name: "init port negative", args: with(initYes, "--port=-443"), want: "--port"},
		{name: "init port zero", args: with(initYes, "--port", "0"), want: "--port"},
		{name: "init port octal on a setup", args: with(initYes, "--port", "0443"), want: "--port", existing: true},
		{name: "preflight port octal", args: []string{"preflight", "--host", e2eHost, "--port", "030443"}, want: "--port"},
		{name: "trust port hex", args: []string{"trust", "--host", e2eHost, "--port", "0x1bb", "--dry-run"}, want: "--port"},
		{name: "init days overflowing", args: with(initYes, "--days", "200000"), want: "--days: 200000 days is out of range: use 1 to 3650"},
		{name: "init days zero", args: with(initYes, "--days", "0"), want: "--days"},
		{name: "init days octal", args: with(initYes, "--days", "0825"), want: "--days"},
		{name: "init days on a setup", args: with(initYes, "--days", "3651"), want: "--days", existing: true},
		{name: "certs gen days overflowing", args: []string{"certs", "gen", "--host", e2eHost, "--days", "200000"}, want: "--days"},
		{name: "certs gen days on a setup", args: []string{"certs", "gen", "--days", "4000"}, want: "--days", existing: true},
		{name: "init too many SANs", args: with(initYes, manySANs()...), want: "--san: 101 values: give at most 100"},
		{name: "certs gen too many SANs", args: with([]string{"certs", "gen", "--host", e2eHost}, manySANs()...), want: "--san"},
		{name: "preflight too many SANs", args: with([]string{"preflight", "--host", e2eHost}, manySANs()...), want: "--san"},
	})
}

// TestPreflightAppliesInitRules: what init refuses, preflight refuses too,
// naming the same flag, instead of passing it.
func TestPreflightAppliesInitRules(t *testing.T) {
	checkRefused(t, []refusedCase{
		{name: "underscore in host", args: []string{"preflight", "--host", "reg_1.example.com"}, want: "--host"},
		{name: "URL as host", args: []string{"preflight", "--host", "https://registry.example.com"}, want: "--host"},
		{name: "bad san", args: []string{"preflight", "--host", e2eHost, "--san", "-bad.example.com"}, want: "--san"},
		{name: "custom without a certificate", args: []string{"preflight", "--host", e2eHost, "--mode", "custom"}, want: "--cert-file"},
		{name: "bind not an address", args: []string{"preflight", "--host", e2eHost, "--bind", "eth0"}, want: "--bind"},
		{name: "bad host on a setup", args: []string{"preflight", "--host", "bad host"}, want: "--host", existing: true},
	})
}

// TestRefusedNamesAndURLs: user names without invisible characters, --dir
// without control characters, image references the distribution parser
// accepts, and no password inside a URL; each refused naming its flag.
func TestRefusedNamesAndURLs(t *testing.T) {
	initYes := []string{"init", "--yes", "--host", e2eHost, "--dry-run"}
	with := func(base []string, more ...string) []string { return append(append([]string{}, base...), more...) }
	le := with(initYes, "--mode", "letsencrypt", "--email", "ops@example.com")
	s3 := with(initYes, "--storage", "s3", "--s3-region", "eu-west-1", "--s3-bucket", "packs")
	checkRefused(t, []refusedCase{
		{name: "admin user zero width space", args: with(initYes, "--admin-user", "ad\u200bmin"), want: "--admin-user"},
		{name: "reader user right-to-left override", args: with(initYes, "--reader-user", "spectro\u202e"), want: "--reader-user"},
		{name: "reader user invalid UTF-8", args: with(initYes, "--reader-user", "spec\xfftro"), want: "--reader-user"},
		{name: "users add zero width space", args: []string{"users", "add", "ad\u200bmin2", "--password-file", "/dev/null"}, want: "NAME", existing: true},
		{name: "dir with a newline", args: with(initYes, "--dir", "DIR\nhost: evil.example.com"), want: "--dir"},
		{name: "dir with an escape", args: []string{"status", "--dir", "DIR\x1b[2J"}, want: "--dir"},
		{name: "dir from the environment", args: initYes, env: []string{"PAXSETUP_DIR=/tmp/x\ny"}, want: "PAXSETUP_DIR", envDir: true},
		{name: "image uppercase", args: with(initYes, "--image", "Registry:2"), want: "--image"},
		{name: "image bad tag", args: with(initYes, "--image", "registry:bad tag!"), want: "--image"},
		{name: "image trailing colon", args: with(initYes, "--image", "registry:"), want: "--image"},
		{name: "image on a setup", args: with(initYes, "--image", "registry@sha256:123"), want: "--image", existing: true},
		{name: "upgrade image", args: []string{"upgrade", "--image", "Upper:1"}, want: "--image", existing: true},
		{name: "verify endpoint password", args: []string{"verify", "--endpoint", "https://u:hunter2-secret@" + e2eHost}, want: "--endpoint"},
		{name: "verify endpoint user only", args: []string{"verify", "--endpoint", "https://u@" + e2eHost}, want: "--endpoint"},
		{name: "acme directory password", args: with(le, "--acme-directory", "https://u:hunter2-secret@acme.example.com/dir"), want: "--acme-directory"},
		{name: "s3 endpoint password", args: with(s3, "--s3-regionendpoint", "https://key:hunter2-secret@minio.example.com:9000"), want: "--s3-regionendpoint"},
	})
}

// TestURLPasswordNeverShown: a refused URL's password is in no output.
func TestURLPasswordNeverShown(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "setup")
	for _, args := range [][]string{
		{"verify", "--dir", dir, "--endpoint", "https://u:hunter2-secret@" + e2eHost + ":bad"},
		{"init", "--yes", "--dir", dir, "--host", e2eHost, "--mode", "letsencrypt", "--email", "ops@example.com", "--acme-directory", "https://u:hunter2-secret@acme.example.com/dir"},
		{"init", "--yes", "--dir", dir, "--host", e2eHost, "--storage", "s3", "--s3-region", "eu-west-1", "--s3-bucket", "packs", "--s3-regionendpoint", "http://k:hunter2-secret@[::1"},
	} {
		r := runRefused(t, nil, args...)
		if r.code != exitUsage || strings.Contains(r.stdout+r.stderr, "hunter2") {
			t.Errorf("%s: exit %d, output:\n%s%s", args[0], r.code, r.stdout, r.stderr)
		}
	}
}
