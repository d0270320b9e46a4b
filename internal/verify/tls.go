package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/paxsetup/paxsetup/internal/certgen"
)

func (r *runner) checkTCP(ctx context.Context, waited answer) Check {
	target := r.dialTarget()
	if waited.err == nil {
		// An HTTP answer came over this connection.
		return Check{Name: CheckTCP, Status: OK, Detail: "connected to " + target}
	}
	d := &net.Dialer{Timeout: 3 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		detail, fix := Diagnose(err, r.u, r.opts)
		if waited.timedOut {
			detail = fmt.Sprintf("nothing answered within %s: %s", waited.waited.Round(time.Millisecond), detail)
		}
		return Check{Name: CheckTCP, Status: Fail, Detail: detail, Fix: fix}
	}
	conn.Close()
	return Check{Name: CheckTCP, Status: OK, Detail: "connected to " + target}
}

// checkTLS looks at what the server presents and names every problem, not
// only the first one a client stumbles on. When the wait for /health got an
// answer over TLS, that handshake is the one looked at; otherwise it makes
// its own, verifying nothing, to see the certificate the client refused.
func (r *runner) checkTLS(ctx context.Context, waited answer) []Check {
	if waited.err == nil && waited.tls != nil {
		return r.analyzeTLS(*waited.tls)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", r.dialTarget())
	if err != nil {
		detail, fix := Diagnose(err, r.u, r.opts)
		return []Check{{Name: CheckTLS, Status: Fail, Detail: detail, Fix: fix}}
	}
	defer raw.Close()
	conn := tls.Client(raw, &tls.Config{ServerName: r.u.Hostname(), InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
	if err := conn.HandshakeContext(ctx); err != nil {
		detail, fix := Diagnose(err, r.u, r.opts)
		return []Check{{Name: CheckTLS, Status: Fail, Detail: detail, Fix: fix}}
	}
	return r.analyzeTLS(conn.ConnectionState())
}

func (r *runner) analyzeTLS(state tls.ConnectionState) []Check {
	host := r.u.Hostname()
	certs := state.PeerCertificates
	if len(certs) == 0 {
		return []Check{{Name: CheckTLS, Status: Fail, Detail: "the server sent no certificate", Fix: "check the registry's TLS settings: `docker logs " + r.containerName() + "`"}}
	}
	out := []Check{{Name: CheckTLS, Status: OK,
		Detail: fmt.Sprintf("%s handshake with server name %s; the server sent %s", tls.VersionName(state.Version), host, plural(len(certs), "certificate"))}}

	now := r.opts.now()
	leaf := certs[0]
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	trust, chain := r.checkTrust(leaf, inter, now)
	cs := []Check{trust, r.checkName(leaf), checkExpiry(leaf, chain, now)}
	if r.opts.Insecure {
		for i := range cs {
			if cs[i].Status == Fail {
				cs[i].Status = Warn
				cs[i].Detail += " (not enforced: --insecure)"
			}
		}
	}
	out = append(out, cs...)
	if r.opts.RootCAs != nil {
		out = append(out, r.checkSystemTrust(leaf, inter, now))
	}
	return out
}

// verifyTime is when a chain's trust is judged: now, or, when the leaf is
// expired or not yet valid, a moment inside its validity, so that trust and
// validity are reported apart, each with its own fix.
func verifyTime(leaf *x509.Certificate, now time.Time) time.Time {
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) / 2)
	}
	return now
}

func (r *runner) checkTrust(leaf *x509.Certificate, inter *x509.CertPool, now time.Time) (Check, []*x509.Certificate) {
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots: r.opts.RootCAs, Intermediates: inter, CurrentTime: verifyTime(leaf, now),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		detail, fix := r.diagnoseTrust(leaf, err)
		return Check{Name: CheckTrust, Status: Fail, Detail: detail, Fix: fix}, nil
	}
	chain := chains[0]
	root := chain[len(chain)-1]
	by := "the system trust store"
	if r.opts.RootCAs != nil {
		by = r.caFileName()
	}
	return Check{Name: CheckTrust, Status: OK,
		Detail: fmt.Sprintf("issued by %q, trusted through %s (root %q)", leaf.Issuer.CommonName, by, root.Subject.CommonName)}, chain
}

func (r *runner) caFileName() string {
	if r.opts.CAFile != "" {
		return r.opts.CAFile
	}
	return "the given CA"
}

// diagnoseTrust explains a chain that does not verify: who signed the
// certificate, against what was trusted.
func (r *runner) diagnoseTrust(leaf *x509.Certificate, err error) (detail, fix string) {
	var authErr x509.UnknownAuthorityError
	var invErr x509.CertificateInvalidError
	switch {
	case errors.As(err, &authErr):
		return r.unknownAuthority(leaf)
	case errors.As(err, &invErr):
		switch invErr.Reason {
		case x509.IncompatibleUsage:
			return "the certificate is not for TLS servers (its extended key usage lacks serverAuth), so clients refuse it",
				"issue a server certificate (extended key usage serverAuth): paxsetup init --force"
		case x509.NotAuthorizedToSign:
			return fmt.Sprintf("the certificate was signed by %q, which is not a CA", invErr.Cert.Subject.CommonName),
				"issue the certificate from a CA: paxsetup init --force"
		}
		return "the certificate chain is not valid: " + invErr.Error(), "issue a new certificate: paxsetup init --force"
	}
	return "the certificate chain does not verify: " + err.Error(), "issue a new certificate: paxsetup init --force"
}

// unknownAuthority names the certificate's issuer and what was trusted
// instead, and tells a foreign CA from a remade one or a missing
// intermediate.
func (r *runner) unknownAuthority(leaf *x509.Certificate) (detail, fix string) {
	issuer := leaf.Issuer.CommonName
	if issuer == "" {
		issuer = leaf.Issuer.String()
	}
	if r.opts.RootCAs == nil {
		if isSelfSigned(leaf) {
			return fmt.Sprintf("the certificate is self-signed (%q) and the system trust store does not trust it", issuer),
				"give the CA that Palette trusts with --ca-file, or install it in the system trust store"
		}
		return fmt.Sprintf("certificate signed by unknown authority: %q, which the system trust store does not hold", issuer),
			"give the CA with --ca-file (Palette gets the same file as the certificate), or send the complete chain from the server"
	}
	held := r.caNames()
	against := r.caFileName()
	if len(held) > 0 {
		against += " (which holds " + strings.Join(held, ", ") + ")"
	}
	detail = fmt.Sprintf("certificate signed by unknown authority: it was signed by %q, which %s does not contain", issuer, against)
	fix = "trust the CA that signed it (--ca-file, and upload the same chain to Palette), or re-run paxsetup init so the registry serves a certificate from the setup's CA"
	for _, ca := range r.caCerts() {
		if ca.Subject.String() == leaf.Issuer.String() {
			detail = fmt.Sprintf("certificate signed by unknown authority: it names %q as its issuer, and %s holds a CA of that name, but with another key: the CA was made again after this certificate was issued",
				issuer, r.caFileName())
			fix = "issue the certificate again from the current CA: paxsetup init --force"
		}
	}
	return detail, fix
}

func (r *runner) caCerts() []*x509.Certificate {
	if r.opts.CAFile == "" {
		return nil
	}
	data, err := os.ReadFile(r.opts.CAFile)
	if err != nil {
		return nil
	}
	certs, _ := certgen.ParseCertificatesPEM(data)
	return certs
}

func (r *runner) caNames() []string {
	var names []string
	for _, c := range r.caCerts() {
		names = append(names, fmt.Sprintf("%q", c.Subject.CommonName))
	}
	return names
}

func isSelfSigned(c *x509.Certificate) bool {
	return c.Subject.String() == c.Issuer.String() && c.CheckSignatureFrom(c) == nil
}

func (r *runner) checkName(leaf *x509.Certificate) Check {
	host := r.u.Hostname()
	if err := leaf.VerifyHostname(host); err != nil {
		detail, fix := diagnoseName(leaf, host)
		return Check{Name: CheckName, Status: Fail, Detail: detail, Fix: fix}
	}
	return Check{Name: CheckName, Status: OK, Detail: fmt.Sprintf("covers %s (it has: %s)", host, certNames(leaf))}
}

// diagnoseName says why leaf does not cover host, in the words of the errors
// clients print.
func diagnoseName(cert *x509.Certificate, host string) (detail, fix string) {
	if len(cert.DNSNames) == 0 && len(cert.IPAddresses) == 0 {
		return fmt.Sprintf("the certificate has no SANs, only the legacy Common Name %q, which Go clients (Palette, docker) ignore: \"x509: certificate relies on legacy Common Name field\"", cert.Subject.CommonName),
			"issue a certificate with SANs for every name and IP clients use: paxsetup init --force"
	}
	if ip := net.ParseIP(host); ip != nil && len(cert.IPAddresses) == 0 {
		return fmt.Sprintf("the certificate has no IP SANs, so it cannot be used for %s (it has: %s)", host, certNames(cert)),
			fmt.Sprintf("issue a new certificate with the IP: paxsetup init --force --san %s, or reach the registry by its DNS name", host)
	}
	return fmt.Sprintf("the certificate does not cover %s (it has: %s)", host, certNames(cert)),
		fmt.Sprintf("use one of those names, or issue a new certificate: paxsetup init --force --san %s", host)
}

func checkExpiry(leaf *x509.Certificate, chain []*x509.Certificate, now time.Time) Check {
	if len(chain) == 0 {
		chain = []*x509.Certificate{leaf}
	}
	// The chain is as good as its first certificate to expire.
	first := chain[0]
	for _, c := range chain[1:] {
		if c.NotAfter.Before(first.NotAfter) {
			first = c
		}
	}
	which := "the certificate"
	if first != leaf {
		which = fmt.Sprintf("the CA certificate %q in its chain", first.Subject.CommonName)
	}
	const day = 24 * time.Hour
	renew := "issue a new certificate: paxsetup init --force, then upload the new chain.pem to Palette"
	switch {
	case now.Before(leaf.NotBefore):
		return Check{Name: CheckExpiry, Status: Fail,
			Detail: fmt.Sprintf("the certificate is not valid before %s: this host's clock or the issuer's is wrong", leaf.NotBefore.UTC().Format(time.RFC3339)),
			Fix:    "set the clocks right (timedatectl; enable NTP), then issue the certificate again: paxsetup init --force"}
	case now.After(first.NotAfter):
		return Check{Name: CheckExpiry, Status: Fail,
			Detail: fmt.Sprintf("%s expired on %s (%d days ago)", which, first.NotAfter.UTC().Format("2006-01-02"), int(now.Sub(first.NotAfter)/day)),
			Fix:    renew}
	}
	left := int(first.NotAfter.Sub(now) / day)
	if left < WarnDays {
		return Check{Name: CheckExpiry, Status: Warn,
			Detail: fmt.Sprintf("%s expires on %s, in %d days", which, first.NotAfter.UTC().Format("2006-01-02"), left),
			Fix:    renew}
	}
	return Check{Name: CheckExpiry, Status: OK,
		Detail: fmt.Sprintf("valid until %s (%d days left)", first.NotAfter.UTC().Format("2006-01-02"), left)}
}

// checkSystemTrust tells whether clients that use the system trust store
// (docker, curl, the spectro CLI) accept the certificate as Palette does
// with the uploaded chain. Not trusting a private CA is normal, so it is a
// warning, never a failure.
func (r *runner) checkSystemTrust(leaf *x509.Certificate, inter *x509.CertPool, now time.Time) Check {
	roots := r.opts.SystemRoots
	if roots == nil {
		var err error
		if roots, err = x509.SystemCertPool(); err != nil {
			return Check{Name: CheckSystemTrust, Status: Warn, Detail: "cannot read the system trust store: " + err.Error()}
		}
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, CurrentTime: verifyTime(leaf, now),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err == nil {
		return Check{Name: CheckSystemTrust, Status: OK,
			Detail: "the system trust store trusts it too: docker, curl and the spectro CLI on this host need no CA file"}
	}
	args := fmt.Sprintf("--host %s --port %s", r.u.Hostname(), portOf(r.u))
	if r.opts.CAFile != "" {
		args += " --ca-file " + r.opts.CAFile
	}
	return Check{Name: CheckSystemTrust, Status: Warn,
		Detail: fmt.Sprintf("the system trust store does not trust it (issuer %q): Palette trusts the chain it is given, but docker, curl and the spectro CLI on a host need the CA installed", leaf.Issuer.CommonName),
		Fix:    "on each host that pulls from the registry: sudo paxsetup trust " + args}
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return "443"
}

func certNames(c *x509.Certificate) string {
	var names []string
	names = append(names, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return "no SANs"
	}
	return strings.Join(names, ", ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
