package certgen

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"io"
	"time"
)

// Defaults for a CA made by NewCA.
const (
	// DefaultCADays is the CA's validity: ten years, so that leaves can be
	// renewed under the same CA long after clients were told to trust it.
	// Apple's 825-day limit applies to server certificates only.
	DefaultCADays = 3650
	// Organization is the O of every certificate paxsetup makes, so an
	// operator can tell them apart in a trust store.
	Organization = "paxsetup"
)

// CAOptions tunes NewCA. Every zero value means the default.
type CAOptions struct {
	// CommonName names the CA in trust stores. Empty means
	// "paxsetup local CA <8 hex digits>".
	CommonName string
	// Days is the validity; 0 means DefaultCADays.
	Days int
	// KeyType is the key made when Key is nil; "" means DefaultKeyType.
	KeyType KeyType
	// Key, when set, is used instead of making a new key.
	Key crypto.Signer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source for the serial number and the name suffix; nil
	// means crypto/rand.Reader.
	Rand io.Reader
}

// CA is a certificate authority that signs the registry's server
// certificate: its certificate, which clients trust, and its key.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// NewCA makes a root CA that may sign server certificates but no other CA
// (MaxPathLenZero): if its key leaks, the damage stops at leaves.
func NewCA(opts CAOptions) (*CA, error) {
	r := randOrDefault(opts.Rand)
	days := opts.Days
	if days == 0 {
		days = DefaultCADays
	}
	if days < 0 {
		return nil, fmt.Errorf("CA validity must be at least 1 day (got %d)", days)
	}
	cn := opts.CommonName
	if cn == "" {
		// The spaces keep it from ever being a valid host name, so it cannot
		// equal a server's CN (REFERENCE: the CA's CN differs from the
		// server's); the suffix tells one install's CA from another's.
		suffix := make([]byte, 4)
		if _, err := io.ReadFull(r, suffix); err != nil {
			return nil, fmt.Errorf("make CA name: %w", err)
		}
		cn = "paxsetup local CA " + hex.EncodeToString(suffix)
	}
	key := opts.Key
	if key == nil {
		var err error
		if key, err = generateKey(opts.KeyType, r); err != nil {
			return nil, fmt.Errorf("make CA key: %w", err)
		}
	}
	serial, err := randomSerial(r)
	if err != nil {
		return nil, err
	}
	ski, err := subjectKeyID(key.Public())
	if err != nil {
		return nil, err
	}
	notBefore, notAfter := validity(nowOrDefault(opts.Now), days)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{Organization}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		SubjectKeyId:          ski,
	}
	der, err := x509.CreateCertificate(r, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("sign CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// CertPEM is the CA certificate in PEM, the content of ca.crt.
func (ca *CA) CertPEM() []byte { return certPEM(ca.Cert) }

// KeyPEM is the CA key as PKCS#8 PEM ("PRIVATE KEY"), the content of ca.key.
func (ca *CA) KeyPEM() ([]byte, error) { return keyPEM(ca.Key) }

// LoadCA reads a CA certificate and its key, so that a renewed server
// certificate is signed by the CA clients already trust. It fails when the
// certificate is not a CA or the key is not the certificate's. When
// certPath holds several certificates the first is the CA.
func LoadCA(certPath, keyPath string) (*CA, error) {
	certs, err := readCertificates(certPath)
	if err != nil {
		return nil, err
	}
	cert := certs[0]
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return nil, fmt.Errorf("%s is not a CA certificate (its basic constraints do not say CA:TRUE)", certPath)
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("%s is not allowed to sign certificates (its key usage lacks keyCertSign)", certPath)
	}
	key, err := readPrivateKey(keyPath)
	if err != nil {
		return nil, err
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("%s is not the key of %s", keyPath, certPath)
	}
	return &CA{Cert: cert, Key: key}, nil
}
