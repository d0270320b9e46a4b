package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/setup"
)

// storeTree snapshots everything under root: folders with their modes,
// files with their modes and content hashes.
func storeTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			out[rel+"/"] = fi.Mode().String()
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		out[rel] = fi.Mode().String() + " " + hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTrustCoversEveryCertificateName installs the setup's CA under every
// name and IP of its server certificate, then uninstalls: the trust stores
// must be byte-identical to before, including folders that were there and
// a CA file of the operator's that trust replaced.
func TestTrustCoversEveryCertificateName(t *testing.T) {
	dir := t.TempDir()
	a := config.Defaults()
	a.Host, a.Port = "registry.example.com", 8443
	if err := config.Save(dir, a); err != nil {
		t.Fatal(err)
	}
	_, err := certgen.Generate(context.Background(), certgen.GenerateOptions{Dir: filepath.Join(dir, "certs"),
		Host: a.Host, SANs: []string{"alias.example.com", "10.20.30.40", "fd00::7", "*.apps.example.com"},
		KeyType: certgen.ECDSAP256, CAKeyType: certgen.ECDSAP256})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(filepath.Join(dir, "certs", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}

	root := t.TempDir()
	for _, d := range []string{"usr/local/share/ca-certificates", "etc/docker/certs.d/other:5000", "etc/docker/certs.d/10.20.30.40:8443"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for path, content := range map[string]string{
		"etc/docker/certs.d/other:5000/ca.crt":              "another registry's CA\n",
		"etc/spectro/certs.d/alias.example.com:8443/ca.crt": "the operator's CA for this name\n",
		"etc/docker/certs.d/10.20.30.40:8443/client.cert":   "a client certificate\n",
		"usr/local/share/ca-certificates/someone-else.crt":  "another local CA\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, path), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := storeTree(t, root)

	var out bytes.Buffer
	runner := &recordingRunner{}
	if err := runTrust(context.Background(), trustOpts(dir, root, runner, &out)); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, target := range []string{"docker", "spectro"} {
		for _, addr := range []string{"registry.example.com:8443", "alias.example.com:8443", "10.20.30.40:8443", "[fd00::7]:8443"} {
			got, err := os.ReadFile(filepath.Join(root, "etc", target, "certs.d", addr, "ca.crt"))
			if err != nil || !bytes.Equal(got, ca) {
				t.Errorf("%s: no CA for %s (%v)", target, addr, err)
			}
		}
	}
	if strings.Contains(out.String(), "*") {
		t.Errorf("a wildcard name reached a certs.d folder:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, setup.TrustLedgerFile)); err != nil {
		t.Errorf("no ledger of what trust installed: %v", err)
	}

	out.Reset()
	opts := trustOpts(dir, root, runner, &out)
	opts.Uninstall = true
	if err := runTrust(context.Background(), opts); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if after := storeTree(t, root); !maps.Equal(before, after) {
		for k, v := range before {
			if after[k] != v {
				t.Errorf("%s: before %q, after %q", k, v, after[k])
			}
		}
		for k, v := range after {
			if _, ok := before[k]; !ok {
				t.Errorf("%s left behind (%s)", k, v)
			}
		}
	}
	if !strings.Contains(out.String(), "restored "+filepath.Join(root, "etc/spectro/certs.d/alias.example.com:8443/ca.crt")) {
		t.Errorf("uninstall did not report the restored file:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, setup.TrustLedgerFile)); !os.IsNotExist(err) {
		t.Errorf("the ledger outlived the uninstall: %v", err)
	}
}
