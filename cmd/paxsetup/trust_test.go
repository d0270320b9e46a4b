package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/trust"
)

// recordingRunner stands in for the trust store's command.
type recordingRunner struct {
	trust.Runner
	calls []string
}

func (r *recordingRunner) Run(_ context.Context, root string, argv []string) ([]byte, error) {
	r.calls = append(r.calls, root+": "+strings.Join(argv, " "))
	return nil, nil
}

// trustSetup makes a setup folder with a paxsetup.yaml and a CA.
func trustSetup(t *testing.T, host string, port int) (dir string, ca *x509.Certificate) {
	t.Helper()
	dir = t.TempDir()
	a := config.Defaults()
	a.Host, a.Port = host, port
	if err := config.Save(dir, a); err != nil {
		t.Fatal(err)
	}
	res, err := certgen.Generate(context.Background(), certgen.GenerateOptions{Dir: filepath.Join(dir, "certs"), Host: host, KeyType: certgen.ECDSAP256, CAKeyType: certgen.ECDSAP256})
	if err != nil {
		t.Fatal(err)
	}
	return dir, res.CA.Cert
}

func trustOpts(dir, root string, runner trust.Runner, out *bytes.Buffer, changed ...string) *TrustOptions {
	f := &Factory{IO: &IOStreams{Out: out, ErrOut: out}, Now: time.Now, Getenv: os.Getenv}
	return &TrustOptions{
		IO: f.IO, Factory: f, Dir: dir, Root: root, Runner: runner,
		Targets: []string{"docker", "spectro", "system"},
		Changed: func(flag string) bool { return slices.Contains(changed, flag) },
	}
}

func TestTrustInstallUninstall(t *testing.T) {
	dir, ca := trustSetup(t, "registry.example.com", 8443)
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc/pki/ca-trust/source/anchors"), 0o755); err != nil {
		t.Fatal(err)
	}
	runner := &recordingRunner{}
	var out bytes.Buffer
	if err := runTrust(context.Background(), trustOpts(dir, root, runner, &out)); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	files := []string{
		"etc/docker/certs.d/registry.example.com:8443/ca.crt",
		"etc/spectro/certs.d/registry.example.com:8443/ca.crt",
		"etc/pki/ca-trust/source/anchors/paxsetup-registry.example.com_8443.pem",
	}
	for _, f := range files {
		certs, err := certgen.LoadCertificates(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if len(certs) != 1 || !certs[0].Equal(ca) {
			t.Errorf("%s does not hold the setup's CA", f)
		}
		if !strings.Contains(out.String(), "wrote   "+filepath.Join(root, f)) {
			t.Errorf("output does not report %s:\n%s", f, out.String())
		}
	}
	if want := []string{root + ": update-ca-trust extract"}; !slices.Equal(runner.calls, want) {
		t.Errorf("ran %q, want %q", runner.calls, want)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/docker/certs.d/registry.example.com")); !os.IsNotExist(err) {
		t.Errorf("installed for the bare host on port 8443 (%v)", err)
	}

	out.Reset()
	runner.calls = nil
	opts := trustOpts(dir, root, runner, &out)
	opts.Uninstall = true
	if err := runTrust(context.Background(), opts); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(root, f)); !os.IsNotExist(err) {
			t.Errorf("%s still there after --uninstall (%v)", f, err)
		}
	}
	if want := []string{root + ": update-ca-trust extract"}; !slices.Equal(runner.calls, want) {
		t.Errorf("uninstall ran %q, want %q", runner.calls, want)
	}
	if !strings.Contains(out.String(), "Removed the CA for registry.example.com:8443") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestTrustDryRun(t *testing.T) {
	dir, _ := trustSetup(t, "registry.example.com", 443)
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "usr/local/share/ca-certificates"), 0o755); err != nil {
		t.Fatal(err)
	}
	runner := &recordingRunner{}
	var out bytes.Buffer
	opts := trustOpts(dir, root, runner, &out)
	opts.DryRun = true
	if err := runTrust(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	want := "Would:\n" +
		"  write ROOT/etc/docker/certs.d/registry.example.com:443/ca.crt\n" +
		"  write ROOT/etc/docker/certs.d/registry.example.com/ca.crt\n" +
		"  write ROOT/etc/spectro/certs.d/registry.example.com:443/ca.crt\n" +
		"  write ROOT/etc/spectro/certs.d/registry.example.com/ca.crt\n" +
		"  write ROOT/usr/local/share/ca-certificates/paxsetup-registry.example.com_443.crt\n" +
		"  run chroot ROOT update-ca-certificates\n"
	if got := strings.ReplaceAll(out.String(), root, "ROOT"); got != want {
		t.Errorf("dry run printed:\n%s\nwant:\n%s", got, want)
	}
	if len(runner.calls) != 0 {
		t.Errorf("dry run ran %q", runner.calls)
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Errorf("dry run changed the root: %d entries", len(entries))
	}
}

// TestTrustKeepsOnlyCertificates gives trust a CA file that also holds a
// private key: only the certificate may be copied.
func TestTrustKeepsOnlyCertificates(t *testing.T) {
	dir, ca := trustSetup(t, "registry.example.com", 443)
	caFile := filepath.Join(t.TempDir(), "bundle.pem")
	data := append(readBytes(t, filepath.Join(dir, "certs", "ca.crt")), readBytes(t, filepath.Join(dir, "certs", "ca.key"))...)
	if err := os.WriteFile(caFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	var out bytes.Buffer
	opts := trustOpts(dir, root, &recordingRunner{}, &out, "target")
	opts.CAFile, opts.Targets = caFile, []string{"docker"}
	if err := runTrust(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	got := readBytes(t, filepath.Join(root, "etc/docker/certs.d/registry.example.com:443/ca.crt"))
	block, rest := pem.Decode(got)
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 || !bytes.Equal(block.Bytes, ca.Raw) {
		t.Errorf("installed file is not exactly the CA certificate:\n%s", got)
	}
	if strings.Contains(string(got), "PRIVATE KEY") {
		t.Error("the CA key was copied into certs.d")
	}
}

func TestTrustNoStore(t *testing.T) {
	dir, _ := trustSetup(t, "registry.example.com", 443)

	t.Run("default targets skip the system store", func(t *testing.T) {
		root := t.TempDir()
		var out bytes.Buffer
		runner := &recordingRunner{}
		if err := runTrust(context.Background(), trustOpts(dir, root, runner, &out)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "note: no known OS trust store under "+root) {
			t.Errorf("output lacks the note:\n%s", out.String())
		}
		if _, err := os.Stat(filepath.Join(root, "etc/spectro/certs.d/registry.example.com/ca.crt")); err != nil {
			t.Errorf("spectro target not installed: %v", err)
		}
		if len(runner.calls) != 0 {
			t.Errorf("ran %q", runner.calls)
		}
	})
	t.Run("an explicit system target fails", func(t *testing.T) {
		code, _, stderr := runPax(t, "trust", "--dir", dir, "--root", t.TempDir(), "--target", "system")
		if code != exitUsage || !strings.Contains(stderr, "--target: no known OS trust store") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}

func TestTrustBadInput(t *testing.T) {
	dir, _ := trustSetup(t, "registry.example.com", 443)
	empty := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  []string
	}{
		{"no host and no setup", []string{"--dir", empty}, exitUsage, []string{"--host", "no setup"}},
		{"no CA yet", []string{"--dir", empty, "--host", "registry.example.com"}, exitUsage, []string{"--ca-file", "ca.crt", "paxsetup certs gen"}},
		{"CA file missing", []string{"--dir", dir, "--ca-file", filepath.Join(empty, "nope.crt")}, exitUsage, []string{"--ca-file", "nope.crt"}},
		{"wildcard host", []string{"--dir", dir, "--host", "*.example.com"}, exitUsage, []string{"--host", "wildcard"}},
		{"port out of range", []string{"--dir", dir, "--port", "70000"}, exitUsage, []string{"--port", "1 to 65535"}},
		{"port zero", []string{"--dir", dir, "--port", "0"}, exitUsage, []string{"--port"}},
		{"unknown target", []string{"--dir", dir, "--target", "docker,containerd"}, exitUsage, []string{"--target", `"containerd"`}},
		{"relative root", []string{"--dir", dir, "--root", "some/dir"}, exitUsage, []string{"--root", "absolute"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			args := append([]string{"trust", "--root", root}, tt.args...)
			code, stdout, stderr := runPax(t, args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.wantCode, stdout, stderr)
			}
			msg := strings.TrimSpace(stderr)
			if strings.Contains(msg, "\n") {
				t.Errorf("want a one-line error, got:\n%s", msg)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if entries, _ := os.ReadDir(root); len(entries) != 0 {
				t.Errorf("a refused run wrote under the root")
			}
		})
	}
}

func TestTrustFlags(t *testing.T) {
	f, _, _ := newTestFactory(nil)
	var got *TrustOptions
	cmd := NewCmdTrust(f, &globalOptions{Dir: "/srv/pax"}, func(_ context.Context, o *TrustOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--target", "docker,spectro", "--host", "a.test", "--host", "10.0.0.5", "--uninstall"})
	cmd.SetOut(io.Discard)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Dir != "/srv/pax" || got.Root != "/" || got.Port != 0 || !got.Uninstall || got.DryRun {
		t.Errorf("options %+v", got)
	}
	if !slices.Equal(got.Targets, []string{"docker", "spectro"}) || !slices.Equal(got.Hosts, []string{"a.test", "10.0.0.5"}) {
		t.Errorf("targets %q hosts %q", got.Targets, got.Hosts)
	}
}
