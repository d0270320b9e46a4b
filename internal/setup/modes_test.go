package setup

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
	"github.com/paxsetup/paxsetup/internal/render"
)

var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

type testCert struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// issue makes a certificate signed by parent (self-signed when nil).
func issue(t *testing.T, cn string, parent *testCert, isCA bool, notAfter time.Time, dns ...string) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: testNow.Add(-time.Hour), NotAfter: notAfter,
		DNSNames: dns, BasicConstraintsValid: true, IsCA: isCA,
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	if isCA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	signer, signCert := key, tmpl
	if parent != nil {
		signer, signCert = parent.key.(*ecdsa.PrivateKey), parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signCert, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{c, key}
}

func pemOf(certs ...*testCert) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})
	}
	return b.Bytes()
}

func keyPEMOf(t *testing.T, c *testCert) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(c.key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func readPEMCerts(t *testing.T, path string) []*x509.Certificate {
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

// TestInstallCustomCerts installs an operator's certificate issued by an
// intermediate, with the CA file in the "wrong" order, and checks each file
// the registry, clients and Palette read; then the refusals.
func TestInstallCustomCerts(t *testing.T) {
	year := testNow.AddDate(1, 0, 0)
	root := issue(t, "Op Root", nil, true, testNow.AddDate(10, 0, 0))
	inter := issue(t, "Op Intermediate", root, true, testNow.AddDate(5, 0, 0))
	leaf := issue(t, "registry.example.com", inter, false, year, "registry.example.com")
	otherKey := issue(t, "x", nil, false, year, "registry.example.com")
	expired := issue(t, "registry.example.com", inter, false, testNow.Add(-time.Minute), "registry.example.com")
	wrongName := issue(t, "other.example.com", inter, false, year, "other.example.com")
	long := issue(t, "registry.example.com", inter, false, testNow.AddDate(3, 0, 0), "registry.example.com")

	type files struct{ cert, key, ca []byte }
	tests := []struct {
		name     string
		in       files
		wantFlag string
		wantErr  string
		wantWarn string
	}{
		{name: "intermediate in the CA file", in: files{pemOf(leaf), keyPEMOf(t, leaf), pemOf(root, inter)}},
		{name: "intermediate in the cert file", in: files{pemOf(leaf, inter), keyPEMOf(t, leaf), pemOf(root)}},
		{name: "validity over 825 days warns", in: files{pemOf(long), keyPEMOf(t, long), pemOf(root, inter)}, wantWarn: "validity-over-825"},
		{name: "key of another certificate", in: files{pemOf(leaf), keyPEMOf(t, otherKey), pemOf(root, inter)}, wantFlag: "key-file", wantErr: "does not go with"},
		{name: "expired", in: files{pemOf(expired), keyPEMOf(t, expired), pemOf(root, inter)}, wantFlag: "cert-file", wantErr: "expired"},
		{name: "another name", in: files{pemOf(wrongName), keyPEMOf(t, wrongName), pemOf(root, inter)}, wantFlag: "cert-file", wantErr: "host-not-covered"},
		{name: "CA file without certificates", in: files{pemOf(leaf), keyPEMOf(t, leaf), []byte("hello")}, wantFlag: "ca-file", wantErr: "no PEM CERTIFICATE"},
		{name: "key file without a key", in: files{pemOf(leaf), pemOf(leaf), pemOf(root, inter)}, wantFlag: "key-file", wantErr: "does not go with"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work := t.TempDir()
			l := Layout{Dir: filepath.Join(work, "setup")}
			os.MkdirAll(l.Certs(), 0o755)
			a := config.Defaults()
			a.Mode, a.Host = config.ModeCustom, "registry.example.com"
			a.CertFile, a.KeyFile, a.CAFile = filepath.Join(work, "c.pem"), filepath.Join(work, "k.pem"), filepath.Join(work, "ca.pem")
			os.WriteFile(a.CertFile, tt.in.cert, 0o600)
			os.WriteFile(a.KeyFile, tt.in.key, 0o600)
			os.WriteFile(a.CAFile, tt.in.ca, 0o600)
			var out bytes.Buffer
			err := installCustomCerts(l, Options{Dir: l.Dir, Answers: a, Out: &out, Now: func() time.Time { return testNow }})
			if tt.wantFlag != "" {
				var fe *answers.FlagError
				if !errors.As(err, &fe) || fe.Flag != tt.wantFlag || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want --%s: ...%s", err, tt.wantFlag, tt.wantErr)
				}
				if entries, _ := os.ReadDir(l.Certs()); len(entries) != 0 {
					t.Errorf("a refused certificate wrote files: %v", entries)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantWarn != "" && !strings.Contains(out.String(), tt.wantWarn) {
				t.Errorf("no %s warning in:\n%s", tt.wantWarn, out.String())
			}
			served := readPEMCerts(t, filepath.Join(l.Certs(), "tls.crt"))
			chain := readPEMCerts(t, filepath.Join(l.Certs(), "chain.pem"))
			cas := readPEMCerts(t, filepath.Join(l.Certs(), "ca.crt"))
			if len(served) != 2 || !served[1].Equal(inter.cert) {
				t.Errorf("tls.crt must be the server certificate then the intermediate, got %d certificates", len(served))
			}
			if len(chain) != 3 || !chain[1].Equal(inter.cert) || !chain[2].Equal(root.cert) {
				t.Errorf("chain.pem must be server, intermediate, root; got %d certificates", len(chain))
			}
			if len(cas) != 1 || !cas[0].Equal(root.cert) {
				t.Errorf("ca.crt must hold the root alone, got %d certificates", len(cas))
			}
			pool := x509.NewCertPool()
			pool.AddCert(cas[0])
			inters := x509.NewCertPool()
			inters.AddCert(served[1])
			if _, err := served[0].Verify(x509.VerifyOptions{DNSName: "registry.example.com", Roots: pool, Intermediates: inters, CurrentTime: testNow}); err != nil {
				t.Errorf("a client trusting ca.crt cannot verify tls.crt: %v", err)
			}
			fi, _ := os.Stat(filepath.Join(l.Certs(), "tls.key"))
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("tls.key mode %v", fi.Mode().Perm())
			}
			key, _ := os.ReadFile(filepath.Join(l.Certs(), "tls.key"))
			if b, rest := pem.Decode(key); b == nil || b.Type != "PRIVATE KEY" || len(bytes.TrimSpace(rest)) != 0 {
				t.Errorf("tls.key must hold the key alone")
			}
		})
	}
}

func TestInstallCustomCertsKeepsOwnCA(t *testing.T) {
	year := testNow.AddDate(1, 0, 0)
	root := issue(t, "Op Root", nil, true, testNow.AddDate(10, 0, 0))
	leaf := issue(t, "registry.example.com", root, false, year, "registry.example.com")
	work := t.TempDir()
	l := Layout{Dir: filepath.Join(work, "setup")}
	os.MkdirAll(l.Certs(), 0o755)
	os.WriteFile(filepath.Join(l.Certs(), "ca.key"), []byte("paxsetup's CA key"), 0o600)
	os.WriteFile(filepath.Join(l.Certs(), "ca.crt"), []byte("paxsetup's CA"), 0o644)
	a := config.Defaults()
	a.Mode, a.Host = config.ModeCustom, "registry.example.com"
	a.CertFile, a.KeyFile, a.CAFile = filepath.Join(work, "c.pem"), filepath.Join(work, "k.pem"), filepath.Join(work, "ca.pem")
	os.WriteFile(a.CertFile, pemOf(leaf), 0o600)
	os.WriteFile(a.KeyFile, keyPEMOf(t, leaf), 0o600)
	os.WriteFile(a.CAFile, pemOf(root), 0o600)
	opts := Options{Dir: l.Dir, Answers: a, Now: func() time.Time { return testNow }, Out: &bytes.Buffer{}}

	err := installCustomCerts(l, opts)
	var fe *answers.FlagError
	if !errors.As(err, &fe) || fe.Flag != "force" {
		t.Fatalf("err = %v, want a FlagError for --force", err)
	}
	if data, _ := os.ReadFile(filepath.Join(l.Certs(), "ca.crt")); string(data) != "paxsetup's CA" {
		t.Fatal("ca.crt was replaced without --force")
	}
	opts.Force = true
	if err := installCustomCerts(l, opts); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(l.Certs(), "ca.key.previous")); string(data) != "paxsetup's CA key" {
		t.Error("the CA key was not set aside")
	}
	// A re-run with the same files rewrites nothing: an atomic write would
	// put a new file (inode) in place.
	fi1, _ := os.Stat(filepath.Join(l.Certs(), "tls.crt"))
	if err := installCustomCerts(l, opts); err != nil {
		t.Fatal(err)
	}
	if fi2, _ := os.Stat(filepath.Join(l.Certs(), "tls.crt")); !os.SameFile(fi1, fi2) {
		t.Error("an unchanged certificate was written again")
	}
}

func TestReadS3Keys(t *testing.T) {
	dir := t.TempDir()
	write := func(content string) string {
		p := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".creds")
		os.WriteFile(p, []byte(content), 0o600)
		return p
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name    string
		file    string
		env     map[string]string
		want    S3Keys
		wantErr string
	}{
		{name: "AWS credentials file", file: "[default]\naws_access_key_id = AKIA1\naws_secret_access_key = s3cr=t/+\n", want: S3Keys{"AKIA1", "s3cr=t/+"}},
		{name: "env file", file: "# keys\nexport AWS_ACCESS_KEY_ID=AKIA2\nAWS_SECRET_ACCESS_KEY=x y\n", want: S3Keys{"AKIA2", "x y"}},
		{name: "two profiles", file: "[a]\naws_access_key_id=1\n[b]\naws_access_key_id=2\n", wantErr: "more than one profile"},
		{name: "no secret", file: "aws_access_key_id=1\n", wantErr: "both"},
		{name: "garbage", file: "just a key\n", wantErr: "line 1"},
		{name: "environment", env: map[string]string{EnvS3AccessKey: "AKIA3", EnvS3SecretKey: "s"}, want: S3Keys{"AKIA3", "s"}},
		{name: "half the environment", env: map[string]string{EnvS3AccessKey: "AKIA3"}, wantErr: "set both"},
		{name: "nothing: the host's own role", want: S3Keys{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := ""
			if tt.file != "" {
				file = write(tt.file)
			}
			got, err := ReadS3Keys(file, env(tt.env))
			if tt.wantErr != "" {
				var fe *answers.FlagError
				if !errors.As(err, &fe) || fe.Flag != "s3-credentials-file" || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want --s3-credentials-file: ...%s", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// TestRegistryConfigFile writes the S3 config with keys (0600), replays it
// without the keys (they are kept, and so is the http secret made on the
// first run), is given another http secret (a joining node's), and switches
// storage (the file, which held them, goes).
func TestRegistryConfigFile(t *testing.T) {
	l := Layout{Dir: t.TempDir()}
	a := config.Defaults()
	a.Host, a.Storage, a.S3 = "registry.example.com", "s3", &config.S3Config{Region: "eu-west-1", Bucket: "packs"}
	if err := writeRegistryConfig(l, Options{Answers: a, S3Keys: S3Keys{"AKIA", "secret-key"}}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(l.ConfigFile())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config file: %v, mode %v; want 0600", err, fi.Mode())
	}
	first, err := SavedSecrets(l.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.HTTPSecret) < 40 {
		t.Fatalf("http secret = %q, want 32 random bytes in base64", first.HTTPSecret)
	}
	if err := writeRegistryConfig(l, Options{Answers: a}); err != nil {
		t.Fatal(err)
	}
	if s, _ := SavedSecrets(l.Dir); s != first {
		t.Errorf("a replay without keys changed the secrets: %+v, want %+v", s, first)
	}
	if err := writeRegistryConfig(l, Options{Answers: a, HTTPSecret: "the-other-nodes-secret"}); err != nil {
		t.Fatal(err)
	}
	if s, _ := SavedSecrets(l.Dir); s.HTTPSecret != "the-other-nodes-secret" || s.S3Keys != first.S3Keys {
		t.Errorf("given secret not written: %+v", s)
	}
	other := Layout{Dir: t.TempDir()}
	if err := writeRegistryConfig(other, Options{Answers: a}); err != nil {
		t.Fatal(err)
	}
	if s, _ := SavedSecrets(other.Dir); s.HTTPSecret == "" || s.HTTPSecret == first.HTTPSecret {
		t.Errorf("a new setup's http secret = %q, want a fresh one (first was %q)", s.HTTPSecret, first.HTTPSecret)
	}
	a.Storage, a.S3 = "filesystem", nil
	if err := writeRegistryConfig(l, Options{Answers: a}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(l.ConfigFile()); !os.IsNotExist(err) {
		t.Errorf("the unused config (with S3 keys) was kept: %v", err)
	}
}

func TestContainerConfigFor(t *testing.T) {
	l := Layout{Dir: "/srv/pax"}
	targets := func(ms []dockerctl.Mount) []string {
		var out []string
		for _, m := range ms {
			ro := ""
			if m.ReadOnly {
				ro = ":ro"
			}
			out = append(out, m.Target+ro)
		}
		return out
	}
	tests := []struct {
		mode, storage string
		wantMounts    []string
		wantCmd       bool
		wantFiles     int
	}{
		{config.ModeSelfSigned, "filesystem", []string{"/auth:ro", "/certs:ro", "/data"}, false, 3},
		{config.ModeCustom, "inmemory", []string{"/auth:ro", "/certs:ro", "/data"}, false, 3},
		{config.ModeHTTP, "filesystem", []string{"/auth:ro", "/data"}, false, 1},
		{config.ModeLetsEncrypt, "filesystem", []string{"/auth:ro", "/data", "/etc/spectropaxconfig:ro"}, true, 2},
		{config.ModeSelfSigned, "s3", []string{"/auth:ro", "/certs:ro", "/data", "/etc/spectropaxconfig:ro"}, true, 4},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"-"+tt.storage, func(t *testing.T) {
			a := config.Defaults()
			a.Mode, a.Storage, a.Host, a.Email = tt.mode, tt.storage, "registry.example.com", "ops@example.com"
			if tt.storage == "s3" {
				a.S3 = &config.S3Config{Region: "eu-west-1", Bucket: "packs"}
			}
			cc, err := containerConfigFor(l, a)
			if err != nil {
				t.Fatal(err)
			}
			if got := targets(cc.Mounts); !slices.Equal(got, tt.wantMounts) {
				t.Errorf("mounts = %q, want %q", got, tt.wantMounts)
			}
			if (len(cc.Cmd) > 0) != tt.wantCmd || (len(cc.Env) > 0) == tt.wantCmd {
				t.Errorf("cmd %q, env %q: want exactly one of them", cc.Cmd, cc.Env)
			}
			if tt.wantCmd && !slices.Equal(cc.Cmd, []string{"serve", render.ConfigFile}) {
				t.Errorf("cmd = %q", cc.Cmd)
			}
			if len(cc.Files) != tt.wantFiles || cc.Files[0] != l.Htpasswd() {
				t.Errorf("files read at start = %q", cc.Files)
			}
		})
	}
}

// readOnlyEngine answers the reads a dry run makes; any other call panics
// through the nil embedded interface.
type readOnlyEngine struct {
	Engine
	reads []string
}

func (e *readOnlyEngine) Inspect(_ context.Context, name string) (dockerctl.Container, error) {
	e.reads = append(e.reads, "inspect "+name)
	return dockerctl.Container{}, dockerctl.ErrNotFound
}
func (e *readOnlyEngine) ContainersPublishing(context.Context, int) ([]dockerctl.Container, error) {
	e.reads = append(e.reads, "publishing")
	return nil, nil
}
func (e *readOnlyEngine) ImageID(_ context.Context, ref string) (string, error) {
	e.reads = append(e.reads, "image "+ref)
	return "", dockerctl.ErrNotFound
}

// TestDryRunOnlyReads: a dry run writes the setup's files and a plan, and
// asks the engine nothing but reads (with an engine) or nothing at all.
func TestDryRunOnlyReads(t *testing.T) {
	for _, withEngine := range []bool{true, false} {
		t.Run(map[bool]string{true: "with engine", false: "without engine"}[withEngine], func(t *testing.T) {
			dir := t.TempDir()
			a := config.Defaults()
			a.Mode, a.Host, a.Port, a.Name, a.BcryptCost = config.ModeHTTP, "registry.local", 18999, "reg", htpasswd.MinCost
			var eng Engine
			fake := &readOnlyEngine{}
			if withEngine {
				eng = fake
			}
			res, err := Run(context.Background(), eng, Options{Dir: dir, Answers: a, DryRun: true, Now: time.Now})
			if err != nil {
				t.Fatal(err)
			}
			p := res.Plan
			if p == nil || p.Engine != withEngine || p.Action != "created" || p.ImageMissing != withEngine {
				t.Fatalf("plan = %+v", p)
			}
			if !strings.Contains(p.DockerRun, "--publish 18999:5000") || !strings.Contains(p.DockerRun, a.Image) ||
				!strings.Contains(p.DockerRun, "io.paxsetup.image="+a.Image) {
				t.Errorf("docker run = %s", p.DockerRun)
			}
			if withEngine && !slices.Equal(fake.reads, []string{"inspect reg", "publishing", "image " + a.Image}) {
				t.Errorf("engine calls = %q", fake.reads)
			}
			if _, err := os.Stat(filepath.Join(dir, "auth", "htpasswd-basic")); err != nil {
				t.Error(err)
			}
			if saved, err := config.Load(dir); err != nil || saved.Mode != config.ModeHTTP {
				t.Errorf("answers not saved: %v", err)
			}
			if len(res.Generated) != 2 {
				t.Errorf("generated passwords = %d, want both users", len(res.Generated))
			}
		})
	}
}

// TestContainerPrivateACME: with --acme-ca-file the registry trusts the
// copy in config/ through SSL_CERT_FILE, and a change of that file replaces
// the container (it is read at start); --network gives it the host's name.
func TestContainerPrivateACME(t *testing.T) {
	dir := t.TempDir()
	l := Layout{Dir: dir}
	a := config.Defaults()
	a.Mode, a.Host, a.Email = config.ModeLetsEncrypt, "registry.example.com", "ops@example.com"
	a.ACMEDirectory, a.ACMECAFile, a.Network = "https://ca.example.com/dir", "/somewhere/ca.pem", "acme"
	cc, err := containerConfigFor(l, a)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cc.Env, []string{"SSL_CERT_FILE=/etc/spectropaxconfig/acme-ca.crt"}) || !slices.Contains(cc.Files, l.ACMECAFile()) {
		t.Errorf("env %q, files %q", cc.Env, cc.Files)
	}
	if err := os.MkdirAll(l.Config(), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range cc.Files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	spec, err := containerSpec(l, a, "sha256:1")
	if err != nil {
		t.Fatal(err)
	}
	if spec.Network != "acme" || !slices.Equal(spec.Aliases, []string{"registry.example.com"}) {
		t.Errorf("network %q aliases %q", spec.Network, spec.Aliases)
	}
	if err := os.WriteFile(l.ACMECAFile(), []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := containerSpec(l, a, "sha256:1")
	if err != nil {
		t.Fatal(err)
	}
	if again.Labels[LabelSpec] == spec.Labels[LabelSpec] {
		t.Error("a new ACME CA file does not change the container's spec hash")
	}
	a.Network = ""
	plain, err := containerSpec(l, a, "sha256:1")
	if err != nil {
		t.Fatal(err)
	}
	if plain.Network != "" || plain.Aliases != nil || plain.Labels[LabelSpec] == again.Labels[LabelSpec] {
		t.Errorf("without --network: network %q aliases %q, same hash %v", plain.Network, plain.Aliases, plain.Labels[LabelSpec] == again.Labels[LabelSpec])
	}
}
