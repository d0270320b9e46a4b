package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
)

func ecKey(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newCA(t testing.TB, cn string) *certgen.CA {
	t.Helper()
	ca, err := certgen.NewCA(certgen.CAOptions{Key: ecKey(t), CommonName: cn})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func issue(t testing.TB, ca *certgen.CA, opts certgen.LeafOptions) *certgen.Leaf {
	t.Helper()
	opts.Key = ecKey(t)
	l, err := ca.Issue(opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// cnOnly is what `openssl req -x509` with an interactive CN makes: a
// certificate with a Common Name and no SANs at all.
func cnOnly(t testing.TB, ca *certgen.CA, cn string) *certgen.Leaf {
	t.Helper()
	key := ecKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(90 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &certgen.Leaf{Cert: cert, Key: key}
}

// registry answers like the vendor image: /health open, /v1/_catalog behind
// basic auth for users, with the image's security headers unless bare.
type registry struct {
	users map[string]string
	bare  bool
}

func (reg registry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !reg.bare {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Strict-Transport-Security", "max-age=63072000; includeSubdomains; preload")
	}
	switch r.URL.Path {
	case "/health":
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"UP"}`))
	case "/v1/_catalog":
		u, p, ok := r.BasicAuth()
		if !ok || reg.users[u] == "" || reg.users[u] != p {
			w.Header().Set("WWW-Authenticate", `Basic realm="basic-realm"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"repositories":["a","b"]}`))
	default:
		http.NotFound(w, r)
	}
}

var quietLog = log.New(io.Discard, "", 0)

// tlsServer serves h with leaf (and the chain after it).
func tlsServer(t testing.TB, h http.Handler, leaf *certgen.Leaf, chain ...*x509.Certificate) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	der := [][]byte{leaf.Cert.Raw}
	for _, c := range chain {
		der = append(der, c.Raw)
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: der, PrivateKey: leaf.Key}}}
	srv.Config.ErrorLog = quietLog
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func plainServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = quietLog
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func pool(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

func port(srv *httptest.Server) string {
	_, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return p
}

func closedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	return p
}

// slammer accepts connections and closes them at once: a port proxy with
// no registry behind it.
func slammer(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunDiagnoses(t *testing.T) {
	const admin, adminPW, reader, readerPW = "admin", "right-password", "spectro", "reader-password"
	users := map[string]string{admin: adminPW, reader: readerPW}
	ca := newCA(t, "paxsetup CA")
	caDir := t.TempDir()
	caFile := writeFile(t, caDir, "ca.crt", string(ca.CertPEM()))

	good := tlsServer(t, registry{users: users}, issue(t, ca, certgen.LeafOptions{Host: "registry.local", SANs: []string{"127.0.0.1"}}))
	bare := tlsServer(t, registry{users: users, bare: true}, issue(t, ca, certgen.LeafOptions{Host: "registry.local", SANs: []string{"127.0.0.1"}}))
	noIP := tlsServer(t, registry{users: users}, issue(t, ca, certgen.LeafOptions{Host: "registry.local"}))
	cn := tlsServer(t, registry{users: users}, cnOnly(t, ca, "registry.local"))
	past := func() time.Time { return time.Now().AddDate(0, 0, -30) }
	oldCA, err := certgen.NewCA(certgen.CAOptions{Key: ecKey(t), CommonName: "paxsetup CA", Now: past})
	if err != nil {
		t.Fatal(err)
	}
	expired := tlsServer(t, registry{users: users}, issue(t, oldCA, certgen.LeafOptions{Host: "registry.local", SANs: []string{"127.0.0.1"}, Now: past, Days: 10}))
	soon := tlsServer(t, registry{users: users}, issue(t, ca, certgen.LeafOptions{Host: "registry.local", SANs: []string{"127.0.0.1"}, Days: 10}))
	other := newCA(t, "Other Corp CA")
	foreign := tlsServer(t, registry{users: users}, issue(t, other, certgen.LeafOptions{Host: "registry.local", SANs: []string{"127.0.0.1"}}))
	remade := newCA(t, "paxsetup CA")
	remadeSrv := tlsServer(t, registry{users: users}, issue(t, remade, certgen.LeafOptions{Host: "registry.local", SANs: []string{"127.0.0.1"}}))
	plain := plainServer(t, registry{users: users})
	notPack := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			w.Write([]byte(`{"status":"UP"}`))
			return
		}
		http.NotFound(w, r)
	}), issue(t, ca, certgen.LeafOptions{Host: "registry.local", SANs: []string{"127.0.0.1"}}))
	noHealth := tlsServer(t, http.NotFoundHandler(), issue(t, ca, certgen.LeafOptions{Host: "registry.local", SANs: []string{"127.0.0.1"}}))
	open := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"status":"UP","repositories":[]}`))
	}), issue(t, ca, certgen.LeafOptions{Host: "registry.local", SANs: []string{"127.0.0.1"}}))

	byName := func(srv *httptest.Server) (string, string) {
		return "https://registry.local:" + port(srv), srv.Listener.Addr().String()
	}
	byIP := func(srv *httptest.Server) (string, string) { return "https://127.0.0.1:" + port(srv), "" }

	tests := []struct {
		name     string
		at       func(*httptest.Server) (string, string)
		srv      *httptest.Server
		endpoint string // when srv is nil
		dial     string
		opts     Options
		wantOK   bool
		// wantCheck is the first failed check, or, when wantOK, a check
		// that must have wantStatus.
		wantCheck  string
		wantStatus Status
		wantDetail string
		wantFix    string
	}{
		{name: "healthy by name, both users", at: byName, srv: good,
			opts:   Options{User: admin, Password: adminPW, ReaderUser: reader, ReaderPassword: readerPW},
			wantOK: true, wantCheck: CheckCatalogAs + reader, wantStatus: OK, wantDetail: "200 (2 repositories)"},
		{name: "healthy by IP", at: byIP, srv: good, opts: Options{User: admin, Password: adminPW},
			wantOK: true, wantCheck: CheckName, wantStatus: OK, wantDetail: "covers 127.0.0.1"},
		{name: "security headers present", at: byIP, srv: good,
			wantOK: true, wantCheck: CheckHeaders, wantStatus: OK, wantDetail: "X-Frame-Options: DENY"},
		{name: "security headers missing", at: byIP, srv: bare,
			wantOK: true, wantCheck: CheckHeaders, wantStatus: Warn, wantDetail: "X-Content-Type-Options, X-Frame-Options, Strict-Transport-Security", wantFix: "http.headers"},
		{name: "private CA not in the system store", at: byIP, srv: good,
			wantOK: true, wantCheck: CheckSystemTrust, wantStatus: Warn, wantDetail: `does not trust it (issuer "paxsetup CA")`, wantFix: "sudo paxsetup trust --host 127.0.0.1 --port " + port(good) + " --ca-file " + caFile},
		{name: "CA in the system store", at: byIP, srv: good, opts: Options{SystemRoots: pool(ca.Cert)},
			wantOK: true, wantCheck: CheckSystemTrust, wantStatus: OK, wantDetail: "trusts it too"},
		{name: "expires soon", at: byIP, srv: soon,
			wantOK: true, wantCheck: CheckExpiry, wantStatus: Warn, wantDetail: "in 9 days", wantFix: "--force"},
		{name: "wrong password", at: byName, srv: good, opts: Options{User: admin, Password: "wrong"},
			wantCheck: CheckCatalogAs + admin, wantDetail: `user "admin" was refused (401)`, wantFix: "bcrypt"},
		{name: "reader refused", at: byName, srv: good,
			opts:      Options{User: admin, Password: adminPW, ReaderUser: reader, ReaderPassword: "nope"},
			wantCheck: CheckCatalogAs + reader, wantDetail: `user "spectro" was refused (401)`},
		{name: "no IP SAN", at: byIP, srv: noIP, wantCheck: CheckName, wantDetail: "no IP SANs, so it cannot be used for 127.0.0.1 (it has: registry.local)", wantFix: "--san 127.0.0.1"},
		{name: "CN only", at: byName, srv: cn, wantCheck: CheckName, wantDetail: `no SANs, only the legacy Common Name "registry.local"`, wantFix: "SANs"},
		{name: "CN only by IP", at: byIP, srv: cn, wantCheck: CheckName, wantDetail: "legacy Common Name"},
		{name: "name not covered", endpoint: "https://other.local:" + port(good), dial: good.Listener.Addr().String(),
			wantCheck: CheckName, wantDetail: "does not cover other.local (it has: registry.local, 127.0.0.1)", wantFix: "--san other.local"},
		{name: "expired", at: byIP, srv: expired, opts: Options{RootCAs: pool(oldCA.Cert)},
			wantCheck: CheckExpiry, wantDetail: "the certificate expired on", wantFix: "--force"},
		{name: "signed by another CA", at: byName, srv: foreign,
			wantCheck: CheckTrust, wantDetail: `signed by "Other Corp CA", which ` + caFile + ` (which holds "paxsetup CA") does not contain`, wantFix: "--ca-file"},
		{name: "CA made again", at: byName, srv: remadeSrv,
			wantCheck: CheckTrust, wantDetail: "holds a CA of that name, but with another key", wantFix: "init --force"},
		{name: "another CA, insecure", at: byName, srv: foreign, opts: Options{Insecure: true, User: admin, Password: adminPW},
			wantOK: true, wantCheck: CheckTrust, wantStatus: Warn, wantDetail: "not enforced: --insecure"},
		{name: "plain HTTP on the HTTPS port", at: byIP, srv: plain, wantCheck: CheckTLS, wantDetail: "plain HTTP on this port, not HTTPS",
			wantFix: "--endpoint http://127.0.0.1:" + port(plain)},
		{name: "HTTPS on a plain HTTP endpoint", endpoint: "http://127.0.0.1:" + port(good),
			wantCheck: CheckTLS, wantDetail: "speaks HTTPS on this port", wantFix: "--endpoint https://127.0.0.1:" + port(good)},
		{name: "plain HTTP registry", endpoint: plain.URL, opts: Options{User: admin, Password: adminPW},
			wantOK: true, wantCheck: CheckTLS, wantStatus: Warn, wantDetail: "unencrypted"},
		{name: "nothing listening", endpoint: "https://127.0.0.1:" + closedPort(t),
			wantCheck: CheckTCP, wantDetail: "connection refused", wantFix: "docker logs"},
		{name: "accepts and closes", endpoint: "https://registry.local", dial: slammer(t),
			wantCheck: CheckTLS, wantDetail: "accepted the connection and closed it", wantFix: "docker logs"},
		{name: "not a pack registry", at: byName, srv: notPack, wantCheck: CheckAuthRequired, wantDetail: "not a pack registry"},
		{name: "no /health", at: byName, srv: noHealth, wantCheck: CheckHealth, wantDetail: "404", wantFix: "spectro-registry image"},
		{name: "catalog without auth", at: byName, srv: open, wantCheck: CheckAuthRequired, wantDetail: "anyone can read"},
		{name: "not a URL", endpoint: "registry.local", wantCheck: CheckEndpoint, wantDetail: "not a registry URL", wantFix: "--endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Endpoint, opts.DialAddr = tt.endpoint, tt.dial
			if tt.srv != nil {
				opts.Endpoint, opts.DialAddr = tt.at(tt.srv)
			}
			if opts.RootCAs == nil {
				opts.RootCAs, opts.CAFile = pool(ca.Cert), caFile
			}
			if opts.SystemRoots == nil {
				opts.SystemRoots = x509.NewCertPool()
			}
			opts.Timeout = time.Second
			rep := Run(context.Background(), opts)
			if rep.OK() != tt.wantOK {
				t.Fatalf("OK = %v, want %v: %+v", rep.OK(), tt.wantOK, rep.Checks)
			}
			var c Check
			if tt.wantOK {
				var ok bool
				if c, ok = rep.Find(tt.wantCheck); !ok {
					t.Fatalf("no %q check in %+v", tt.wantCheck, rep.Checks)
				}
				if c.Status != tt.wantStatus {
					t.Errorf("%s status = %s, want %s: %+v", c.Name, c.Status, tt.wantStatus, c)
				}
			} else {
				c = rep.Failed()[0]
				if c.Name != tt.wantCheck {
					t.Errorf("first failure is %q, want %q: %+v", c.Name, tt.wantCheck, rep.Checks)
				}
				// A connection or certificate failure is the cause of
				// whatever the HTTP checks would report: they must not run.
				if _, ran := rep.Find(CheckHealth); ran && c.Name != CheckHealth && !strings.HasPrefix(c.Name, "catalog") && c.Name != CheckAuthRequired {
					t.Errorf("HTTP checks ran after %q failed: %+v", c.Name, rep.Checks)
				}
			}
			if !strings.Contains(c.Detail, tt.wantDetail) {
				t.Errorf("detail = %q, want it to contain %q", c.Detail, tt.wantDetail)
			}
			if !strings.Contains(c.Fix, tt.wantFix) {
				t.Errorf("fix = %q, want it to contain %q", c.Fix, tt.wantFix)
			}
		})
	}
}

// TestRunExplains401FromHtpasswd checks the local diagnosis of a refused
// login against each state the registry's htpasswd file can be in.
func TestRunExplains401FromHtpasswd(t *testing.T) {
	ca := newCA(t, "paxsetup CA")
	srv := tlsServer(t, registry{users: map[string]string{"admin": "registry-knows-this"}},
		issue(t, ca, certgen.LeafOptions{Host: "registry.local", SANs: []string{"127.0.0.1"}}))
	dir := t.TempDir()
	bcryptEntry := func(user, pw string) string {
		f := &htpasswd.File{}
		if err := f.Set(user, pw, htpasswd.MinCost); err != nil {
			t.Fatal(err)
		}
		return string(f.Bytes())
	}
	tests := []struct {
		name       string
		content    string // "" means no file
		user, pw   string
		wantDetail string
		wantFix    string
	}{
		{name: "non-bcrypt entry", content: bcryptEntry("admin", "x") + "spectro:$apr1$abcdefgh$0123456789abcdefghijkl\n",
			user: "spectro", pw: "whatever-password", wantDetail: "not bcrypt", wantFix: "bcrypt"},
		{name: "user missing", content: bcryptEntry("admin", "x"), user: "spectro", pw: "p",
			wantDetail: `has no entry for "spectro" (it has: admin)`},
		{name: "wrong password", content: bcryptEntry("admin", "the-right-one"), user: "admin", pw: "a-wrong-one",
			wantDetail: "wrong password: it does not match the entry"},
		{name: "matches but refused", content: bcryptEntry("admin", "file-password"), user: "admin", pw: "file-password",
			wantDetail: "although the password matches", wantFix: "docker restart"},
		{name: "no file", user: "admin", pw: "p", wantDetail: "does not exist", wantFix: "init"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ht := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"))
			if tt.content != "" {
				writeFile(t, dir, filepath.Base(ht), tt.content)
			}
			rep := Run(context.Background(), Options{
				Endpoint: "https://127.0.0.1:" + port(srv), RootCAs: pool(ca.Cert), SystemRoots: x509.NewCertPool(),
				User: tt.user, Password: tt.pw, HtpasswdFile: ht, Timeout: time.Second,
			})
			if rep.OK() {
				t.Fatalf("want a refused login: %+v", rep.Checks)
			}
			c := rep.Failed()[0]
			if c.Name != CheckCatalogAs+tt.user || !strings.Contains(c.Detail, tt.wantDetail) || !strings.Contains(c.Fix, tt.wantFix) {
				t.Errorf("got %+v, want detail with %q and fix with %q", c, tt.wantDetail, tt.wantFix)
			}
		})
	}
}

// TestRunWaitsForAStartingRegistry starts listening only after Run began:
// a refused connection means "not yet", not failure.
func TestRunWaitsForAStartingRegistry(t *testing.T) {
	addr := "127.0.0.1:" + closedPort(t)
	go func() {
		time.Sleep(300 * time.Millisecond)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return
		}
		srv := &http.Server{Handler: registry{}}
		t.Cleanup(func() { srv.Close() })
		srv.Serve(ln)
	}()
	rep := Run(context.Background(), Options{Endpoint: "http://" + addr, Timeout: 10 * time.Second})
	if !rep.OK() {
		t.Fatalf("report: %+v", rep.Checks)
	}
	if c, _ := rep.Find(CheckHealth); c.Status != OK {
		t.Errorf("health = %+v, want ok", c)
	}
}

// TestRunGivesUpAtTheTimeout: a port that never opens fails after the
// timeout with the reason of the last attempt.
func TestRunGivesUpAtTheTimeout(t *testing.T) {
	rep := Run(context.Background(), Options{Endpoint: "https://127.0.0.1:" + closedPort(t), Timeout: 300 * time.Millisecond})
	c := rep.Failed()
	if len(c) != 1 || c[0].Name != CheckTCP || !strings.Contains(c[0].Detail, "nothing answered within") || !strings.Contains(c[0].Detail, "connection refused") {
		t.Errorf("got %+v", rep.Checks)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestDiagnose(t *testing.T) {
	u, _ := url.Parse("https://registry.example.com:8443")
	tests := []struct {
		name       string
		err        error
		wantDetail string
		wantFix    string
	}{
		{"timeout", &net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}}, "no answer from registry.example.com:8443", "firewall"},
		{"deadline", context.DeadlineExceeded, "no answer", "firewall"},
		{"dns", &net.DNSError{Err: "no such host", Name: "registry.example.com", IsNotFound: true}, "registry.example.com does not resolve", "DNS"},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, "connection refused", "paxsetup status"},
		{"unreachable", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)}, "no route", "firewall"},
		{"alert", errors.New("remote error: tls: handshake failure"), "refused the TLS handshake", "docker logs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, f := Diagnose(tt.err, u, Options{})
			if !strings.Contains(d, tt.wantDetail) || !strings.Contains(f, tt.wantFix) {
				t.Errorf("Diagnose = %q, %q; want %q, %q", d, f, tt.wantDetail, tt.wantFix)
			}
		})
	}
}
