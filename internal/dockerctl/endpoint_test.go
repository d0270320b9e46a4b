package dockerctl

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// writeContext stores a docker CLI context the way `docker context create`
// does: metadata under the SHA-256 of the name, TLS files beside it.
func writeContext(t *testing.T, configDir, name, host string, skipVerify bool, tlsFiles map[string][]byte) {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	digest := hex.EncodeToString(sum[:])
	meta := map[string]any{
		"Name":     name,
		"Metadata": map[string]any{"Description": "test"},
		"Endpoints": map[string]any{
			"docker": map[string]any{"Host": host, "SkipTLSVerify": skipVerify},
		},
	}
	data, err := json.Marshal(meta)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(configDir, "contexts", "meta", digest, "meta.json"), data)
	for file, body := range tlsFiles {
		writeFile(t, filepath.Join(configDir, "contexts", "tls", digest, "docker", file), body)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestResolveEndpoint(t *testing.T) {
	pem := []byte("not read here")
	tests := []struct {
		name    string
		env     map[string]string
		setup   func(t *testing.T, dir string)
		want    func(dir string) Endpoint
		wantErr []string
		wantIs  error
	}{
		{
			name: "nothing set: the default socket",
			want: func(string) Endpoint { return Endpoint{Host: DefaultHost, Source: "default socket"} },
		},
		{
			name: "DOCKER_HOST wins over DOCKER_CONTEXT and the current context",
			env:  map[string]string{"DOCKER_HOST": "unix:///run/user/1000/podman/podman.sock", "DOCKER_CONTEXT": "remote"},
			setup: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "config.json"), []byte(`{"currentContext":"remote"}`))
				writeContext(t, dir, "remote", "tcp://10.0.0.9:2376", false, nil)
			},
			want: func(string) Endpoint {
				return Endpoint{Host: "unix:///run/user/1000/podman/podman.sock", Source: "DOCKER_HOST"}
			},
		},
		{
			name: "DOCKER_TLS_VERIFY with DOCKER_CERT_PATH",
			env:  map[string]string{"DOCKER_HOST": "tcp://10.0.0.9:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "certs"},
			setup: func(t *testing.T, dir string) {
				for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
					writeFile(t, filepath.Join("certs", f), pem)
				}
			},
			want: func(string) Endpoint {
				return Endpoint{Host: "tcp://10.0.0.9:2376", Source: "DOCKER_HOST", TLS: &TLSFiles{
					CAFile: "certs/ca.pem", CertFile: "certs/cert.pem", KeyFile: "certs/key.pem",
				}}
			},
		},
		{
			// The docker CLI's default: DOCKER_TLS_VERIFY alone reads the
			// files from its config folder.
			name: "DOCKER_TLS_VERIFY alone reads the config folder",
			env:  map[string]string{"DOCKER_HOST": "tcp://10.0.0.9:2376", "DOCKER_TLS_VERIFY": "1"},
			setup: func(t *testing.T, dir string) {
				for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
					writeFile(t, filepath.Join(dir, f), pem)
				}
			},
			want: func(dir string) Endpoint {
				return Endpoint{Host: "tcp://10.0.0.9:2376", Source: "DOCKER_HOST", TLS: &TLSFiles{
					CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem"),
				}}
			},
		},
		{
			name: "DOCKER_CERT_PATH without DOCKER_TLS_VERIFY skips verification",
			env:  map[string]string{"DOCKER_HOST": "tcp://10.0.0.9:2376", "DOCKER_CERT_PATH": "certs"},
			setup: func(t *testing.T, dir string) {
				for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
					writeFile(t, filepath.Join("certs", f), pem)
				}
			},
			want: func(string) Endpoint {
				return Endpoint{Host: "tcp://10.0.0.9:2376", Source: "DOCKER_HOST", TLS: &TLSFiles{
					CAFile: "certs/ca.pem", CertFile: "certs/cert.pem", KeyFile: "certs/key.pem", SkipVerify: true,
				}}
			},
		},
		{
			name:    "DOCKER_TLS_VERIFY with missing files",
			env:     map[string]string{"DOCKER_HOST": "tcp://10.0.0.9:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "nowhere"},
			wantErr: []string{"DOCKER_TLS_VERIFY/DOCKER_CERT_PATH", "nowhere/ca.pem", "put ca.pem, cert.pem and key.pem in nowhere"},
		},
		{
			name: "current context from config.json, with its TLS files",
			setup: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "config.json"), []byte(`{"auths":{},"currentContext":"prod"}`))
				writeContext(t, dir, "prod", "tcp://10.0.0.9:2376", false, map[string][]byte{"ca.pem": pem, "cert.pem": pem, "key.pem": pem})
			},
			want: func(dir string) Endpoint {
				sum := sha256.Sum256([]byte("prod"))
				tlsDir := filepath.Join(dir, "contexts", "tls", hex.EncodeToString(sum[:]), "docker")
				return Endpoint{Host: "tcp://10.0.0.9:2376", Source: `context "prod"`, Context: "prod", TLS: &TLSFiles{
					CAFile: filepath.Join(tlsDir, "ca.pem"), CertFile: filepath.Join(tlsDir, "cert.pem"), KeyFile: filepath.Join(tlsDir, "key.pem"),
				}}
			},
		},
		{
			name: "DOCKER_CONTEXT overrides the current context",
			env:  map[string]string{"DOCKER_CONTEXT": "rootless"},
			setup: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "config.json"), []byte(`{"currentContext":"prod"}`))
				writeContext(t, dir, "prod", "tcp://10.0.0.9:2376", false, nil)
				writeContext(t, dir, "rootless", "unix:///run/user/1000/docker.sock", false, nil)
			},
			want: func(string) Endpoint {
				return Endpoint{Host: "unix:///run/user/1000/docker.sock", Source: `context "rootless"`, Context: "rootless"}
			},
		},
		{
			name: "the default context is the default socket",
			setup: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "config.json"), []byte(`{"currentContext":"default"}`))
			},
			want: func(string) Endpoint { return Endpoint{Host: DefaultHost, Source: "default socket"} },
		},
		{
			name:    "a context that does not exist",
			env:     map[string]string{"DOCKER_CONTEXT": "gone"},
			wantIs:  ErrContextNotFound,
			wantErr: []string{`"gone" (from DOCKER_CONTEXT)`, "docker context ls", "DOCKER_HOST"},
		},
		{
			name: "an unreadable config.json",
			setup: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "config.json"), []byte(`{"currentContext":`))
			},
			wantErr: []string{"config.json", "fix the file, or set DOCKER_HOST"},
		},
		{
			name: "a context over ssh",
			env:  map[string]string{"DOCKER_CONTEXT": "remote"},
			setup: func(t *testing.T, dir string) {
				writeContext(t, dir, "remote", "ssh://ops@10.0.0.9", false, nil)
			},
			wantErr: []string{`"ssh://ops@10.0.0.9" (from context "remote")`, "does not reach engines over ssh", "DOCKER_HOST=unix:///tmp/docker.sock"},
		},
		{
			name:    "DOCKER_HOST without a scheme",
			env:     map[string]string{"DOCKER_HOST": "10.0.0.9:2376"},
			wantErr: []string{`"10.0.0.9:2376" (from DOCKER_HOST) is not an address`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work := t.TempDir()
			t.Chdir(work)
			dir := filepath.Join(work, "dotdocker")
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			got, err := ResolveEndpoint(envOf(tt.env), dir)
			if tt.wantErr != nil || tt.wantIs != nil {
				if err == nil {
					t.Fatalf("ResolveEndpoint = %+v, want an error", got)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("error %v is not %v", err, tt.wantIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want(dir)
			if got.Host != want.Host || got.Source != want.Source || got.Context != want.Context {
				t.Errorf("endpoint = %+v, want %+v", got, want)
			}
			if (got.TLS == nil) != (want.TLS == nil) || (got.TLS != nil && *got.TLS != *want.TLS) {
				t.Errorf("TLS = %+v, want %+v", got.TLS, want.TLS)
			}
		})
	}
}

func TestConfigDir(t *testing.T) {
	if got := ConfigDir(envOf(map[string]string{"DOCKER_CONFIG": "/etc/dk", "HOME": "/root"})); got != "/etc/dk" {
		t.Errorf("with DOCKER_CONFIG: %q", got)
	}
	if got := ConfigDir(envOf(map[string]string{"HOME": "/home/ops"})); got != "/home/ops/.docker" {
		t.Errorf("with HOME: %q", got)
	}
}

// TestConnectThroughContext reaches the real engine through a docker CLI
// context, as an operator whose `docker context use` picked it would.
func TestConnectThroughContext(t *testing.T) {
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		host = DefaultHost
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "config.json"), []byte(`{"currentContext":"this-engine"}`))
	writeContext(t, dir, "this-engine", host, false, nil)
	ep, err := ResolveEndpoint(envOf(nil), dir)
	if err != nil {
		t.Fatal(err)
	}
	// Podman can take many seconds to answer /info on a busy host.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := connectTo(ctx, ep, dir)
	if err != nil {
		t.Fatalf("connect through the context: %v", err)
	}
	defer c.Close()
	info, err := c.Engine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Source != `context "this-engine"` || info.Host != host || info.Version == "" {
		t.Errorf("Engine = %+v, want the engine at %s through the context", info, host)
	}
}

// tlsPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, as `dockerd --tlsverify` is set up.
type tlsPKI struct {
	caPEM, serverCert, serverKey, clientCert, clientKey []byte
}

func newPKI(t *testing.T) tlsPKI {
	t.Helper()
	key := func() (*ecdsa.PrivateKey, []byte) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return k, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	}
	now := time.Now()
	caKey, _ := key()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test engine CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, eku x509.ExtKeyUsage, ip bool) ([]byte, []byte) {
		k, keyPEM := key()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "leaf"},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{eku}, KeyUsage: x509.KeyUsageDigitalSignature,
		}
		if ip {
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM
	}
	p := tlsPKI{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})}
	p.serverCert, p.serverKey = leaf(2, x509.ExtKeyUsageServerAuth, true)
	p.clientCert, p.clientKey = leaf(3, x509.ExtKeyUsageClientAuth, false)
	return p
}

// fakeEngineServer answers the two calls Connect and Engine make, claiming
// apiVersion, and records the paths asked for.
func fakeEngineServer(t *testing.T, apiVersion string, pki *tlsPKI) (*httptest.Server, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		w.Header().Set("Api-Version", apiVersion)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/_ping"):
			_, _ = w.Write([]byte("OK"))
		case strings.HasSuffix(r.URL.Path, "/version"):
			_ = json.NewEncoder(w).Encode(map[string]any{"Version": "29.0.0", "ApiVersion": apiVersion, "MinAPIVersion": "1.24", "Os": "linux", "Arch": "amd64"})
		case strings.HasSuffix(r.URL.Path, "/info"):
			_ = json.NewEncoder(w).Encode(map[string]any{"OperatingSystem": "Test OS", "SecurityOptions": []string{"name=seccomp,profile=builtin", "name=cgroupns"}})
		default:
			http.NotFound(w, r)
		}
	}))
	if pki != nil {
		pair, err := tls.X509KeyPair(pki.serverCert, pki.serverKey)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pki.caPEM)
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), paths...)
	}
}

// TestConnectTLSContext connects through a context whose engine demands a
// client certificate, as `dockerd --tlsverify` does: the context's CA,
// certificate and key must all be used.
func TestConnectTLSContext(t *testing.T) {
	pki := newPKI(t)
	srv, _ := fakeEngineServer(t, "1.41", &pki)
	host := "tcp://" + srv.Listener.Addr().String()
	dir := t.TempDir()
	writeContext(t, dir, "tls-engine", host, false, map[string][]byte{
		"ca.pem": pki.caPEM, "cert.pem": pki.clientCert, "key.pem": pki.clientKey,
	})
	ctx := context.Background()

	ep, err := ResolveEndpoint(envOf(map[string]string{"DOCKER_CONTEXT": "tls-engine"}), dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := connectTo(ctx, ep, dir)
	if err != nil {
		t.Fatalf("connect with the context's TLS files: %v", err)
	}
	info, err := c.Engine(ctx)
	c.Close()
	if err != nil || info.OperatingSystem != "Test OS" {
		t.Fatalf("Engine = %+v, %v", info, err)
	}

	// Without the client certificate the engine refuses the handshake.
	noClient := ep
	noClient.TLS = &TLSFiles{CAFile: ep.TLS.CAFile}
	if c, err := connectTo(ctx, noClient, dir); err == nil {
		c.Close()
		t.Error("connected without the client certificate the engine demands")
	}
}

// TestNegotiatesCurrentAPI shows the client settles on a current engine's
// API version, not the 1.41 of the CI engine, and uses it in every path.
func TestNegotiatesCurrentAPI(t *testing.T) {
	for _, api := range []string{"1.41", "1.47", "1.51"} {
		t.Run(api, func(t *testing.T) {
			srv, paths := fakeEngineServer(t, api, nil)
			ep := Endpoint{Host: "tcp://" + srv.Listener.Addr().String(), Source: "DOCKER_HOST"}
			ctx := context.Background()
			c, err := connectTo(ctx, ep, "")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			info, err := c.Engine(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if info.ClientAPIVersion != api || info.APIVersion != api {
				t.Errorf("negotiated %q with an engine speaking %q", info.ClientAPIVersion, api)
			}
			for _, p := range paths() {
				if p != "/_ping" && !strings.HasPrefix(p, "/v"+api+"/") {
					t.Errorf("request %s is not under /v%s/", p, api)
				}
			}
		})
	}
}
