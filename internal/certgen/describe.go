package certgen

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"
)

// CertInfo is what an operator needs to know about one certificate: who it
// names, who issued it, for how long, with which key and for which uses.
type CertInfo struct {
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	SelfSigned  bool      `json:"self_signed"`
	IsCA        bool      `json:"is_ca"`
	DNSNames    []string  `json:"dns_names"`
	IPAddresses []string  `json:"ip_addresses"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	// ValidityDays is NotAfter-NotBefore in whole days; DaysLeft is the
	// whole days from the time given to Describe until NotAfter, negative
	// once expired.
	ValidityDays int      `json:"validity_days"`
	DaysLeft     int      `json:"days_left"`
	KeyType      string   `json:"key_type"`
	KeyBits      int      `json:"key_bits"`
	KeyUsage     []string `json:"key_usage"`
	ExtKeyUsage  []string `json:"ext_key_usage"`
	Serial       string   `json:"serial"`
	SHA256       string   `json:"sha256_fingerprint"`
}

// Describe summarises c as of now.
func Describe(c *x509.Certificate, now time.Time) CertInfo {
	info := CertInfo{
		Subject:      c.Subject.String(),
		Issuer:       c.Issuer.String(),
		SelfSigned:   isSelfSigned(c),
		IsCA:         c.BasicConstraintsValid && c.IsCA,
		DNSNames:     append([]string{}, c.DNSNames...),
		IPAddresses:  []string{},
		NotBefore:    c.NotBefore.UTC(),
		NotAfter:     c.NotAfter.UTC(),
		ValidityDays: int(c.NotAfter.Sub(c.NotBefore) / (24 * time.Hour)),
		KeyUsage:     keyUsageNames(c.KeyUsage),
		ExtKeyUsage:  extKeyUsageNames(c),
		Serial:       strings.ToUpper(c.SerialNumber.Text(16)),
	}
	for _, ip := range c.IPAddresses {
		info.IPAddresses = append(info.IPAddresses, ip.String())
	}
	info.DaysLeft = int(math.Floor(c.NotAfter.Sub(now).Hours() / 24))
	info.KeyType, info.KeyBits = KeyDescription(c.PublicKey)
	sum := sha256.Sum256(c.Raw)
	info.SHA256 = strings.ToUpper(hex.EncodeToString(sum[:]))
	return info
}

// KeyDescription names a public key's algorithm and size: ("RSA", 4096),
// ("ECDSA P-256", 256), ("Ed25519", 256).
func KeyDescription(pub crypto.PublicKey) (string, int) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "RSA", k.N.BitLen()
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name, k.Curve.Params().BitSize
	case ed25519.PublicKey:
		return "Ed25519", 256
	}
	return fmt.Sprintf("%T", pub), 0
}

// keyUsageNames spells key usages as RFC 5280 and openssl do.
func keyUsageNames(u x509.KeyUsage) []string {
	names := []struct {
		bit  x509.KeyUsage
		name string
	}{
		{x509.KeyUsageDigitalSignature, "digitalSignature"},
		{x509.KeyUsageContentCommitment, "contentCommitment"},
		{x509.KeyUsageKeyEncipherment, "keyEncipherment"},
		{x509.KeyUsageDataEncipherment, "dataEncipherment"},
		{x509.KeyUsageKeyAgreement, "keyAgreement"},
		{x509.KeyUsageCertSign, "keyCertSign"},
		{x509.KeyUsageCRLSign, "cRLSign"},
		{x509.KeyUsageEncipherOnly, "encipherOnly"},
		{x509.KeyUsageDecipherOnly, "decipherOnly"},
	}
	out := []string{}
	for _, n := range names {
		if u&n.bit != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

var extKeyUsageName = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageAny:             "any",
	x509.ExtKeyUsageServerAuth:      "serverAuth",
	x509.ExtKeyUsageClientAuth:      "clientAuth",
	x509.ExtKeyUsageCodeSigning:     "codeSigning",
	x509.ExtKeyUsageEmailProtection: "emailProtection",
	x509.ExtKeyUsageTimeStamping:    "timeStamping",
	x509.ExtKeyUsageOCSPSigning:     "OCSPSigning",
	x509.ExtKeyUsageIPSECEndSystem:  "ipsecEndSystem",
	x509.ExtKeyUsageIPSECTunnel:     "ipsecTunnel",
	x509.ExtKeyUsageIPSECUser:       "ipsecUser",
}

// extKeyUsageNames spells extended key usages as openssl does; unknown ones
// appear as their OID.
func extKeyUsageNames(c *x509.Certificate) []string {
	out := []string{}
	for _, u := range c.ExtKeyUsage {
		if n, ok := extKeyUsageName[u]; ok {
			out = append(out, n)
		} else {
			out = append(out, fmt.Sprintf("usage %d", u))
		}
	}
	for _, oid := range c.UnknownExtKeyUsage {
		out = append(out, oid.String())
	}
	return out
}

// LoadCertificates reads every certificate in the PEM file at path, in file
// order: a chain, a bundle, or one certificate.
func LoadCertificates(path string) ([]*x509.Certificate, error) {
	return readCertificates(path)
}

// LoadPrivateKey reads the first private key in the PEM file at path
// (PKCS#8, PKCS#1 or SEC 1, unencrypted).
func LoadPrivateKey(path string) (crypto.Signer, error) {
	return readPrivateKey(path)
}
