package preflight

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/netip"
	"strings"

	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/render"
)

// Names of the mode's checks.
const (
	CheckLEHost        = "letsencrypt host"
	CheckLEDNS         = "letsencrypt dns"
	CheckLEEmail       = "letsencrypt email"
	CheckLEInbound     = "letsencrypt inbound 443"
	CheckCertificate   = "certificate"
	CheckPlainHTTPMode = "http mode"
)

func (e *env) modeChecks(ctx context.Context) []Check {
	switch e.opts.Mode {
	case config.ModeLetsEncrypt:
		return e.letsEncryptChecks(ctx)
	case config.ModeCustom:
		if e.opts.Joined {
			return nil
		}
		return e.customChecks()
	case config.ModeHTTP:
		return []Check{{Name: CheckPlainHTTPMode, Status: Warn,
			Detail: "no TLS: passwords and packs cross the network in clear text, and Palette must be told the registry is insecure (lab use only)",
			Fix:    "use --mode selfsigned, letsencrypt or custom for anything but a lab"}}
	}
	return nil
}

// letsEncryptChecks are what the ACME TLS-ALPN challenge needs: Let's
// Encrypt connects to the host name on port 443 from the internet, and
// issues only for DNS names.
func (e *env) letsEncryptChecks(ctx context.Context) []Check {
	host := e.opts.Host
	var out []Check
	nameOK := true
	switch {
	case host == "":
		nameOK = false
		out = append(out, Check{Name: CheckLEHost, Status: Fail, Detail: "no host name given",
			Fix: "give --host the registry's public DNS name"})
	case isIP(host):
		nameOK = false
		out = append(out, Check{Name: CheckLEHost, Status: Fail,
			Detail: fmt.Sprintf("%s is an IP address; Let's Encrypt issues certificates for DNS names only", host),
			Fix:    "give --host a public DNS name that resolves to this host, or use --mode selfsigned for an IP"})
	case !strings.Contains(strings.TrimSuffix(host, "."), "."):
		nameOK = false
		out = append(out, Check{Name: CheckLEHost, Status: Fail,
			Detail: fmt.Sprintf("%s is not a fully qualified name; Let's Encrypt issues only for public DNS names", host),
			Fix:    "give --host the full public name, e.g. registry.example.com"})
	default:
		out = append(out, Check{Name: CheckLEHost, Status: OK, Detail: fmt.Sprintf("%s is a DNS name", host)})
	}

	if nameOK && e.opts.ACMEDirectory != "" {
		out = append(out, e.privateACMEDNS(ctx))
	} else if nameOK {
		r := e.resolve(ctx)
		var public, private []string
		for _, a := range r.addrs {
			if isPublic(a) {
				public = append(public, a.String())
			} else {
				private = append(private, a.String())
			}
		}
		switch {
		case r.err != nil || len(r.addrs) == 0:
			out = append(out, Check{Name: CheckLEDNS, Status: Fail,
				Detail: fmt.Sprintf("%s does not resolve (%s): Let's Encrypt cannot find this host", host, lookupErr(r.err)),
				Fix:    fmt.Sprintf("publish an A (or AAAA) record for %s with this host's public address", host)})
		case len(public) == 0:
			out = append(out, Check{Name: CheckLEDNS, Status: Fail,
				Detail: fmt.Sprintf("%s resolves only to private addresses (%s): Let's Encrypt, on the internet, cannot reach them", host, strings.Join(private, ", ")),
				Fix:    "publish the host's public address in DNS, or, for a registry only reachable inside, use --mode selfsigned or custom"})
		default:
			out = append(out, Check{Name: CheckLEDNS, Status: OK,
				Detail: fmt.Sprintf("%s resolves to the public address %s", host, strings.Join(public, ", "))})
		}
	}

	switch email := e.opts.Email; {
	case email == "":
		out = append(out, Check{Name: CheckLEEmail, Status: Fail, Detail: "no email for the Let's Encrypt account",
			Fix: "give --email: Let's Encrypt writes there before a certificate expires"})
	case render.ValidateEmail(email) != nil:
		out = append(out, Check{Name: CheckLEEmail, Status: Fail, Detail: fmt.Sprintf("%q is not an email address", email),
			Fix: "give --email as name@example.com"})
	default:
		out = append(out, Check{Name: CheckLEEmail, Status: OK, Detail: "account email " + email})
	}

	// Reachability from the internet cannot be tested from this host, so
	// this is said plainly rather than guessed.
	inbound := Check{Name: CheckLEInbound, Status: Warn,
		Detail: fmt.Sprintf("not testable from here: Let's Encrypt must reach %s on TCP 443 from the internet (TLS-ALPN-01) to issue and renew", hostOr(host)),
		Fix:    "allow inbound TCP 443 from anywhere through every firewall, security group and NAT on the way to this host"}
	if e.opts.ACMEDirectory != "" {
		inbound.Detail = fmt.Sprintf("not testable from here: the ACME CA at %s must reach %s on TCP 443 (TLS-ALPN-01) to issue and renew", e.opts.ACMEDirectory, hostOr(host))
		inbound.Fix = "allow TCP 443 from the ACME CA to this host, or put the registry on the CA's Docker network (--network)"
	}
	if e.opts.Port != 443 {
		inbound.Detail = fmt.Sprintf("the registry listens on %d, but Let's Encrypt connects to %s on 443 only (TLS-ALPN-01)", e.opts.Port, hostOr(host))
		inbound.Fix = fmt.Sprintf("use --port 443, or forward inbound TCP 443 from the internet to port %d", e.opts.Port)
	}
	return append(out, inbound)
}

// privateACMEDNS judges the name for an ACME CA other than Let's Encrypt:
// the CA resolves it with its own DNS (a site's resolver, a Docker network's),
// so a private address, or no answer on this host, is no failure; it is
// said, since the CA's view cannot be checked from here.
func (e *env) privateACMEDNS(ctx context.Context) Check {
	host := e.opts.Host
	r := e.resolve(ctx)
	if r.err != nil || len(r.addrs) == 0 {
		return Check{Name: CheckLEDNS, Status: Warn,
			Detail: fmt.Sprintf("%s does not resolve on this host (%s); the ACME CA at %s must resolve it to this registry", host, lookupErr(r.err), e.opts.ACMEDirectory),
			Fix:    fmt.Sprintf("make %s resolve to this host in the DNS the ACME CA uses (or give the registry that name on the CA's Docker network with --network)", host)}
	}
	addrs := make([]string, 0, len(r.addrs))
	for _, a := range r.addrs {
		addrs = append(addrs, a.String())
	}
	return Check{Name: CheckLEDNS, Status: OK,
		Detail: fmt.Sprintf("%s resolves to %s here; the ACME CA at %s must resolve it to this host too", host, strings.Join(addrs, ", "), e.opts.ACMEDirectory)}
}

func hostOr(h string) string {
	if h == "" {
		return "the host"
	}
	return h
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(strings.Trim(s, "[]"))
	return err == nil
}

// customChecks lints the operator's own certificate with certgen.Lint: the
// key matches, the SANs cover the host, the chain is complete and valid.
func (e *env) customChecks() []Check {
	o := e.opts
	fix := "correct the files given with --cert-file, --key-file and --ca-file, then run paxsetup preflight again"
	if o.CertFile == "" || o.KeyFile == "" {
		return []Check{{Name: CheckCertificate, Status: Fail,
			Detail: "custom mode needs the certificate and its key",
			Fix:    "give --cert-file (the server certificate, then its intermediates) and --key-file"}}
	}
	chain, err := certgen.LoadCertificates(o.CertFile)
	if err != nil {
		return []Check{{Name: CheckCertificate, Status: Fail, Detail: fmt.Sprintf("read --cert-file %s: %v", o.CertFile, err), Fix: fix}}
	}
	key, err := certgen.LoadPrivateKey(o.KeyFile)
	if err != nil {
		return []Check{{Name: CheckCertificate, Status: Fail, Detail: fmt.Sprintf("read --key-file %s: %v", o.KeyFile, err), Fix: fix}}
	}
	lo := certgen.LintOptions{Key: key.Public(), Now: e.d.Now()}
	if o.Host != "" {
		lo.Hosts = append(lo.Hosts, o.Host)
	}
	lo.Hosts = append(lo.Hosts, o.SANs...)
	if o.CAFile != "" {
		cas, err := certgen.LoadCertificates(o.CAFile)
		if err != nil {
			return []Check{{Name: CheckCertificate, Status: Fail, Detail: fmt.Sprintf("read --ca-file %s: %v", o.CAFile, err), Fix: fix}}
		}
		lo.Roots = x509.NewCertPool()
		for _, c := range cas {
			lo.Roots.AddCert(c)
		}
	}
	findings := certgen.Lint(chain, lo)
	if len(findings) == 0 {
		leaf := chain[0]
		return []Check{{Name: CheckCertificate, Status: OK,
			Detail: fmt.Sprintf("%s passes the certificate lint for %s (key, names, usage, chain, validity); valid until %s",
				o.CertFile, strings.Join(lo.Hosts, ", "), leaf.NotAfter.UTC().Format("2006-01-02"))}}
	}
	var out []Check
	for _, f := range findings {
		s := Warn
		if f.Severity == certgen.SeverityError {
			s = Fail
		}
		out = append(out, Check{Name: CheckCertificate, Status: s, Detail: f.Message + " [" + f.Code + "]", Fix: fix})
	}
	return out
}
