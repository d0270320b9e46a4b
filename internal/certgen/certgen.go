// Package certgen makes the TLS material a private pack registry needs: a
// local CA, a server certificate it signs (or one self-signed certificate),
// and the files the registry and Palette read (ca.crt, ca.key, tls.crt,
// tls.key, chain.pem). Every option's zero value means the default, so tests
// can pin the clock and inject keys.
package certgen

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // RFC 5280 names SHA-1 for key identifiers; it is not a signature.
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"
)

// KeyType names a key algorithm and size for a CA or a server certificate.
// The zero value means RSA4096.
type KeyType string

// The key types paxsetup can make.
const (
	RSA2048   KeyType = "rsa2048"
	RSA3072   KeyType = "rsa3072"
	RSA4096   KeyType = "rsa4096"
	ECDSAP256 KeyType = "ecdsa-p256"
)

// DefaultKeyType is what an empty KeyType means. RSA rather than ECDSA
// because every client of the registry, old ones included, accepts it.
const DefaultKeyType = RSA4096

// KeyTypes lists the accepted key types, for flag help and completion.
func KeyTypes() []KeyType {
	return []KeyType{RSA2048, RSA3072, RSA4096, ECDSAP256}
}

// ParseKeyType turns a --key-type flag value into a KeyType. An empty string
// means DefaultKeyType; case and surrounding spaces do not matter.
func ParseKeyType(s string) (KeyType, error) {
	k := KeyType(strings.ToLower(strings.TrimSpace(s)))
	if k == "" {
		return DefaultKeyType, nil
	}
	if err := k.check(); err != nil {
		return "", err
	}
	return k, nil
}

func (k KeyType) orDefault() KeyType {
	if k == "" {
		return DefaultKeyType
	}
	return k
}

func (k KeyType) check() error {
	for _, known := range KeyTypes() {
		if k.orDefault() == known {
			return nil
		}
	}
	names := make([]string, 0, len(KeyTypes()))
	for _, known := range KeyTypes() {
		names = append(names, string(known))
	}
	return fmt.Errorf("unknown key type %q (use one of: %s)", string(k), strings.Join(names, ", "))
}

// generateKey is a variable so that tests can stand in a key source that
// blocks, to prove that Generate honours cancellation.
var generateKey = newKey

// newKey makes a key of type k. Since Go 1.26 the standard library ignores r
// and reads the system's secure source unless GODEBUG=cryptocustomrand=1
// (https://go.dev/doc/godebug#go-126); r is passed so that setting still works.
func newKey(k KeyType, r io.Reader) (crypto.Signer, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	var bits int
	switch k.orDefault() {
	case ECDSAP256:
		key, err := ecdsa.GenerateKey(elliptic.P256(), r)
		if err != nil {
			return nil, fmt.Errorf("generate %s key: %w", ECDSAP256, err)
		}
		return key, nil
	case RSA2048:
		bits = 2048
	case RSA3072:
		bits = 3072
	default:
		bits = 4096
	}
	key, err := rsa.GenerateKey(r, bits)
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", k.orDefault(), err)
	}
	return key, nil
}

// serialLimit bounds serial numbers to 128 bits: random enough that two
// certificates never share one (CA/Browser Forum asks for at least 64 bits),
// and short of RFC 5280's 20-octet ceiling.
var serialLimit = new(big.Int).Lsh(big.NewInt(1), 128)

func randomSerial(r io.Reader) (*big.Int, error) {
	n, err := rand.Int(r, serialLimit)
	if err != nil {
		return nil, fmt.Errorf("make serial number: %w", err)
	}
	// RFC 5280 section 4.1.2.2: the serial must be positive.
	if n.Sign() == 0 {
		return nil, errors.New("make serial number: the random source returned zero")
	}
	return n, nil
}

// subjectKeyID is RFC 5280 section 4.2.1.2 method 1: the SHA-1 of the
// subjectPublicKey bits. Set explicitly because Go 1.25 and later default to
// a truncated SHA-256 for CAs and set nothing for leaves.
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	var spki struct {
		Algorithm        pkix.AlgorithmIdentifier
		SubjectPublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("decode public key: %w", err)
	}
	sum := sha1.Sum(spki.SubjectPublicKey.Bytes) //nolint:gosec // see the import.
	return sum[:], nil
}

// clockSkew backdates NotBefore so that a client whose clock runs a little
// behind the host's does not see a certificate from the future.
const clockSkew = time.Hour

// validity turns a start time and a day count into NotBefore and NotAfter.
// NotAfter counts from the backdated NotBefore, not from now, so that the
// whole period is exactly days long: Apple counts NotAfter-NotBefore against
// its 825-day limit.
func validity(now time.Time, days int) (notBefore, notAfter time.Time) {
	notBefore = now.UTC().Truncate(time.Second).Add(-clockSkew)
	return notBefore, notBefore.Add(time.Duration(days) * 24 * time.Hour)
}

func certPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

func keyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// publicKeysEqual reports whether a and b are the same public key. Every key
// type in crypto/x509 has an Equal method.
func publicKeysEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

func nowOrDefault(now func() time.Time) time.Time {
	if now == nil {
		return time.Now()
	}
	return now()
}

func randOrDefault(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}
