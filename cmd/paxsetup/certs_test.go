package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/hostinfo"
)

// runPax runs paxsetup in-process without a terminal and returns its exit
// code and output.
func runPax(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	f, out, errb := newTestFactory(nil)
	code := Main(args, f)
	return code, out.String(), errb.String()
}

// fast are the flags that make certs gen quick where key types do not
// matter to the test.
var fast = []string{"--key-type", "ecdsa-p256", "--ca-key-type", "ecdsa-p256"}

func loadCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	certs, err := certgen.LoadCertificates(path)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}

func verifyFor(t *testing.T, leaf *x509.Certificate, caFile, name string) error {
	t.Helper()
	roots, err := certgen.LoadCertPool(caFile)
	if err != nil {
		t.Fatal(err)
	}
	_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	return err
}

func TestCertsGenBadInput(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr []string
	}{
		{"no host and no setup", nil, []string{"--host", "no setup", "--host registry.example.com"}},
		{"underscore in host", []string{"--host", "reg_1.example.com"}, []string{"--host", `"reg_1.example.com" is not a valid DNS name`, `"_"`}},
		{"space in host", []string{"--host", "bad host"}, []string{"--host", `" " is not allowed`}},
		{"URL as host", []string{"--host", "https://registry.example.com"}, []string{"--host", "drop the scheme"}},
		{"host with a port", []string{"--host", "registry.example.com:443"}, []string{"--host", "drop the port"}},
		{"wildcard host", []string{"--host", "*.example.com"}, []string{"--host", "wildcard", "wildcards may go in --san"}},
		{"bad san", []string{"--host", "registry.example.com", "--san", "-bad.example.com"}, []string{"--san", "starts with a hyphen"}},
		{"wildcard over an IP", []string{"--host", "registry.example.com", "--san", "*.10.0.0.1"}, []string{"--san", "not IP addresses"}},
		{"wildcard in the middle", []string{"--host", "registry.example.com", "--san", "a.*.example.com"}, []string{"--san", "whole first label"}},
		{"days zero", []string{"--host", "registry.example.com", "--days", "0"}, []string{"--days", "0 days is out of range: use 1 to 3650"}},
		{"days negative", []string{"--host", "registry.example.com", "--days", "-5"}, []string{"--days", "-5 days is out of range"}},
		{"unknown key type", []string{"--host", "registry.example.com", "--key-type", "dsa1024"}, []string{"--key-type", `unknown key type "dsa1024"`, "rsa4096"}},
		{"unknown CA key type", []string{"--host", "registry.example.com", "--ca-key-type", "ed448"}, []string{"--ca-key-type", "ecdsa-p256"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "setup")
			code, stdout, stderr := runPax(t, append([]string{"certs", "gen", "--dir", dir}, tt.args...)...)
			if code != exitUsage {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, exitUsage, stderr)
			}
			msg := strings.TrimSpace(stderr)
			if strings.Contains(msg, "\n") {
				t.Errorf("want a one-line error, got:\n%s", msg)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("a refused run created %s", dir)
			}
		})
	}
}

// TestCertsGenNames covers the accepted inputs that look odd: an IP as the
// host, IPv6, and wildcards as SANs.
func TestCertsGenNames(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCN     string
		verifyFor  []string
		refusedFor []string
	}{
		{"IPv4 host", []string{"--host", "10.0.0.5"}, "10.0.0.5", []string{"10.0.0.5"}, []string{"10.0.0.6", "registry.example.com"}},
		{"IPv6 host", []string{"--host", "2001:db8::5"}, "2001:db8::5", []string{"2001:db8::5"}, []string{"2001:db8::6"}},
		{"wildcard SAN", []string{"--host", "registry.example.com", "--san", "*.apps.example.com", "--san", "10.0.0.5", "--san", "fd00::5"},
			"registry.example.com", []string{"registry.example.com", "packs.apps.example.com", "10.0.0.5", "fd00::5"}, []string{"apps.example.com", "a.b.apps.example.com", "other.example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "certs")
			code, stdout, stderr := runPax(t, append(append([]string{"certs", "gen", "--dir", t.TempDir(), "--out", out}, fast...), tt.args...)...)
			if code != exitOK {
				t.Fatalf("exit code %d\n%s%s", code, stdout, stderr)
			}
			files := certgen.Files{Dir: out}
			leaf := loadCert(t, files.TLSCert())
			if leaf.Subject.CommonName != tt.wantCN {
				t.Errorf("CN = %q, want %q", leaf.Subject.CommonName, tt.wantCN)
			}
			for _, n := range tt.verifyFor {
				if err := verifyFor(t, leaf, files.CACert(), n); err != nil {
					t.Errorf("verify for %s: %v", n, err)
				}
			}
			for _, n := range tt.refusedFor {
				if err := verifyFor(t, leaf, files.CACert(), n); err == nil {
					t.Errorf("verify for %s succeeded; the name is not listed", n)
				}
			}
		})
	}
}

// TestCertsGenDefaults runs certs gen as an operator would, with the default
// keys, and checks the files with crypto/x509, a TLS handshake and openssl.
func TestCertsGenDefaults(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runPax(t, "certs", "gen", "--dir", dir, "--host", "registry.example.com", "--san", "127.0.0.1", "--san", "::1", "--san", "registry.local")
	if code != exitOK {
		t.Fatalf("exit code %d\n%s%s", code, stdout, stderr)
	}
	files := certgen.Files{Dir: filepath.Join(dir, "certs")}
	for _, w := range []string{"Wrote " + files.Dir, "ca.key", "chain.pem", "(new)", "RSA 4096, valid 825 days", "paxsetup trust --host registry.example.com"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("output lacks %q:\n%s", w, stdout)
		}
	}
	if strings.Contains(stdout, "\r") || strings.Contains(stdout, "warning") {
		t.Errorf("output has a spinner or a warning without a terminal:\n%q", stdout)
	}

	t.Run("modes", func(t *testing.T) {
		for name, want := range map[string]os.FileMode{"ca.key": 0o600, "tls.key": 0o600, "ca.crt": 0o644, "tls.crt": 0o644, "chain.pem": 0o644} {
			fi, err := os.Stat(filepath.Join(files.Dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != want {
				t.Errorf("%s mode %v, want %v", name, fi.Mode().Perm(), want)
			}
		}
	})

	ca, leaf := loadCert(t, files.CACert()), loadCert(t, files.TLSCert())
	t.Run("CA", func(t *testing.T) {
		if typ, bits := certgen.KeyDescription(ca.PublicKey); typ != "RSA" || bits != 4096 {
			t.Errorf("CA key %s %d, want RSA 4096", typ, bits)
		}
		if !ca.IsCA || !ca.MaxPathLenZero || ca.MaxPathLen != 0 {
			t.Errorf("IsCA %v MaxPathLenZero %v MaxPathLen %d; want a CA for leaves only", ca.IsCA, ca.MaxPathLenZero, ca.MaxPathLen)
		}
		if ca.Subject.CommonName == leaf.Subject.CommonName {
			t.Error("the CA's CN equals the server's")
		}
		if d := ca.NotAfter.Sub(ca.NotBefore); d != 3650*24*time.Hour {
			t.Errorf("CA validity %v, want 10 years", d)
		}
	})
	t.Run("server certificate", func(t *testing.T) {
		if typ, bits := certgen.KeyDescription(leaf.PublicKey); typ != "RSA" || bits != 4096 {
			t.Errorf("server key %s %d, want RSA 4096", typ, bits)
		}
		if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
			t.Errorf("EKU %v, want serverAuth", leaf.ExtKeyUsage)
		}
		if leaf.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment {
			t.Errorf("KeyUsage %v, want digitalSignature|keyEncipherment", leaf.KeyUsage)
		}
		if leaf.SerialNumber.BitLen() < 64 || leaf.SerialNumber.BitLen() > 128 {
			t.Errorf("serial has %d bits, want a random 128-bit one", leaf.SerialNumber.BitLen())
		}
		if d := leaf.NotAfter.Sub(leaf.NotBefore); d != 825*24*time.Hour {
			t.Errorf("validity %v, want 825 days", d)
		}
		if len(leaf.SubjectKeyId) == 0 || !bytes.Equal(leaf.AuthorityKeyId, ca.SubjectKeyId) {
			t.Errorf("SubjectKeyId %x, AuthorityKeyId %x (CA's SKI %x)", leaf.SubjectKeyId, leaf.AuthorityKeyId, ca.SubjectKeyId)
		}
		for _, n := range []string{"registry.example.com", "registry.local", "127.0.0.1", "::1"} {
			if err := verifyFor(t, leaf, files.CACert(), n); err != nil {
				t.Errorf("verify for %s: %v", n, err)
			}
		}
		if err := verifyFor(t, leaf, files.CACert(), "other.example.com"); err == nil {
			t.Error("verify for an unlisted name succeeded")
		}
	})
	t.Run("TLS by name and by IP", func(t *testing.T) {
		pair, err := tls.LoadX509KeyPair(files.TLSCert(), files.TLSKey())
		if err != nil {
			t.Fatal(err)
		}
		ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.(*tls.Conn).Handshake()
				c.Close()
			}
		}()
		roots, err := certgen.LoadCertPool(files.CACert())
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			serverName string
			wantErr    string
		}{{"registry.example.com", ""}, {"127.0.0.1", ""}, {"other.example.com", "not other.example.com"}} {
			c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: tc.serverName})
			if err == nil {
				c.Close()
			}
			if (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("handshake as %s: %v, want error %q", tc.serverName, err, tc.wantErr)
			}
		}
	})
	t.Run("openssl", func(t *testing.T) {
		openssl := needOpenSSL(t)
		out, err := exec.Command(openssl, "verify", "-purpose", "sslserver", "-CAfile", files.CACert(), files.TLSCert()).CombinedOutput()
		if err != nil || !strings.Contains(string(out), ": OK") {
			t.Errorf("openssl verify: %v\n%s", err, out)
		}
		out, err = exec.Command(openssl, "x509", "-in", files.TLSCert(), "-noout", "-ext", "subjectAltName").CombinedOutput()
		if err != nil {
			t.Fatalf("openssl x509: %v\n%s", err, out)
		}
		for _, w := range []string{"DNS:registry.example.com", "DNS:registry.local", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1"} {
			if !strings.Contains(string(out), w) {
				t.Errorf("openssl x509 -ext subjectAltName lacks %q:\n%s", w, out)
			}
		}
	})
}

func needOpenSSL(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl is needed for this test and is not on PATH (CI installs it; on Debian/Ubuntu: apt-get install openssl): %v", err)
	}
	return p
}

func TestCertsGenExisting(t *testing.T) {
	dir := t.TempDir()
	args := append([]string{"certs", "gen", "--dir", dir, "--host", "registry.example.com"}, fast...)
	if code, stdout, stderr := runPax(t, args...); code != exitOK {
		t.Fatalf("first run: exit %d\n%s%s", code, stdout, stderr)
	}
	files := certgen.Files{Dir: filepath.Join(dir, "certs")}
	caBefore, leafBefore := readBytes(t, files.CACert()), readBytes(t, files.TLSCert())

	code, _, stderr := runPax(t, args...)
	if code != exitError || !strings.Contains(stderr, "already exist: pass --force to replace them") {
		t.Errorf("second run without --force: exit %d, stderr %q; want 1 and a hint to --force", code, stderr)
	}
	if !bytes.Equal(readBytes(t, files.TLSCert()), leafBefore) {
		t.Error("tls.crt changed without --force")
	}

	code, stdout, stderr := runPax(t, append(args, "--force", "--san", "10.0.0.9")...)
	if code != exitOK {
		t.Fatalf("--force: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "(reused)") || strings.Contains(stdout, "Clients must trust") {
		t.Errorf("output does not say the CA was reused, or asks to trust it again:\n%s", stdout)
	}
	if !bytes.Equal(readBytes(t, files.CACert()), caBefore) {
		t.Error("--force replaced the CA")
	}
	leaf := loadCert(t, files.TLSCert())
	if err := verifyFor(t, leaf, files.CACert(), "10.0.0.9"); err != nil {
		t.Errorf("renewed certificate does not chain to the old CA for the new SAN: %v", err)
	}
}

func readBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCertsGenSelfSigned(t *testing.T) {
	out := filepath.Join(t.TempDir(), "self")
	code, stdout, stderr := runPax(t, "certs", "gen", "--dir", t.TempDir(), "--out", out, "--host", "10.0.0.5", "--san", "registry.example.com", "--self-signed", "--key-type", "rsa2048")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"ca.crt", "chain.pem", "tls.crt", "tls.key"}) {
		t.Errorf("files %q, want ca.crt chain.pem tls.crt tls.key (no CA key)", names)
	}
	files := certgen.Files{Dir: out}
	if !bytes.Equal(readBytes(t, files.CACert()), readBytes(t, files.TLSCert())) {
		t.Error("ca.crt is not the self-signed certificate")
	}
	leaf := loadCert(t, files.TLSCert())
	if leaf.Issuer.String() != leaf.Subject.String() || leaf.IsCA {
		t.Errorf("issuer %q subject %q IsCA %v; want a self-issued server certificate", leaf.Issuer, leaf.Subject, leaf.IsCA)
	}
	for _, n := range []string{"10.0.0.5", "registry.example.com"} {
		if err := verifyFor(t, leaf, files.CACert(), n); err != nil {
			t.Errorf("verify for %s: %v", n, err)
		}
	}
	if !strings.Contains(stdout, "Self-signed") || strings.Contains(stdout, "ca.key") {
		t.Errorf("output:\n%s", stdout)
	}
}

func TestCertsGenWarnings(t *testing.T) {
	tests := []struct {
		days string
		want string
	}{
		{"1000", "warning validity-over-825: the server certificate is valid for 1000 days"},
		{"20", "warning expires-soon"},
	}
	for _, tt := range tests {
		t.Run(tt.days+" days", func(t *testing.T) {
			code, stdout, stderr := runPax(t, append([]string{"certs", "gen", "--dir", t.TempDir(), "--host", "registry.example.com", "--days", tt.days}, fast...)...)
			if code != exitOK {
				t.Fatalf("exit %d, want 0 (a warning is not a failure)\n%s", code, stderr)
			}
			if !strings.Contains(stdout, tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, stdout)
			}
		})
	}
}

// TestCertsGenFromSetup runs certs gen in a setup's folder without --host:
// the setup's names, plus this host's addresses as init adds them, so that
// init keeps the certificate.
func TestCertsGenFromSetup(t *testing.T) {
	dir := t.TempDir()
	a := config.Defaults()
	a.Host, a.SANs, a.Days = "registry.setup.test", []string{"alias.setup.test"}, 400
	if err := config.Save(dir, a); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runPax(t, append([]string{"certs", "gen", "--dir", dir}, fast...)...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	leaf := loadCert(t, filepath.Join(dir, "certs", "tls.crt"))
	if leaf.Subject.CommonName != a.Host {
		t.Errorf("CN %q, want the setup's host", leaf.Subject.CommonName)
	}
	if d := leaf.NotAfter.Sub(leaf.NotBefore); d != 400*24*time.Hour {
		t.Errorf("validity %v, want the setup's 400 days", d)
	}
	ips, err := hostinfo.IPs()
	if err != nil {
		t.Fatal(err)
	}
	var sans []string
	for _, ip := range ips {
		sans = append(sans, ip.String())
	}
	sans = answers.Union(a.SANs, sans)
	if err := certgen.CheckLeaf(filepath.Join(dir, "certs"), a.Host, sans, time.Now()); err != nil {
		t.Errorf("init would not keep this certificate: %v", err)
	}

	t.Run("--host overrides the setup", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "other")
		code, _, stderr := runPax(t, append([]string{"certs", "gen", "--dir", dir, "--host", "other.test", "--out", out}, fast...)...)
		if code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		leaf := loadCert(t, filepath.Join(out, "tls.crt"))
		if !slices.Equal(leaf.DNSNames, []string{"other.test"}) || len(leaf.IPAddresses) != 0 {
			t.Errorf("names %q %v, want only other.test", leaf.DNSNames, leaf.IPAddresses)
		}
	})
}

func TestCertsGenSpinner(t *testing.T) {
	tests := []struct {
		name     string
		terminal bool
	}{{"terminal", true}, {"pipe", false}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			f := &Factory{IO: &IOStreams{Out: &out, ErrOut: io.Discard, StdoutTTY: tt.terminal}, Now: time.Now, Getenv: os.Getenv}
			opts := &CertsGenOptions{IO: f.IO, Factory: f, Dir: t.TempDir(), Host: "registry.example.com", Days: 825, KeyType: "ecdsa-p256", CAKeyType: "ecdsa-p256"}
			if err := runCertsGen(context.Background(), opts); err != nil {
				t.Fatal(err)
			}
			got := out.String()
			spin := "\r\x1b[K⠋ Generating keys (CA ecdsa-p256, server ecdsa-p256) 0."
			done := "\r\x1b[K✓ Generating keys (CA ecdsa-p256, server ecdsa-p256) ("
			if tt.terminal {
				before, after, ok := strings.Cut(got, "Wrote ")
				if !strings.HasPrefix(got, spin) || !ok || !strings.Contains(before, done) || !strings.HasSuffix(before, ")\n") || strings.Contains(after, "\r") {
					t.Errorf("want the spinner, then the step's line with its time, then the report; got %q", got)
				}
			} else if strings.Contains(got, "\r") || !strings.HasPrefix(got, "Wrote ") {
				t.Errorf("want plain output without a terminal; got %q", got)
			}
		})
	}
}

func TestCertsGenFlags(t *testing.T) {
	f, _, _ := newTestFactory(nil)
	var got *CertsGenOptions
	cmd := NewCmdCertsGen(f, &globalOptions{Dir: "/srv/pax"}, func(_ context.Context, o *CertsGenOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--san", "a.test", "--san", "10.0.0.1", "--self-signed"})
	cmd.SetOut(io.Discard)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Dir != "/srv/pax" || got.Days != 825 || got.KeyType != "rsa4096" || got.CAKeyType != "rsa4096" || got.Out != "" || !got.SelfSigned || got.Force {
		t.Errorf("options %+v", got)
	}
	if !slices.Equal(got.SANs, []string{"a.test", "10.0.0.1"}) || got.Changed("host") || !got.Changed("san") {
		t.Errorf("SANs %q, host changed %v, san changed %v", got.SANs, got.Changed("host"), got.Changed("san"))
	}
}

// testCert makes certificates for inspect's tests.
type testCert struct {
	cert *x509.Certificate
	key  crypto.Signer
}

type testCertSpec struct {
	cn        string
	dns       []string
	ips       []net.IP
	ca        bool
	eku       []x509.ExtKeyUsage
	notBefore time.Time
	days      int
	key       crypto.Signer
}

func makeTestCert(t *testing.T, s testCertSpec, parent *testCert) testCert {
	t.Helper()
	if s.key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		s.key = k
	}
	if s.notBefore.IsZero() {
		s.notBefore = time.Now().Add(-time.Hour)
	}
	if s.days == 0 {
		s.days = 90
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: s.cn},
		NotBefore:             s.notBefore,
		NotAfter:              s.notBefore.Add(time.Duration(s.days) * 24 * time.Hour),
		DNSNames:              s.dns,
		IPAddresses:           s.ips,
		ExtKeyUsage:           s.eku,
		BasicConstraintsValid: true,
		IsCA:                  s.ca,
		KeyUsage:              x509.KeyUsageDigitalSignature,
	}
	if s.ca {
		tmpl.KeyUsage = x509.KeyUsageCertSign
	}
	signer, parentCert := s.key, tmpl
	if parent != nil {
		signer, parentCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, s.key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testCert{c, s.key}
}

func writePEM(t *testing.T, dir, name string, certs ...testCert) string {
	t.Helper()
	var buf bytes.Buffer
	for _, c := range certs {
		pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeKey(t *testing.T, dir, name string, key crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCertsInspectVendorCert makes a certificate the vendor's way (openssl
// req -x509, CN only, 1825 days) and checks inspect refuses it for the
// reasons Go clients and Apple clients do.
func TestCertsInspectVendorCert(t *testing.T) {
	openssl := needOpenSSL(t)
	dir := t.TempDir()
	key, crt := filepath.Join(dir, "k"), filepath.Join(dir, "c")
	cmd := exec.Command(openssl, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-x509", "-days", "1825", "-subj", "/CN=registry.example.com", "-out", crt)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}

	code, stdout, stderr := runPax(t, "certs", "inspect", crt, "--host", "registry.example.com", "--key", key)
	if code != exitCheck {
		t.Errorf("exit %d, want %d (lint errors)\n%s", code, exitCheck, stderr)
	}
	for _, w := range []string{"server certificate (self-signed)", "SANs        none (CN only)", "RSA 2048 bits", "(1825 days;",
		"error   no-san", "legacy Common Name field", "paxsetup certs gen --host registry.example.com",
		"error   host-not-covered", "warning validity-over-825"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("output lacks %q:\n%s", w, stdout)
		}
	}

	code, stdout, _ = runPax(t, "certs", "inspect", crt, "--output", "json")
	if code != exitCheck {
		t.Errorf("json: exit %d, want %d", code, exitCheck)
	}
	var rep struct {
		Certificates []certgen.CertInfo `json:"certificates"`
		Findings     []certgen.Finding  `json:"findings"`
		OK           bool               `json:"ok"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("json output: %v\n%s", err, stdout)
	}
	var codes []string
	for _, f := range rep.Findings {
		codes = append(codes, string(f.Severity)+" "+f.Code)
	}
	for _, w := range []string{"error no-san", "warning validity-over-825"} {
		if !slices.Contains(codes, w) {
			t.Errorf("json findings %q lack %q", codes, w)
		}
	}
	if rep.OK || len(rep.Certificates) != 1 || rep.Certificates[0].ValidityDays != 1825 || rep.Certificates[0].KeyBits != 2048 {
		t.Errorf("report ok %v, certificates %+v", rep.OK, rep.Certificates)
	}
}

// TestCertsInspectLints gives inspect a certificate made for each lint.
func TestCertsInspectLints(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	day := 24 * time.Hour
	serverAuth := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	root := makeTestCert(t, testCertSpec{cn: "Inspect Root", ca: true, days: 3650}, nil)
	inter := makeTestCert(t, testCertSpec{cn: "Inspect Intermediate", ca: true, days: 1000}, &root)
	server := func(s testCertSpec) testCert {
		if s.cn == "" {
			s.cn = "registry.example.com"
		}
		if s.dns == nil && s.ips == nil {
			s.dns, s.ips = []string{"registry.example.com"}, []net.IP{net.ParseIP("10.0.0.5")}
		}
		if s.eku == nil {
			s.eku = serverAuth
		}
		return makeTestCert(t, s, &inter)
	}
	good := server(testCertSpec{})
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	goodKey := writeKey(t, dir, "good.key", good.key)
	otherKey := writeKey(t, dir, "other.key", server(testCertSpec{}).key)
	rootFile := writePEM(t, dir, "root.pem", root)

	tests := []struct {
		name     string
		file     string
		args     []string
		wantCode int
		want     string
	}{
		{"good chain", writePEM(t, dir, "good.pem", good, inter, root), []string{"--host", "registry.example.com", "--host", "10.0.0.5", "--key", goodKey}, exitOK, "No problems found."},
		{"good chain against --ca-file", writePEM(t, dir, "good2.pem", good, inter), []string{"--ca-file", rootFile}, exitOK, "No problems found."},
		{"CN only", writePEM(t, dir, "cn.pem", server(testCertSpec{dns: []string{}, ips: []net.IP{}}), inter, root), nil, exitCheck, "error   no-san"},
		{"host not covered", writePEM(t, dir, "host.pem", good, inter, root), []string{"--host", "10.0.0.6"}, exitCheck, "error   host-not-covered"},
		{"no serverAuth", writePEM(t, dir, "eku.pem", server(testCertSpec{eku: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}), inter, root), nil, exitCheck, "error   no-server-auth"},
		{"expired", writePEM(t, dir, "expired.pem", server(testCertSpec{notBefore: now.Add(-100 * day), days: 90}), inter, root), nil, exitCheck, "error   expired"},
		{"not yet valid", writePEM(t, dir, "future.pem", server(testCertSpec{notBefore: now.Add(2 * day)}), inter, root), nil, exitCheck, "error   not-yet-valid"},
		{"RSA-1024", writePEM(t, dir, "weak.pem", server(testCertSpec{key: weak}), inter, root), nil, exitCheck, "error   weak-rsa"},
		{"key mismatch", writePEM(t, dir, "mismatch.pem", good, inter, root), []string{"--key", otherKey}, exitCheck, "error   key-mismatch"},
		{"chain out of order", writePEM(t, dir, "order.pem", good, root, inter), nil, exitCheck, "error   chain-order"},
		{"server certificate last", writePEM(t, dir, "last.pem", root, inter, good), nil, exitCheck, "error   chain-order"},
		{"intermediate missing", writePEM(t, dir, "incomplete.pem", good, root), nil, exitCheck, "error   chain-incomplete"},
		{"intermediate missing, --ca-file", writePEM(t, dir, "incomplete2.pem", good), []string{"--ca-file", rootFile}, exitCheck, "error   chain-incomplete"},
		{"over 825 days", writePEM(t, dir, "long.pem", server(testCertSpec{days: 900}), inter, root), nil, exitOK, "warning validity-over-825"},
		{"expires soon", writePEM(t, dir, "soon.pem", server(testCertSpec{notBefore: now.Add(-80 * day), days: 90}), inter, root), nil, exitOK, "warning expires-soon"},
		{"no EKU", writePEM(t, dir, "noeku.pem", server(testCertSpec{eku: []x509.ExtKeyUsage{}}), inter, root), nil, exitOK, "warning no-eku"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runPax(t, append([]string{"certs", "inspect", tt.file}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.wantCode, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, stdout)
			}
		})
	}
}

func TestCertsInspectBadInput(t *testing.T) {
	dir := t.TempDir()
	c := makeTestCert(t, testCertSpec{cn: "registry.example.com", dns: []string{"registry.example.com"}, eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, nil)
	file := writePEM(t, dir, "c.pem", c)
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  []string
	}{
		{"missing file", []string{filepath.Join(dir, "nope.pem")}, exitError, []string{"nope.pem", "no such file"}},
		{"not PEM", []string{notPEM}, exitError, []string{"not.pem", "no PEM CERTIFICATE block", "server certificate first"}},
		{"unreadable key", []string{file, "--key", filepath.Join(dir, "nope.key")}, exitUsage, []string{"--key", "nope.key"}},
		{"certificate as key", []string{file, "--key", file}, exitUsage, []string{"--key", "no PEM private key"}},
		{"bad --ca-file", []string{file, "--ca-file", notPEM}, exitUsage, []string{"--ca-file"}},
		{"bad --host", []string{file, "--host", "https://registry.example.com"}, exitUsage, []string{"--host", "drop the scheme"}},
		{"bad --output", []string{file, "--output", "yaml"}, exitUsage, []string{"--output", "text or json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runPax(t, append([]string{"certs", "inspect"}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.wantCode, stdout, stderr)
			}
			msg := strings.TrimSpace(stderr)
			if strings.Contains(msg, "\n") {
				t.Errorf("want a one-line error, got:\n%s", msg)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
	t.Run("no file", func(t *testing.T) {
		code, _, stderr := runPax(t, "certs", "inspect")
		if code != exitUsage || !strings.Contains(stderr, "accepts 1 arg") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}
