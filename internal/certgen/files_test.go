package certgen

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFilesPaths(t *testing.T) {
	f := Files{Dir: filepath.Join("home", "certs")}
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"ca.crt", f.CACert(), "home/certs/ca.crt"},
		{"ca.key", f.CAKey(), "home/certs/ca.key"},
		{"tls.crt", f.TLSCert(), "home/certs/tls.crt"},
		{"tls.key", f.TLSKey(), "home/certs/tls.key"},
		{"chain.pem", f.Chain(), "home/certs/chain.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != filepath.FromSlash(tt.want) {
				t.Errorf("path = %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestGenerate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home", "certs")
	res := generate(t, GenerateOptions{
		Dir:  dir,
		Host: "registry.local",
		SANs: []string{"10.0.0.5"},
		Now:  fixedClock(testNow),
	})
	files := Files{Dir: dir}

	if res.CAReused || res.LeafReplaced {
		t.Errorf("CAReused = %v, LeafReplaced = %v, want both false on a fresh folder", res.CAReused, res.LeafReplaced)
	}
	wantWritten := []string{files.CAKey(), files.CACert(), files.TLSKey(), files.TLSCert(), files.Chain()}
	if !slices.Equal(res.Written, wantWritten) {
		t.Errorf("Written = %q, want %q", res.Written, wantWritten)
	}

	t.Run("modes", func(t *testing.T) {
		modes := []struct {
			name string
			path string
			want os.FileMode
		}{
			{"folder", dir, 0o755},
			{"ca.key", files.CAKey(), 0o600},
			{"tls.key", files.TLSKey(), 0o600},
			{"ca.crt", files.CACert(), 0o644},
			{"tls.crt", files.TLSCert(), 0o644},
			{"chain.pem", files.Chain(), 0o644},
		}
		for _, m := range modes {
			t.Run(m.name, func(t *testing.T) {
				fi, err := os.Stat(m.path)
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != m.want {
					t.Errorf("mode = %v, want %v", got, m.want)
				}
			})
		}
	})

	t.Run("tls.crt is the leaf alone", func(t *testing.T) {
		certs, err := ParseCertificatesPEM(readFile(t, files.TLSCert()))
		if err != nil {
			t.Fatal(err)
		}
		if len(certs) != 1 || certs[0].IsCA || certs[0].Subject.CommonName != "registry.local" {
			t.Fatalf("tls.crt holds %d certificates, want the registry.local leaf alone", len(certs))
		}
		if got := certs[0].NotAfter.Sub(certs[0].NotBefore); got != DefaultLeafDays*24*time.Hour {
			t.Errorf("leaf validity = %v, want %d days", got, DefaultLeafDays)
		}
	})

	t.Run("chain.pem is leaf then root", func(t *testing.T) {
		chain, err := ParseCertificatesPEM(readFile(t, files.Chain()))
		if err != nil {
			t.Fatal(err)
		}
		if len(chain) != 2 {
			t.Fatalf("chain.pem holds %d certificates, want 2", len(chain))
		}
		if chain[0].IsCA || chain[0].Subject.CommonName != "registry.local" {
			t.Errorf("first certificate is %q (CA %v), want the leaf", chain[0].Subject.CommonName, chain[0].IsCA)
		}
		if !chain[1].IsCA || chain[1].CheckSignatureFrom(chain[1]) != nil {
			t.Errorf("second certificate %q is not a self-signed root", chain[1].Subject.CommonName)
		}
		if err := chain[0].CheckSignatureFrom(chain[1]); err != nil {
			t.Errorf("leaf is not signed by the next certificate: %v", err)
		}
		if !chain[1].Equal(readCert(t, files.CACert())) {
			t.Error("chain.pem's root is not ca.crt")
		}
		if got := chain[1].NotAfter.Sub(chain[1].NotBefore); got != DefaultCADays*24*time.Hour {
			t.Errorf("CA validity = %v, want %d days", got, DefaultCADays)
		}
	})

	t.Run("keys match certificates", func(t *testing.T) {
		if _, err := LoadCA(files.CACert(), files.CAKey()); err != nil {
			t.Errorf("ca.crt and ca.key: %v", err)
		}
		key, err := readPrivateKey(files.TLSKey())
		if err != nil {
			t.Fatal(err)
		}
		if !publicKeysEqual(readCert(t, files.TLSCert()).PublicKey, key.Public()) {
			t.Error("tls.key is not the key of tls.crt")
		}
	})

	t.Run("leaf verifies against ca.crt", func(t *testing.T) {
		pool, err := LoadCertPool(files.CACert())
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"registry.local", "10.0.0.5"} {
			_, err := readCert(t, files.TLSCert()).Verify(x509.VerifyOptions{
				Roots: pool, DNSName: name, CurrentTime: testNow,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			})
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	})

	t.Run("no temporary files left", func(t *testing.T) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if want := []string{"ca.crt", "ca.key", "chain.pem", "tls.crt", "tls.key"}; !slices.Equal(names, want) {
			t.Errorf("folder holds %q, want %q", names, want)
		}
	})
}

func TestGenerateReusesCA(t *testing.T) {
	dir := t.TempDir()
	files := Files{Dir: dir}
	first := generate(t, GenerateOptions{Dir: dir, Host: "registry.local"})
	caCert, caKey := readFile(t, files.CACert()), readFile(t, files.CAKey())

	second := generate(t, GenerateOptions{Dir: dir, Host: "registry.local", SANs: []string{"10.0.0.5"}, Force: true})
	if !second.CAReused || !second.LeafReplaced {
		t.Errorf("CAReused = %v, LeafReplaced = %v, want both true", second.CAReused, second.LeafReplaced)
	}
	if !bytes.Equal(readFile(t, files.CACert()), caCert) || !bytes.Equal(readFile(t, files.CAKey()), caKey) {
		t.Error("ca.crt or ca.key changed: clients that trust the CA would stop trusting the registry")
	}
	if slices.Contains(second.Written, files.CACert()) || slices.Contains(second.Written, files.CAKey()) {
		t.Errorf("Written = %q, want no CA files", second.Written)
	}
	leaf := readCert(t, files.TLSCert())
	if leaf.SerialNumber.Cmp(first.Leaf.Cert.SerialNumber) == 0 {
		t.Error("tls.crt was not re-issued")
	}
	if !slices.ContainsFunc(leaf.IPAddresses, func(ip net.IP) bool { return ip.Equal(net.IPv4(10, 0, 0, 5)) }) {
		t.Errorf("re-issued leaf lacks the new SAN 10.0.0.5: %v", leaf.IPAddresses)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: poolOf(first.CA.Cert), DNSName: "10.0.0.5"}); err != nil {
		t.Errorf("re-issued leaf does not verify against the first run's CA: %v", err)
	}
}

func TestGenerateRefusesExisting(t *testing.T) {
	tests := []struct {
		name    string
		present []string // files made before Generate runs
		wantErr string
	}{
		{"both", []string{"tls.crt", "tls.key"}, "tls.key already exist: pass --force to replace them"},
		{"certificate only", []string{"tls.crt"}, "tls.crt already exists: pass --force to replace it"},
		{"key only", []string{"tls.key"}, "tls.key already exists: pass --force to replace it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, name := range tt.present {
				writeFile(t, filepath.Join(dir, name), []byte("old "+name))
			}
			_, err := Generate(context.Background(), GenerateOptions{Dir: dir, Host: "registry.local", KeyType: ECDSAP256, CAKeyType: ECDSAP256})
			checkErr(t, err, tt.wantErr)
			if !errors.Is(err, ErrExists) || !errors.Is(err, fs.ErrExist) {
				t.Errorf("err = %v, want one wrapping ErrExists and fs.ErrExist", err)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != len(tt.present) {
				t.Errorf("folder holds %d entries, want only the %d old files", len(entries), len(tt.present))
			}
			for _, name := range tt.present {
				if got := string(readFile(t, filepath.Join(dir, name))); got != "old "+name {
					t.Errorf("%s = %q, want it untouched", name, got)
				}
			}
		})
	}
}

func TestGenerateErrors(t *testing.T) {
	base := GenerateOptions{Host: "registry.local", KeyType: ECDSAP256, CAKeyType: ECDSAP256}
	tests := []struct {
		name    string
		edit    func(o *GenerateOptions)
		setup   func(t *testing.T, dir string)
		wantErr string
	}{
		{"bad host", func(o *GenerateOptions) { o.Host = "reg_1.local" }, nil, `"reg_1.local" is not a valid DNS name`},
		{"bad san", func(o *GenerateOptions) { o.SANs = []string{"*.10.0.0.1"} }, nil, "not IP addresses"},
		{"negative days", func(o *GenerateOptions) { o.Days = -1 }, nil, "--days: -1 days is out of range"},
		{"overflowing days", func(o *GenerateOptions) { o.Days = 200000 }, nil, "--days: 200000 days is out of range"},
		{"negative CA days", func(o *GenerateOptions) { o.CADays = -1 }, nil, "CA validity must be at least 1 day"},
		{"unknown key type", func(o *GenerateOptions) { o.KeyType = "rsa1024" }, nil, `unknown key type "rsa1024"`},
		{"unknown CA key type", func(o *GenerateOptions) { o.CAKeyType = "rsa1024" }, nil, `unknown key type "rsa1024"`},
		{"no folder", func(o *GenerateOptions) { o.Dir = "" }, nil, "no certs folder given"},
		{
			"ca.crt without ca.key", nil,
			func(t *testing.T, dir string) {
				must(t, os.MkdirAll(dir, 0o755))
				writeFile(t, filepath.Join(dir, "ca.crt"), testCA(t, CAOptions{}).CertPEM())
			},
			"ca.key does not: restore the key",
		},
		{
			"ca.key without ca.crt", nil,
			func(t *testing.T, dir string) {
				must(t, os.MkdirAll(dir, 0o755))
				key, err := testCA(t, CAOptions{}).KeyPEM()
				must(t, err)
				writeFile(t, filepath.Join(dir, "ca.key"), key)
			},
			"ca.crt does not: restore the certificate",
		},
		{
			"ca.key of another CA", nil,
			func(t *testing.T, dir string) {
				must(t, os.MkdirAll(dir, 0o755))
				writeFile(t, filepath.Join(dir, "ca.crt"), testCA(t, CAOptions{}).CertPEM())
				key, err := testCA(t, CAOptions{}).KeyPEM()
				must(t, err)
				writeFile(t, filepath.Join(dir, "ca.key"), key)
			},
			"reuse the CA: ",
		},
		{
			"expired CA", nil,
			func(t *testing.T, dir string) {
				must(t, os.MkdirAll(dir, 0o755))
				ca := testCA(t, CAOptions{Days: 1, Now: fixedClock(time.Now().AddDate(0, 0, -2))})
				key, err := ca.KeyPEM()
				must(t, err)
				writeFile(t, filepath.Join(dir, "ca.crt"), ca.CertPEM())
				writeFile(t, filepath.Join(dir, "ca.key"), key)
			},
			"is valid only until",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "certs")
			opts := base
			opts.Dir = dir
			if tt.edit != nil {
				tt.edit(&opts)
			}
			var before []string
			if tt.setup != nil {
				tt.setup(t, dir)
				before = dirNames(t, dir)
			}
			_, err := Generate(context.Background(), opts)
			checkErr(t, err, tt.wantErr)
			if tt.setup == nil {
				if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("the folder was created (stat: %v); a failed run must write nothing", err)
				}
			} else if after := dirNames(t, dir); !slices.Equal(after, before) {
				t.Errorf("folder went from %q to %q; a failed run must write nothing", before, after)
			}
		})
	}
}

func TestGenerateCancelled(t *testing.T) {
	t.Run("before it starts", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "certs")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Generate(ctx, GenerateOptions{Dir: dir, Host: "registry.local", KeyType: ECDSAP256, CAKeyType: ECDSAP256})
		if err != context.Canceled {
			t.Fatalf("err = %v, want ctx.Err() itself", err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the folder exists after a cancelled run (stat: %v)", err)
		}
	})

	t.Run("while making keys", func(t *testing.T) {
		started := make(chan KeyType, 2)
		release := make(chan struct{})
		orig := generateKey
		generateKey = func(k KeyType, r io.Reader) (crypto.Signer, error) {
			started <- k
			<-release
			return orig(ECDSAP256, r)
		}
		t.Cleanup(func() { generateKey = orig })
		defer close(release)

		dir := filepath.Join(t.TempDir(), "certs")
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := Generate(ctx, GenerateOptions{Dir: dir, Host: "registry.local"})
			done <- err
		}()
		// Both keys are under way at once: the CA's and the server's.
		for range 2 {
			select {
			case <-started:
			case <-time.After(10 * time.Second):
				t.Fatal("Generate did not start the CA and server keys side by side")
			}
		}
		cancel()
		select {
		case err := <-done:
			if err != context.Canceled {
				t.Fatalf("err = %v, want ctx.Err() itself", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Generate did not return after its context was cancelled")
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the folder exists after a cancelled run (stat: %v)", err)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// recordKeys replaces the key source with one that makes fast ECDSA keys
// and records, in order, the type asked for and the key made.
func recordKeys(t *testing.T) func() (kinds []KeyType, keys []crypto.Signer) {
	t.Helper()
	var mu sync.Mutex
	var kinds []KeyType
	var keys []crypto.Signer
	orig := generateKey
	generateKey = func(k KeyType, r io.Reader) (crypto.Signer, error) {
		key, err := orig(ECDSAP256, r)
		mu.Lock()
		defer mu.Unlock()
		kinds, keys = append(kinds, k), append(keys, key)
		return key, err
	}
	t.Cleanup(func() { generateKey = orig })
	return func() ([]KeyType, []crypto.Signer) {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(kinds), slices.Clone(keys)
	}
}

// waitKeys waits until n keys have been made.
func waitKeys(t *testing.T, made func() ([]KeyType, []crypto.Signer), n int) []crypto.Signer {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, keys := made(); len(keys) >= n {
			return keys
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d keys were not made within 10 s", n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestGeneratePendingKeys(t *testing.T) {
	t.Run("started keys are the certificates' keys", func(t *testing.T) {
		made := recordKeys(t)
		caKey, err := StartKey("")
		must(t, err)
		leafKey, err := StartKey(RSA4096)
		must(t, err)
		started := waitKeys(t, made, 2)
		res := generate(t, GenerateOptions{Dir: t.TempDir(), Host: "registry.local", KeyType: RSA4096, CAKeyType: RSA4096, PendingCAKey: caKey, PendingKey: leafKey})
		kinds, keys := made()
		if len(keys) != 2 {
			t.Fatalf("Generate made %d keys of its own, want none", len(keys)-2)
		}
		if slices.Sort(kinds); !slices.Equal(kinds, []KeyType{"", RSA4096}) {
			t.Errorf("keys were asked for as %q", kinds)
		}
		// Which of the two goroutines finished first is not known: the CA's
		// key is one of the keys started, the server's the other.
		ca, leaf := res.CA.Key.Public(), res.Leaf.Key.Public()
		if !(publicKeysEqual(ca, started[0].Public()) && publicKeysEqual(leaf, started[1].Public()) ||
			publicKeysEqual(ca, started[1].Public()) && publicKeysEqual(leaf, started[0].Public())) {
			t.Error("the CA and the server certificate do not carry the started keys")
		}
		if !publicKeysEqual(res.Leaf.Cert.PublicKey, leaf) || !publicKeysEqual(res.CA.Cert.PublicKey, ca) {
			t.Error("a certificate does not carry its key")
		}
	})

	t.Run("a key of another type is left unused", func(t *testing.T) {
		made := recordKeys(t)
		pending, err := StartKey(RSA2048)
		must(t, err)
		waitKeys(t, made, 1)
		res := generate(t, GenerateOptions{Dir: t.TempDir(), Host: "registry.local", KeyType: ECDSAP256, CAKeyType: ECDSAP256, PendingKey: pending, PendingCAKey: pending})
		kinds, keys := made()
		if !slices.Equal(kinds, []KeyType{RSA2048, ECDSAP256, ECDSAP256}) {
			t.Fatalf("keys made: %q, want the pending RSA2048 and two ECDSA keys for Generate", kinds)
		}
		for _, k := range []crypto.PublicKey{res.CA.Key.Public(), res.Leaf.Key.Public()} {
			if publicKeysEqual(k, keys[0].Public()) {
				t.Error("a certificate carries the key of the wrong type")
			}
		}
		if pending.take(RSA2048) == nil {
			t.Error("the unused key was taken")
		}
	})

	t.Run("a reused CA leaves its pending key, and a key is taken once", func(t *testing.T) {
		made := recordKeys(t)
		dir := t.TempDir()
		generate(t, GenerateOptions{Dir: dir, Host: "registry.local"})
		caKey, err := StartKey("")
		must(t, err)
		leafKey, err := StartKey("")
		must(t, err)
		waitKeys(t, made, 4)
		res := generate(t, GenerateOptions{Dir: dir, Host: "registry.local", Force: true, KeyType: RSA4096, CAKeyType: RSA4096, PendingCAKey: caKey, PendingKey: leafKey})
		if !res.CAReused {
			t.Fatal("the CA was not reused")
		}
		if _, keys := made(); len(keys) != 4 {
			t.Errorf("Generate made %d keys of its own, want none", len(keys)-4)
		}
		if caKey.take("") == nil {
			t.Error("the CA's pending key was taken, though the CA was reused")
		}
		generate(t, GenerateOptions{Dir: dir, Host: "registry.local", Force: true, KeyType: RSA4096, PendingKey: leafKey})
		if _, keys := made(); len(keys) != 5 {
			t.Errorf("a second Generate with a taken key made %d keys, want 1", len(keys)-4)
		}
	})

	t.Run("cancelled while a pending key is made", func(t *testing.T) {
		release := make(chan struct{})
		orig := generateKey
		generateKey = func(k KeyType, r io.Reader) (crypto.Signer, error) {
			<-release
			return orig(ECDSAP256, r)
		}
		t.Cleanup(func() { generateKey = orig })
		defer close(release)
		pending, err := StartKey("")
		must(t, err)

		dir := filepath.Join(t.TempDir(), "certs")
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := Generate(ctx, GenerateOptions{Dir: dir, Host: "registry.local", PendingKey: pending, PendingCAKey: pending})
			done <- err
		}()
		cancel()
		select {
		case err := <-done:
			if err != context.Canceled {
				t.Fatalf("err = %v, want ctx.Err() itself", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Generate did not return after its context was cancelled")
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the folder exists after a cancelled run (stat: %v)", err)
		}
	})

	t.Run("an unknown type is refused at once", func(t *testing.T) {
		if _, err := StartKey("dsa"); err == nil || !strings.Contains(err.Error(), "unknown key type") {
			t.Errorf("err = %v, want the unknown key type", err)
		}
	})
}
