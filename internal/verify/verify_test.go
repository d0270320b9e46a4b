package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paxsetup/paxsetup/internal/certgen"
)

func ecKey(t *testing.T) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newCA(t *testing.T) *certgen.CA {
	t.Helper()
	ca, err := certgen.NewCA(certgen.CAOptions{Key: ecKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// fakeRegistry answers like the vendor image: /health open, /v1/_catalog
// behind basic auth for admin:right-password.
func fakeRegistry() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"UP"}`))
	})
	mux.HandleFunc("GET /v1/_catalog", func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != "admin" || p != "right-password" {
			w.Header().Set("WWW-Authenticate", `Basic realm="basic-realm"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"repositories":["a","b"]}`))
	})
	return mux
}

// tlsServer serves h with a certificate made by issue.
func tlsServer(t *testing.T, h http.Handler, leaf *certgen.Leaf) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leaf.Cert.Raw}, PrivateKey: leaf.Key}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func pool(ca *certgen.CA) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

func port(srv *httptest.Server) string {
	_, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return p
}

func TestRunDiagnoses(t *testing.T) {
	ca := newCA(t)
	issue := func(opts certgen.LeafOptions) *certgen.Leaf {
		opts.Key = ecKey(t)
		l, err := ca.Issue(opts)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	good := tlsServer(t, fakeRegistry(), issue(certgen.LeafOptions{Host: "registry.local", SANs: []string{"127.0.0.1"}}))
	noIP := tlsServer(t, fakeRegistry(), issue(certgen.LeafOptions{Host: "registry.local"}))
	expired := tlsServer(t, fakeRegistry(), issue(certgen.LeafOptions{Host: "registry.local", SANs: []string{"127.0.0.1"},
		Now: func() time.Time { return time.Now().AddDate(0, 0, -30) }, Days: 10}))
	other := newCA(t)
	otherLeaf, err := other.Issue(certgen.LeafOptions{Host: "registry.local", Key: ecKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	foreign := tlsServer(t, fakeRegistry(), otherLeaf)
	plain := httptest.NewServer(fakeRegistry())
	defer plain.Close()
	notPack := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			w.Write([]byte(`{"status":"UP"}`))
			return
		}
		http.NotFound(w, r)
	}), issue(certgen.LeafOptions{Host: "registry.local"}))
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	tests := []struct {
		name       string
		endpoint   string
		dial       string
		user, pw   string
		wantOK     bool
		wantDetail string
		wantFix    string
	}{
		{name: "healthy by name", endpoint: "https://registry.local:" + port(good), dial: good.Listener.Addr().String(),
			user: "admin", pw: "right-password", wantOK: true},
		{name: "healthy by IP", endpoint: "https://127.0.0.1:" + port(good), user: "admin", pw: "right-password", wantOK: true},
		{name: "wrong password", endpoint: "https://registry.local:" + port(good), dial: good.Listener.Addr().String(),
			user: "admin", pw: "wrong", wantDetail: `user "admin" was refused (401)`, wantFix: "bcrypt"},
		{name: "no IP SAN", endpoint: "https://127.0.0.1:" + port(noIP), wantDetail: "no IP SANs", wantFix: "--san 127.0.0.1"},
		{name: "name not covered", endpoint: "https://other.local:" + port(good), dial: good.Listener.Addr().String(),
			wantDetail: "does not cover other.local (it has: registry.local, 127.0.0.1)"},
		{name: "expired", endpoint: "https://127.0.0.1:" + port(expired), wantDetail: "expired", wantFix: "--force"},
		{name: "signed by another CA", endpoint: "https://registry.local:" + port(foreign), dial: foreign.Listener.Addr().String(),
			wantDetail: "unknown authority", wantFix: "--ca-file"},
		{name: "plain HTTP on the port", endpoint: "https://127.0.0.1:" + port(plain), wantDetail: "plain HTTP"},
		{name: "nothing listening", endpoint: "https://127.0.0.1:" + strings.Split(closedAddr, ":")[1],
			wantDetail: "connection refused", wantFix: "docker logs"},
		{name: "not a pack registry", endpoint: "https://registry.local:" + port(notPack), dial: notPack.Listener.Addr().String(),
			wantDetail: "not a pack registry"},
		{name: "not a URL", endpoint: "registry.local", wantDetail: "not a registry URL", wantFix: "--endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := Run(context.Background(), Options{
				Endpoint: tt.endpoint, DialAddr: tt.dial, RootCAs: pool(ca), CAFile: "ca.crt",
				User: tt.user, Password: tt.pw, Timeout: time.Second,
			})
			if rep.OK() != tt.wantOK {
				t.Fatalf("OK = %v, want %v: %+v", rep.OK(), tt.wantOK, rep.Checks)
			}
			if tt.wantOK {
				if len(rep.Checks) != 3 {
					t.Errorf("want health, auth required and login checks, got %+v", rep.Checks)
				}
				return
			}
			f := rep.Failed()[0]
			if !strings.Contains(f.Detail, tt.wantDetail) {
				t.Errorf("detail = %q, want it to contain %q", f.Detail, tt.wantDetail)
			}
			if !strings.Contains(f.Fix, tt.wantFix) {
				t.Errorf("fix = %q, want it to contain %q", f.Fix, tt.wantFix)
			}
		})
	}
}

// TestRunWaitsForAStartingRegistry starts listening only after Run began:
// a refused connection means "not yet", not failure.
func TestRunWaitsForAStartingRegistry(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	go func() {
		time.Sleep(300 * time.Millisecond)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return
		}
		srv := &http.Server{Handler: fakeRegistry()}
		t.Cleanup(func() { srv.Close() })
		srv.Serve(ln)
	}()
	rep := Run(context.Background(), Options{Endpoint: "http://" + addr, Timeout: 10 * time.Second})
	if !rep.OK() {
		t.Fatalf("report: %+v", rep.Checks)
	}
	if rep.Checks[0].Name != "health" || rep.Checks[0].Status != OK {
		t.Errorf("first check = %+v, want health ok", rep.Checks[0])
	}
}
