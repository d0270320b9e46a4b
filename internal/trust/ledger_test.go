package trust

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// tree is a snapshot of everything under root: each folder, and each file's
// mode and content hash.
func tree(t *testing.T, root string) map[string]string {
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

func writeTestFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// TestLedgerUninstallRestoresTheStores installs into a root that already
// holds some of what trust touches, then uninstalls: the root must be as it
// was, byte for byte, and only what trust made may have come and gone.
func TestLedgerUninstallRestoresTheStores(t *testing.T) {
	ctx := context.Background()
	ca := []*x509.Certificate{testCA(t, "paxsetup CA")}
	root := fakeRoot(t, "usr/local/share/ca-certificates",
		// certs.d exists for docker (not for spectro), with another
		// registry's CA and an empty folder for one of ours.
		"etc/docker/certs.d/other.example:5000", "etc/docker/certs.d/10.1.2.3:8443")
	writeTestFile(t, filepath.Join(root, "etc/docker/certs.d/other.example:5000/ca.crt"), "another registry's CA\n", 0o644)
	// The operator's own CA where trust installs: replaced, then restored.
	writeTestFile(t, filepath.Join(root, "etc/spectro/certs.d/r.test:8443/ca.crt"), "operator's CA\n", 0o600)
	// A file already holding this CA is not trust's to remove.
	writeTestFile(t, filepath.Join(root, "etc/docker/certs.d/r.test:8443/ca.crt"), string(pemOf(ca)), 0o644)
	before := tree(t, root)

	ledgerPath := filepath.Join(t.TempDir(), "setup", "trust-installed.json")
	opts := Options{Root: root, CA: ca, Hosts: []string{"r.test", "10.1.2.3", "fd00::5"}, Port: 8443}
	steps, err := NewPlan(opts)
	if err != nil {
		t.Fatal(err)
	}
	l, err := LoadLedger(ledgerPath)
	if err != nil {
		t.Fatal(err)
	}
	runner := &fakeRunner{}
	if err := ApplyRecorded(ctx, steps, runner, l, nil); err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if s.Kind != WriteFile {
			continue
		}
		if got := mustRead(t, s.Path); string(got) != string(pemOf(ca)) {
			t.Errorf("%s does not hold the CA after install", s.Path)
		}
	}
	for _, want := range []string{"etc/docker/certs.d/[fd00::5]:8443/ca.crt", "etc/spectro/certs.d/10.1.2.3:8443/ca.crt"} {
		if _, err := os.Stat(filepath.Join(root, want)); err != nil {
			t.Errorf("not installed for every address: %v", err)
		}
	}

	// Installing again (another run) must not forget what was there first.
	l, err = LoadLedger(ledgerPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := ApplyRecorded(ctx, steps, runner, l, nil); err != nil {
		t.Fatal(err)
	}

	opts.Uninstall = true
	steps, err = NewPlan(opts)
	if err != nil {
		t.Fatal(err)
	}
	l, err = LoadLedger(ledgerPath)
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	if err := ApplyRecorded(ctx, steps, runner, l, func(s Step) { outcomes = append(outcomes, s.Outcome) }); err != nil {
		t.Fatal(err)
	}
	after := tree(t, root)
	if !maps.Equal(before, after) {
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
	if !slices.Contains(outcomes, "restored") {
		t.Errorf("the operator's CA was not reported restored: %q", outcomes)
	}
	if _, err := os.Stat(ledgerPath); !os.IsNotExist(err) {
		t.Errorf("the ledger outlived the uninstall: %v", err)
	}
}

// TestLedgerKeepsAChangedFile: a file changed after trust wrote it is the
// operator's now, and so is its folder.
func TestLedgerKeepsAChangedFile(t *testing.T) {
	ctx := context.Background()
	ca := []*x509.Certificate{testCA(t, "paxsetup CA")}
	root := fakeRoot(t)
	ledgerPath := filepath.Join(t.TempDir(), "trust-installed.json")
	opts := Options{Root: root, CA: ca, Hosts: []string{"r.test"}, Port: 5000, Targets: []Target{Docker}}
	steps, err := NewPlan(opts)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := LoadLedger(ledgerPath)
	if err := ApplyRecorded(ctx, steps, nil, l, nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "etc/docker/certs.d/r.test:5000/ca.crt")
	writeTestFile(t, path, "the operator's own now\n", 0o644)

	opts.Uninstall = true
	steps, _ = NewPlan(opts)
	l, _ = LoadLedger(ledgerPath)
	var got []string
	if err := ApplyRecorded(ctx, steps, nil, l, func(s Step) { got = append(got, s.Outcome) }); err != nil {
		t.Fatal(err)
	}
	if string(mustRead(t, path)) != "the operator's own now\n" || !slices.Equal(got, []string{"kept"}) {
		t.Errorf("a changed file was not kept: outcomes %q", got)
	}
}

// TestUnrecordedRemoval: without a ledger entry (an older install), only a
// file holding this CA goes.
func TestUnrecordedRemoval(t *testing.T) {
	ca := []*x509.Certificate{testCA(t, "paxsetup CA")}
	root := fakeRoot(t)
	ours := filepath.Join(root, "etc/docker/certs.d/a.test:5000/ca.crt")
	theirs := filepath.Join(root, "etc/docker/certs.d/b.test:5000/ca.crt")
	writeTestFile(t, ours, string(pemOf(ca)), 0o644)
	writeTestFile(t, theirs, "someone else's\n", 0o644)
	steps, err := NewPlan(Options{Root: root, CA: ca, Hosts: []string{"a.test", "b.test"}, Port: 5000, Targets: []Target{Docker}, Uninstall: true})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := LoadLedger(filepath.Join(t.TempDir(), "none.json"))
	if err := ApplyRecorded(context.Background(), steps, nil, l, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(ours)); !os.IsNotExist(err) {
		t.Errorf("the CA's folder is still there: %v", err)
	}
	if string(mustRead(t, theirs)) != "someone else's\n" {
		t.Errorf("a file that is not this CA was removed")
	}
}

// TestLedgerRemovesSharedFolders: certs.d, made by trust for the first
// address, goes with the last one.
func TestLedgerRemovesSharedFolders(t *testing.T) {
	ctx := context.Background()
	ca := []*x509.Certificate{testCA(t, "paxsetup CA")}
	root := fakeRoot(t, "etc")
	before := tree(t, root)
	ledgerPath := filepath.Join(t.TempDir(), "trust-installed.json")
	opts := Options{Root: root, CA: ca, Hosts: []string{"r.test", "10.0.0.5", "other.test"}, Port: 443, Targets: []Target{Docker, Spectro}}
	for _, uninstall := range []bool{false, true} {
		opts.Uninstall = uninstall
		steps, err := NewPlan(opts)
		if err != nil {
			t.Fatal(err)
		}
		l, err := LoadLedger(ledgerPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := ApplyRecorded(ctx, steps, nil, l, nil); err != nil {
			t.Fatal(err)
		}
	}
	if after := tree(t, root); !maps.Equal(before, after) {
		t.Errorf("after install and uninstall:\nbefore %v\nafter  %v", before, after)
	}
}
