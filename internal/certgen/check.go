package certgen

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrLeafMismatch is wrapped by CheckLeaf's error when the server certificate
// on disk no longer fits the setup and must be issued again.
var ErrLeafMismatch = errors.New("server certificate does not fit the setup")

// MinRemaining is how long a server certificate must still be valid for
// CheckLeaf to keep it: less, and the registry would go dark within a day.
const MinRemaining = 24 * time.Hour

// CheckLeaf decides whether a re-run can keep the server certificate in dir.
// It returns nil only when tls.crt chains to ca.crt for server use, has host
// as CN, covers host and every SAN, matches tls.key, and is valid at now for
// at least MinRemaining more. Otherwise the error wraps ErrLeafMismatch and
// lists every problem; a missing or unreadable file gives the read or parse
// error instead (a missing one wraps fs.ErrNotExist).
func CheckLeaf(dir string, host string, sans []string, now time.Time) error {
	files := Files{Dir: dir}
	chain, err := readCertificates(files.TLSCert())
	if err != nil {
		return err
	}
	key, err := readPrivateKey(files.TLSKey())
	if err != nil {
		return err
	}
	roots, err := LoadCertPool(files.CACert())
	if err != nil {
		return err
	}
	leaf := chain[0]
	crt := files.TLSCert()
	var problems []string

	if !publicKeysEqual(leaf.PublicKey, key.Public()) {
		problems = append(problems, fmt.Sprintf("%s is not the key of %s", files.TLSKey(), crt))
	}

	switch {
	case now.Before(leaf.NotBefore):
		problems = append(problems, fmt.Sprintf("%s is not valid until %s", crt, leaf.NotBefore.UTC().Format(time.RFC3339)))
	case now.After(leaf.NotAfter):
		problems = append(problems, fmt.Sprintf("%s expired on %s", crt, leaf.NotAfter.UTC().Format(time.RFC3339)))
	case leaf.NotAfter.Sub(now) < MinRemaining:
		problems = append(problems, fmt.Sprintf("%s expires on %s, in less than a day", crt, leaf.NotAfter.UTC().Format(time.RFC3339)))
	}

	// Verify at a moment inside the leaf's validity, so an expired leaf is
	// reported once (above) and the chain check still says whether the
	// issuer is right.
	at := now
	if at.Before(leaf.NotBefore) {
		at = leaf.NotBefore
	}
	if at.After(leaf.NotAfter) {
		at = leaf.NotAfter
	}
	intermediates := x509.NewCertPool()
	for _, c := range chain[1:] {
		intermediates.AddCert(c)
	}
	_, err = leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: intermediates,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	var (
		unknown x509.UnknownAuthorityError
		invalid x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &unknown):
		problems = append(problems, fmt.Sprintf("%s was not issued by the CA in %s (issuer %q)", crt, files.CACert(), leaf.Issuer.String()))
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired && invalid.Cert != leaf:
		problems = append(problems, fmt.Sprintf("%s chains to %q, which is valid only from %s to %s, not at %s",
			crt, invalid.Cert.Subject.CommonName, invalid.Cert.NotBefore.UTC().Format(time.RFC3339),
			invalid.Cert.NotAfter.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339)))
	case err != nil:
		problems = append(problems, fmt.Sprintf("%s does not verify against %s for server use: %v", crt, files.CACert(), err))
	}

	if !strings.EqualFold(leaf.Subject.CommonName, host) {
		problems = append(problems, fmt.Sprintf("%s has CN %q, not %q", crt, leaf.Subject.CommonName, host))
	}
	var missing []string
	for _, name := range append([]string{host}, sans...) {
		if !covers(leaf, name) {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("%s does not cover %s (it has: %s)", crt, strings.Join(missing, ", "), strings.Join(certNameList(leaf), ", ")))
	}

	if len(problems) == 0 {
		return nil
	}
	return &sentinelError{msg: strings.Join(problems, "; "), err: ErrLeafMismatch}
}

// covers reports whether cert names name. VerifyHostname matches an IP
// against the IP SANs and a DNS name against the DNS SANs (wildcards
// included), but refuses a wildcard as input, so a wildcard SAN is looked up
// as written.
func covers(cert *x509.Certificate, name string) bool {
	if strings.HasPrefix(name, "*.") {
		for _, n := range cert.DNSNames {
			if strings.EqualFold(n, name) {
				return true
			}
		}
		return false
	}
	return cert.VerifyHostname(name) == nil
}

// certNameList is every DNS name and IP in cert, for messages.
func certNameList(cert *x509.Certificate) []string {
	names := append([]string{}, cert.DNSNames...)
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return []string{"no SANs"}
	}
	return names
}
