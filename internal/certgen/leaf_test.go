package certgen

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"net"
	"slices"
	"testing"
	"time"
)

func TestIssueCoversNames(t *testing.T) {
	ca := testCA(t, CAOptions{})
	leaf, err := ca.Issue(LeafOptions{
		Host: "registry.local",
		SANs: []string{"registry.example.com", "*.apps.example.com", "10.0.0.5", "2001:db8::5", "127.0.0.1"},
		Key:  ecKey(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	onlyCA := poolOf(ca.Cert)
	tests := []struct {
		name    string
		dnsName string
		wantErr string
	}{
		{"host", "registry.local", ""},
		{"host in capitals", "REGISTRY.LOCAL", ""},
		{"dns san", "registry.example.com", ""},
		{"name under the wildcard", "packs.apps.example.com", ""},
		{"ipv4 san", "10.0.0.5", ""},
		{"loopback san", "127.0.0.1", ""},
		{"ipv6 san", "2001:db8::5", ""},
		{"unlisted name", "other.local", "certificate is valid for"},
		{"wildcard's own base", "apps.example.com", "certificate is valid for"},
		{"two labels under the wildcard", "a.b.apps.example.com", "certificate is valid for"},
		{"unlisted ipv4", "10.0.0.6", "certificate is valid for"},
		{"unlisted ipv6", "2001:db8::6", "certificate is valid for"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := leaf.Cert.Verify(x509.VerifyOptions{
				Roots:     onlyCA,
				DNSName:   tt.dnsName,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			})
			checkErr(t, err, tt.wantErr)
		})
	}
	t.Run("another CA", func(t *testing.T) {
		_, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: poolOf(testCA(t, CAOptions{}).Cert), DNSName: "registry.local"})
		checkErr(t, err, "certificate signed by unknown authority")
	})
}

func TestIssueFields(t *testing.T) {
	tests := []struct {
		name      string
		key       crypto.Signer
		wantUsage x509.KeyUsage
	}{
		{"ecdsa key", ecKey(t), x509.KeyUsageDigitalSignature},
		{"rsa key", testRSAKey(t), x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment},
	}
	ca := testCA(t, CAOptions{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf, err := ca.Issue(LeafOptions{Host: "registry.local", SANs: []string{"10.0.0.5"}, Key: tt.key})
			if err != nil {
				t.Fatal(err)
			}
			c := leaf.Cert
			if c.KeyUsage != tt.wantUsage {
				t.Errorf("KeyUsage = %v, want %v", c.KeyUsage, tt.wantUsage)
			}
			if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
				t.Errorf("ExtKeyUsage = %v, want serverAuth only", c.ExtKeyUsage)
			}
			if c.IsCA || !c.BasicConstraintsValid {
				t.Errorf("IsCA = %v, BasicConstraintsValid = %v, want an explicit CA:FALSE", c.IsCA, c.BasicConstraintsValid)
			}
			if c.Subject.CommonName != "registry.local" {
				t.Errorf("CN = %q, want the host", c.Subject.CommonName)
			}
			if c.Subject.CommonName == ca.Cert.Subject.CommonName {
				t.Error("leaf and CA share a CN")
			}
			if c.Issuer.String() != ca.Cert.Subject.String() {
				t.Errorf("issuer = %q, want the CA's subject %q", c.Issuer, ca.Cert.Subject)
			}
			if !bytes.Equal(c.AuthorityKeyId, ca.Cert.SubjectKeyId) {
				t.Errorf("AuthorityKeyId = %x, want the CA's SubjectKeyId %x", c.AuthorityKeyId, ca.Cert.SubjectKeyId)
			}
			if !bytes.Equal(c.SubjectKeyId, spkiSHA1(t, c)) {
				t.Errorf("SubjectKeyId = %x, want %x", c.SubjectKeyId, spkiSHA1(t, c))
			}
			if !publicKeysEqual(c.PublicKey, leaf.Key.Public()) {
				t.Error("certificate is not for the leaf's key")
			}
			if err := c.CheckSignatureFrom(ca.Cert); err != nil {
				t.Errorf("not signed by the CA: %v", err)
			}
		})
	}
}

func TestIssueNames(t *testing.T) {
	ca := testCA(t, CAOptions{})
	tests := []struct {
		name    string
		host    string
		sans    []string
		wantDNS []string
		wantIP  []string
	}{
		{"host only", "registry.local", nil, []string{"registry.local"}, nil},
		{"ip host", "10.0.0.5", []string{"registry.local"}, []string{"registry.local"}, []string{"10.0.0.5"}},
		{
			"host first, order kept, duplicates dropped",
			"registry.local",
			[]string{"b.local", "10.0.0.5", "REGISTRY.local", "::1", "a.local", "10.0.0.5", "::ffff:10.0.0.5", "0:0:0:0:0:0:0:1"},
			[]string{"registry.local", "b.local", "a.local"},
			[]string{"10.0.0.5", "::1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf, err := ca.Issue(LeafOptions{Host: tt.host, SANs: tt.sans, Key: ecKey(t)})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(leaf.Cert.DNSNames, tt.wantDNS) {
				t.Errorf("DNSNames = %q, want %q", leaf.Cert.DNSNames, tt.wantDNS)
			}
			var ips []string
			for _, ip := range leaf.Cert.IPAddresses {
				ips = append(ips, ip.String())
				if ip.To4() != nil && len(ip) != net.IPv4len {
					t.Errorf("IPv4 %s is stored in %d bytes, want 4", ip, len(ip))
				}
			}
			if !slices.Equal(ips, tt.wantIP) {
				t.Errorf("IPAddresses = %q, want %q", ips, tt.wantIP)
			}
		})
	}
}

func TestIssueValidity(t *testing.T) {
	ca := testCA(t, CAOptions{Now: fixedClock(testNow)})
	shortCA := testCA(t, CAOptions{Now: fixedClock(testNow), Days: 100})
	tests := []struct {
		name         string
		ca           *CA
		days         int
		now          time.Time
		wantValidity time.Duration
		wantErr      string
	}{
		{"default is apple's 825 days", ca, 0, testNow, DefaultLeafDays * 24 * time.Hour, ""},
		{"days", ca, 30, testNow, 30 * 24 * time.Hour, ""},
		{"more than apple allows, when asked", ca, 1825, testNow, 1825 * 24 * time.Hour, ""},
		{"cut short at the CA's end", shortCA, 0, testNow, 100 * 24 * time.Hour, ""},
		{"negative days", ca, -5, testNow, 0, "--days: -5 days is out of range"},
		{"expired CA", shortCA, 0, testNow.AddDate(0, 0, 101), 0, "is valid only until"},
		{"CA with hours left", shortCA, 0, testNow.AddDate(0, 0, 100).Add(-13 * time.Hour), 0, "is valid only until"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf, err := tt.ca.Issue(LeafOptions{Host: "registry.local", Days: tt.days, Now: fixedClock(tt.now), Key: ecKey(t)})
			checkErr(t, err, tt.wantErr)
			if err != nil {
				return
			}
			c := leaf.Cert
			if want := tt.now.Add(-time.Hour); !c.NotBefore.Equal(want) {
				t.Errorf("NotBefore = %v, want %v", c.NotBefore, want)
			}
			if got := c.NotAfter.Sub(c.NotBefore); got != tt.wantValidity {
				t.Errorf("validity = %v (%.2f days), want %v", got, got.Hours()/24, tt.wantValidity)
			}
			if c.NotAfter.After(tt.ca.Cert.NotAfter) {
				t.Errorf("leaf ends %v, after its CA (%v)", c.NotAfter, tt.ca.Cert.NotAfter)
			}
		})
	}
}

func TestIssueRefuses(t *testing.T) {
	ca := testCA(t, CAOptions{})
	sameCN := testCA(t, CAOptions{CommonName: "registry.local"})
	tests := []struct {
		name    string
		ca      *CA
		opts    LeafOptions
		wantErr string
	}{
		{"bad host", ca, LeafOptions{Host: "reg_1.local"}, `"reg_1.local" is not a valid DNS name`},
		{"wildcard host", ca, LeafOptions{Host: "*.local"}, "wildcards may go in --san"},
		{"bad san", ca, LeafOptions{Host: "registry.local", SANs: []string{"ok.local", "bad name"}}, `"bad name" is not a valid DNS name`},
		{"unknown key type", ca, LeafOptions{Host: "registry.local", KeyType: "rsa512"}, `unknown key type "rsa512"`},
		{"CA with the host's CN", sameCN, LeafOptions{Host: "Registry.Local"}, "a CA's CN must differ from the server's"},
		{"no CA", &CA{}, LeafOptions{Host: "registry.local"}, "no CA certificate and key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.Key == nil && tt.opts.KeyType == "" {
				tt.opts.KeyType = ECDSAP256
			}
			_, err := tt.ca.Issue(tt.opts)
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestSerialsDiffer(t *testing.T) {
	ca := testCA(t, CAOptions{})
	seen := map[string]string{ca.Cert.SerialNumber.String(): "CA"}
	for i := range 5 {
		leaf, err := ca.Issue(LeafOptions{Host: "registry.local", Key: ecKey(t)})
		if err != nil {
			t.Fatal(err)
		}
		s := leaf.Cert.SerialNumber
		if n := s.BitLen(); n < 96 || n > 128 {
			t.Errorf("leaf %d: serial has %d bits, want about 128", i, n)
		}
		if prev, dup := seen[s.String()]; dup {
			t.Errorf("leaf %d has the serial of %s", i, prev)
		}
		seen[s.String()] = "leaf"
	}
}

func TestSelfSigned(t *testing.T) {
	leaf, err := SelfSigned(LeafOptions{
		Host: "registry.local",
		SANs: []string{"10.0.0.5", "::1"},
		Key:  testRSAKey(t),
		Now:  fixedClock(testNow),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := leaf.Cert
	if c.Issuer.String() != c.Subject.String() {
		t.Errorf("issuer %q differs from subject %q", c.Issuer, c.Subject)
	}
	if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
		t.Errorf("signature does not check with its own key: %v", err)
	}
	if c.IsCA {
		t.Error("self-signed server certificate claims CA:TRUE")
	}
	if got := c.NotAfter.Sub(c.NotBefore); got != DefaultLeafDays*24*time.Hour {
		t.Errorf("validity = %v, want %d days", got, DefaultLeafDays)
	}
	if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("ExtKeyUsage = %v, want serverAuth", c.ExtKeyUsage)
	}
	if want := x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment; c.KeyUsage != want {
		t.Errorf("KeyUsage = %v, want %v", c.KeyUsage, want)
	}
	if !bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId) || len(c.SubjectKeyId) == 0 {
		t.Errorf("AuthorityKeyId %x, SubjectKeyId %x: want equal and set", c.AuthorityKeyId, c.SubjectKeyId)
	}
	tests := []struct {
		name    string
		dnsName string
		wantErr string
	}{
		{"host", "registry.local", ""},
		{"ipv4 san", "10.0.0.5", ""},
		{"ipv6 san", "::1", ""},
		{"unlisted name", "other.local", "certificate is valid for"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Verify(x509.VerifyOptions{
				Roots:       poolOf(c),
				DNSName:     tt.dnsName,
				CurrentTime: testNow,
				KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			})
			checkErr(t, err, tt.wantErr)
		})
	}
	t.Run("wildcard host refused", func(t *testing.T) {
		_, err := SelfSigned(LeafOptions{Host: "*.local", Key: ecKey(t)})
		checkErr(t, err, "a certificate's CN must be one host")
	})
}
