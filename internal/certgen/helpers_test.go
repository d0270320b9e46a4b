package certgen

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// testNow is a pinned clock for tests about dates.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// ecKey is a fast key for tests that are not about key types.
func ecKey(t *testing.T) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rsaKey is one RSA-2048 key shared by the tests that need an RSA key but
// not a particular one.
var rsaKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

func testRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsaKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testCA(t *testing.T, opts CAOptions) *CA {
	t.Helper()
	if opts.Key == nil {
		opts.Key = ecKey(t)
	}
	ca, err := NewCA(opts)
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	return ca
}

// generate runs Generate with ECDSA keys unless opts names others.
func generate(t *testing.T, opts GenerateOptions) *Result {
	t.Helper()
	if opts.KeyType == "" && opts.Key == nil {
		opts.KeyType = ECDSAP256
	}
	if opts.CAKeyType == "" && opts.CAKey == nil {
		opts.CAKeyType = ECDSAP256
	}
	res, err := Generate(context.Background(), opts)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return res
}

// spkiSHA1 recomputes RFC 5280's key identifier from the certificate's own
// encoded public key.
func spkiSHA1(t *testing.T, cert *x509.Certificate) []byte {
	t.Helper()
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		Key       asn1.BitString
	}
	if _, err := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(spki.Key.Bytes)
	return sum[:]
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	certs, err := ParseCertificatesPEM(readFile(t, path))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return certs[0]
}

// checkErr fails unless err is nil when want is "", or contains want.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q does not contain %q", err, want)
	}
}

func poolOf(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}
