package answers

import (
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

	"github.com/paxsetup/paxsetup/internal/config"
)

func TestValidateModes(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f.pem")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := config.Defaults()
	base.Host = "registry.example.com"
	le := func(a *config.Answers) { a.Mode, a.Email = config.ModeLetsEncrypt, "ops@example.com" }
	privateACME := func(a *config.Answers) { le(a); a.ACMEDirectory = "https://acme.internal.example/dir" }
	root := writeRoot(t, dir)
	s3 := func(a *config.Answers) {
		a.Storage, a.S3 = "s3", &config.S3Config{Region: "eu-west-1", Bucket: "packs"}
	}
	tests := []struct {
		name     string
		edit     func(a *config.Answers)
		wantFlag string
		wantErr  string
	}{
		{"letsencrypt", le, "", ""},
		{"letsencrypt with DNS SANs", func(a *config.Answers) { le(a); a.SANs = []string{"packs.example.com"} }, "", ""},
		{"letsencrypt with an IP host", func(a *config.Answers) { le(a); a.Host = "203.0.113.5" }, "host", "only for DNS names"},
		{"letsencrypt with an IP SAN", func(a *config.Answers) { le(a); a.SANs = []string{"10.0.0.1"} }, "san", "IP address"},
		{"letsencrypt without email", func(a *config.Answers) { le(a); a.Email = "" }, "email", "contact address"},
		{"letsencrypt with a certificate", func(a *config.Answers) { le(a); a.CertFile = file }, "cert-file", "obtains its certificate itself"},
		{"letsencrypt with a CA file that is no certificate", func(a *config.Answers) { le(a); a.CAFile = file }, "ca-file", "PEM root the private ACME CA issues from"},
		{"letsencrypt with a private ACME CA", func(a *config.Answers) { privateACME(a); a.CAFile, a.ACMECAFile = root, root }, "", ""},
		{"letsencrypt with a missing CA file", func(a *config.Answers) { le(a); a.CAFile = filepath.Join(dir, "nope.pem") }, "ca-file", "nope.pem"},
		{"ACME CA without a directory", func(a *config.Answers) { le(a); a.ACMECAFile = root }, "acme-ca-file", "--acme-directory"},
		{"ACME CA that is no certificate", func(a *config.Answers) { privateACME(a); a.ACMECAFile = file }, "acme-ca-file", "ACME directory's HTTPS certificate"},
		{"ACME CA missing", func(a *config.Answers) { privateACME(a); a.ACMECAFile = filepath.Join(dir, "nope.pem") }, "acme-ca-file", "cannot read"},
		{"ACME CA outside letsencrypt", func(a *config.Answers) { a.ACMECAFile = root }, "acme-ca-file", "--mode letsencrypt"},
		{"network", func(a *config.Answers) { a.Network = "acme_net-1" }, "", ""},
		{"network with a bad name", func(a *config.Answers) { a.Network = "-x" }, "network", "Docker network name"},
		{"the default bridge", func(a *config.Answers) { a.Network = "bridge" }, "network", "docker network create"},
		{"custom", func(a *config.Answers) { a.Mode, a.CertFile, a.KeyFile, a.CAFile = config.ModeCustom, file, file, file }, "", ""},
		{"custom on a joined node, without the operator's files", func(a *config.Answers) { a.Mode, a.Node = config.ModeCustom, &config.Node{Host: "node2"} }, "", ""},
		{"custom without CA", func(a *config.Answers) { a.Mode, a.CertFile, a.KeyFile = config.ModeCustom, file, file }, "ca-file", "--ca-file"},
		{"custom with a folder", func(a *config.Answers) { a.Mode, a.CertFile, a.KeyFile, a.CAFile = config.ModeCustom, file, dir, file }, "key-file", "not a file"},
		{"http", func(a *config.Answers) { a.Mode = config.ModeHTTP }, "", ""},
		{"http with email", func(a *config.Answers) { a.Mode, a.Email = config.ModeHTTP, "a@b.example" }, "email", "letsencrypt"},
		{"inmemory", func(a *config.Answers) { a.Storage = "inmemory" }, "", ""},
		{"s3", s3, "", ""},
		{"s3 MinIO without region", func(a *config.Answers) {
			s3(a)
			a.S3.Region, a.S3.RegionEndpoint = "", "http://minio:9000"
		}, "", ""},
		{"s3 without bucket", func(a *config.Answers) { s3(a); a.S3.Bucket = "" }, "s3-bucket", "no bucket"},
		{"s3 storage without any s3 answer", func(a *config.Answers) { a.Storage = "s3" }, "s3-bucket", "no bucket"},
		{"s3 answers with filesystem", func(a *config.Answers) { s3(a); a.Storage = "filesystem" }, "storage", "--storage s3"},
		{"bcrypt cost", func(a *config.Answers) { a.BcryptCost = 15 }, "bcrypt-cost", "4 to 14"},
		{"log level", func(a *config.Answers) { a.LogLevel = "verbose" }, "log-level", "error, warn, info, debug"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := base
			tt.edit(&a)
			err := Validate(a)
			if tt.wantFlag == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var fe *FlagError
			if !errors.As(err, &fe) || fe.Flag != tt.wantFlag {
				t.Fatalf("err = %v, want a FlagError for --%s", err, tt.wantFlag)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestMergeModes(t *testing.T) {
	f := false
	saved := config.Defaults()
	saved.Mode, saved.Host, saved.Email = config.ModeLetsEncrypt, "registry.example.com", "ops@example.com"
	saved.SANs = []string{"packs.example.com", "10.0.0.9"}
	saved.Storage, saved.S3 = "s3", &config.S3Config{Bucket: "packs", Region: "eu-west-1", Secure: &f, Redirect: true}
	saved.BcryptCost = 12
	tests := []struct {
		name    string
		flags   config.Answers
		changed []string
		check   func(t *testing.T, a config.Answers)
	}{
		{"replay keeps every saved answer", config.Answers{}, nil, func(t *testing.T, a config.Answers) {
			if a.Email != "ops@example.com" || a.S3 == nil || a.S3.Bucket != "packs" || a.S3.Secure == nil || *a.S3.Secure || !a.S3.Redirect || a.BcryptCost != 12 {
				t.Errorf("answers = %+v, S3 %+v", a, a.S3)
			}
			if !slices.Equal(a.SANs, []string{"packs.example.com"}) {
				t.Errorf("SANs = %q, want the IP SAN dropped in letsencrypt mode", a.SANs)
			}
		}},
		{"switching mode drops the saved email", config.Answers{Mode: config.ModeSelfSigned}, []string{"mode"}, func(t *testing.T, a config.Answers) {
			if a.Email != "" {
				t.Errorf("email %q kept in selfsigned mode", a.Email)
			}
		}},
		{"switching storage drops the saved S3 answers", config.Answers{Storage: "filesystem"}, []string{"storage"}, func(t *testing.T, a config.Answers) {
			if a.S3 != nil {
				t.Errorf("S3 %+v kept with filesystem storage", a.S3)
			}
		}},
		{"--s3-redirect=false turns a saved redirect off", config.Answers{S3: &config.S3Config{}}, []string{"s3-redirect"}, func(t *testing.T, a config.Answers) {
			if a.S3.Redirect || a.S3.Bucket != "packs" {
				t.Errorf("S3 = %+v", a.S3)
			}
		}},
		{"an S3 flag overrides one field", config.Answers{S3: &config.S3Config{Bucket: "other"}}, []string{"s3-bucket"}, func(t *testing.T, a config.Answers) {
			if a.S3.Bucket != "other" || a.S3.Region != "eu-west-1" {
				t.Errorf("S3 = %+v", a.S3)
			}
		}},
		{"a flag given with a wrong mode stays for Validate to refuse", config.Answers{Mode: config.ModeHTTP, Email: "x@y.example"}, []string{"mode", "email"}, func(t *testing.T, a config.Answers) {
			if a.Email == "" || Validate(a) == nil {
				t.Errorf("email %q with mode http passed", a.Email)
			}
		}},
		{"an explicit zero cost is kept, to be refused", config.Answers{}, []string{"bcrypt-cost"}, func(t *testing.T, a config.Answers) {
			if a.BcryptCost != 0 {
				t.Errorf("cost = %d", a.BcryptCost)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := saved
			a := Merge(Sources{Flags: tt.flags, Saved: &s, Changed: func(f string) bool { return slices.Contains(tt.changed, f) }})
			tt.check(t, a)
		})
	}
	a := Merge(Sources{Changed: func(string) bool { return false }, DefaultHost: "h.example.com"})
	if a.BcryptCost != 10 || a.Storage != "filesystem" || a.S3 != nil {
		t.Errorf("defaults: cost %d, storage %q, S3 %+v", a.BcryptCost, a.Storage, a.S3)
	}
}

// writeRoot writes a self-signed CA certificate, PEM, and returns its path.
func writeRoot(t *testing.T, dir string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ACME root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "root.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
