package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
	"github.com/paxsetup/paxsetup/internal/render"
	"github.com/paxsetup/paxsetup/internal/verify"
)

// The diagnosis tests make each classic failure for real: the stand-in
// registry image served with a certificate made for the purpose, a wrong
// password, plain HTTP, a closed port, a port held by a process or a
// container. They run the built binary, as an operator would, and check
// that its output names the cause and the fix.

func ecdsaKey(t *testing.T) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// standIn is a stand-in registry container made for one test.
type standIn struct {
	name string
	port int
}

// serve holds what a stand-in container serves: a certificate and key
// (nil for plain HTTP) and an htpasswd file.
type serve struct {
	leaf     *certgen.Leaf
	htpasswd []byte
}

// runStandIn starts the stand-in image publishing a free port on 127.0.0.1,
// configured as paxsetup configures the vendor image, and removes it at the
// end of the test. verify waits for it to listen.
func runStandIn(t *testing.T, s serve) standIn {
	t.Helper()
	ctx := context.Background()
	img := standInImage(t)
	cli := dockerClient(t)
	eng, err := dockerctl.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()

	dir := t.TempDir()
	auth, certs := filepath.Join(dir, "auth"), filepath.Join(dir, "certs")
	for _, d := range []string{auth, certs} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(auth, "htpasswd-basic"), s.htpasswd, 0o600); err != nil {
		t.Fatal(err)
	}
	spec := dockerctl.Spec{
		Name: uniqueName(t), Image: img, HostIP: "127.0.0.1", HostPort: freePort(t),
		Mounts: []dockerctl.Mount{{Source: auth, Target: render.ContainerAuthDir, ReadOnly: true}},
	}
	if s.leaf != nil {
		key, err := s.leaf.KeyPEM()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(certs, "tls.crt"), s.leaf.CertPEM(), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(certs, "tls.key"), key, 0o600); err != nil {
			t.Fatal(err)
		}
		spec.Env = render.RegistryEnv{}.Environ()
		spec.Mounts = append(spec.Mounts, dockerctl.Mount{Source: certs, Target: render.ContainerCertsDir, ReadOnly: true})
	}
	removeContainer(t, cli, spec.Name)
	id, err := eng.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	return standIn{name: spec.Name, port: spec.HostPort}
}

func htpasswdFor(t *testing.T, users map[string]string) []byte {
	t.Helper()
	f := &htpasswd.File{}
	for u, pw := range users {
		if err := f.Set(u, pw, htpasswd.MinCost); err != nil {
			t.Fatal(err)
		}
	}
	return f.Bytes()
}

// cnOnlyLeaf is what the manual procedure's `openssl req -x509` makes when
// the operator types only a CN: a certificate without any SAN.
func cnOnlyLeaf(t *testing.T, ca *certgen.CA, cn string) *certgen.Leaf {
	t.Helper()
	key := ecdsaKey(t)
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(0, 0, 90),
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

func TestVerifyDiagnosesRealFailures(t *testing.T) {
	work := t.TempDir()
	newCA := func(cn string, now func() time.Time) *certgen.CA {
		ca, err := certgen.NewCA(certgen.CAOptions{Key: ecdsaKey(t), CommonName: cn, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return ca
	}
	issue := func(ca *certgen.CA, opts certgen.LeafOptions) *certgen.Leaf {
		opts.Key = ecdsaKey(t)
		l, err := ca.Issue(opts)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	ca := newCA("paxsetup test CA", nil)
	caFile := filepath.Join(work, "ca.crt")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	past := func() time.Time { return time.Now().AddDate(0, 0, -60) }
	oldCA := newCA("paxsetup test CA", past)
	oldCAFile := filepath.Join(work, "old-ca.crt")
	if err := os.WriteFile(oldCAFile, oldCA.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	other := newCA("Other Corp Issuing CA", nil)

	users := htpasswdFor(t, map[string]string{"admin": adminPW, "spectro": readerPW})
	adminFile := writeSecret(t, work, "admin.pw", adminPW)
	wrongFile := writeSecret(t, work, "wrong.pw", wrongPW)
	goodLeaf := issue(ca, certgen.LeafOptions{Host: e2eHost, SANs: []string{"127.0.0.1"}})

	tests := []struct {
		name     string
		serve    *serve // nil: nothing listens
		scheme   string
		caFile   string
		args     []string
		wantOut  []string
		wantCode int
	}{
		{name: "no IP SAN, reached by IP",
			serve:   &serve{leaf: issue(ca, certgen.LeafOptions{Host: e2eHost})},
			wantOut: []string{"FAIL certificate name", "no IP SANs, so it cannot be used for 127.0.0.1 (it has: registry.local)", "fix: issue a new certificate with the IP: paxsetup init --force --san 127.0.0.1"}},
		{name: "signed by another CA",
			serve:   &serve{leaf: issue(other, certgen.LeafOptions{Host: e2eHost, SANs: []string{"127.0.0.1"}})},
			wantOut: []string{"FAIL certificate trust", `signed by "Other Corp Issuing CA", which ` + caFile + ` (which holds "paxsetup test CA") does not contain`, "fix: trust the CA that signed it (--ca-file"}},
		{name: "CN-only certificate",
			serve:   &serve{leaf: cnOnlyLeaf(t, ca, "127.0.0.1")},
			wantOut: []string{"FAIL certificate name", `no SANs, only the legacy Common Name "127.0.0.1"`, "fix: issue a certificate with SANs"}},
		{name: "expired certificate",
			serve:   &serve{leaf: issue(oldCA, certgen.LeafOptions{Host: e2eHost, SANs: []string{"127.0.0.1"}, Now: past, Days: 30})},
			caFile:  oldCAFile,
			wantOut: []string{"FAIL certificate expiry", "the certificate expired on", "fix: issue a new certificate: paxsetup init --force"}},
		{name: "wrong password",
			serve:   &serve{leaf: goodLeaf},
			args:    []string{"--user", "admin", "--password-file", wrongFile},
			wantOut: []string{"ok   auth required", `FAIL catalog as admin: user "admin" was refused (401)`, "fix: set the password again with bcrypt"}},
		{name: "plain HTTP on the HTTPS port",
			serve:   &serve{},
			wantOut: []string{"FAIL tls", "the server speaks plain HTTP on this port, not HTTPS", "--endpoint http://127.0.0.1:"}},
		{name: "HTTPS on a plain HTTP endpoint",
			serve: &serve{leaf: goodLeaf}, scheme: "http",
			wantOut: []string{"FAIL tls", "the server speaks HTTPS on this port, but the endpoint says http://", "fix: use --endpoint https://127.0.0.1:"}},
		{name: "closed port",
			args:    []string{"--timeout", "1s"},
			wantOut: []string{"FAIL tcp", "connection refused at 127.0.0.1:", "nothing listens there", "fix: start the registry and check it: paxsetup status, docker logs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			port := freePort(t)
			if tt.serve != nil {
				tt.serve.htpasswd = users
				port = runStandIn(t, *tt.serve).port
			}
			scheme := tt.scheme
			if scheme == "" {
				scheme = "https"
			}
			ca := tt.caFile
			if ca == "" {
				ca = caFile
			}
			args := append([]string{"verify", "--dir", filepath.Join(t.TempDir(), "none"),
				"--endpoint", scheme + "://127.0.0.1:" + strconv.Itoa(port), "--ca-file", ca, "--timeout", "60s"}, tt.args...)
			r := runBinary(t, nil, args...)
			if r.code != exitCheck {
				t.Errorf("exit code %d, want %d", r.code, exitCheck)
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("output lacks %q", want)
				}
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			}
			if strings.Contains(r.stdout+r.stderr, wrongPW) || strings.Contains(r.stdout+r.stderr, adminPW) {
				t.Error("a password was printed")
			}
		})
	}

	t.Run("healthy, both users, as JSON", func(t *testing.T) {
		t.Parallel()
		reg := runStandIn(t, serve{leaf: goodLeaf, htpasswd: users})
		readerFile := writeSecret(t, t.TempDir(), "reader.pw", readerPW)
		r := runBinary(t, nil, "verify", "--dir", filepath.Join(t.TempDir(), "none"),
			"--endpoint", "https://127.0.0.1:"+strconv.Itoa(reg.port), "--ca-file", caFile,
			"--user", "admin", "--password-file", adminFile,
			"--reader-user", "spectro", "--reader-password-file", readerFile, "--output", "json")
		if r.code != 0 {
			t.Fatalf("exit code %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		var rep verify.Report
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("output is not one JSON report: %v\n%s", err, r.stdout)
		}
		want := map[string]verify.Status{
			verify.CheckTCP: verify.OK, verify.CheckTLS: verify.OK, verify.CheckTrust: verify.OK, verify.CheckName: verify.OK,
			verify.CheckExpiry: verify.OK, verify.CheckHealth: verify.OK, verify.CheckAuthRequired: verify.OK,
			"catalog as admin": verify.OK, "catalog as spectro": verify.OK,
			// The image's default config sets the headers; the stand-in
			// keeps that config, and the registry sends them.
			verify.CheckHeaders: verify.OK,
			// A private CA is not in the system store: a warning, not a failure.
			verify.CheckSystemTrust: verify.Warn,
		}
		for name, status := range want {
			c, ok := rep.Find(name)
			if !ok || c.Status != status {
				t.Errorf("check %q = %+v (found %v), want %s", name, c, ok, status)
			}
		}
	})

	t.Run("local setup with a non-bcrypt entry", func(t *testing.T) {
		t.Parallel()
		// A setup made by hand, as an operator following the manual
		// procedure might: the reader's entry is Apache's MD5, which the
		// registry ignores.
		dir := filepath.Join(t.TempDir(), "setup")
		if _, err := certgen.Generate(context.Background(), certgen.GenerateOptions{
			Dir: filepath.Join(dir, "certs"), Host: e2eHost, SANs: []string{"127.0.0.1"},
			KeyType: certgen.ECDSAP256, CAKeyType: certgen.ECDSAP256,
		}); err != nil {
			t.Fatal(err)
		}
		leaf, err := certgen.LoadCertificates(filepath.Join(dir, "certs", "tls.crt"))
		if err != nil {
			t.Fatal(err)
		}
		key, err := certgen.LoadPrivateKey(filepath.Join(dir, "certs", "tls.key"))
		if err != nil {
			t.Fatal(err)
		}
		ht := append(htpasswdFor(t, map[string]string{"admin": adminPW}), []byte("spectro:$apr1$Vx8b2pQk$7kqRnyhUqSBlx1lt5w8T41\n")...)
		reg := runStandIn(t, serve{leaf: &certgen.Leaf{Cert: leaf[0], Key: key}, htpasswd: ht})
		if err := os.MkdirAll(filepath.Join(dir, "auth"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "auth", "htpasswd-basic"), ht, 0o600); err != nil {
			t.Fatal(err)
		}
		a := config.Defaults()
		a.Host, a.Port, a.Name = e2eHost, reg.port, reg.name
		a.AdminPasswordFile = adminFile
		a.ReaderPasswordFile = writeSecret(t, t.TempDir(), "reader.pw", readerPW)
		if err := config.Save(dir, a); err != nil {
			t.Fatal(err)
		}
		r := runBinary(t, nil, "verify", "--dir", dir, "--no-color")
		if r.code != exitCheck {
			t.Errorf("exit code %d, want %d", r.code, exitCheck)
		}
		for _, want := range []string{
			"ok   catalog as admin",
			`FAIL catalog as spectro: user "spectro" was refused (401): its entry in ` + filepath.Join(dir, "auth", "htpasswd-basic") + " is not bcrypt",
			"MD5 $apr1$",
			"fix: set the password again with bcrypt",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("output lacks %q\n%s", want, r.stdout)
			}
		}
	})
}

// selfComm is this process's name as the kernel reports it, which is what
// preflight shows for the holder of a port.
func selfComm(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestPreflightNamesWhoHoldsThePort(t *testing.T) {
	t.Run("a process", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		port := ln.Addr().(*net.TCPAddr).Port
		r := runBinary(t, nil, "preflight", "--dir", t.TempDir(), "--host", "127.0.0.1", "--port", strconv.Itoa(port))
		if r.code != exitCheck {
			t.Errorf("exit code %d, want %d", r.code, exitCheck)
		}
		want := []string{
			"FAIL port " + strconv.Itoa(port),
			"is held by process " + strconv.Itoa(os.Getpid()) + " (" + selfComm(t) + ")",
			"fix: stop it (kill " + strconv.Itoa(os.Getpid()),
			"or choose another port (--port ",
		}
		for _, w := range want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("output lacks %q\n%s%s", w, r.stdout, r.stderr)
			}
		}
	})

	t.Run("a container", func(t *testing.T) {
		t.Parallel()
		reg := runStandIn(t, serve{htpasswd: htpasswdFor(t, map[string]string{"admin": adminPW})})
		r := runBinary(t, nil, "preflight", "--dir", t.TempDir(), "--host", "127.0.0.1", "--port", strconv.Itoa(reg.port), "--output", "json")
		if r.code != exitCheck {
			t.Errorf("exit code %d, want %d\n%s%s", r.code, exitCheck, r.stdout, r.stderr)
		}
		var rep struct {
			Checks []struct{ Name, Status, Detail, Fix string }
		}
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, r.stdout)
		}
		var found bool
		for _, c := range rep.Checks {
			if c.Name == "port "+strconv.Itoa(reg.port) {
				found = true
				if c.Status != "fail" || !strings.Contains(c.Detail, `published by container "`+reg.name+`"`) || !strings.Contains(c.Fix, "docker stop "+reg.name) {
					t.Errorf("port check = %+v, want a failure naming %s", c, reg.name)
				}
			}
		}
		if !found {
			t.Errorf("no port check: %s", r.stdout)
		}
	})

	t.Run("a free port", func(t *testing.T) {
		t.Parallel()
		port := freePort(t)
		r := runBinary(t, nil, "preflight", "--dir", t.TempDir(), "--host", "127.0.0.1", "--port", strconv.Itoa(port))
		if r.code != 0 {
			t.Errorf("exit code %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
		}
		for _, w := range []string{"ok   docker: Docker ", "ok   port " + strconv.Itoa(port) + ": free on all addresses", "clock: the engine's clock agrees"} {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("output lacks %q\n%s", w, r.stdout)
			}
		}
	})
}

// TestPreflightBadFlags: each bad value is a usage error naming its flag,
// before any check runs.
func TestPreflightBadFlags(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"output", []string{"--output", "yaml"}, "--output"},
		{"mode", []string{"--mode", "acme"}, "--mode: \"acme\": use one of selfsigned, letsencrypt, custom, http"},
		{"port", []string{"--port", "70000"}, "--port"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, out, errb := newTestFactory(nil)
			code := Main(append([]string{"preflight", "--dir", t.TempDir()}, tt.args...), f)
			if code != exitUsage || !strings.Contains(errb.String(), tt.want) || out.Len() != 0 {
				t.Errorf("code %d, stderr %q, stdout %q; want %d and %q", code, errb, out, exitUsage, tt.want)
			}
		})
	}
}

// TestPreflightOptionsFromSetup: flags win over the setup's answers, which
// win over init's defaults.
func TestPreflightOptionsFromSetup(t *testing.T) {
	dir := t.TempDir()
	a := config.Defaults()
	a.Host, a.Port, a.Mode, a.Email, a.Bind = "saved.example.com", 8443, config.ModeLetsEncrypt, "ops@example.com", "10.0.0.5"
	if err := config.Save(dir, a); err != nil {
		t.Fatal(err)
	}
	f, _, _ := newTestFactory(nil)
	changed := map[string]bool{"port": true}
	got, err := preflightOptionsFor(context.Background(), &PreflightOptions{
		Factory: f, Dir: dir, Port: 9443, Host: "ignored.example.com", Mode: "selfsigned",
		Changed: func(n string) bool { return changed[n] },
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Host != "saved.example.com" || got.Port != 9443 || got.Mode != config.ModeLetsEncrypt || got.Email != "ops@example.com" || got.Bind != "10.0.0.5" || got.Dir != dir {
		t.Errorf("options = %+v", got)
	}
}

// TestVerifyChecksBothUsersOfASetup: without flags verify checks the
// setup's admin and reader and reads its htpasswd file; --reader-user
// without a password is a flag error.
func TestVerifyChecksBothUsersOfASetup(t *testing.T) {
	dir := t.TempDir()
	if _, err := certgen.Generate(context.Background(), certgen.GenerateOptions{
		Dir: filepath.Join(dir, "certs"), Host: e2eHost, KeyType: certgen.ECDSAP256, CAKeyType: certgen.ECDSAP256,
	}); err != nil {
		t.Fatal(err)
	}
	a := config.Defaults()
	a.Host, a.Port = e2eHost, 8443
	a.AdminPasswordFile = writeSecret(t, t.TempDir(), "admin.pw", adminPW)
	a.ReaderPasswordFile = writeSecret(t, t.TempDir(), "reader.pw", readerPW)
	if err := config.Save(dir, a); err != nil {
		t.Fatal(err)
	}
	f, _, _ := newTestFactory(map[string]string{"PAXSETUP_PASSWORD": "", "PAXSETUP_READER_PASSWORD": ""})
	v, err := verifyOptionsFor(&VerifyOptions{Factory: f, Dir: dir, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if v.User != "admin" || v.Password != adminPW || v.ReaderUser != "spectro" || v.ReaderPassword != readerPW {
		t.Errorf("users = %q/%q and %q/%q", v.User, v.Password, v.ReaderUser, v.ReaderPassword)
	}
	if v.HtpasswdFile != filepath.Join(dir, "auth", "htpasswd-basic") {
		t.Errorf("htpasswd file = %q", v.HtpasswdFile)
	}

	f, _, _ = newTestFactory(map[string]string{"PAXSETUP_READER_PASSWORD": "from-the-env-123"})
	v, err = verifyOptionsFor(&VerifyOptions{Factory: f, Dir: t.TempDir(), Endpoint: "https://r.example.com",
		ReaderUser: "ro"})
	if err != nil || v.ReaderUser != "ro" || v.ReaderPassword != "from-the-env-123" || v.HtpasswdFile != "" {
		t.Errorf("env reader: %+v, %v", v, err)
	}

	f, _, _ = newTestFactory(map[string]string{"PAXSETUP_READER_PASSWORD": ""})
	_, err = verifyOptionsFor(&VerifyOptions{Factory: f, Dir: t.TempDir(), Endpoint: "https://r.example.com", ReaderUser: "ro"})
	if err == nil || !strings.Contains(err.Error(), "--reader-password-file") {
		t.Errorf("want a --reader-password-file error, got %v", err)
	}
}

// TestPreflightWithoutEngine points DOCKER_HOST at a socket that does not
// exist: the engine check fails with the fix, the host checks still run.
func TestPreflightWithoutEngine(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	r := runBinary(t, []string{"DOCKER_HOST=unix://" + sock, "DOCKER_CONTEXT="}, "preflight", "--dir", t.TempDir(),
		"--host", "127.0.0.1", "--port", strconv.Itoa(freePort(t)))
	if r.code != exitCheck {
		t.Errorf("exit code %d, want %d", r.code, exitCheck)
	}
	for _, w := range []string{
		"FAIL docker: no Docker engine answers: cannot connect to the Docker engine at unix://" + sock + " (no such socket)",
		"fix: start it (sudo systemctl start docker)",
		"ok   memory:",
	} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("output lacks %q\n%s%s", w, r.stdout, r.stderr)
		}
	}
}
