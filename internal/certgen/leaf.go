package certgen

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// DefaultLeafDays is a server certificate's validity: Apple clients reject
// TLS server certificates valid for more than 825 days
// (https://support.apple.com/en-us/103769).
const DefaultLeafDays = 825

// MaxLeafDays bounds a server certificate's validity at ten years, far
// beyond what public CAs issue (398 days) and far below the ~106,000 days at
// which days*24h overflows time.Duration and NotAfter wraps into the past.
const MaxLeafDays = 3650

// ValidateDays checks a --days value.
func ValidateDays(days int) error {
	if days < 1 || days > MaxLeafDays {
		return fmt.Errorf("%d days is out of range: use 1 to %d (the default %d is the most Apple clients accept)", days, MaxLeafDays, DefaultLeafDays)
	}
	return nil
}

// LeafOptions describes a server certificate. Every zero value but Host
// means the default.
type LeafOptions struct {
	// Host is the registry's DNS name or IP: the CN, and the first SAN.
	Host string
	// SANs are further DNS names (a leading "*." allowed) and IPs that
	// clients use to reach the registry.
	SANs []string
	// Days is the validity; 0 means DefaultLeafDays.
	Days int
	// KeyType is the key made when Key is nil; "" means DefaultKeyType.
	KeyType KeyType
	// Key, when set, is used instead of making a new key.
	Key crypto.Signer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source for the serial number; nil means crypto/rand.Reader.
	Rand io.Reader
}

// Leaf is a server certificate for the registry and its key: the content of
// tls.crt and tls.key.
type Leaf struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// CertPEM is the server certificate alone in PEM.
func (l *Leaf) CertPEM() []byte { return certPEM(l.Cert) }

// KeyPEM is the server key as PKCS#8 PEM ("PRIVATE KEY"), the form the
// registry's Go TLS stack reads.
func (l *Leaf) KeyPEM() ([]byte, error) { return keyPEM(l.Key) }

// Issue signs a server certificate for opts.Host and opts.SANs with the CA.
// The certificate never outlives the CA: past the CA's NotAfter clients
// reject the chain anyway, so Days is cut short there.
func (ca *CA) Issue(opts LeafOptions) (*Leaf, error) {
	if ca == nil || ca.Cert == nil || ca.Key == nil {
		return nil, errors.New("issue certificate: no CA certificate and key")
	}
	if err := checkLeafOptions(opts); err != nil {
		return nil, err
	}
	now := nowOrDefault(opts.Now)
	if err := ca.canIssue(opts.Host, now); err != nil {
		return nil, err
	}
	tmpl, key, err := leafTemplate(opts, now)
	if err != nil {
		return nil, err
	}
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	tmpl.AuthorityKeyId = ca.Cert.SubjectKeyId
	return signLeaf(tmpl, ca.Cert, key, ca.Key, opts.Rand)
}

// canIssue checks what would make the CA's leaf useless, before a slow key
// is made for it.
func (ca *CA) canIssue(host string, now time.Time) error {
	// A leaf cut short to under a day would fail CheckLeaf on the next run,
	// and be re-issued just as short: only a new CA helps.
	if ca.Cert.NotAfter.Sub(now) < MinRemaining {
		return fmt.Errorf("the CA %q is valid only until %s: a new CA is needed (remove ca.crt and ca.key, then trust the new ca.crt on every client)",
			ca.Cert.Subject.CommonName, ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	// Equal subjects would make the leaf look self-signed to chain builders
	// (openssl then reports "self-signed certificate").
	if strings.EqualFold(ca.Cert.Subject.CommonName, host) {
		return fmt.Errorf("the CA's CN %q equals the host: a CA's CN must differ from the server's", host)
	}
	return nil
}

// SelfSigned makes one server certificate that is its own issuer, for
// operators who would rather trust the certificate itself than a CA. It
// carries the same SANs and usages as one from Issue.
func SelfSigned(opts LeafOptions) (*Leaf, error) {
	if err := checkLeafOptions(opts); err != nil {
		return nil, err
	}
	tmpl, key, err := leafTemplate(opts, nowOrDefault(opts.Now))
	if err != nil {
		return nil, err
	}
	tmpl.AuthorityKeyId = tmpl.SubjectKeyId
	return signLeaf(tmpl, tmpl, key, key, opts.Rand)
}

// checkLeafOptions does the cheap checks, so that a typo fails before a slow
// RSA key is made.
func checkLeafOptions(opts LeafOptions) error {
	if err := ValidateHost(opts.Host); err != nil {
		return err
	}
	for _, s := range opts.SANs {
		if err := ValidateSAN(s); err != nil {
			return err
		}
	}
	if opts.Days != 0 {
		if err := ValidateDays(opts.Days); err != nil {
			return fmt.Errorf("--days: %w", err)
		}
	}
	if opts.Key == nil {
		return opts.KeyType.check()
	}
	return nil
}

func leafTemplate(opts LeafOptions, now time.Time) (*x509.Certificate, crypto.Signer, error) {
	r := randOrDefault(opts.Rand)
	days := opts.Days
	if days == 0 {
		days = DefaultLeafDays
	}
	key := opts.Key
	if key == nil {
		var err error
		if key, err = generateKey(opts.KeyType, r); err != nil {
			return nil, nil, fmt.Errorf("make server key: %w", err)
		}
	}
	serial, err := randomSerial(r)
	if err != nil {
		return nil, nil, err
	}
	ski, err := subjectKeyID(key.Public())
	if err != nil {
		return nil, nil, err
	}
	usage := x509.KeyUsageDigitalSignature
	// RSA key exchange (TLS 1.2 without ECDHE) encrypts with the server's key;
	// an ECDSA key cannot do that, so only RSA keys get KeyEncipherment.
	if _, ok := key.Public().(*rsa.PublicKey); ok {
		usage |= x509.KeyUsageKeyEncipherment
	}
	dns, ips := certNames(opts.Host, opts.SANs)
	notBefore, notAfter := validity(now, days)
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: opts.Host, Organization: []string{Organization}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              usage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  false,
		SubjectKeyId:          ski,
		DNSNames:              dns,
		IPAddresses:           ips,
	}, key, nil
}

func signLeaf(tmpl, parent *x509.Certificate, key, signer crypto.Signer, r io.Reader) (*Leaf, error) {
	der, err := x509.CreateCertificate(randOrDefault(r), tmpl, parent, key.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("sign certificate for %s: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse certificate for %s: %w", tmpl.Subject.CommonName, err)
	}
	return &Leaf{Cert: cert, Key: key}, nil
}
