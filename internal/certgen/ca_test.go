package certgen

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDefaultKeyIsRSA4096 makes real RSA-4096 keys: the only test that pays
// for them, since every other test injects small or ECDSA ones.
func TestDefaultKeyIsRSA4096(t *testing.T) {
	checkRSA4096 := func(t *testing.T, what string, pub any) {
		t.Helper()
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			t.Fatalf("%s key is %T, want *rsa.PublicKey", what, pub)
		}
		if got := k.N.BitLen(); got != 4096 {
			t.Errorf("%s key has %d bits, want 4096", what, got)
		}
	}
	t.Run("NewCA", func(t *testing.T) {
		t.Parallel()
		ca, err := NewCA(CAOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkRSA4096(t, "CA", ca.Key.Public())
		checkRSA4096(t, "CA certificate", ca.Cert.PublicKey)
	})
	t.Run("Generate", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		if _, err := Generate(context.Background(), GenerateOptions{Dir: dir, Host: "registry.local"}); err != nil {
			t.Fatal(err)
		}
		files := Files{Dir: dir}
		checkRSA4096(t, "ca.crt", readCert(t, files.CACert()).PublicKey)
		checkRSA4096(t, "tls.crt", readCert(t, files.TLSCert()).PublicKey)
		ca, err := LoadCA(files.CACert(), files.CAKey())
		if err != nil {
			t.Fatal(err)
		}
		checkRSA4096(t, "ca.key", ca.Key.Public())
	})
}

func TestNewCA(t *testing.T) {
	ca := testCA(t, CAOptions{Now: fixedClock(testNow)})
	c := ca.Cert

	if !c.IsCA || !c.BasicConstraintsValid {
		t.Errorf("IsCA = %v, BasicConstraintsValid = %v, want both true", c.IsCA, c.BasicConstraintsValid)
	}
	if c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("MaxPathLen = %d, MaxPathLenZero = %v, want 0 and true", c.MaxPathLen, c.MaxPathLenZero)
	}
	if want := x509.KeyUsageCertSign | x509.KeyUsageCRLSign; c.KeyUsage != want {
		t.Errorf("KeyUsage = %v, want %v", c.KeyUsage, want)
	}
	if !bytes.Equal(c.SubjectKeyId, spkiSHA1(t, c)) {
		t.Errorf("SubjectKeyId = %x, want the SHA-1 of the public key bits %x", c.SubjectKeyId, spkiSHA1(t, c))
	}
	if got := c.NotAfter.Sub(c.NotBefore); got != DefaultCADays*24*time.Hour {
		t.Errorf("validity = %v, want %d days", got, DefaultCADays)
	}
	if want := testNow.Add(-time.Hour); !c.NotBefore.Equal(want) {
		t.Errorf("NotBefore = %v, want %v (now minus an hour for clock skew)", c.NotBefore, want)
	}
	if !strings.HasPrefix(c.Subject.CommonName, "paxsetup local CA ") {
		t.Errorf("CN = %q, want the paxsetup local CA prefix", c.Subject.CommonName)
	}
	if ValidateHost(c.Subject.CommonName) == nil {
		t.Errorf("CN %q is a valid host name, so it could equal a server's CN", c.Subject.CommonName)
	}
	if len(c.Subject.Organization) != 1 || c.Subject.Organization[0] != Organization {
		t.Errorf("O = %q, want [%q]", c.Subject.Organization, Organization)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("CA is not self-signed: %v", err)
	}
	if n := c.SerialNumber.BitLen(); n < 96 || n > 128 {
		t.Errorf("serial has %d bits, want about 128", n)
	}

	other := testCA(t, CAOptions{})
	if other.Cert.Subject.CommonName == c.Subject.CommonName {
		t.Errorf("two CAs share the CN %q; each install's CA should be told apart", c.Subject.CommonName)
	}
	if other.Cert.SerialNumber.Cmp(c.SerialNumber) == 0 {
		t.Error("two CAs share a serial number")
	}
}

func TestNewCAOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    CAOptions
		wantErr string
		check   func(t *testing.T, ca *CA)
	}{
		{
			name: "common name",
			opts: CAOptions{CommonName: "Example Corp Registry CA"},
			check: func(t *testing.T, ca *CA) {
				if got := ca.Cert.Subject.CommonName; got != "Example Corp Registry CA" {
					t.Errorf("CN = %q", got)
				}
			},
		},
		{
			name: "days",
			opts: CAOptions{Days: 30, Now: fixedClock(testNow)},
			check: func(t *testing.T, ca *CA) {
				if got := ca.Cert.NotAfter.Sub(ca.Cert.NotBefore); got != 30*24*time.Hour {
					t.Errorf("validity = %v, want 30 days", got)
				}
			},
		},
		{
			name: "ecdsa key type",
			opts: CAOptions{KeyType: ECDSAP256},
			check: func(t *testing.T, ca *CA) {
				if _, ok := ca.Key.(*ecdsa.PrivateKey); !ok {
					t.Errorf("key is %T, want ECDSA", ca.Key)
				}
			},
		},
		{name: "negative days", opts: CAOptions{Days: -1}, wantErr: "CA validity must be at least 1 day (got -1)"},
		{name: "unknown key type", opts: CAOptions{KeyType: "dsa"}, wantErr: `unknown key type "dsa"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca, err := NewCA(tt.opts)
			checkErr(t, err, tt.wantErr)
			if tt.check != nil {
				tt.check(t, ca)
			}
		})
	}
}

func TestLoadCA(t *testing.T) {
	ca := testCA(t, CAOptions{})
	caKey, err := ca.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	other := testCA(t, CAOptions{})
	otherKey, err := other.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(LeafOptions{Host: "registry.local", Key: ecKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	leafKey, err := leaf.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	rsaCA := testCA(t, CAOptions{Key: testRSAKey(t)})
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(testRSAKey(t))})
	ecDER, err := x509.MarshalECPrivateKey(ca.Key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	sec1 := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{0x30, 0}})

	tests := []struct {
		name    string
		cert    []byte // nil: no file
		key     []byte
		wantErr string
	}{
		{"pair written by paxsetup", ca.CertPEM(), caKey, ""},
		{"pkcs1 rsa key from openssl", rsaCA.CertPEM(), pkcs1, ""},
		{"sec1 ec key from openssl", ca.CertPEM(), sec1, ""},
		{"key of another CA", ca.CertPEM(), otherKey, "ca.key is not the key of"},
		{"server certificate as CA", leaf.CertPEM(), leafKey, "is not a CA certificate"},
		{"encrypted key", ca.CertPEM(), encrypted, "the key is encrypted"},
		{"certificate file without a certificate", caKey, caKey, "no PEM CERTIFICATE block found"},
		{"key file without a key", ca.CertPEM(), ca.CertPEM(), "no PEM private key block found"},
		{"missing certificate", nil, caKey, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			certPath, keyPath := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
			if tt.cert != nil {
				writeFile(t, certPath, tt.cert)
			}
			writeFile(t, keyPath, tt.key)
			got, err := LoadCA(certPath, keyPath)
			checkErr(t, err, tt.wantErr)
			if err != nil {
				return
			}
			if !publicKeysEqual(got.Cert.PublicKey, got.Key.Public()) {
				t.Error("loaded key does not match the loaded certificate")
			}
			// The loaded CA must be able to sign.
			l, err := got.Issue(LeafOptions{Host: "registry.local", Key: ecKey(t)})
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Cert.CheckSignatureFrom(got.Cert); err != nil {
				t.Errorf("leaf signed by the loaded CA does not check: %v", err)
			}
		})
	}
	t.Run("missing file wraps fs.ErrNotExist", func(t *testing.T) {
		dir := t.TempDir()
		_, err := LoadCA(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("err = %v, want one wrapping fs.ErrNotExist", err)
		}
	})
}

func TestParseCertificatesPEM(t *testing.T) {
	ca := testCA(t, CAOptions{})
	leaf, err := ca.Issue(LeafOptions{Host: "registry.local", Key: ecKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	key, err := leaf.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    []byte
		wantCN  []string
		wantErr string
	}{
		{"chain in order", append(leaf.CertPEM(), ca.CertPEM()...), []string{"registry.local", ca.Cert.Subject.CommonName}, ""},
		{"key blocks skipped", append(key, leaf.CertPEM()...), []string{"registry.local"}, ""},
		{"empty", nil, nil, "no PEM CERTIFICATE block found"},
		{"not pem", []byte("hello"), nil, "no PEM CERTIFICATE block found"},
		{"broken certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}), nil, "PEM block 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certs, err := ParseCertificatesPEM(tt.data)
			checkErr(t, err, tt.wantErr)
			var cns []string
			for _, c := range certs {
				cns = append(cns, c.Subject.CommonName)
			}
			if strings.Join(cns, "|") != strings.Join(tt.wantCN, "|") {
				t.Errorf("CNs = %q, want %q", cns, tt.wantCN)
			}
		})
	}
}

func TestLoadCertPool(t *testing.T) {
	ca := testCA(t, CAOptions{})
	other := testCA(t, CAOptions{})
	leaf, err := ca.Issue(LeafOptions{Host: "registry.local", Key: ecKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "ca.crt")
	writeFile(t, path, ca.CertPEM())
	otherPath := filepath.Join(dir, "other.crt")
	writeFile(t, otherPath, other.CertPEM())

	tests := []struct {
		name    string
		path    string
		wantErr string
	}{
		{"the issuing CA", path, ""},
		{"another CA", otherPath, "certificate signed by unknown authority"},
		{"missing file", filepath.Join(dir, "nope.crt"), "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool, err := LoadCertPool(tt.path)
			if err != nil {
				checkErr(t, err, tt.wantErr)
				return
			}
			_, err = leaf.Cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: "registry.local"})
			checkErr(t, err, tt.wantErr)
		})
	}
}
