package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
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

	"github.com/distribution/distribution/v3/configuration"
	"github.com/moby/moby/client"

	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/render"
)

// modesPlainClient reaches a plain-HTTP registry.
func modesPlainClient() *http.Client { return &http.Client{Timeout: 10 * time.Second} }

func modesMustRun(t *testing.T, args ...string) run {
	t.Helper()
	r := runBinary(t, nil, args...)
	if r.code != 0 {
		t.Fatalf("paxsetup %s exited %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

func modesInspect(t *testing.T, cli *client.Client, name string) (running bool, mounts map[string]bool, startedAt string, env []string) {
	t.Helper()
	res, err := cli.ContainerInspect(context.Background(), name, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mounts = map[string]bool{}
	for _, m := range res.Container.Mounts {
		mounts[m.Destination] = m.RW
	}
	return res.Container.State.Running, mounts, res.Container.State.StartedAt, res.Container.Config.Env
}

// TestInitHTTPMode: the lab mode serves plain HTTP, with auth, and verify
// passes against it.
func TestInitHTTPMode(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	fx := newE2ESetup(t, "")
	name, port, dir := fx.name, fx.port, fx.dir
	args := fx.initArgs(img, "--mode", "http")
	r := modesMustRun(t, args...)
	endpoint := "http://" + e2eHost + ":" + strconv.Itoa(port)
	for _, want := range []string{"Endpoint:     " + endpoint, "warn --mode http", "Insecure Skip TLS Verify"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	c := modesPlainClient()
	for _, tc := range []struct {
		url, user, pw string
		want          int
	}{
		{base + "/health", "", "", 200},
		{base + "/v1/_catalog", "", "", 401},
		{base + "/v1/_catalog", "admin", adminPW, 200},
		{base + "/v1/_catalog", "spectro", readerPW, 200},
		{base + "/v1/_catalog", "admin", wrongPW, 401},
	} {
		if got := status(t, c, tc.url, tc.user, tc.pw); got != tc.want {
			t.Errorf("GET %s as %q = %d, want %d", tc.url, tc.user, got, tc.want)
		}
	}
	_, mounts, _, env := modesInspect(t, cli, name)
	if _, ok := mounts["/certs"]; ok {
		t.Errorf("plain HTTP mounts no certificates: %v", mounts)
	}
	for _, e := range env {
		if strings.HasPrefix(e, "REGISTRY_HTTP_TLS") {
			t.Errorf("plain HTTP has TLS settings: %s", e)
		}
	}
	if r := runBinary(t, nil, "verify", "--dir", dir, "--no-color"); r.code != 0 || !strings.Contains(r.stdout, "catalog as admin") {
		t.Errorf("verify exited %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// modesOperatorCert writes a CA and a server certificate the way an
// operator's own CA would hand them over: separate files, PKCS#8 key.
func modesOperatorCert(t *testing.T, dir string, host string, sans ...string) (certFile, keyFile, caFile string, ca *certgen.CA, leaf *certgen.Leaf) {
	t.Helper()
	ca, err := certgen.NewCA(certgen.CAOptions{CommonName: "Operator Test Root", KeyType: certgen.ECDSAP256})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err = ca.Issue(certgen.LeafOptions{Host: host, SANs: sans, KeyType: certgen.ECDSAP256})
	if err != nil {
		t.Fatal(err)
	}
	key, err := leaf.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, caFile = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"), filepath.Join(dir, "ca.pem")
	for p, data := range map[string][]byte{certFile: leaf.CertPEM(), keyFile: key, caFile: ca.CertPEM()} {
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile, caFile, ca, leaf
}

// TestInitCustomMode: the registry serves exactly the operator's
// certificate, and chain.pem holds it and the operator's CA.
func TestInitCustomMode(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	fx := newE2ESetup(t, "")
	port, dir := fx.port, fx.dir
	work := t.TempDir()
	certFile, keyFile, caFile, ca, leaf := modesOperatorCert(t, work, e2eHost, "127.0.0.1")
	args := fx.initArgs(img,
		"--mode", "custom", "--san", "127.0.0.1", "--cert-file", certFile, "--key-file", keyFile, "--ca-file", caFile)
	r := modesMustRun(t, args...)
	if !strings.Contains(r.stdout, "your certificate in certs/") {
		t.Errorf("output lacks the custom certificate step:\n%s", r.stdout)
	}

	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	conn, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port), &tls.Config{RootCAs: pool, ServerName: e2eHost})
	if err != nil {
		t.Fatalf("TLS to the registry, trusting only the operator's CA: %v", err)
	}
	served := conn.ConnectionState().PeerCertificates
	conn.Close()
	if len(served) == 0 || !served[0].Equal(leaf.Cert) {
		t.Errorf("the registry serves another certificate than --cert-file")
	}
	chain := readAllCerts(t, filepath.Join(dir, "certs", "chain.pem"))
	if len(chain) != 2 || !chain[0].Equal(leaf.Cert) || !chain[1].Equal(ca.Cert) {
		t.Errorf("chain.pem must be the server certificate then the operator's CA, got %d certificates", len(chain))
	}
	if fi, err := os.Stat(filepath.Join(dir, "certs", "tls.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("tls.key: %v %v, want mode 0600", fi.Mode(), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "certs", "ca.key")); err == nil {
		t.Error("custom mode made a CA key of its own")
	}
	c := registryClient(t, filepath.Join(dir, "certs", "ca.crt"), e2eHost, port)
	if got := status(t, c, "https://"+e2eHost+"/v1/_catalog", "admin", adminPW); got != 200 {
		t.Errorf("catalog as admin = %d", got)
	}
	if r := runBinary(t, nil, "verify", "--dir", dir, "--no-color"); r.code != 0 {
		t.Errorf("verify exited %d:\n%s%s", r.code, r.stdout, r.stderr)
	}

	t.Run("a certificate for another name is refused", func(t *testing.T) {
		other := t.TempDir()
		certFile, keyFile, caFile, _, _ := modesOperatorCert(t, other, "other.example.com")
		fx2 := newE2ESetup(t, "")
		name2 := fx2.name
		args := fx2.initArgs(img, "--mode", "custom", "--cert-file", certFile, "--key-file", keyFile, "--ca-file", caFile)
		r := runBinary(t, nil, args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "--cert-file") || !strings.Contains(r.stderr, "host-not-covered") {
			t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
		if _, err := cli.ContainerInspect(context.Background(), name2, client.ContainerInspectOptions{}); err == nil {
			t.Error("a refused certificate started a container")
		}
	})
}

// TestInitInMemoryWarns: in-memory storage works, and the operator is told
// the packs do not survive a restart.
func TestInitInMemoryWarns(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	fx := newE2ESetup(t, "")
	name, port := fx.name, fx.port
	args := fx.initArgs(img,
		"--mode", "http", "--storage", "inmemory")
	r := modesMustRun(t, args...)
	if !strings.Contains(r.stdout, "warn --storage inmemory") || !strings.Contains(r.stdout, "lost") {
		t.Errorf("no warning that packs are lost:\n%s", r.stdout)
	}
	_, _, _, env := modesInspect(t, cli, name)
	if !slices.Contains(env, "REGISTRY_STORAGE=inmemory") {
		t.Errorf("env = %q, want REGISTRY_STORAGE=inmemory", env)
	}
	if got := status(t, modesPlainClient(), "http://127.0.0.1:"+strconv.Itoa(port)+"/v1/_catalog", "admin", adminPW); got != 200 {
		t.Errorf("catalog as admin = %d", got)
	}
}

// modesDockerCommand cuts the printed `docker run` command out of the output.
func modesDockerCommand(t *testing.T, out string) string {
	t.Helper()
	i := strings.Index(out, "docker run ")
	if i < 0 {
		t.Fatalf("no docker run command in the output:\n%s", out)
	}
	var b strings.Builder
	for _, line := range strings.SplitAfter(out[i:], "\n") {
		b.WriteString(line)
		if !strings.HasSuffix(line, "\\\n") {
			break
		}
	}
	return b.String()
}

// modesContainersOf lists every container, running or not, of the setup in dir.
func modesContainersOf(t *testing.T, cli *client.Client, dir string) int {
	t.Helper()
	res, err := cli.ContainerList(context.Background(), client.ContainerListOptions{
		All: true, Filters: make(client.Filters).Add("label", "io.paxsetup.dir="+dir),
	})
	if err != nil {
		t.Fatal(err)
	}
	return len(res.Items)
}

func modesWaitOK(t *testing.T, c *http.Client, url string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200 within a minute: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestInitDryRun: a dry run writes the files and starts nothing; the
// command it prints, run as it is by a shell, starts a working registry.
func TestInitDryRun(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	work := t.TempDir()
	// A folder name a shell and docker's --mount parser both trip over.
	fx := newE2ESetup(t, filepath.Join(work, "pax setup 'q',x"))
	name, port, dir := fx.name, fx.port, fx.dir
	args := fx.initArgs(img,
		"--san", "127.0.0.1", "--dry-run")
	r := modesMustRun(t, args...)
	if _, err := cli.ContainerInspect(context.Background(), name, client.ContainerInspectOptions{}); err == nil {
		t.Fatalf("the dry run created container %s", name)
	}
	if n := modesContainersOf(t, cli, dir); n != 0 {
		t.Fatalf("the dry run left %d containers of the setup", n)
	}
	for _, f := range []string{"auth/htpasswd-basic", "certs/tls.crt", "certs/chain.pem", "paxsetup.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("the dry run did not write %s: %v", f, err)
		}
	}
	for _, secret := range []string{adminPW, readerPW} {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Error("a password reached the dry run's output")
		}
	}
	if !strings.Contains(r.stdout, "Dry run:") || !strings.Contains(r.stdout, "would create the container "+name) {
		t.Errorf("no plan in the output:\n%s", r.stdout)
	}

	cmd := modesDockerCommand(t, r.stdout)
	out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
	if err != nil {
		t.Fatalf("the printed command failed: %v\n%s\ncommand:\n%s", err, out, cmd)
	}
	c := registryClient(t, filepath.Join(dir, "certs", "ca.crt"), e2eHost, port)
	modesWaitOK(t, c, "https://"+e2eHost+"/health")
	if got := status(t, c, "https://"+e2eHost+"/v1/_catalog", "admin", adminPW); got != 200 {
		t.Errorf("catalog as admin on the registry the command started = %d", got)
	}
	if r := runBinary(t, nil, "verify", "--dir", dir, "--no-color"); r.code != 0 {
		t.Errorf("verify of the registry the command started exited %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Same labels and spec: a real init now finds nothing to change.
	r = modesMustRun(t, "init", "--yes", "--dir", dir, "--no-color")
	if !strings.Contains(r.stdout, "unchanged") {
		t.Errorf("init after the printed command did not keep its container:\n%s", r.stdout)
	}
}

// TestLetsEncryptDryRun checks what can be checked of Let's Encrypt without
// the internet: the config the registry's parser reads, and a registry that
// starts with it, serves TLS through its ACME manager, refuses names it was
// not given, and asks the configured ACME directory. Issuing a certificate
// needs a public DNS name pointing here and port 443 open to Let's Encrypt,
// which a test cannot have.
func TestLetsEncryptDryRun(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	fx := newE2ESetup(t, "")
	name, port, dir := fx.name, fx.port, fx.dir
	// Nothing listens on port 1: the ACME client fails at once, locally.
	const acme = "https://127.0.0.1:1/directory"
	args := fx.initArgs(img,
		"--mode", "letsencrypt", "--host", "registry.example.com", "--email", "ops@example.com", "--acme-directory", acme, "--dry-run")
	r := modesMustRun(t, args...)
	if !strings.Contains(r.stdout, "warn Let's Encrypt checks the name through port 443") {
		t.Errorf("no warning about the port:\n%s", r.stdout)
	}

	cfgFile := filepath.Join(dir, "config", "myconfig.yml")
	data, err := os.ReadFile(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(cfgFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("myconfig.yml mode = %v, want 0600", fi.Mode().Perm())
	}
	cfg, err := configuration.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the registry's parser refuses myconfig.yml: %v\n%s", err, data)
	}
	le := cfg.HTTP.TLS.LetsEncrypt
	if le.Email != "ops@example.com" || !slices.Equal(le.Hosts, []string{"registry.example.com"}) || le.DirectoryURL != acme ||
		le.CacheFile != render.ACMECacheDir(acme) || !strings.HasPrefix(le.CacheFile, "/data/") || cfg.HTTP.TLS.Certificate != "" {
		t.Errorf("letsencrypt = %+v, certificate %q", le, cfg.HTTP.TLS.Certificate)
	}
	if cfg.Storage.Type() != "filesystem" || cfg.Auth["htpasswd"]["path"] != "/auth/htpasswd-basic" {
		t.Errorf("storage %s, auth %v", cfg.Storage.Type(), cfg.Auth)
	}

	cmd := modesDockerCommand(t, r.stdout)
	if !strings.Contains(cmd, "serve /etc/spectropaxconfig/myconfig.yml") {
		t.Errorf("the command does not serve the mounted config:\n%s", cmd)
	}
	if out, err := exec.Command("sh", "-c", cmd).CombinedOutput(); err != nil {
		t.Fatalf("the printed command failed: %v\n%s", err, out)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := modesPlainClient().Get("http://" + addr + "/health")
		if err == nil {
			body := new(bytes.Buffer)
			body.ReadFrom(resp.Body)
			resp.Body.Close()
			// Go's TLS server answers a plain request with 400 and this text:
			// the port speaks TLS, as Let's Encrypt mode must.
			if resp.StatusCode != 400 || !strings.Contains(body.String(), "HTTPS server") {
				t.Errorf("plain HTTP to the TLS port: %d %q", resp.StatusCode, body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the registry never listened on %s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, sni := range []string{"not-configured.example.org", "registry.example.com"} {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr,
			&tls.Config{ServerName: sni, InsecureSkipVerify: true})
		if err == nil {
			conn.Close()
			t.Errorf("TLS for %s succeeded without any certificate issued", sni)
		}
	}
	running, mounts, _, _ := modesInspect(t, cli, name)
	if !running {
		t.Fatal("the registry stopped")
	}
	if rw, ok := mounts["/data"]; !ok || !rw {
		t.Errorf("the ACME cache needs /data writable: %v", mounts)
	}
	logs, err := exec.Command("docker", "logs", name).CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"not-configured.example.org", "127.0.0.1:1"} {
		if !strings.Contains(string(logs), want) {
			t.Errorf("registry logs lack %q (refused name; the configured ACME directory):\n%s", want, logs)
		}
	}
}

// TestUsersAgainstRunningRegistry adds, re-passwords and removes a user of a
// running registry, and checks each change is in force without a restart:
// the registry (distribution 3.x) re-reads the htpasswd file when it changes.
func TestUsersAgainstRunningRegistry(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	fx := newE2ESetup(t, "")
	name, port, dir := fx.name, fx.port, fx.dir
	modesMustRun(t, fx.initArgs(img, "--mode", "http")...)
	_, _, started, _ := modesInspect(t, cli, name)
	catalog := "http://127.0.0.1:" + strconv.Itoa(port) + "/v1/_catalog"
	c := modesPlainClient()

	users := func(stdin string, args ...string) run {
		t.Helper()
		cmd := exec.Command(paxsetupBinary(t), append([]string{"users", "--dir", dir, "--no-color"}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return run{code, out.String(), errb.String()}
	}
	const carolPW, carolPW2 = "carol-password-1", "carol-password-2"
	for _, step := range []struct {
		name   string
		stdin  string
		args   []string
		checks [][3]string // user, password, want status
	}{
		{"add", carolPW + "\n", []string{"add", "carol", "--password-stdin"},
			[][3]string{{"carol", carolPW, "200"}, {"admin", adminPW, "200"}}},
		{"passwd", carolPW2, []string{"passwd", "carol", "--password-stdin"},
			[][3]string{{"carol", carolPW2, "200"}, {"carol", carolPW, "401"}}},
		{"remove", "", []string{"remove", "carol"},
			[][3]string{{"carol", carolPW2, "401"}, {"admin", adminPW, "200"}, {"spectro", readerPW, "200"}}},
	} {
		t.Run(step.name, func(t *testing.T) {
			r := users(step.stdin, step.args...)
			if r.code != 0 {
				t.Fatalf("users %s exited %d\n%s%s", step.name, r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, "no restart was needed") {
				t.Errorf("output does not say the registry re-read the file:\n%s", r.stdout)
			}
			for _, ch := range step.checks {
				if got := strconv.Itoa(status(t, c, catalog, ch[0], ch[1])); got != ch[2] {
					t.Errorf("catalog as %s with %q = %s, want %s", ch[0], ch[1], got, ch[2])
				}
			}
		})
	}
	if _, _, now, _ := modesInspect(t, cli, name); now != started {
		t.Errorf("the container was restarted (started %s, now %s)", started, now)
	}
	r := users("", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "admin\t(bcrypt cost 10, the setup's admin user)") || strings.Contains(r.stdout, "carol") {
		t.Errorf("users list exited %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestInitModeBadInput: every mistake in the mode, storage and registry
// flags is refused before anything is written, naming its flag.
func TestInitModeBadInput(t *testing.T) {
	work := t.TempDir()
	admin, reader := writeSecret(t, work, "a", adminPW), writeSecret(t, work, "r", readerPW)
	certFile, keyFile, caFile, _, _ := modesOperatorCert(t, work, "registry.example.com")
	le := []string{"--mode", "letsencrypt", "--host", "registry.example.com", "--email", "ops@example.com"}
	tests := []struct {
		name    string
		args    []string
		wantErr []string
	}{
		{"Let's Encrypt with an IP host", []string{"--mode", "letsencrypt", "--host", "203.0.113.5", "--email", "ops@example.com"}, []string{"--host", "only for DNS names"}},
		{"Let's Encrypt without email", []string{"--mode", "letsencrypt", "--host", "registry.example.com"}, []string{"--email", "contact address"}},
		{"Let's Encrypt with a bad email", append(le[:4:4], "--email", "ops at example.com"), []string{"--email", "not a valid email"}},
		{"certificate flags in letsencrypt mode", append(le, "--cert-file", certFile), []string{"--cert-file", "obtains its certificate itself"}},
		{"ACME directory over http", append(le, "--acme-directory", "http://acme.local/dir"), []string{"--acme-directory", "https"}},
		{"email outside letsencrypt", []string{"--email", "ops@example.com"}, []string{"--email", "--mode letsencrypt"}},
		{"ACME CA outside letsencrypt", []string{"--acme-ca-file", caFile}, []string{"--acme-ca-file", "--mode letsencrypt"}},
		{"ACME CA without a directory", append(le, "--acme-ca-file", caFile), []string{"--acme-ca-file", "--acme-directory"}},
		{"ACME CA unreadable", append(le, "--acme-directory", "https://acme.example.com/dir", "--acme-ca-file", filepath.Join(work, "nope.pem")), []string{"--acme-ca-file", "nope.pem"}},
		{"ACME CA that is a key", append(le, "--acme-directory", "https://acme.example.com/dir", "--acme-ca-file", keyFile), []string{"--acme-ca-file", "CERTIFICATE"}},
		{"private ACME root unreadable", append(le, "--ca-file", filepath.Join(work, "nope.pem")), []string{"--ca-file", "nope.pem"}},
		{"network with a bad name", []string{"--network", "-net"}, []string{"--network", "Docker network name"}},
		{"custom without a key", []string{"--mode", "custom", "--cert-file", certFile, "--ca-file", caFile}, []string{"--key-file", "--mode custom"}},
		{"custom with a missing file", []string{"--mode", "custom", "--cert-file", certFile, "--key-file", keyFile, "--ca-file", filepath.Join(work, "nope.pem")}, []string{"--ca-file", "nope.pem"}},
		{"certificate flags in selfsigned mode", []string{"--key-file", keyFile}, []string{"--key-file", "--mode custom"}},
		{"unknown storage", []string{"--storage", "nfs"}, []string{"--storage", "filesystem", "s3"}},
		{"S3 without a bucket", []string{"--storage", "s3", "--s3-region", "eu-west-1"}, []string{"--s3-bucket"}},
		{"S3 bucket with capitals", []string{"--storage", "s3", "--s3-region", "eu-west-1", "--s3-bucket", "Packs"}, []string{"--s3-bucket", "not allowed"}},
		{"S3 flags without S3 storage", []string{"--s3-bucket", "packs"}, []string{"--storage", "--storage s3"}},
		{"S3 endpoint with keys in it", []string{"--storage", "s3", "--s3-bucket", "packs", "--s3-regionendpoint", "https://key:secret@minio:9000"}, []string{"--s3-regionendpoint", "--s3-credentials-file"}},
		{"bcrypt cost too low", []string{"--bcrypt-cost", "3"}, []string{"--bcrypt-cost", "4 to 14"}},
		{"bcrypt cost zero", []string{"--bcrypt-cost", "0"}, []string{"--bcrypt-cost", "4 to 14"}},
		{"log level", []string{"--log-level", "trace"}, []string{"--log-level", "debug"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "setup")
			args := []string{"init", "--yes", "--dir", dir, "--host", "registry.local", "--port", "18999",
				"--name", "paxsetup-never-started", "--admin-password-file", admin, "--reader-password-file", reader}
			f, _, errb := newTestFactory(nil)
			code := Main(append(args, tt.args...), f)
			msg := strings.TrimSpace(errb.String())
			if code != exitUsage {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, exitUsage, msg)
			}
			if strings.Count(msg, "\n") != 0 {
				t.Errorf("want a one-line error, got:\n%s", msg)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("the setup folder was created by a refused run")
			}
		})
	}
}
