package certgen

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// certSpec describes a certificate for a lint test; the zero value is a
// server certificate for registry.test and 10.0.0.5, valid for 90 days
// around testNow, for serverAuth.
type certSpec struct {
	cn          string
	dns         []string
	ips         []net.IP
	noSANs      bool
	ca          bool
	maxPathZero bool
	eku         []x509.ExtKeyUsage
	noEKU       bool
	notBefore   time.Time
	notAfter    time.Time
	key         crypto.Signer
}

type issued struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// mkCert signs spec with parent, or self-signs it when parent is nil.
func mkCert(t *testing.T, spec certSpec, parent *issued) issued {
	t.Helper()
	key := spec.key
	if key == nil {
		key = ecKey(t)
	}
	if spec.cn == "" {
		spec.cn = "registry.test"
	}
	if !spec.noSANs && spec.dns == nil && spec.ips == nil && !spec.ca {
		spec.dns, spec.ips = []string{"registry.test"}, []net.IP{net.ParseIP("10.0.0.5").To4()}
	}
	if spec.eku == nil && !spec.noEKU && !spec.ca {
		spec.eku = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	if spec.notBefore.IsZero() {
		spec.notBefore = testNow.Add(-24 * time.Hour)
	}
	if spec.notAfter.IsZero() {
		spec.notAfter = spec.notBefore.Add(90 * 24 * time.Hour)
	}
	serial, err := randomSerial(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: spec.cn},
		NotBefore:             spec.notBefore,
		NotAfter:              spec.notAfter,
		DNSNames:              spec.dns,
		IPAddresses:           spec.ips,
		ExtKeyUsage:           spec.eku,
		BasicConstraintsValid: true,
		IsCA:                  spec.ca,
		MaxPathLenZero:        spec.maxPathZero,
		KeyUsage:              x509.KeyUsageDigitalSignature,
	}
	if spec.ca {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	}
	signer, parentCert := key, tmpl
	if parent != nil {
		signer, parentCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), signer)
	if err != nil {
		t.Fatalf("create %s: %v", spec.cn, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return issued{c, key}
}

func codes(f []Finding) []string {
	var out []string
	for _, x := range f {
		out = append(out, string(x.Severity)+" "+x.Code)
	}
	return out
}

func TestLint(t *testing.T) {
	day := 24 * time.Hour
	root := mkCert(t, certSpec{cn: "Test Root", ca: true, notAfter: testNow.Add(3650 * day)}, nil)
	inter := mkCert(t, certSpec{cn: "Test Intermediate", ca: true, notAfter: testNow.Add(1000 * day)}, &root)
	leaf := mkCert(t, certSpec{}, &inter)
	otherRoot := mkCert(t, certSpec{cn: "Other Root", ca: true}, nil)
	// paxsetup's own kind of CA: it may issue leaves only.
	pathZeroRoot := mkCert(t, certSpec{cn: "Path Zero Root", ca: true, maxPathZero: true}, nil)
	pathZeroInter := mkCert(t, certSpec{cn: "Under Path Zero", ca: true}, &pathZeroRoot)
	pathZeroLeaf := mkCert(t, certSpec{}, &pathZeroInter)
	expiredInter := mkCert(t, certSpec{cn: "Expired Intermediate", ca: true, notBefore: testNow.Add(-400 * day), notAfter: testNow.Add(-day)}, &root)
	underExpired := mkCert(t, certSpec{}, &expiredInter)
	clientOnlyInter := mkCert(t, certSpec{cn: "Client Only Intermediate", ca: true, eku: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, &root)
	underClientOnly := mkCert(t, certSpec{}, &clientOnlyInter)
	weakKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}

	leafWith := func(spec certSpec) *x509.Certificate { return mkCert(t, spec, &inter).cert }
	chain := func(leaf *x509.Certificate) []*x509.Certificate {
		return []*x509.Certificate{leaf, inter.cert, root.cert}
	}

	tests := []struct {
		name  string
		chain []*x509.Certificate
		opts  LintOptions
		want  []string // "severity code", in order
		// wantMsg are substrings of the findings' messages.
		wantMsg []string
	}{
		{name: "good full chain", chain: chain(leaf.cert), opts: LintOptions{Hosts: []string{"registry.test", "10.0.0.5"}, Key: leaf.key.Public()}},
		{name: "good chain against given roots", chain: []*x509.Certificate{leaf.cert, inter.cert}, opts: LintOptions{Roots: poolOf(root.cert)}},
		{name: "leaf alone, no roots: order only", chain: []*x509.Certificate{leaf.cert}},
		{name: "empty", chain: nil, want: []string{"error no-certificate"}},

		{name: "CN only", chain: chain(leafWith(certSpec{noSANs: true})), want: []string{"error no-san"},
			wantMsg: []string{"legacy Common Name field", "paxsetup certs gen --host registry.test"}},
		{name: "CN only, reached by name", chain: chain(leafWith(certSpec{noSANs: true})), opts: LintOptions{Hosts: []string{"registry.test"}},
			want: []string{"error no-san", "error host-not-covered"}},
		{name: "name not covered", chain: chain(leaf.cert), opts: LintOptions{Hosts: []string{"registry.test", "other.test"}},
			want: []string{"error host-not-covered"}, wantMsg: []string{"does not cover other.test", "--san other.test"}},
		{name: "ip without IP SANs", chain: chain(leafWith(certSpec{dns: []string{"registry.test"}})), opts: LintOptions{Hosts: []string{"10.0.0.9"}},
			want: []string{"error host-not-covered"}, wantMsg: []string{"doesn't contain any IP SANs", "--san 10.0.0.9"}},
		{name: "ipv6 not covered", chain: chain(leaf.cert), opts: LintOptions{Hosts: []string{"2001:db8::5"}},
			want: []string{"error host-not-covered"}},
		{name: "wildcard covers a name under it", chain: chain(leafWith(certSpec{dns: []string{"*.apps.test"}})), opts: LintOptions{Hosts: []string{"packs.apps.test", "*.apps.test"}}},

		{name: "client auth only", chain: chain(leafWith(certSpec{eku: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})),
			want: []string{"error no-server-auth"}, wantMsg: []string{"(clientAuth) lacks serverAuth"}},
		{name: "no EKU at all", chain: chain(leafWith(certSpec{noEKU: true})), want: []string{"warning no-eku"}},
		{name: "any EKU", chain: chain(leafWith(certSpec{eku: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}))},
		{name: "issuer limited to client auth", chain: []*x509.Certificate{underClientOnly.cert, clientOnlyInter.cert, root.cert},
			want: []string{"error no-server-auth"}, wantMsg: []string{"Client Only Intermediate"}},

		{name: "expired", chain: chain(leafWith(certSpec{notBefore: testNow.Add(-100 * day), notAfter: testNow.Add(-2 * day)})),
			want: []string{"error expired"}, wantMsg: []string{"expired on 2026-02-27", "2 days ago"}},
		{name: "not yet valid", chain: chain(leafWith(certSpec{notBefore: testNow.Add(day)})),
			want: []string{"error not-yet-valid"}, wantMsg: []string{"clock"}},
		{name: "expires within 30 days", chain: chain(leafWith(certSpec{notBefore: testNow.Add(-day), notAfter: testNow.Add(10 * day)})),
			want: []string{"warning expires-soon"}, wantMsg: []string{"in 10 days"}},
		{name: "expired intermediate", chain: []*x509.Certificate{underExpired.cert, expiredInter.cert, root.cert},
			want: []string{"error expired"}, wantMsg: []string{"Expired Intermediate"}},
		{name: "valid for 1825 days", chain: chain(leafWith(certSpec{notAfter: testNow.Add(-day + 1825*day)})),
			want: []string{"warning validity-over-825"}, wantMsg: []string{"1825 days", "--days 825"}},
		{name: "valid for exactly 825 days", chain: chain(leafWith(certSpec{notAfter: testNow.Add(-day + 825*day)}))},

		{name: "RSA-1024", chain: chain(leafWith(certSpec{key: weakKey})), want: []string{"error weak-rsa"}, wantMsg: []string{"1024-bit"}},
		{name: "RSA-2048", chain: chain(leafWith(certSpec{key: testRSAKey(t)}))},
		{name: "another key", chain: chain(leaf.cert), opts: LintOptions{Key: ecKey(t).Public()}, want: []string{"error key-mismatch"}},

		{name: "root before intermediate", chain: []*x509.Certificate{leaf.cert, root.cert, inter.cert},
			want: []string{"error chain-order"}, wantMsg: []string{"certificate 1 of 3", "certificate 3 of 3", "must come right after it"}},
		{name: "server certificate last", chain: []*x509.Certificate{root.cert, inter.cert, leaf.cert},
			want: []string{"error chain-order"}, wantMsg: []string{"put the server certificate first"}},
		{name: "root in the middle", chain: []*x509.Certificate{leaf.cert, inter.cert, root.cert, otherRoot.cert},
			want: []string{"error chain-order"}, wantMsg: []string{"self-signed root"}},
		{name: "intermediate missing, root present", chain: []*x509.Certificate{leaf.cert, root.cert},
			want: []string{"error chain-incomplete"}, wantMsg: []string{`"CN=Test Intermediate", which is missing`}},
		{name: "intermediate missing, roots given", chain: []*x509.Certificate{leaf.cert}, opts: LintOptions{Roots: poolOf(root.cert)},
			want: []string{"error chain-incomplete"}, wantMsg: []string{"does not reach the trusted CAs"}},
		{name: "another CA trusted", chain: []*x509.Certificate{leaf.cert, inter.cert}, opts: LintOptions{Roots: poolOf(otherRoot.cert)},
			want: []string{"error chain-incomplete"}},
		{name: "intermediate under a leaves-only CA", chain: []*x509.Certificate{pathZeroLeaf.cert, pathZeroInter.cert, pathZeroRoot.cert},
			want: []string{"error chain-invalid"}},

		{name: "several problems at once", chain: []*x509.Certificate{leafWith(certSpec{noSANs: true, noEKU: true, key: weakKey, notAfter: testNow.Add(-day + 1825*day)})},
			opts: LintOptions{Hosts: []string{"10.0.0.5"}, Key: ecKey(t).Public()},
			want: []string{"error no-san", "error host-not-covered", "warning no-eku", "warning validity-over-825", "error weak-rsa", "error key-mismatch"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Now = testNow
			got := Lint(tt.chain, tt.opts)
			if !slices.Equal(codes(got), tt.want) {
				t.Fatalf("findings = %q, want %q\n%v", codes(got), tt.want, got)
			}
			if HasErrors(got) != slices.ContainsFunc(tt.want, func(s string) bool { return strings.HasPrefix(s, "error ") }) {
				t.Errorf("HasErrors = %v for %q", HasErrors(got), codes(got))
			}
			all := ""
			for _, f := range got {
				if !strings.Contains(f.Message, ":") || len(f.Message) < 40 {
					t.Errorf("%s: message %q does not say what to do", f.Code, f.Message)
				}
				all += f.Message + "\n"
			}
			for _, w := range tt.wantMsg {
				if !strings.Contains(all, w) {
					t.Errorf("messages lack %q:\n%s", w, all)
				}
			}
		})
	}
}

// TestLintGenerated checks that what paxsetup makes passes its own lint,
// with the warnings Generate reports for an unusual validity.
func TestLintGenerated(t *testing.T) {
	tests := []struct {
		name       string
		opts       GenerateOptions
		want       []string
		selfSigned bool
	}{
		{name: "defaults", opts: GenerateOptions{}},
		{name: "self-signed", opts: GenerateOptions{SelfSigned: true}},
		{name: "1000 days", opts: GenerateOptions{Days: 1000}, want: []string{"warning validity-over-825"}},
		{name: "7 days", opts: GenerateOptions{Days: 7}, want: []string{"warning expires-soon"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Dir, opts.Host, opts.SANs, opts.Now = t.TempDir(), "registry.local", []string{"10.0.0.5", "2001:db8::5", "*.apps.local"}, fixedClock(testNow)
			res := generate(t, opts)
			if !slices.Equal(codes(res.Findings), tt.want) {
				t.Errorf("Result.Findings = %q, want %q", codes(res.Findings), tt.want)
			}
			chain, err := LoadCertificates(res.Files.Chain())
			if err != nil {
				t.Fatal(err)
			}
			key, err := LoadPrivateKey(res.Files.TLSKey())
			if err != nil {
				t.Fatal(err)
			}
			roots, err := LoadCertPool(res.Files.CACert())
			if err != nil {
				t.Fatal(err)
			}
			got := Lint(chain, LintOptions{Hosts: append([]string{opts.Host}, opts.SANs...), Key: key.Public(), Roots: roots, Now: testNow})
			if !slices.Equal(codes(got), tt.want) {
				t.Errorf("Lint(chain.pem) = %q, want %q", codes(got), tt.want)
			}
		})
	}
}

func TestHasErrors(t *testing.T) {
	tests := []struct {
		name string
		f    []Finding
		want bool
	}{
		{"none", nil, false},
		{"warnings only", []Finding{{SeverityWarning, CodeExpiresSoon, "m"}, {SeverityWarning, CodeNoEKU, "m"}}, false},
		{"an error", []Finding{{SeverityWarning, CodeExpiresSoon, "m"}, {SeverityError, CodeNoSAN, "m"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HasErrors(tt.f); got != tt.want {
				t.Errorf("HasErrors = %v, want %v", got, tt.want)
			}
		})
	}
}
