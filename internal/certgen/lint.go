package certgen

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
)

// Severity says whether a Finding stops a certificate from being used.
type Severity string

// Severities of a Finding: an error means some client of the registry will
// refuse the certificate; a warning means some may, or soon will.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Finding is one problem Lint found, with a message that names the fix.
type Finding struct {
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
}

// String is the finding as one line: "error no-san: ...".
func (f Finding) String() string { return string(f.Severity) + " " + f.Code + ": " + f.Message }

// The codes of Lint's findings. They are stable: scripts may match on them.
const (
	// Errors: a client of the registry will refuse the certificate.
	CodeNoCertificate   = "no-certificate"
	CodeNoSAN           = "no-san"
	CodeHostNotCovered  = "host-not-covered"
	CodeNoServerAuth    = "no-server-auth"
	CodeExpired         = "expired"
	CodeNotYetValid     = "not-yet-valid"
	CodeWeakRSA         = "weak-rsa"
	CodeKeyMismatch     = "key-mismatch"
	CodeChainOrder      = "chain-order"
	CodeChainIncomplete = "chain-incomplete"
	CodeChainInvalid    = "chain-invalid"

	// Warnings: some clients refuse it, or it needs renewing soon.
	CodeValidityOver825 = "validity-over-825"
	CodeExpiresSoon     = "expires-soon"
	CodeNoEKU           = "no-eku"
)

// MinRSABits is the smallest RSA key Lint accepts: NIST SP 800-131A and the
// CA/Browser Forum retired smaller keys, and TLS clients refuse them.
const MinRSABits = 2048

// ExpiresSoon is how much validity a certificate must have left for Lint to
// stay quiet about renewing it.
const ExpiresSoon = 30 * 24 * time.Hour

// LintOptions tunes Lint. Every zero value means "do not check that".
type LintOptions struct {
	// Hosts are the names and IPs clients use; each must be covered.
	Hosts []string
	// Key is the public key of the key file served with the certificate;
	// when set it must be the leaf's.
	Key crypto.PublicKey
	// Roots are the trust anchors the chain must reach. When nil the chain
	// must reach a self-signed root among the given certificates; when there
	// is none, only the order of the chain is checked.
	Roots *x509.CertPool
	// Now is the time to check validity at; zero means time.Now().
	Now time.Time
}

// Lint checks a server certificate chain (leaf first, then intermediates,
// optionally the root) for what makes the registry's clients refuse it. It
// never stops at the first problem: every finding is returned, errors and
// warnings mixed, in a stable order.
func Lint(chain []*x509.Certificate, opts LintOptions) []Finding {
	l := &linter{now: opts.Now}
	if l.now.IsZero() {
		l.now = time.Now()
	}
	if len(chain) == 0 {
		l.errorf(CodeNoCertificate, "no certificate to check: give a PEM file that starts with the server certificate")
		return l.findings
	}
	leaf := l.order(chain)
	l.names(leaf, opts.Hosts)
	l.usage(chain, leaf)
	l.validity(chain, leaf)
	l.keys(chain, leaf, opts.Key)
	l.verify(chain, leaf, opts.Roots)
	return l.findings
}

// HasErrors reports whether any finding is an error: the certificate cannot
// be used as it is.
func HasErrors(f []Finding) bool {
	return slices.ContainsFunc(f, func(f Finding) bool { return f.Severity == SeverityError })
}

type linter struct {
	now      time.Time
	findings []Finding
}

func (l *linter) errorf(code, format string, args ...any) {
	l.findings = append(l.findings, Finding{SeverityError, code, fmt.Sprintf(format, args...)})
}

func (l *linter) warnf(code, format string, args ...any) {
	l.findings = append(l.findings, Finding{SeverityWarning, code, fmt.Sprintf(format, args...)})
}

// order checks that each certificate is followed by its issuer, and returns
// the server certificate: chain[0], unless chain[0] issued another
// certificate of the chain and exactly one certificate issued none (then
// that one is the server certificate, misplaced).
func (l *linter) order(chain []*x509.Certificate) *x509.Certificate {
	leaf := chain[0]
	if issuedAny(chain, 0) {
		var leaves []int
		for i := range chain {
			if !issuedAny(chain, i) {
				leaves = append(leaves, i)
			}
		}
		if len(leaves) == 1 {
			l.errorf(CodeChainOrder, "the file starts with %s, an issuer, not with the server certificate, %s: put the server certificate first, then each issuer in turn",
				certName(chain, 0), certName(chain, leaves[0]))
			return chain[leaves[0]]
		}
	}
	for i := 0; i+1 < len(chain); i++ {
		if issuedBy(chain[i], chain[i+1]) {
			continue
		}
		if j := issuerIndex(chain, i); j >= 0 {
			l.errorf(CodeChainOrder, "%s was issued by %s, which must come right after it: order the file server certificate first, then each issuer in turn",
				certName(chain, i), certName(chain, j))
		} else if isSelfSigned(chain[i]) {
			l.errorf(CodeChainOrder, "%s is a self-signed root, yet %s follows it: put the root last, or leave it out",
				certName(chain, i), certName(chain, i+1))
		} else {
			l.errorf(CodeChainIncomplete, "%s was issued by %q, which is missing: add that intermediate certificate right after it, before %s",
				certName(chain, i), chain[i].Issuer.String(), certName(chain, i+1))
		}
		// One broken link explains the rest; more would repeat it.
		break
	}
	return leaf
}

func (l *linter) names(leaf *x509.Certificate, hosts []string) {
	if len(leaf.DNSNames) == 0 && len(leaf.IPAddresses) == 0 {
		host := leaf.Subject.CommonName
		if host == "" {
			host = "HOST"
		}
		l.errorf(CodeNoSAN, "the server certificate names its host only in the CN (%q) and has no subject alternative names: Go clients (Docker, Palette, the spectro CLI) refuse it with \"x509: certificate relies on legacy Common Name field\"; issue one with SANs: paxsetup certs gen --host %s",
			leaf.Subject.CommonName, host)
	}
	for _, h := range hosts {
		if covers(leaf, h) {
			continue
		}
		if ip := net.ParseIP(h); ip != nil && len(leaf.IPAddresses) == 0 {
			l.errorf(CodeHostNotCovered, "the server certificate has no IP SANs, so clients reaching the registry at %s fail with \"x509: cannot validate certificate for %s because it doesn't contain any IP SANs\": issue one with --san %s, or connect by a DNS name it lists",
				h, h, h)
			continue
		}
		l.errorf(CodeHostNotCovered, "the server certificate does not cover %s (it has: %s): issue one with --san %s, or connect by a name it lists",
			h, strings.Join(certNameList(leaf), ", "), h)
	}
}

func (l *linter) usage(chain []*x509.Certificate, leaf *x509.Certificate) {
	switch {
	case len(leaf.ExtKeyUsage) == 0 && len(leaf.UnknownExtKeyUsage) == 0:
		// Go's crypto/x509 and openssl read a missing EKU as "any use", so
		// the registry's clients accept it; Apple's do not
		// (https://support.apple.com/en-us/103769).
		l.warnf(CodeNoEKU, "the server certificate has no extended key usage: Go clients and openssl accept it for any use, Apple clients refuse it; issue one with extendedKeyUsage = serverAuth")
	case !allowsServerAuth(leaf):
		l.errorf(CodeNoServerAuth, "the server certificate's extended key usage (%s) lacks serverAuth: TLS clients refuse it with \"x509: certificate specifies an incompatible key usage\"; issue one with extendedKeyUsage = serverAuth",
			strings.Join(extKeyUsageNames(leaf), ", "))
	}
	// Go also requires every issuer that restricts its EKU to allow
	// serverAuth.
	for i, c := range chain {
		if c == leaf || (len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0) || allowsServerAuth(c) {
			continue
		}
		if issuedAnyCert(chain, c) {
			l.errorf(CodeNoServerAuth, "%s limits what it may issue to %s, without serverAuth: Go clients refuse the server certificate; use an issuer whose extended key usage includes serverAuth",
				certName(chain, i), strings.Join(extKeyUsageNames(c), ", "))
		}
	}
}

func (l *linter) validity(chain []*x509.Certificate, leaf *x509.Certificate) {
	for i, c := range chain {
		name := certName(chain, i)
		switch {
		case l.now.Before(c.NotBefore):
			l.errorf(CodeNotYetValid, "%s is not valid until %s: check this host's clock (it says %s), or wait until then",
				name, formatTime(c.NotBefore), formatTime(l.now))
		case l.now.After(c.NotAfter):
			fix := "renew it"
			if c == leaf {
				fix = "issue a new one (paxsetup certs gen --force reuses the CA)"
			}
			l.errorf(CodeExpired, "%s expired on %s, %d days ago: %s", name, formatTime(c.NotAfter), daysBetween(c.NotAfter, l.now), fix)
		case c.NotAfter.Sub(l.now) < ExpiresSoon:
			l.warnf(CodeExpiresSoon, "%s expires on %s, in %d days: renew it before then", name, formatTime(c.NotAfter), daysBetween(l.now, c.NotAfter))
		}
	}
	if days := leaf.NotAfter.Sub(leaf.NotBefore); days > DefaultLeafDays*24*time.Hour {
		l.warnf(CodeValidityOver825, "the server certificate is valid for %d days, more than the %d that Apple clients accept (https://support.apple.com/en-us/103769): issue one with --days %d or less",
			int(days.Hours()/24), DefaultLeafDays, DefaultLeafDays)
	}
}

func (l *linter) keys(chain []*x509.Certificate, leaf *x509.Certificate, key crypto.PublicKey) {
	for i, c := range chain {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && pub.N.BitLen() < MinRSABits {
			fix := "issue one with a larger key (--key-type rsa2048 or more)"
			if c != leaf {
				fix = "replace that issuer with one whose key has at least 2048 bits"
			}
			l.errorf(CodeWeakRSA, "%s has a %d-bit RSA key, under the %d bits clients require: %s", certName(chain, i), pub.N.BitLen(), MinRSABits, fix)
		}
	}
	if key != nil && !publicKeysEqual(leaf.PublicKey, key) {
		l.errorf(CodeKeyMismatch, "the key is not the server certificate's (their public keys differ), so the registry cannot serve them together: give the key the certificate was issued for, or issue a certificate for this key")
	}
}

// verify builds the chain the way clients do. Expiry and usages are
// reported above, so the check runs at a moment inside the leaf's validity
// and for any usage: what is left is whether the issuers are there.
func (l *linter) verify(chain []*x509.Certificate, leaf *x509.Certificate, roots *x509.CertPool) {
	given := roots != nil
	if !given {
		roots = x509.NewCertPool()
		found := false
		for _, c := range chain {
			if isSelfSigned(c) {
				roots.AddCert(c)
				found = true
			}
		}
		if !found {
			return
		}
	}
	if slices.ContainsFunc(l.findings, func(f Finding) bool { return f.Code == CodeChainIncomplete }) {
		return
	}
	intermediates := x509.NewCertPool()
	for _, c := range chain {
		if c != leaf {
			intermediates.AddCert(c)
		}
	}
	at := l.now
	if at.Before(leaf.NotBefore) {
		at = leaf.NotBefore
	}
	if at.After(leaf.NotAfter) {
		at = leaf.NotAfter
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: intermediates,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err == nil {
		return
	}
	var (
		unknown x509.UnknownAuthorityError
		invalid x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &unknown):
		missing := leaf
		if unknown.Cert != nil {
			missing = unknown.Cert
		}
		where := "the root in the file"
		if given {
			where = "the trusted CAs"
		}
		l.errorf(CodeChainIncomplete, "the chain does not reach %s: the issuer of %q (%q) is missing; add the intermediate certificate(s) after the server certificate, or trust the CA that issued it",
			where, missing.Subject.String(), missing.Issuer.String())
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		// An issuer outside its validity: reported by validity.
	default:
		l.errorf(CodeChainInvalid, "the chain does not verify (%v): issue the certificate from a CA that clients accept", err)
	}
}

// issuedBy reports whether parent's key signed child and parent's subject
// is child's issuer. Unlike CheckSignatureFrom it does not require parent to
// be a CA, so a misplaced certificate is still recognised.
func issuedBy(child, parent *x509.Certificate) bool {
	if !bytes.Equal(child.RawIssuer, parent.RawSubject) {
		return false
	}
	err := parent.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature)
	// A SHA-1 signature still tells who issued the certificate; verify
	// reports that clients refuse it.
	var insecure x509.InsecureAlgorithmError
	return err == nil || errors.As(err, &insecure)
}

func isSelfSigned(c *x509.Certificate) bool { return issuedBy(c, c) }

// issuerIndex is where chain[i]'s issuer is in chain, or -1.
func issuerIndex(chain []*x509.Certificate, i int) int {
	for j, c := range chain {
		if j != i && issuedBy(chain[i], c) {
			return j
		}
	}
	return -1
}

// issuedAny reports whether chain[i] issued another certificate of chain.
func issuedAny(chain []*x509.Certificate, i int) bool {
	for j, c := range chain {
		if j != i && issuedBy(c, chain[i]) {
			return true
		}
	}
	return false
}

func issuedAnyCert(chain []*x509.Certificate, issuer *x509.Certificate) bool {
	return issuedAny(chain, slices.Index(chain, issuer))
}

func allowsServerAuth(c *x509.Certificate) bool {
	return slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageServerAuth) || slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageAny)
}

// certName names chain[i] in a message: its place and its CN.
func certName(chain []*x509.Certificate, i int) string {
	c := chain[i]
	cn := c.Subject.CommonName
	if cn == "" {
		cn = c.Subject.String()
	}
	if len(chain) == 1 {
		return fmt.Sprintf("the certificate (CN %q)", cn)
	}
	return fmt.Sprintf("certificate %d of %d (CN %q)", i+1, len(chain), cn)
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// daysBetween is the whole days from a to b, rounded up so that "in 0 days"
// never appears for a certificate still valid.
func daysBetween(a, b time.Time) int {
	d := b.Sub(a)
	days := int(d / (24 * time.Hour))
	if d%(24*time.Hour) != 0 {
		days++
	}
	return days
}
