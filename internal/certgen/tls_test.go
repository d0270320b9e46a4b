package certgen

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTLSServer serves the generated certificate the way the registry does
// (tls.crt and tls.key through Go's TLS stack) and connects with a client
// that trusts only ca.crt.
func TestTLSServer(t *testing.T) {
	dir := t.TempDir()
	// An RSA leaf, as by default, so the KeyEncipherment path is exercised.
	generate(t, GenerateOptions{Dir: dir, Host: "registry.test", SANs: []string{"127.0.0.1", "::1"}, Key: testRSAKey(t)})
	files := Files{Dir: dir}

	pair, err := tls.LoadX509KeyPair(files.TLSCert(), files.TLSKey())
	if err != nil {
		t.Fatalf("the registry could not load tls.crt and tls.key: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"status":"UP"}`)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	// The refused handshakes below are expected; keep them out of the log.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}

	caPool, err := LoadCertPool(files.CACert())
	if err != nil {
		t.Fatal(err)
	}
	// client sends every request to the test server, whatever the URL's host,
	// so the URL decides only the name the certificate must cover.
	client := func(roots *x509.CertPool) *http.Client {
		var d net.Dialer
		return &http.Client{
			Timeout: 10 * time.Second,
			Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: roots},
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return d.DialContext(ctx, network, addr)
				},
			},
		}
	}

	tests := []struct {
		name    string
		url     string
		roots   *x509.CertPool
		wantErr string
	}{
		{"by name", "https://registry.test:" + port + "/health", caPool, ""},
		{"by ip", "https://127.0.0.1:" + port + "/health", caPool, ""},
		{"unlisted name", "https://other.test:" + port + "/health", caPool, "certificate is valid for registry.test, not other.test"},
		{"unlisted ip", "https://127.0.0.2:" + port + "/health", caPool, "certificate is valid for 127.0.0.1, ::1, not 127.0.0.2"},
		{"client without the CA", "https://registry.test:" + port + "/health", x509.NewCertPool(), "certificate signed by unknown authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client(tt.roots).Get(tt.url)
			checkErr(t, err, tt.wantErr)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "UP") {
				t.Errorf("status %d, body %q; want 200 UP", resp.StatusCode, body)
			}
		})
	}
}

// TestOpenSSLVerify checks the files with openssl, the tool operators and
// the vendor's manual use, whose chain rules differ from Go's.
func TestOpenSSLVerify(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl is needed for this test and is not on PATH (CI installs it; on Debian/Ubuntu: apt-get install openssl): %v", err)
	}
	dir := t.TempDir()
	generate(t, GenerateOptions{Dir: dir, Host: "registry.local", SANs: []string{"10.0.0.5", "2001:db8::5"}})
	files := Files{Dir: dir}

	other := t.TempDir()
	generate(t, GenerateOptions{Dir: other, Host: "registry.local"})

	self, err := SelfSigned(LeafOptions{Host: "registry.local", SANs: []string{"10.0.0.5"}, Key: ecKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	selfPath := filepath.Join(t.TempDir(), "self.crt")
	writeFile(t, selfPath, self.CertPEM())

	tests := []struct {
		name   string
		args   []string
		wantOK bool
	}{
		{"leaf against ca.crt", []string{"-CAfile", files.CACert(), files.TLSCert()}, true},
		{"for server use", []string{"-purpose", "sslserver", "-CAfile", files.CACert(), files.TLSCert()}, true},
		{"host name", []string{"-verify_hostname", "registry.local", "-CAfile", files.CACert(), files.TLSCert()}, true},
		{"ipv4", []string{"-verify_ip", "10.0.0.5", "-CAfile", files.CACert(), files.TLSCert()}, true},
		{"ipv6", []string{"-verify_ip", "2001:db8::5", "-CAfile", files.CACert(), files.TLSCert()}, true},
		{"chain.pem as the untrusted chain", []string{"-CAfile", files.CACert(), "-untrusted", files.Chain(), files.TLSCert()}, true},
		{"self-signed against itself", []string{"-purpose", "sslserver", "-CAfile", selfPath, selfPath}, true},
		{"unlisted name", []string{"-verify_hostname", "other.local", "-CAfile", files.CACert(), files.TLSCert()}, false},
		{"another CA", []string{"-CAfile", Files{Dir: other}.CACert(), files.TLSCert()}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command(openssl, append([]string{"verify"}, tt.args...)...).CombinedOutput()
			ok := err == nil && strings.Contains(string(out), ": OK")
			if ok != tt.wantOK {
				t.Errorf("openssl verify %s: ok = %v, want %v\n%s", strings.Join(tt.args, " "), ok, tt.wantOK, out)
			}
		})
	}
}
