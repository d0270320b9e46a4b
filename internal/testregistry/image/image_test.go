package image

import (
	"bytes"
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
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"golang.org/x/crypto/bcrypt"
)

const (
	testUser     = "admin"
	testPassword = "s3cret: #\"pw'"
)

// registryPort is the port the image serves on, as the vendor image does.
var registryPort = network.MustParsePort("5000/tcp")

func TestInputsDigest(t *testing.T) {
	base := inputSet{"main.go": []byte("package main"), "config.yml": []byte("version: 0.1")}
	want := inputsDigest(base, "go1.26.8", "amd64")
	if got := inputsDigest(inputSet{"config.yml": []byte("version: 0.1"), "main.go": []byte("package main")}, "go1.26.8", "amd64"); got != want {
		t.Fatalf("digest depends on map order: %s != %s", got, want)
	}
	tests := []struct {
		name      string
		inputs    inputSet
		goVersion string
		arch      string
	}{
		{"source changed", inputSet{"main.go": []byte("package main\n"), "config.yml": []byte("version: 0.1")}, "go1.26.8", "amd64"},
		{"file renamed", inputSet{"other.go": []byte("package main"), "config.yml": []byte("version: 0.1")}, "go1.26.8", "amd64"},
		{"bytes moved between files", inputSet{"main.go": []byte("package mai"), "config.yml": []byte("nversion: 0.1")}, "go1.26.8", "amd64"},
		{"file added", inputSet{"main.go": []byte("package main"), "config.yml": []byte("version: 0.1"), "x.go": nil}, "go1.26.8", "amd64"},
		{"go version changed", base, "go1.26.9", "amd64"},
		{"architecture changed", base, "go1.26.8", "arm64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := inputsDigest(tt.inputs, tt.goVersion, tt.arch); got == want {
				t.Errorf("digest unchanged: %s", got)
			}
		})
	}
}

func TestBuildReusesImage(t *testing.T) {
	cli := engine(t)
	ref := registryImage(t)
	before, err := cli.ImageInspect(t.Context(), ref)
	if err != nil {
		t.Fatalf("inspect %s: %v", ref, err)
	}

	var log bytes.Buffer
	again, err := Build(t.Context(), cli, &log)
	if err != nil {
		t.Fatalf("second Build: %v", err)
	}
	if again != ref {
		t.Errorf("second Build returned %s, want %s", again, ref)
	}
	if log.Len() != 0 {
		t.Errorf("second Build rebuilt the image; its output:\n%s", log.String())
	}
	after, err := cli.ImageInspect(t.Context(), again)
	if err != nil {
		t.Fatalf("inspect %s: %v", again, err)
	}
	if after.ID != before.ID {
		t.Errorf("image ID changed from %s to %s", before.ID, after.ID)
	}
	if !regexp.MustCompile(`^` + Repository + `:[0-9a-f]{12}$`).MatchString(ref) {
		t.Errorf("ref %q is not %s:<12 hex>", ref, Repository)
	}
}

func TestImageLayout(t *testing.T) {
	cli := engine(t)
	ref := registryImage(t)
	img, err := cli.ImageInspect(t.Context(), ref)
	if err != nil {
		t.Fatalf("inspect %s: %v", ref, err)
	}
	cfg := img.Config
	if cfg == nil {
		t.Fatalf("image %s has no config", ref)
	}
	if got, want := strings.Join(cfg.Entrypoint, " "), "/bin/registry"; got != want {
		t.Errorf("entrypoint = %q, want %q", got, want)
	}
	if got, want := strings.Join(cfg.Cmd, " "), "serve /etc/spectro/config.yml"; got != want {
		t.Errorf("cmd = %q, want %q", got, want)
	}
	if _, ok := cfg.ExposedPorts[registryPort.String()]; !ok {
		t.Errorf("exposed ports %v lack %s", cfg.ExposedPorts, registryPort)
	}
}

// TestDefaultConfig runs the image as the vendor's is run with its built-in
// config: only the htpasswd file is supplied, at the path that config names.
func TestDefaultConfig(t *testing.T) {
	t.Parallel()
	auth := mountDir(t)
	writeHtpasswd(t, filepath.Join(auth, "htpasswd-basic"), testUser, testPassword)

	base, _ := startRegistry(t, registrySpec{binds: []string{auth + ":/auth:ro"}}, "http", http.DefaultClient)

	checkHealth(t, http.DefaultClient, base)
	resp := get(t, http.DefaultClient, base+"/v1/_catalog", nil)
	wantStatus(t, resp, http.StatusUnauthorized)
	if got, want := resp.header.Get("WWW-Authenticate"), `Basic realm="basic-realm"`; got != want {
		t.Errorf("WWW-Authenticate = %q, want %q", got, want)
	}
	// Set by the built-in config's http.headers, so the default file is the
	// one in effect.
	if got := resp.header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options = %q, want DENY from the built-in config", got)
	}

	resp = get(t, http.DefaultClient, base+"/v1/_catalog", basicAuth(testUser, testPassword))
	wantStatus(t, resp, http.StatusOK)
	if got := catalog(t, resp); len(got) != 0 {
		t.Errorf("catalog of an empty registry = %v, want none", got)
	}

	resp = get(t, http.DefaultClient, base+"/v1/_catalog", basicAuth(testUser, testPassword+"x"))
	wantStatus(t, resp, http.StatusUnauthorized)
}

// TestEnvironmentOverrides configures TLS and auth the way the vendor's
// own-certificate procedure does: REGISTRY_* variables over the built-in
// config. The htpasswd file and realm differ from the built-in ones, so
// success proves the variables took effect.
func TestEnvironmentOverrides(t *testing.T) {
	t.Parallel()
	auth := mountDir(t)
	writeHtpasswd(t, filepath.Join(auth, "users"), testUser, testPassword)
	certs := mountDir(t)
	roots := writeServerCert(t, certs, netip.MustParseAddr("127.0.0.1"))
	https := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	t.Cleanup(https.CloseIdleConnections)

	base, id := startRegistry(t, registrySpec{
		binds: []string{auth + ":/auth:ro", certs + ":/certs:ro"},
		env: []string{
			"REGISTRY_LOG_LEVEL=debug",
			"REGISTRY_AUTH=htpasswd",
			"REGISTRY_AUTH_HTPASSWD_REALM=env-realm",
			"REGISTRY_AUTH_HTPASSWD_PATH=/auth/users",
			"REGISTRY_HTTP_TLS_CERTIFICATE=/certs/tls.crt",
			"REGISTRY_HTTP_TLS_KEY=/certs/tls.key",
		},
	}, "https", https)

	checkHealth(t, https, base)
	resp := get(t, https, base+"/v1/_catalog", nil)
	wantStatus(t, resp, http.StatusUnauthorized)
	if got, want := resp.header.Get("WWW-Authenticate"), `Basic realm="env-realm"`; got != want {
		t.Errorf("WWW-Authenticate = %q, want %q", got, want)
	}
	resp = get(t, https, base+"/v1/_catalog", basicAuth(testUser, testPassword))
	wantStatus(t, resp, http.StatusOK)
	catalog(t, resp)

	// The built-in config sets no level, so debug lines come only from
	// REGISTRY_LOG_LEVEL.
	if logs := containerLogs(t, id); !strings.Contains(logs, "level=debug") {
		t.Errorf("REGISTRY_LOG_LEVEL=debug had no effect; logs:\n%s", logs)
	}
}

// TestServeConfigFile runs "serve PATH" with a config that replaces the
// built-in one, as the vendor's Let's Encrypt procedure does, and checks
// that /v1/_catalog lists what was pushed through the v2 API.
func TestServeConfigFile(t *testing.T) {
	t.Parallel()
	dir := mountDir(t)
	writeHtpasswd(t, filepath.Join(dir, "htpasswd"), testUser, testPassword)
	const config = `version: 0.1
storage:
  inmemory: {}
http:
  addr: :5000
auth:
  htpasswd:
    realm: file-realm
    path: /etc/paxtest/htpasswd
`
	writeFile(t, filepath.Join(dir, "config.yml"), []byte(config))

	base, _ := startRegistry(t, registrySpec{
		binds: []string{dir + ":/etc/paxtest:ro"},
		cmd:   []string{"serve", "/etc/paxtest/config.yml"},
	}, "http", http.DefaultClient)

	checkHealth(t, http.DefaultClient, base)
	resp := get(t, http.DefaultClient, base+"/v1/_catalog", nil)
	wantStatus(t, resp, http.StatusUnauthorized)
	if got, want := resp.header.Get("WWW-Authenticate"), `Basic realm="file-realm"`; got != want {
		t.Errorf("WWW-Authenticate = %q, want %q", got, want)
	}

	auth := basicAuth(testUser, testPassword)
	pushImage(t, base, "paxtest/hello", auth)
	resp = get(t, http.DefaultClient, base+"/v1/_catalog", auth)
	wantStatus(t, resp, http.StatusOK)
	if got := catalog(t, resp); strings.Join(got, ",") != "paxtest/hello" {
		t.Errorf("catalog = %v, want [paxtest/hello]", got)
	}
}

// TestServeMissingConfigExits proves a bad config path stops the container
// with a failure status, which paxsetup relies on to detect a failed start.
func TestServeMissingConfigExits(t *testing.T) {
	t.Parallel()
	cli := engine(t)
	id := createContainer(t, registrySpec{cmd: []string{"serve", "/missing.yml"}})
	started := time.Now()
	if _, err := cli.ContainerStart(t.Context(), id, client.ContainerStartOptions{}); err != nil {
		t.Fatalf("start container: %v", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	wait := cli.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case <-wait.Result:
	case err := <-wait.Error:
		t.Fatalf("wait for container to stop: %v\nlogs:\n%s", err, containerLogs(t, id))
	}
	if took := time.Since(started); took > 10*time.Second {
		t.Errorf("container took %s to exit, want a quick failure", took)
	}

	res, err := cli.ContainerInspect(t.Context(), id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatalf("inspect container: %v", err)
	}
	state := res.Container.State
	if state.Running || state.ExitCode == 0 {
		t.Errorf("state = %s, exit code %d; want stopped with a non-zero exit code", state.Status, state.ExitCode)
	}
	if logs := containerLogs(t, id); !strings.Contains(logs, "/missing.yml") {
		t.Errorf("logs do not name the missing config:\n%s", logs)
	}
}

// engineClient is shared by the tests of one process; each test checks the
// engine answers before using it.
var engineClient = sync.OnceValues(func() (*client.Client, error) {
	return client.New(client.FromEnv)
})

// engine returns a client of the local Docker engine. These tests exist to
// prove what a real engine accepts, so an unreachable engine fails them.
func engine(t *testing.T) *client.Client {
	t.Helper()
	cli, err := engineClient()
	if err != nil {
		t.Fatalf("create docker client: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		t.Fatalf("docker engine unreachable: %v\nStart the Docker engine (or point DOCKER_HOST at one) and re-run the tests.", err)
	}
	return cli
}

// builtImage holds the single Build of this test process.
var builtImage struct {
	once sync.Once
	ref  string
	err  error
	log  bytes.Buffer
}

// registryImage returns the image under test, building it once per process.
func registryImage(t *testing.T) string {
	t.Helper()
	cli := engine(t)
	builtImage.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		started := time.Now()
		builtImage.ref, builtImage.err = Build(ctx, cli, &builtImage.log)
		t.Logf("Build returned %s in %s", builtImage.ref, time.Since(started).Round(time.Millisecond))
	})
	if builtImage.err != nil {
		t.Fatalf("build test registry image: %v\nbuild output:\n%s", builtImage.err, builtImage.log.String())
	}
	return builtImage.ref
}

// registrySpec is what a test changes about the container.
type registrySpec struct {
	cmd   []string
	env   []string
	binds []string
}

// createContainer creates a container of the image, publishing port 5000 on
// a loopback port the engine picks, and removes it when the test ends.
func createContainer(t *testing.T, spec registrySpec) string {
	t.Helper()
	cli := engine(t)
	ref := registryImage(t)
	suffix := make([]byte, 4)
	rand.Read(suffix)
	name := "paxsetup-test-" + strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-")) + "-" + hex.EncodeToString(suffix)

	res, err := cli.ContainerCreate(t.Context(), client.ContainerCreateOptions{
		Name: name,
		Config: &container.Config{
			Image:        ref,
			Cmd:          spec.cmd,
			Env:          spec.env,
			ExposedPorts: network.PortSet{registryPort: {}},
		},
		HostConfig: &container.HostConfig{
			Binds: spec.binds,
			PortBindings: network.PortMap{
				registryPort: {{HostIP: netip.MustParseAddr("127.0.0.1")}},
			},
		},
	})
	if err != nil {
		t.Fatalf("create container %s: %v", name, err)
	}
	t.Cleanup(func() {
		// The test's context is already cancelled during cleanup.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := cli.ContainerRemove(ctx, res.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			t.Errorf("remove container %s: %v", name, err)
		}
	})
	return res.ID
}

// startRegistry starts a registry container and waits until it answers on
// /health; it returns the base URL and the container's ID.
func startRegistry(t *testing.T, spec registrySpec, scheme string, hc *http.Client) (base, id string) {
	t.Helper()
	cli := engine(t)
	id = createContainer(t, spec)
	if _, err := cli.ContainerStart(t.Context(), id, client.ContainerStartOptions{}); err != nil {
		t.Fatalf("start container: %v", err)
	}
	res, err := cli.ContainerInspect(t.Context(), id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatalf("inspect container: %v", err)
	}
	var port string
	if ns := res.Container.NetworkSettings; ns != nil {
		for _, b := range ns.Ports[registryPort] {
			port = b.HostPort
		}
	}
	if port == "" {
		t.Fatalf("container publishes no host port for %s", registryPort)
	}
	base = scheme + "://" + net.JoinHostPort("127.0.0.1", port)
	waitForServer(t, hc, base+"/health", id)
	return base, id
}

// waitForServer polls url until the server answers at all, or fails the
// test with the container's logs.
func waitForServer(t *testing.T, hc *http.Client, url, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			cancel()
			t.Fatalf("new request: %v", err)
		}
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			cancel()
			return
		}
		cancel()
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("registry did not answer %s within 30s: %v\nlogs:\n%s", url, lastErr, containerLogs(t, id))
}

func containerLogs(t *testing.T, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := engine(t).ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return fmt.Sprintf("(read logs: %v)", err)
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil {
		fmt.Fprintf(&out, "(read logs: %v)", err)
	}
	return out.String()
}

// response is a read HTTP response.
type response struct {
	status int
	header http.Header
	body   []byte
}

func get(t *testing.T, hc *http.Client, url string, header http.Header) response {
	t.Helper()
	return do(t, hc, http.MethodGet, url, header, nil)
}

func do(t *testing.T, hc *http.Client, method, url string, header http.Header, body []byte) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, url, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func wantStatus(t *testing.T, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d; body: %s", r.status, want, r.body)
	}
}

func checkHealth(t *testing.T, hc *http.Client, base string) {
	t.Helper()
	resp := get(t, hc, base+"/health", nil)
	wantStatus(t, resp, http.StatusOK)
	if got := resp.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("/health Content-Type = %q, want application/json", got)
	}
	if got := string(resp.body); got != `{"status":"UP"}` {
		t.Errorf("/health body = %s, want {\"status\":\"UP\"}", got)
	}
}

// catalog decodes a catalog answer strictly, so an answer of another shape
// fails the test.
func catalog(t *testing.T, r response) []string {
	t.Helper()
	var c struct {
		Repositories []string `json:"repositories"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || c.Repositories == nil {
		t.Fatalf("catalog body %s is not {\"repositories\":[...]}: %v", r.body, err)
	}
	return c.Repositories
}

func basicAuth(user, password string) http.Header {
	req := &http.Request{Header: http.Header{}}
	req.SetBasicAuth(user, password)
	return req.Header
}

// pushImage pushes a one-layer OCI image through the v2 API.
func pushImage(t *testing.T, base, repo string, auth http.Header) {
	t.Helper()
	layer := []byte("paxsetup test layer")
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["` + sha256Digest(layer) + `"]}}`)
	pushBlob(t, base, repo, auth, layer)
	pushBlob(t, base, repo, auth, config)
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{
			"mediaType": "application/vnd.oci.image.config.v1+json",
			"digest":    sha256Digest(config),
			"size":      len(config),
		},
		"layers": []map[string]any{{
			"mediaType": "application/vnd.oci.image.layer.v1.tar",
			"digest":    sha256Digest(layer),
			"size":      len(layer),
		}},
	})
	if err != nil {
		t.Fatalf("marshal manifest: %v", err)
	}
	header := auth.Clone()
	header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	resp := do(t, http.DefaultClient, http.MethodPut, base+"/v2/"+repo+"/manifests/latest", header, manifest)
	wantStatus(t, resp, http.StatusCreated)
}

func pushBlob(t *testing.T, base, repo string, auth http.Header, blob []byte) {
	t.Helper()
	resp := do(t, http.DefaultClient, http.MethodPost, base+"/v2/"+repo+"/blobs/uploads/", auth, nil)
	wantStatus(t, resp, http.StatusAccepted)
	baseURL, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", base, err)
	}
	loc, err := baseURL.Parse(resp.header.Get("Location"))
	if err != nil {
		t.Fatalf("parse upload location %q: %v", resp.header.Get("Location"), err)
	}
	q := loc.Query()
	q.Set("digest", sha256Digest(blob))
	loc.RawQuery = q.Encode()
	header := auth.Clone()
	header.Set("Content-Type", "application/octet-stream")
	resp = do(t, http.DefaultClient, http.MethodPut, loc.String(), header, blob)
	wantStatus(t, resp, http.StatusCreated)
}

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// mountDir returns a folder to bind-mount into a container. It is opened to
// all users because the engine may map the container's root to another uid
// (user namespaces), which must still read it.
func mountDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("chmod %s: %v", dir, err)
	}
	return dir
}

// writeFile writes a world-readable file, for the reason given at mountDir.
func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

func writeHtpasswd(t *testing.T, path, user, password string) {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatalf("bcrypt: %v", err)
	}
	writeFile(t, path, []byte(user+":"+string(hash)+"\n"))
}

// writeServerCert writes tls.crt and tls.key for ip, signed by a throwaway
// CA, and returns a pool holding only that CA.
func writeServerCert(t *testing.T, dir string, ip netip.Addr) *x509.CertPool {
	t.Helper()
	caKey := newKey(t)
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: "paxsetup test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("create CA certificate: %v", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatalf("parse CA certificate: %v", err)
	}

	key := newKey(t)
	leafTmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: ip.String()},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{ip.AsSlice()},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatalf("create server certificate: %v", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("marshal server key: %v", err)
	}
	writeFile(t, filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}))
	writeFile(t, filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	return key
}

func serial(t *testing.T) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		t.Fatalf("generate serial: %v", err)
	}
	return n
}
