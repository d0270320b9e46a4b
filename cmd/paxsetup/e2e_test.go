package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"go.yaml.in/yaml/v3"

	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
	"github.com/paxsetup/paxsetup/internal/verify"
)

const (
	e2eHost     = "registry.local"
	adminPW     = "admin-password-0123"
	readerPW    = "reader-password-4567"
	wrongPW     = "not-the-password-89"
	registryEnv = "REGISTRY_"
)

type run struct {
	code           int
	stdout, stderr string
}

func runBinary(t *testing.T, env []string, args ...string) run {
	t.Helper()
	cmd := exec.Command(paxsetupBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return run{code, out.String(), errb.String()}
}

// registryClient reaches the registry at 127.0.0.1:port while presenting
// serverName, trusting only the CA in caFile: what curl --resolve does.
func registryClient(t *testing.T, caFile, serverName string, port int) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: serverName},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
		},
	}
}

func status(t *testing.T, c *http.Client, url, user, pw string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pw)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func writeSecret(t *testing.T, dir, name, value string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestInitSelfSignedEndToEnd runs the built binary against a real engine and
// the stand-in registry image, then checks everything an operator and
// Palette would meet: the endpoints, the files, the container, and a re-run.
func TestInitSelfSignedEndToEnd(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	fx := newE2ESetup(t, "")
	name, port, dir := fx.name, fx.port, fx.dir
	args := fx.initArgs(img, "--san", "127.0.0.1")
	r := runBinary(t, nil, args...)
	if r.code != 0 {
		t.Fatalf("init exited %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	endpoint := "https://" + e2eHost + ":" + strconv.Itoa(port)
	for _, want := range []string{"Endpoint:     " + endpoint, filepath.Join(dir, "certs", "chain.pem"), "Username:     spectro: the second login", "the registry gives every user the same rights",
		"--cert-dir " + filepath.Join(dir, "certs", "client"), "sudo paxsetup trust --dir " + dir + "\n",
		"Check it any time with: paxsetup verify --dir " + dir} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("init output lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, secret := range []string{adminPW, readerPW} {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("a password given by file was printed")
		}
	}

	caFile := filepath.Join(dir, "certs", "ca.crt")
	byName := registryClient(t, caFile, e2eHost, port)
	byIP := registryClient(t, caFile, "127.0.0.1", port)
	ipURL := "https://127.0.0.1:" + strconv.Itoa(port)
	for _, tc := range []struct {
		name   string
		c      *http.Client
		url    string
		user   string
		pw     string
		status int
	}{
		{"health by name", byName, endpoint + "/health", "", "", 200},
		{"catalog as admin", byName, endpoint + "/v1/_catalog", "admin", adminPW, 200},
		{"catalog as reader", byName, endpoint + "/v1/_catalog", "spectro", readerPW, 200},
		{"catalog wrong password", byName, endpoint + "/v1/_catalog", "admin", wrongPW, 401},
		{"catalog no credentials", byName, endpoint + "/v1/_catalog", "", "", 401},
		{"health by IP", byIP, ipURL + "/health", "", "", 200},
		{"catalog by IP as admin", byIP, ipURL + "/v1/_catalog", "admin", adminPW, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := status(t, tc.c, tc.url, tc.user, tc.pw); got != tc.status {
				t.Errorf("GET %s = %d, want %d", tc.url, got, tc.status)
			}
		})
	}

	t.Run("curl as in the manual procedure", func(t *testing.T) {
		resolve := e2eHost + ":" + strconv.Itoa(port) + ":127.0.0.1"
		out, err := exec.Command("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", caFile,
			"--resolve", resolve, endpoint+"/health").CombinedOutput()
		if err != nil || string(out) != "200" {
			t.Errorf("curl /health: %s %v", out, err)
		}
	})

	t.Run("htpasswd accepted by Apache's tool", func(t *testing.T) {
		ht := filepath.Join(dir, "auth", "htpasswd-basic")
		for user, pw := range map[string]string{"admin": adminPW, "spectro": readerPW} {
			if out, err := exec.Command("htpasswd", "-vb", ht, user, pw).CombinedOutput(); err != nil {
				t.Errorf("htpasswd -vb %s: %v\n%s", user, err, out)
			}
		}
		if err := exec.Command("htpasswd", "-vb", ht, "admin", wrongPW).Run(); err == nil {
			t.Error("htpasswd -vb accepted a wrong password")
		}
	})

	t.Run("certificate", func(t *testing.T) {
		out, err := exec.Command("openssl", "verify", "-CAfile", caFile, filepath.Join(dir, "certs", "tls.crt")).CombinedOutput()
		if err != nil || !strings.Contains(string(out), ": OK") {
			t.Errorf("openssl verify: %v\n%s", err, out)
		}
		leaf := readCert(t, filepath.Join(dir, "certs", "tls.crt"))
		pool := x509.NewCertPool()
		pool.AddCert(readCert(t, caFile))
		for _, n := range []string{e2eHost, "127.0.0.1"} {
			if _, err := leaf.Verify(x509.VerifyOptions{DNSName: n, Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				t.Errorf("leaf does not verify for %s: %v", n, err)
			}
		}
		if leaf.Subject.CommonName != e2eHost {
			t.Errorf("CN = %q, want %q", leaf.Subject.CommonName, e2eHost)
		}
		if pub, ok := leaf.PublicKey.(interface{ Size() int }); !ok || pub.Size()*8 != 4096 {
			t.Errorf("leaf key is not RSA-4096: %T", leaf.PublicKey)
		}
		chain := readAllCerts(t, filepath.Join(dir, "certs", "chain.pem"))
		if len(chain) != 2 || !chain[0].Equal(leaf) || !chain[1].IsCA {
			t.Errorf("chain.pem must hold the leaf then the CA, got %d certificates", len(chain))
		}
	})

	t.Run("client cert dir holds only the CA", func(t *testing.T) {
		entries, err := os.ReadDir(filepath.Join(dir, "certs", "client"))
		if err != nil || len(entries) != 1 || entries[0].Name() != "ca.crt" {
			t.Fatalf("certs/client = %v (%v), want ca.crt alone", entries, err)
		}
		got := readAllCerts(t, filepath.Join(dir, "certs", "client", "ca.crt"))
		if len(got) != 1 || !got[0].Equal(readCert(t, caFile)) {
			t.Errorf("certs/client/ca.crt is not the setup's CA")
		}
		data, _ := os.ReadFile(filepath.Join(dir, "certs", "client", "ca.crt"))
		if bytes.Contains(data, []byte("PRIVATE KEY")) {
			t.Errorf("certs/client/ca.crt holds a key")
		}
	})

	t.Run("file modes", func(t *testing.T) {
		for rel, want := range map[string]os.FileMode{
			"certs/ca.key": 0o600, "certs/tls.key": 0o600, "auth/htpasswd-basic": 0o600,
			"certs/ca.crt": 0o644, "certs/client/ca.crt": 0o644, "certs/tls.crt": 0o644, "certs/chain.pem": 0o644, config.FileName: 0o644,
		} {
			fi, err := os.Stat(filepath.Join(dir, rel))
			if err != nil {
				t.Error(err)
				continue
			}
			if fi.Mode().Perm() != want {
				t.Errorf("%s mode = %v, want %v", rel, fi.Mode().Perm(), want)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "credentials")); !os.IsNotExist(err) {
			t.Errorf("no credentials file may exist when every password was given: %v", err)
		}
	})

	t.Run("answers file holds no secret", func(t *testing.T) {
		data, err := os.ReadFile(config.Path(dir))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(adminPW)) || bytes.Contains(data, []byte(readerPW)) {
			t.Errorf("paxsetup.yaml holds a password:\n%s", data)
		}
		var a config.Answers
		if err := yaml.Unmarshal(data, &a); err != nil {
			t.Fatal(err)
		}
		if a.Host != e2eHost || a.Port != port || a.Image != img || a.Name != name {
			t.Errorf("saved answers = %+v", a)
		}
	})

	t.Run("container as the engine reports it", func(t *testing.T) {
		ctx := context.Background()
		res, err := cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c := res.Container
		if !c.State.Running {
			t.Errorf("container is not running: %+v", c.State)
		}
		if got := string(c.HostConfig.RestartPolicy.Name); got != "always" {
			t.Errorf("restart policy = %q, want always", got)
		}
		mounts := map[string]bool{}
		for _, m := range c.Mounts {
			mounts[m.Destination] = m.RW
			if !strings.HasPrefix(m.Source, dir) {
				t.Errorf("mount %s comes from %s, outside the setup", m.Destination, m.Source)
			}
		}
		for dest, rw := range map[string]bool{"/auth": false, "/certs": false, "/data": true} {
			got, ok := mounts[dest]
			if !ok || got != rw {
				t.Errorf("mount %s: present=%v rw=%v, want rw=%v", dest, ok, got, rw)
			}
		}
		wantEnv := []string{
			"REGISTRY_AUTH=htpasswd", "REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd-basic",
			"REGISTRY_HTTP_TLS_CERTIFICATE=/certs/tls.crt", "REGISTRY_HTTP_TLS_KEY=/certs/tls.key",
		}
		for _, e := range wantEnv {
			if !slices.Contains(c.Config.Env, e) {
				t.Errorf("env lacks %s: %v", e, c.Config.Env)
			}
		}
		for _, e := range c.Config.Env {
			if strings.Contains(e, adminPW) || strings.Contains(e, readerPW) {
				t.Errorf("a password reached the container's environment")
			}
		}
		if c.Config.Labels["io.paxsetup.managed"] != "true" {
			t.Errorf("labels = %v, want io.paxsetup.managed=true", c.Config.Labels)
		}
		found := false
		for p, bindings := range c.HostConfig.PortBindings {
			for _, b := range bindings {
				if p.Num() == 5000 && b.HostPort == strconv.Itoa(port) {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("port bindings = %v, want %d -> 5000/tcp", c.HostConfig.PortBindings, port)
		}
	})

	r = runBinary(t, nil, "verify", "--dir", dir, "--no-color")
	if r.code != 0 {
		t.Fatalf("verify exited %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "catalog as admin") {
		t.Errorf("verify did not check the admin login (it can read the saved password file):\n%s", r.stdout)
	}

	// The stand-in, like the vendor's registry, lets every user push: verify
	// must find that out and say so, and leave nothing behind.
	t.Run("verify finds the second user can write", func(t *testing.T) {
		if !strings.Contains(r.stdout, "write as spectro") || !strings.Contains(r.stdout, verify.CanWrite) {
			t.Errorf("verify text lacks the write warning:\n%s", r.stdout)
		}
		j := runBinary(t, nil, "verify", "--dir", dir, "--output", "json")
		if j.code != 0 {
			t.Fatalf("verify --output json exited %d\n%s%s", j.code, j.stdout, j.stderr)
		}
		var rep verify.Report
		if err := json.Unmarshal([]byte(j.stdout), &rep); err != nil {
			t.Fatalf("verify --output json: %v\n%s", err, j.stdout)
		}
		c, ok := rep.Find(verify.CheckWriteAs + "spectro")
		if !ok || c.Status != verify.Warn || !strings.Contains(c.Detail, verify.CanWrite) || !strings.Contains(c.Detail, "cancelled at once") {
			t.Errorf("json write check = %+v (found %v), want a warning that the upload was cancelled", c, ok)
		}

		req, err := http.NewRequest(http.MethodGet, endpoint+"/v1/_catalog", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("admin", adminPW)
		resp, err := byName.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var cat struct{ Repositories []string }
		if err := json.NewDecoder(resp.Body).Decode(&cat); err != nil || resp.StatusCode != 200 {
			t.Fatalf("catalog: %d %v", resp.StatusCode, err)
		}
		if slices.Contains(cat.Repositories, verify.ScratchRepo) {
			t.Errorf("the catalog lists the scratch repository after verify: %v", cat.Repositories)
		}
		// On disk: no data, manifest, layer link or live upload. The
		// registry keeps only the upload's hash state (write.go says why).
		scratch := 0
		filepath.WalkDir(filepath.Join(dir, "data"), func(p string, d fs.DirEntry, err error) error {
			if err != nil || !strings.Contains(p, verify.ScratchRepo) {
				return nil
			}
			scratch++
			base := filepath.Base(p)
			if !d.IsDir() && !strings.Contains(p, "/hashstates/") || base == "_manifests" || base == "_layers" {
				t.Errorf("verify left more than a hash state behind: %s", p)
			}
			return nil
		})
		if scratch == 0 {
			t.Errorf("no trace of the probe's upload on disk: did verify probe at all?")
		}
	})

	t.Run("re-run keeps certificate, passwords and container", func(t *testing.T) {
		before := readFiles(t, dir, "certs/tls.crt", "certs/ca.crt", "auth/htpasswd-basic")
		id := containerID(t, cli, name)
		r := runBinary(t, nil, "init", "--yes", "--dir", dir, "--no-color")
		if r.code != 0 {
			t.Fatalf("re-run exited %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		after := readFiles(t, dir, "certs/tls.crt", "certs/ca.crt", "auth/htpasswd-basic")
		for f := range before {
			if before[f] != after[f] {
				t.Errorf("%s changed on an unchanged re-run", f)
			}
		}
		if got := containerID(t, cli, name); got != id {
			t.Errorf("the container was replaced on an unchanged re-run")
		}
		if got := status(t, byName, endpoint+"/v1/_catalog", "admin", adminPW); got != 200 {
			t.Errorf("after the re-run, catalog as admin = %d", got)
		}
	})
}

// TestInitGeneratesPasswords checks passwords paxsetup makes: shown once,
// saved 0600, and accepted by the registry.
func TestInitGeneratesPasswords(t *testing.T) {
	img := standInImage(t)
	fx := newE2ESetup(t, "")
	name, port, dir := fx.name, fx.port, fx.dir

	r := runBinary(t, nil, "init", "--yes", "--host", e2eHost, "--port", strconv.Itoa(port), "--dir", dir,
		"--image", img, "--pull", "never", "--name", name, "--no-color")
	if r.code != 0 {
		t.Fatalf("init exited %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	credFile := filepath.Join(dir, "credentials")
	fi, err := os.Stat(credFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials mode = %v, want 0600", fi.Mode().Perm())
	}
	var creds struct{ Users map[string]string }
	data, _ := os.ReadFile(credFile)
	if err := yaml.Unmarshal(data, &creds); err != nil {
		t.Fatal(err)
	}
	ht, err := htpasswd.Load(filepath.Join(dir, "auth", "htpasswd-basic"))
	if err != nil {
		t.Fatal(err)
	}
	c := registryClient(t, filepath.Join(dir, "certs", "ca.crt"), e2eHost, port)
	for _, user := range []string{"admin", "spectro"} {
		pw := creds.Users[user]
		if len(pw) < 12 {
			t.Fatalf("generated password for %s is %q", user, pw)
		}
		if err := ht.Verify(user, pw); err != nil {
			t.Errorf("htpasswd does not verify the generated password of %s: %v", user, err)
		}
		if strings.Count(r.stdout, pw) != 1 {
			t.Errorf("the generated password of %s must be shown exactly once", user)
		}
		if got := status(t, c, "https://"+e2eHost+"/v1/_catalog", user, pw); got != 200 {
			t.Errorf("catalog as %s = %d", user, got)
		}
	}
	saved, _ := os.ReadFile(config.Path(dir))
	for _, pw := range creds.Users {
		if bytes.Contains(saved, []byte(pw)) {
			t.Error("paxsetup.yaml holds a generated password")
		}
	}

	r = runBinary(t, nil, "init", "--yes", "--dir", dir, "--no-color")
	if r.code != 0 {
		t.Fatalf("re-run exited %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, pw := range creds.Users {
		if strings.Contains(r.stdout, pw) {
			t.Error("a re-run showed a password again: passwords are shown once")
		}
	}
	data2, _ := os.ReadFile(credFile)
	if !bytes.Equal(data, data2) {
		t.Error("a re-run changed the generated passwords")
	}
	if r := runBinary(t, nil, "verify", "--dir", dir); r.code != 0 {
		t.Errorf("verify exited %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func containerID(t *testing.T, cli *client.Client, name string) string {
	t.Helper()
	res, err := cli.ContainerInspect(context.Background(), name, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Container.ID
}

func readFiles(t *testing.T, dir string, names ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		out[n] = string(data)
	}
	return out
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	certs := readAllCerts(t, path)
	if len(certs) == 0 {
		t.Fatalf("%s holds no certificate", path)
	}
	return certs[0]
}

func readAllCerts(t *testing.T, path string) []*x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return out
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}
