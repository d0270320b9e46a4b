package certgen

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCheckLeaf(t *testing.T) {
	now := time.Now()
	host := "registry.local"
	sans := []string{"127.0.0.1", "::1", "*.apps.local"}

	// other is a second, unrelated setup to borrow a foreign CA and key from.
	other := t.TempDir()
	generate(t, GenerateOptions{Dir: other, Host: host, SANs: sans})
	otherFiles := Files{Dir: other}

	copyFrom := func(src, name string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, name), readFile(t, src))
		}
	}
	reissue := func(opts GenerateOptions) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			opts.Dir, opts.Force = dir, true
			if opts.Host == "" {
				opts.Host, opts.SANs = host, sans
			}
			generate(t, opts)
		}
	}

	tests := []struct {
		name     string
		setup    func(t *testing.T, dir string)
		host     string
		sans     []string
		at       time.Time
		issuedAt time.Time // zero: now
		days     int
		wantErr  string
		notExist bool // the error is about a missing file, not a mismatch
	}{
		{name: "fresh set", host: host, sans: sans, at: now},
		{name: "fewer SANs than the certificate has", host: host, sans: []string{"::1"}, at: now},
		{name: "host in other case", host: "REGISTRY.local", sans: sans, at: now},
		{
			name: "missing SAN", host: host, sans: append([]string{"10.0.0.5"}, sans...), at: now,
			wantErr: "tls.crt does not cover 10.0.0.5 (it has: registry.local, *.apps.local, 127.0.0.1, ::1)",
		},
		{
			name: "missing wildcard", host: host, sans: []string{"*.other.local", "pack.apps.local"}, at: now,
			wantErr: "tls.crt does not cover *.other.local (it has:",
		},
		{
			name: "other host", host: "127.0.0.2", sans: nil, at: now,
			wantErr: `tls.crt has CN "registry.local", not "127.0.0.2"; `,
		},
		{
			name: "expired (pinned clock at issue)", host: host, sans: sans, at: now,
			issuedAt: now.AddDate(0, 0, -40), days: 30,
			wantErr: "tls.crt expired on " + now.AddDate(0, 0, -10).Add(-time.Hour).UTC().Format(time.RFC3339),
		},
		{
			name: "CA expired", host: host, sans: sans, at: now,
			setup:   replaceCAWithExpired(now),
			wantErr: "which is valid only from",
		},
		{
			name: "expired (checked later)", host: host, sans: sans, at: now.AddDate(0, 0, DefaultLeafDays+1),
			wantErr: "tls.crt expired on",
		},
		{
			name: "less than a day left", host: host, sans: sans, at: now,
			setup:   reissue(GenerateOptions{Days: 1}),
			wantErr: "in less than a day",
		},
		{
			name: "not valid yet", host: host, sans: sans, at: now.Add(-2 * time.Hour),
			wantErr: "tls.crt is not valid until",
		},
		{
			name: "issued by another CA", host: host, sans: sans, at: now,
			setup:   copyFrom(otherFiles.CACert(), "ca.crt"),
			wantErr: "tls.crt was not issued by the CA in",
		},
		{
			name: "key of another certificate", host: host, sans: sans, at: now,
			setup:   copyFrom(otherFiles.TLSKey(), "tls.key"),
			wantErr: "tls.key is not the key of",
		},
		{
			name: "no serverAuth usage", host: host, sans: sans, at: now,
			setup:   issueClientCert,
			wantErr: "does not verify against",
		},
		{
			name: "missing tls.crt", host: host, sans: sans, at: now,
			setup:    func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, "tls.crt"))) },
			wantErr:  "tls.crt",
			notExist: true,
		},
		{
			name: "missing ca.crt", host: host, sans: sans, at: now,
			setup:    func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, "ca.crt"))) },
			wantErr:  "ca.crt",
			notExist: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			issuedAt := now
			if !tt.issuedAt.IsZero() {
				issuedAt = tt.issuedAt
			}
			generate(t, GenerateOptions{Dir: dir, Host: host, SANs: sans, Days: tt.days, Now: fixedClock(issuedAt)})
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			err := CheckLeaf(dir, tt.host, tt.sans, tt.at)
			checkErr(t, err, tt.wantErr)
			if err == nil {
				return
			}
			t.Logf("error: %v", err)
			if got := errors.Is(err, ErrLeafMismatch); got == tt.notExist {
				t.Errorf("errors.Is(err, ErrLeafMismatch) = %v, want %v", got, !tt.notExist)
			}
			if got := errors.Is(err, fs.ErrNotExist); got != tt.notExist {
				t.Errorf("errors.Is(err, fs.ErrNotExist) = %v, want %v", got, tt.notExist)
			}
		})
	}
}

// replaceCAWithExpired replaces ca.crt with a certificate for the same name
// and key, so the leaf still chains to it, that expired before now.
func replaceCAWithExpired(now time.Time) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		t.Helper()
		files := Files{Dir: dir}
		ca, err := LoadCA(files.CACert(), files.CAKey())
		must(t, err)
		expired, err := NewCA(CAOptions{
			CommonName: ca.Cert.Subject.CommonName,
			Key:        ca.Key,
			Days:       10,
			Now:        fixedClock(now.AddDate(0, 0, -30)),
		})
		must(t, err)
		writeFile(t, files.CACert(), expired.CertPEM())
	}
}

// issueClientCert replaces tls.crt with a certificate from the same CA and
// for the same key and names, but for client use only.
func issueClientCert(t *testing.T, dir string) {
	t.Helper()
	files := Files{Dir: dir}
	ca, err := LoadCA(files.CACert(), files.CAKey())
	must(t, err)
	key, err := readPrivateKey(files.TLSKey())
	must(t, err)
	old := readCert(t, files.TLSCert())
	serial, err := randomSerial(rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: old.Subject.CommonName},
		NotBefore:    old.NotBefore,
		NotAfter:     old.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		DNSNames:     old.DNSNames,
		IPAddresses:  old.IPAddresses,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	must(t, err)
	writeFile(t, files.TLSCert(), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
