package render

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/paxsetup/paxsetup/internal/certgen"
)

// printable refuses what cannot be typed into a form or a file: invalid
// UTF-8, control characters (newlines included) and other non-printable runes.
func printable(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("is not valid UTF-8")
	}
	for _, r := range s {
		if !unicode.IsPrint(r) && r != ' ' {
			return fmt.Errorf("contains the non-printable character %U", r)
		}
	}
	return nil
}

// letsEncryptDirectory is the directory the registry uses when none is
// configured (autocert's default, acme.LetsEncryptURL).
const letsEncryptDirectory = "https://acme-v02.api.letsencrypt.org/directory"

// ACMECacheDir is the registry's ACME cache for a directory URL (empty:
// Let's Encrypt's). autocert serves a cached certificate without looking at
// its issuer, so a cache shared between two CAs would keep serving the first
// CA's certificate after a switch: each directory gets its own folder, named
// by its host and a digest of the whole URL. Let's Encrypt keeps the folder
// earlier setups used, so their account and certificate stay in use.
func ACMECacheDir(directoryURL string) string {
	if directoryURL == "" || directoryURL == letsEncryptDirectory {
		return LetsEncryptCache
	}
	host := "directory"
	if u, err := url.Parse(directoryURL); err == nil && u.Hostname() != "" {
		host = safeName.ReplaceAllString(u.Hostname(), "_")
	}
	sum := sha256.Sum256([]byte(directoryURL))
	return ACMECacheRoot + "/" + host + "-" + hex.EncodeToString(sum[:6])
}

// safeName matches what may not appear in a folder name made from a host.
var safeName = regexp.MustCompile(`[^A-Za-z0-9.-]`)

// ValidateACMEHost checks a name Let's Encrypt can issue for: one DNS name,
// no IP address (Let's Encrypt does not issue for IPs) and no wildcard (the
// registry answers only the TLS-ALPN-01 challenge, and wildcards need DNS-01).
func ValidateACMEHost(host string) error {
	if net.ParseIP(host) != nil {
		return fmt.Errorf("%q is an IP address: Let's Encrypt issues certificates only for DNS names; give the name that resolves to this host, or use --mode selfsigned or custom", host)
	}
	if strings.Contains(host, "*") {
		return fmt.Errorf("%q is a wildcard: the registry obtains certificates through the TLS-ALPN-01 challenge, which cannot prove a wildcard; list each name", host)
	}
	if err := certgen.ValidateHost(host); err != nil {
		return err
	}
	if !strings.Contains(host, ".") {
		return fmt.Errorf("%q is not a fully qualified name: Let's Encrypt needs a public DNS name such as registry.example.com", host)
	}
	return nil
}

// ValidateEmail checks an ACME contact: a bare address (no display name, no
// angle brackets) whose domain is a DNS name, as Let's Encrypt requires.
func ValidateEmail(email string) error {
	if email == "" {
		return errors.New("no email: Let's Encrypt needs a contact address for expiry and policy notices, e.g. --email ops@example.com")
	}
	bad := func(why string) error {
		return fmt.Errorf("%q is not a valid email address: %s; give a plain address such as ops@example.com", email, why)
	}
	if err := printable(email); err != nil {
		return bad("it " + err.Error())
	}
	if len(email) > 254 {
		return bad("it is longer than 254 characters")
	}
	addr, err := mail.ParseAddress(email)
	if err != nil {
		return bad(strings.TrimPrefix(err.Error(), "mail: "))
	}
	if addr.Address != email || addr.Name != "" {
		return bad("give the address alone, without a name, quotes or angle brackets")
	}
	local, domain, _ := strings.Cut(email, "@")
	if local == "" || strings.ContainsAny(local, "\" ") {
		return bad("the part before @ must be a plain mailbox name")
	}
	if net.ParseIP(strings.Trim(domain, "[]")) != nil {
		return bad("the domain is an IP address")
	}
	if err := certgen.ValidateHost(domain); err != nil || !strings.Contains(domain, ".") {
		return bad(fmt.Sprintf("the domain %q is not a DNS name", domain))
	}
	return nil
}

// ValidateRealm checks a basic-auth realm. The registry puts it in the
// WWW-Authenticate header as a quoted string, so quotes and backslashes
// (which clients unescape differently) and control characters are refused.
func ValidateRealm(realm string) error {
	if realm == "" {
		return errors.New("the realm is empty")
	}
	if err := printable(realm); err != nil {
		return fmt.Errorf("realm %q %w", realm, err)
	}
	if strings.ContainsAny(realm, `"\`) {
		return fmt.Errorf("realm %q contains a quote or backslash, which browsers show differently; remove it", realm)
	}
	return nil
}

// ValidateServiceURL checks the URL of a service the registry calls (an S3
// endpoint, an ACME directory): http or https with a host, and no user or
// password in it, since secrets go in files, never in a URL that is printed.
// Plain http is allowed only where allowHTTP says so (a MinIO in the lab).
func ValidateServiceURL(raw string, allowHTTP bool) error {
	if err := printable(raw); err != nil || strings.Contains(raw, " ") {
		return fmt.Errorf("%q is not a URL: it contains spaces or control characters", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %v", raw, err)
	}
	schemes := "https"
	if allowHTTP {
		schemes = "http or https"
	}
	if u.Scheme != "https" && !(allowHTTP && u.Scheme == "http") {
		return fmt.Errorf("%q must be an %s URL, e.g. https://minio.example.com:9000", raw, schemes)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%q has no host", raw)
	}
	if u.User != nil {
		return fmt.Errorf("%q holds a user name or password: remove it (S3 keys go in --s3-credentials-file)", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "#") || strings.HasSuffix(raw, "?") {
		return fmt.Errorf("%q has a query or fragment: give the bare URL", raw)
	}
	return nil
}
