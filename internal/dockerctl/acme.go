package dockerctl

import (
	"fmt"
	"regexp"
	"strings"
)

// The registry logs an ACME failure as the error of the TLS handshake that
// waited for it ("http: TLS handshake error from ADDR: ERR"); the errors are
// those of x/crypto's acme and autocert packages, whose acme.Error reads
// "STATUS urn:ietf:params:acme:error:TYPE: DETAIL" (RFC 8555 section 6.7).
// Handshakes that queued behind the failed order log only "acme/autocert:
// missing certificate", which names no cause, so they are passed over.
var (
	reACMEDirDial = regexp.MustCompile(`Get "(https?://[^"]+)": (?:dial tcp \S+: )?(connect: connection refused|i/o timeout|.*no such host|.*certificate signed by unknown authority.*|.*certificate is valid for.*)`)
	reACMEProblem = regexp.MustCompile(`(\d{3}) urn:ietf:params:acme:error:(\w+): (.*)`)
	reACMENoChal  = regexp.MustCompile(`acme/autocert: unable to satisfy "[^"]*" for domain "([^"]+)": no viable challenge type found`)
)

// DiagnoseACME reads the registry's log for why it could not get its
// certificate from the ACME CA named by ca (empty: "the ACME CA"), and
// says what to do. host is the registry's name. The most recent cause
// comes first.
func DiagnoseACME(logs, host, ca string) []Diagnosis {
	directory := ca
	if directory == "" {
		directory = "the ACME CA"
	}
	var out []Diagnosis
	seen := map[string]bool{}
	lines := strings.Split(strings.ReplaceAll(logs, "\r\n", "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.Contains(line, "acme/autocert: missing certificate") {
			continue
		}
		d, ok := acmeRule(line, host, directory)
		if !ok || seen[d.Cause] {
			continue
		}
		seen[d.Cause] = true
		d.Evidence = line
		out = append(out, d)
	}
	return out
}

func acmeRule(line, host, directory string) (Diagnosis, bool) {
	if m := reACMEDirDial.FindStringSubmatch(line); m != nil {
		url, why := m[1], m[2]
		switch {
		case strings.Contains(why, "unknown authority"), strings.Contains(why, "certificate is valid for"):
			return Diagnosis{
				Cause: fmt.Sprintf("the registry does not trust the HTTPS certificate of the ACME directory %s (%s)", url, why),
				Fix:   "give --acme-ca-file the CA that signed the directory's HTTPS certificate, and check that --acme-directory names a host that certificate is for",
			}, true
		case strings.Contains(why, "no such host"):
			return Diagnosis{
				Cause: fmt.Sprintf("the registry cannot resolve the ACME directory %s (%s)", url, why),
				Fix:   "check --acme-directory; if the ACME CA runs in a container, put the registry on its Docker network with --network",
			}, true
		}
		return Diagnosis{
			Cause: fmt.Sprintf("the registry cannot connect to the ACME directory %s (%s)", url, why),
			Fix:   "check --acme-directory (host and port) and that the ACME CA runs and accepts connections from the registry's container (--network when it runs in Docker)",
		}, true
	}
	if m := reACMEProblem.FindStringSubmatch(line); m != nil {
		kind, detail := m[2], m[3]
		switch kind {
		case "rateLimited":
			return Diagnosis{
				Cause: fmt.Sprintf("%s refuses more certificates for now (rate limit): %s", directory, detail),
				Fix:   "wait until the time the CA names, then re-run paxsetup init; keep data/ (the ACME cache), so restarts reuse the certificate instead of ordering again, and try changes against a staging directory (--acme-directory)",
			}, true
		case "unauthorized":
			return Diagnosis{
				Cause: fmt.Sprintf("%s refused to issue for %s: %s", directory, host, detail),
				Fix:   fmt.Sprintf("make %s resolve to this host for the CA and forward TCP 443 to the registry; the CA's message above says what it saw", host),
			}, true
		case "connection", "tls", "dns", "incorrectResponse":
			return Diagnosis{
				Cause: fmt.Sprintf("%s could not validate %s (TLS-ALPN-01): %s", directory, host, detail),
				Fix:   fmt.Sprintf("make %s resolve to this host for the CA and forward TCP 443 to the registry's port", host),
			}, true
		case "rejectedIdentifier":
			return Diagnosis{
				Cause: fmt.Sprintf("%s will not issue for %s: %s", directory, host, detail),
				Fix:   "use a name the CA issues for (Let's Encrypt: a public DNS name under a public suffix)",
			}, true
		}
		return Diagnosis{
			Cause: fmt.Sprintf("%s answered the registry's order with an error (%s): %s", directory, kind, detail),
			Fix:   "follow the CA's message; `paxsetup logs` shows the registry's whole log",
		}, true
	}
	if m := reACMENoChal.FindStringSubmatch(line); m != nil {
		return Diagnosis{
			Cause: fmt.Sprintf("%s could not validate %s through TLS-ALPN-01 (the only challenge the registry answers): its connection to %s on port 443 did not reach this registry", directory, m[1], m[1]),
			Fix:   fmt.Sprintf("make %s resolve, for the CA, to this host, and forward TCP 443 to the registry's port (no proxy may end TLS in front of it); with a CA in Docker, put the registry on its network (--network)", m[1]),
		}, true
	}
	return Diagnosis{}, false
}
