package dockerctl

import (
	"strings"
	"testing"
)

// TestDiagnoseACME maps the registry's ACME errors, as x/crypto's acme and
// autocert packages word them in the handshake errors it logs, to a cause
// and a fix. The rate limit and refusal lines are Let's Encrypt's own
// problem documents, which a test CA cannot be made to send.
func TestDiagnoseACME(t *testing.T) {
	const prefix = "2026/11/30 00:05:18 http: TLS handshake error from 172.25.0.1:45690: "
	tests := []struct {
		name      string
		line      string
		wantCause []string
		wantFix   string
	}{
		{"directory refuses", `Get "https://pebble:14001/dir": dial tcp 172.25.0.2:14001: connect: connection refused`,
			[]string{"cannot connect to the ACME directory https://pebble:14001/dir", "connection refused"}, "--acme-directory"},
		{"directory unknown", `Get "https://acme.internal/dir": dial tcp: lookup acme.internal on 127.0.0.11:53: no such host`,
			[]string{"cannot resolve the ACME directory https://acme.internal/dir"}, "--network"},
		{"directory untrusted", `Get "https://pebble:14000/dir": tls: failed to verify certificate: x509: certificate signed by unknown authority`,
			[]string{"does not trust the HTTPS certificate of the ACME directory"}, "--acme-ca-file"},
		{"rate limited", `429 urn:ietf:params:acme:error:rateLimited: too many certificates (5) already issued for this exact set of identifiers in the last 168h0m0s, retry after 2026-12-01 10:00:00 UTC`,
			[]string{"rate limit", "retry after 2026-12-01"}, "keep data/"},
		{"unauthorized", `acme: authorization error for registry.example.com: 403 urn:ietf:params:acme:error:unauthorized: Incorrect validation certificate for tls-alpn-01 challenge`,
			[]string{"refused to issue for registry.example.com", "Incorrect validation certificate"}, "forward TCP 443"},
		{"challenge failed", `acme/autocert: unable to satisfy "https://pebble:14000/authZ/abc" for domain "registry.example.com": no viable challenge type found`,
			[]string{"could not validate registry.example.com through TLS-ALPN-01"}, "resolve, for the CA, to this host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := prefix + tt.line + "\n" + strings.Repeat(prefix+"acme/autocert: missing certificate\n", 50)
			ds := DiagnoseACME(logs, "registry.example.com", "")
			if len(ds) != 1 {
				t.Fatalf("got %d diagnoses, want 1: %+v", len(ds), ds)
			}
			d := ds[0]
			for _, w := range tt.wantCause {
				if !strings.Contains(d.Cause, w) {
					t.Errorf("cause %q lacks %q", d.Cause, w)
				}
			}
			if !strings.Contains(d.Fix, tt.wantFix) {
				t.Errorf("fix %q lacks %q", d.Fix, tt.wantFix)
			}
			if d.Evidence != prefix+tt.line {
				t.Errorf("evidence = %q", d.Evidence)
			}
		})
	}
	if ds := DiagnoseACME(prefix+"acme/autocert: missing certificate\n"+prefix+"EOF\n", "h.example", ""); len(ds) != 0 {
		t.Errorf("lines naming no cause were diagnosed: %+v", ds)
	}
}
