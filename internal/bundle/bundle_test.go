package bundle

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/fsutil"
)

const passphrase = "correct horse battery staple"

// TestMain lowers scrypt's cost: each open at the real work factor takes
// about a second, and these tests open dozens. BenchmarkOpen measures the
// real one.
func TestMain(m *testing.M) {
	workFactor = 10
	os.Exit(m.Run())
}

func sample() *Bundle {
	a := config.Defaults()
	a.Host, a.SANs, a.Storage = "registry.example.com", []string{"node1.example.com", "node2.example.com"}, "s3"
	a.S3 = &config.S3Config{Region: "eu-west-1", Bucket: "packs"}
	a.Version = config.Version
	return &Bundle{
		Created:  time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC),
		Origin:   "node1.example.com",
		Producer: "paxsetup v1.2.3",
		Answers:  a,
		Files: map[string][]byte{
			"auth/htpasswd-basic": []byte("admin:$2y$10$abc\n"),
			"certs/tls.key":       []byte("-----BEGIN PRIVATE KEY-----\nserver-key-bytes\n-----END PRIVATE KEY-----\n"),
			"credentials":         []byte("users:\n  admin: generated-admin-password\n"),
		},
		Secrets: Secrets{S3AccessKey: "AKIAEXAMPLEKEY", S3SecretKey: "s3-secret-key-value", HTTPSecret: "http-secret-value"},
	}
}

func TestRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "node.bundle")
	want := sample()
	if err := Write(p, want, passphrase, false); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(p)
	for _, secret := range []string{"s3-secret-key-value", "http-secret-value", "server-key-bytes", "generated-admin-password", "registry.example.com"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the file holds %q in clear", secret)
		}
	}
	got, err := Read(p, passphrase)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
	// The standard age tool opens it too: it is age's passphrase format.
	id, _ := age.NewScryptIdentity(passphrase)
	r, err := age.Decrypt(bytes.NewReader(raw), id)
	if err != nil {
		t.Fatalf("age: %v", err)
	}
	var inside bytes.Buffer
	if _, err := inside.ReadFrom(r); err != nil || !strings.Contains(inside.String(), `"kind":"paxsetup-bundle","format":1`) {
		t.Errorf("inside: %v %.80s", err, inside.String())
	}
}

func TestWriteRefusesToReplace(t *testing.T) {
	p := filepath.Join(t.TempDir(), "node.bundle")
	if err := os.WriteFile(p, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, sample(), passphrase, false); !errors.Is(err, fsutil.ErrExists) {
		t.Fatalf("err = %v, want ErrExists", err)
	}
	if data, _ := os.ReadFile(p); string(data) != "keep me" {
		t.Errorf("the existing file changed: %q", data)
	}
	if err := Write(p, sample(), passphrase, true); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("replaced with mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := Read(p, passphrase); err != nil {
		t.Error(err)
	}
}

// sealPlain encrypts any content the way Seal does, for bundles no
// paxsetup writes.
func sealPlain(t *testing.T, plain string) []byte {
	t.Helper()
	data, err := encrypt([]byte(plain), passphrase)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// headerEnd is the offset just past the header's MAC line.
func headerEnd(t *testing.T, data []byte) int {
	t.Helper()
	i := bytes.Index(data, []byte("\n--- "))
	if i < 0 {
		t.Fatal("no header MAC line")
	}
	return i + 1 + bytes.IndexByte(data[i+1:], '\n') + 1
}

func flip(data []byte, at int) []byte {
	out := bytes.Clone(data)
	out[at] ^= 0x01
	return out
}

// swapBase64 changes the base64 character at at into another base64
// character, so the header still parses and only its content is wrong.
func swapBase64(data []byte, at int) []byte {
	out := bytes.Clone(data)
	if out[at] == 'A' {
		out[at] = 'B'
	} else {
		out[at] = 'A'
	}
	return out
}

func TestOpenErrors(t *testing.T) {
	good, err := Seal(sample(), passphrase)
	if err != nil {
		t.Fatal(err)
	}
	end := headerEnd(t, good)
	macAt := bytes.Index(good, []byte("\n--- ")) + 6
	stanzaAt := bytes.Index(good, []byte("-> scrypt")) + len("-> scrypt ") + 30
	x25519, _ := age.GenerateX25519Identity()
	var toKey bytes.Buffer
	w, _ := age.Encrypt(&toKey, x25519.Recipient())
	w.Write([]byte(`{"kind":"paxsetup-bundle","format":1}`))
	w.Close()

	tests := []struct {
		name       string
		data       []byte
		passphrase string
		want       error
		wantText   string
	}{
		{"wrong passphrase", good, "not the passphrase at all", ErrPassphrase, "does not open"},
		{"a text file", []byte("version: 1\nmode: selfsigned\n"), passphrase, ErrNotBundle, "not an age-encrypted file"},
		{"an empty file", nil, passphrase, ErrNotBundle, "empty"},
		{"age encrypted to a key", toKey.Bytes(), passphrase, ErrNotBundle, "X25519"},
		{"age with the passphrase, something else inside", sealPlain(t, "hello"), passphrase, ErrNotBundle, "no paxsetup bundle"},
		{"another kind of JSON", sealPlain(t, `{"kind":"other","format":1}`), passphrase, ErrNotBundle, "no paxsetup bundle"},
		{"a file outside the setup folder", sealPlain(t, `{"kind":"paxsetup-bundle","format":1,"answers":"version: 1\n","files":{"../etc/passwd":"eA=="}}`), passphrase, ErrNotBundle, "../etc/passwd"},
		{"answers that do not parse", sealPlain(t, `{"kind":"paxsetup-bundle","format":1,"answers":"hots: x\n"}`), passphrase, ErrNotBundle, "hots"},
		{"an unknown field", sealPlain(t, `{"kind":"paxsetup-bundle","format":1,"answers":"version: 1\n","extra":1}`), passphrase, ErrNotBundle, "extra"},
		{"a newer format", sealPlain(t, `{"kind":"paxsetup-bundle","format":2,"producer":"paxsetup v9.0.0","answers":"new things"}`), passphrase, ErrNewerFormat, "format 2, written by paxsetup v9.0.0; this paxsetup reads up to format 1"},
		{"cut inside the magic", good[:10], passphrase, ErrDamaged, "ends after 10 bytes"},
		{"cut inside the header", good[:end/2], passphrase, ErrDamaged, "header"},
		{"cut after the header", good[:end], passphrase, ErrDamaged, "nonce"},
		{"cut in the middle", good[:(end+len(good))/2], passphrase, ErrDamaged, ""},
		{"last byte missing", good[:len(good)-1], passphrase, ErrDamaged, ""},
		{"a byte flipped in the middle", flip(good, (end+len(good))/2), passphrase, ErrDamaged, "tampered"},
		{"a byte flipped in the header's MAC", flip(good, macAt), passphrase, ErrDamaged, "header"},
		{"a byte added at the end", append(bytes.Clone(good), 0), passphrase, ErrDamaged, ""},
		// The scrypt stanza carries the wrapped file key: changed, it
		// fails as a wrong passphrase does, and the message says both.
		{"a character changed in the scrypt stanza", swapBase64(good, stanzaAt), passphrase, ErrPassphrase, "header was changed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Open(tt.data, tt.passphrase)
			if b != nil || !errors.Is(err, tt.want) {
				t.Fatalf("Open = %v, %v; want %v", b, err, tt.want)
			}
			for _, other := range []error{ErrPassphrase, ErrNotBundle, ErrDamaged, ErrNewerFormat} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("%v is also %v", err, other)
				}
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("%v lacks %q", err, tt.wantText)
			}
			if strings.Contains(err.Error(), passphrase) || strings.Contains(err.Error(), "s3-secret-key-value") {
				t.Errorf("the error shows a secret: %v", err)
			}
		})
	}
}

func TestCheckPassphrase(t *testing.T) {
	for _, tt := range []struct {
		p  string
		ok bool
	}{
		{strings.Repeat("a", 15), false},
		{strings.Repeat("a", 16), true},
		{strings.Repeat("é", 15), false},
		{strings.Repeat("é", 16), true},
		{"", false},
	} {
		if err := CheckPassphrase(tt.p); (err == nil) != tt.ok {
			t.Errorf("%q: %v, want ok=%v", tt.p, err, tt.ok)
		}
	}
}

// BenchmarkOpen opens a bundle at the work factor export writes: what
// every init --join (and every guess at the passphrase) costs.
func BenchmarkOpen(b *testing.B) {
	defer func(w int) { workFactor = w }(workFactor)
	workFactor = 18
	data, err := Seal(sample(), passphrase)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Open(data, passphrase); err != nil {
			b.Fatal(err)
		}
	}
}
