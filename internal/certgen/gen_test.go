package certgen

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestGenerateSelfSigned(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	res := generate(t, GenerateOptions{Dir: dir, Host: "registry.local", SANs: []string{"10.0.0.5", "2001:db8::5"}, SelfSigned: true, Now: fixedClock(testNow)})
	files := Files{Dir: dir}
	if !res.SelfSigned || res.CA != nil || res.CAReused {
		t.Errorf("SelfSigned = %v, CA = %v, CAReused = %v; want true, nil, false", res.SelfSigned, res.CA, res.CAReused)
	}
	wantWritten := []string{files.TLSKey(), files.TLSCert(), files.CACert(), files.Chain()}
	if !slices.Equal(res.Written, wantWritten) {
		t.Errorf("Written = %q, want %q", res.Written, wantWritten)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"ca.crt", "chain.pem", "tls.crt", "tls.key"}) {
		t.Errorf("folder holds %q, want no ca.key", names)
	}
	for path, want := range map[string]os.FileMode{files.TLSKey(): 0o600, files.TLSCert(): 0o644, files.CACert(): 0o644, files.Chain(): 0o644} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode = %v, want %v", filepath.Base(path), fi.Mode().Perm(), want)
		}
	}
	leafPEM := readFile(t, files.TLSCert())
	for _, p := range []string{files.CACert(), files.Chain()} {
		if !bytes.Equal(readFile(t, p), leafPEM) {
			t.Errorf("%s differs from tls.crt; want the one certificate", filepath.Base(p))
		}
	}
	c := readCert(t, files.TLSCert())
	if c.IsCA || c.Issuer.String() != c.Subject.String() {
		t.Errorf("IsCA = %v, issuer %q, subject %q: want a self-issued server certificate", c.IsCA, c.Issuer, c.Subject)
	}
	roots, err := LoadCertPool(files.CACert())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"registry.local", "10.0.0.5", "2001:db8::5"} {
		if _, err := c.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, CurrentTime: testNow, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("verify for %s against ca.crt: %v", name, err)
		}
	}
	if err := CheckLeaf(dir, "registry.local", []string{"10.0.0.5"}, testNow); err != nil {
		t.Errorf("CheckLeaf refuses the self-signed layout, so init would not keep it: %v", err)
	}
}

// TestGenerateSwitchesLayouts moves a folder between the two layouts: each
// move needs --force, and never leaves a CA key behind a certificate that
// is not its own.
func TestGenerateSwitchesLayouts(t *testing.T) {
	ctx := context.Background()
	base := GenerateOptions{Host: "registry.local", KeyType: ECDSAP256, CAKeyType: ECDSAP256}

	t.Run("self-signed, then a CA", func(t *testing.T) {
		dir := t.TempDir()
		opts := base
		opts.Dir, opts.SelfSigned = dir, true
		generate(t, opts)

		opts.SelfSigned = false
		_, err := Generate(ctx, opts)
		checkErr(t, err, "ca.crt already exist: pass --force to replace them")
		if !errors.Is(err, ErrExists) {
			t.Errorf("err = %v, want ErrExists", err)
		}
		opts.Force = true
		res := generate(t, opts)
		if res.CAReused || res.SelfSigned {
			t.Errorf("CAReused = %v, SelfSigned = %v; want a new CA", res.CAReused, res.SelfSigned)
		}
		ca := readCert(t, Files{Dir: dir}.CACert())
		if !ca.IsCA {
			t.Error("ca.crt is still the self-signed server certificate")
		}
		if err := CheckLeaf(dir, "registry.local", nil, time.Now()); err != nil {
			t.Errorf("new leaf does not chain to the new CA: %v", err)
		}
	})

	t.Run("a CA, then self-signed", func(t *testing.T) {
		dir := t.TempDir()
		opts := base
		opts.Dir = dir
		generate(t, opts)
		before := readFile(t, Files{Dir: dir}.CACert())
		opts.SelfSigned, opts.Force = true, true
		_, err := Generate(ctx, opts)
		checkErr(t, err, "holds a CA: a self-signed certificate would replace the ca.crt clients trust")
		if !bytes.Equal(readFile(t, Files{Dir: dir}.CACert()), before) {
			t.Error("ca.crt changed after a refused run")
		}
	})

	t.Run("self-signed twice", func(t *testing.T) {
		dir := t.TempDir()
		opts := base
		opts.Dir, opts.SelfSigned = dir, true
		first := generate(t, opts)
		_, err := Generate(ctx, opts)
		checkErr(t, err, "tls.key and "+Files{Dir: dir}.CACert()+" already exist: pass --force")
		opts.Force = true
		second := generate(t, opts)
		if !second.LeafReplaced || first.Leaf.Cert.SerialNumber.Cmp(second.Leaf.Cert.SerialNumber) == 0 {
			t.Errorf("LeafReplaced = %v and serials equal = %v; want a new certificate", second.LeafReplaced, first.Leaf.Cert.SerialNumber.Cmp(second.Leaf.Cert.SerialNumber) == 0)
		}
	})
}

// TestGenerateKeyTypes checks --key-type reaches the server key, while the
// CA keeps its own key type.
func TestGenerateKeyTypes(t *testing.T) {
	tests := []struct {
		keyType   KeyType
		wantType  string
		wantBits  int
		wantUsage x509.KeyUsage
	}{
		{RSA2048, "RSA", 2048, x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment},
		{RSA3072, "RSA", 3072, x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment},
		{ECDSAP256, "ECDSA P-256", 256, x509.KeyUsageDigitalSignature},
	}
	for _, tt := range tests {
		t.Run(string(tt.keyType), func(t *testing.T) {
			res := generate(t, GenerateOptions{Dir: t.TempDir(), Host: "registry.local", KeyType: tt.keyType, CAKeyType: ECDSAP256})
			c := readCert(t, res.Files.TLSCert())
			if typ, bits := KeyDescription(c.PublicKey); typ != tt.wantType || bits != tt.wantBits {
				t.Errorf("server key = %s %d, want %s %d", typ, bits, tt.wantType, tt.wantBits)
			}
			if c.KeyUsage != tt.wantUsage {
				t.Errorf("KeyUsage = %v, want %v", c.KeyUsage, tt.wantUsage)
			}
			key, err := LoadPrivateKey(res.Files.TLSKey())
			if err != nil {
				t.Fatal(err)
			}
			if !publicKeysEqual(key.Public(), c.PublicKey) {
				t.Error("tls.key is not the certificate's key")
			}
			if _, ok := readCert(t, res.Files.CACert()).PublicKey.(*ecdsa.PublicKey); !ok {
				t.Error("the CA key type followed the server's")
			}
		})
	}
}

// TestOpenSSLReadsCertificates reads the generated files with openssl x509,
// as an operator checking them by hand would.
func TestOpenSSLReadsCertificates(t *testing.T) {
	openssl := lookOpenSSL(t)
	res := generate(t, GenerateOptions{Dir: t.TempDir(), Host: "registry.local", SANs: []string{"registry.example.com", "10.0.0.5", "2001:db8::5"}, Key: testRSAKey(t)})
	tests := []struct {
		name string
		file string
		args []string
		want []string
	}{
		{"server SANs", res.Files.TLSCert(), []string{"-ext", "subjectAltName"},
			[]string{"DNS:registry.local", "DNS:registry.example.com", "IP Address:10.0.0.5", "IP Address:2001:DB8:0:0:0:0:0:5"}},
		{"server usages", res.Files.TLSCert(), []string{"-ext", "keyUsage,extendedKeyUsage,basicConstraints"},
			[]string{"Digital Signature, Key Encipherment", "TLS Web Server Authentication", "CA:FALSE"}},
		{"server subject", res.Files.TLSCert(), []string{"-subject"}, []string{"CN = registry.local"}},
		{"CA constraints", res.Files.CACert(), []string{"-ext", "basicConstraints,keyUsage"},
			[]string{"CA:TRUE, pathlen:0", "Certificate Sign, CRL Sign"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"x509", "-in", tt.file, "-noout"}, tt.args...)
			out, err := exec.Command(openssl, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("openssl %s lacks %q:\n%s", strings.Join(args, " "), w, out)
				}
			}
		})
	}
}

func lookOpenSSL(t *testing.T) string {
	t.Helper()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl is needed for this test and is not on PATH (CI installs it; on Debian/Ubuntu: apt-get install openssl): %v", err)
	}
	return openssl
}

func TestDescribe(t *testing.T) {
	res := generate(t, GenerateOptions{Dir: t.TempDir(), Host: "registry.local", SANs: []string{"10.0.0.5", "::1"}, Key: testRSAKey(t), Now: fixedClock(testNow)})
	now := testNow.Add(100 * 24 * time.Hour)
	leaf := Describe(res.Leaf.Cert, now)
	if leaf.Subject != "CN=registry.local,O=paxsetup" || leaf.Issuer != res.CA.Cert.Subject.String() {
		t.Errorf("subject %q, issuer %q", leaf.Subject, leaf.Issuer)
	}
	if !slices.Equal(leaf.DNSNames, []string{"registry.local"}) || !slices.Equal(leaf.IPAddresses, []string{"10.0.0.5", "::1"}) {
		t.Errorf("names %q %q", leaf.DNSNames, leaf.IPAddresses)
	}
	if leaf.ValidityDays != 825 || leaf.DaysLeft != 724 {
		t.Errorf("ValidityDays = %d, DaysLeft = %d; want 825, 724", leaf.ValidityDays, leaf.DaysLeft)
	}
	if leaf.KeyType != "RSA" || leaf.KeyBits != 2048 {
		t.Errorf("key %s %d", leaf.KeyType, leaf.KeyBits)
	}
	if !slices.Equal(leaf.KeyUsage, []string{"digitalSignature", "keyEncipherment"}) || !slices.Equal(leaf.ExtKeyUsage, []string{"serverAuth"}) {
		t.Errorf("usages %q %q", leaf.KeyUsage, leaf.ExtKeyUsage)
	}
	if leaf.SelfSigned || leaf.IsCA || len(leaf.SHA256) != 64 || leaf.Serial == "" {
		t.Errorf("SelfSigned %v IsCA %v SHA256 %q Serial %q", leaf.SelfSigned, leaf.IsCA, leaf.SHA256, leaf.Serial)
	}
	ca := Describe(res.CA.Cert, now)
	if !ca.SelfSigned || !ca.IsCA || !slices.Equal(ca.KeyUsage, []string{"keyCertSign", "cRLSign"}) || ca.KeyType != "ECDSA P-256" {
		t.Errorf("CA: SelfSigned %v IsCA %v KeyUsage %q KeyType %q", ca.SelfSigned, ca.IsCA, ca.KeyUsage, ca.KeyType)
	}
	if expired := Describe(res.Leaf.Cert, res.Leaf.Cert.NotAfter.Add(36*time.Hour)); expired.DaysLeft != -2 {
		t.Errorf("DaysLeft 36 hours after expiry = %d, want -2", expired.DaysLeft)
	}
	if _, ok := res.Leaf.Cert.PublicKey.(*rsa.PublicKey); !ok {
		t.Fatal("test needs an RSA leaf")
	}
}
