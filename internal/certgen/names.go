package certgen

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DNS limits from RFC 1035 section 2.3.4, as relaxed by RFC 1123 section 2.1
// (labels may start with a digit).
const (
	maxLabelLen = 63
	maxNameLen  = 253
)

// ValidateHost checks that host can be a certificate's Common Name and the
// registry's address: exactly one DNS name or one IPv4 or IPv6 address. A
// wildcard is refused because a CN names one host.
func ValidateHost(host string) error {
	if host == "" {
		return errors.New("the host name is empty")
	}
	if strings.Contains(host, "*") {
		return fmt.Errorf("%q is a wildcard: a certificate's CN must be one host (wildcards may go in --san)", host)
	}
	return validateName(host)
}

// MaxSANs caps the --san values of one certificate: a registry has a few
// names, and thousands make a certificate that takes minutes to check and
// that Go's own verifier refuses.
const MaxSANs = 100

// ValidateSANs checks the number of --san values and each of them.
func ValidateSANs(sans []string) error {
	if len(sans) > MaxSANs {
		return fmt.Errorf("%d values: give at most %d names and addresses", len(sans), MaxSANs)
	}
	for _, s := range sans {
		if err := ValidateSAN(s); err != nil {
			return err
		}
	}
	return nil
}

// ValidateSAN checks one --san value: a DNS name, an IPv4 or IPv6 address, or
// a wildcard DNS name whose first label is exactly "*" ("*.example.com").
func ValidateSAN(s string) error {
	if s == "" {
		return errors.New("a --san value is empty")
	}
	if rest, ok := strings.CutPrefix(s, "*."); ok {
		if net.ParseIP(rest) != nil {
			return fmt.Errorf("%q is not a valid wildcard: a wildcard covers DNS names, not IP addresses", s)
		}
		if strings.Contains(rest, "*") {
			return fmt.Errorf("%q is not a valid DNS name: %s", s, wildcardRule)
		}
		return validateDNSName(rest, s)
	}
	if strings.Contains(s, "*") {
		return fmt.Errorf("%q is not a valid DNS name: %s", s, wildcardRule)
	}
	return validateName(s)
}

// wildcardRule is the one wildcard form clients match (RFC 6125 section 6.4.3
// allows others, but Go's crypto/x509 and browsers accept only this one).
const wildcardRule = `"*" is allowed only as the whole first label, as in "*.example.com"`

// validateName accepts an IP address or a DNS name, and names the likely
// mistake for the inputs operators paste by accident: URLs, host:port,
// bracketed IPv6, mistyped IPv4.
func validateName(s string) error {
	if net.ParseIP(s) != nil {
		return nil
	}
	if strings.Contains(s, "://") {
		return fmt.Errorf("%q is not a host name: drop the scheme (%s)", s, s[:strings.Index(s, "://")+3])
	}
	if inner, ok := strings.CutPrefix(s, "["); ok {
		if inner, ok := strings.CutSuffix(inner, "]"); ok && net.ParseIP(inner) != nil {
			return fmt.Errorf("%q is not a valid IP address: write it without brackets (%s)", s, inner)
		}
	}
	if h, port, err := net.SplitHostPort(s); err == nil && h != "" {
		if _, perr := strconv.ParseUint(port, 10, 16); perr == nil {
			return fmt.Errorf("%q is not a host name: drop the port (:%s); the port is set with --port", s, port)
		}
	}
	if strings.Contains(s, ":") {
		return fmt.Errorf("%q is not a valid IPv6 address", s)
	}
	if strings.Trim(s, "0123456789.") == "" {
		return fmt.Errorf("%q is not a valid IPv4 address", s)
	}
	return validateDNSName(s, s)
}

// validateDNSName checks name against RFC 1123; shown is what the operator
// typed, for the message (it differs from name for a wildcard).
func validateDNSName(name, shown string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%q is not a valid DNS name: %s", shown, fmt.Sprintf(format, args...))
	}
	if name == "" {
		return bad("nothing follows the wildcard")
	}
	if len(name) > maxNameLen {
		return bad("it is %d characters long (at most %d)", len(name), maxNameLen)
	}
	if strings.HasSuffix(name, ".") {
		return bad(`it ends with "." (certificates hold names without the trailing dot)`)
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" {
			return bad(`it has an empty label (a leading dot, or two dots in a row)`)
		}
		for _, r := range label {
			if isLDH(r) {
				continue
			}
			if r >= utf8.RuneSelf {
				return bad(`%q is not allowed (use letters, digits, hyphens and dots; write international names in punycode, "xn--...")`, string(r))
			}
			return bad(`%q is not allowed (use letters, digits, hyphens and dots)`, string(r))
		}
		if len(label) > maxLabelLen {
			return bad("label %q is %d characters long (at most %d)", label, len(label), maxLabelLen)
		}
		if strings.HasPrefix(label, "-") {
			return bad("label %q starts with a hyphen", label)
		}
		if strings.HasSuffix(label, "-") {
			return bad("label %q ends with a hyphen", label)
		}
	}
	return nil
}

func isLDH(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-'
}

// certNames sorts host and sans into the DNS names and IP addresses of a
// certificate: host first, then the SANs in the order given, without
// duplicates (DNS names compared without case, IPs by value).
func certNames(host string, sans []string) (dns []string, ips []net.IP) {
	seenDNS := map[string]bool{}
	for _, n := range append([]string{host}, sans...) {
		if ip := net.ParseIP(n); ip != nil {
			// Four bytes for IPv4 so the certificate holds a 4-byte iPAddress,
			// as RFC 5280 section 4.2.1.6 asks.
			if v4 := ip.To4(); v4 != nil {
				ip = v4
			}
			dup := false
			for _, have := range ips {
				dup = dup || have.Equal(ip)
			}
			if !dup {
				ips = append(ips, ip)
			}
			continue
		}
		key := strings.ToLower(n)
		if !seenDNS[key] {
			seenDNS[key] = true
			dns = append(dns, n)
		}
	}
	return dns, ips
}
