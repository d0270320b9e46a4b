// Package bundle writes and reads a node bundle: one file, encrypted with a
// passphrase, from which another host serves the same registry as the one
// that exported it (`paxsetup export`, `paxsetup init --join`). The
// encryption is age's passphrase mode (scrypt and ChaCha20-Poly1305), so a
// bundle also opens with the age tool (`age -d`), and every byte of it is
// authenticated: a bundle that was cut short or changed is refused whole.
//
// Inside is JSON with a format version: the answers of the setup, its
// shared files (users, certificates, generated passwords) and its secrets
// (the S3 keys and the registry's http secret). The CA key is never in it:
// a node serves the certificate, it does not issue one.
package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"filippo.io/age"

	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/fsutil"
)

// Format is the version of the bundle's content this paxsetup writes and
// the newest it reads.
const Format = 1

// kind marks the JSON inside as a paxsetup bundle, so that another file
// encrypted with the same passphrase is not taken for one.
const kind = "paxsetup-bundle"

// MaxFile bounds what is read as a bundle. A bundle holds a few KiB of
// certificates and users; the operator's own chain may be larger, but is
// read at most 1 MiB per file (fsutil.MaxPEMFile).
const MaxFile = 16 << 20

// MinPassphrase is the shortest passphrase export accepts. A bundle is meant
// to be copied between hosts, so whoever gets a copy can guess offline for
// as long as they like; scrypt makes each guess cost about a second and
// 256 MiB here (work factor 2^18), and 16 characters, even of lowercase
// letters alone, leave 26^16 (about 4e22) to try.
const MinPassphrase = 16

// workFactor is scrypt's cost, as log2(N): age's default, about a second
// per guess (and per legitimate open) on a current machine. Tests lower it.
var workFactor = 18

// Errors that Open and Read wrap, each with its own remedy.
var (
	// ErrPassphrase: the passphrase does not open the bundle.
	ErrPassphrase = errors.New("wrong passphrase")
	// ErrNotBundle: the file is something else (not age, encrypted to a
	// key rather than a passphrase, or not a paxsetup bundle inside).
	ErrNotBundle = errors.New("not a paxsetup bundle")
	// ErrDamaged: the file was cut short or changed after it was written;
	// age's authentication refuses it.
	ErrDamaged = errors.New("the bundle is damaged")
	// ErrNewerFormat: a newer paxsetup wrote it.
	ErrNewerFormat = errors.New("the bundle's format is newer than this paxsetup reads")
)

// Bundle is what a node needs to serve the same registry as another.
type Bundle struct {
	// Created is when the bundle was written, Origin the host it was
	// exported on, Producer the paxsetup version that wrote it.
	Created  time.Time
	Origin   string
	Producer string
	// Answers are the exporting setup's answers (paxsetup.yaml).
	Answers config.Answers
	// Files are the shared files, by their path in the setup folder, e.g.
	// auth/htpasswd-basic or certs/tls.crt.
	Files map[string][]byte
	// Secrets are kept in the setup's 0600 registry config, never in the
	// answers.
	Secrets Secrets
}

// Secrets are the bundle's secrets besides the files.
type Secrets struct {
	S3AccessKey string `json:"s3_access_key,omitempty"`
	S3SecretKey string `json:"s3_secret_key,omitempty"`
	HTTPSecret  string `json:"http_secret"`
}

// content is the JSON inside the encryption, format 1.
type content struct {
	Kind     string    `json:"kind"`
	Format   int       `json:"format"`
	Created  time.Time `json:"created"`
	Origin   string    `json:"origin"`
	Producer string    `json:"producer,omitempty"`
	// Answers is the text of paxsetup.yaml, read with the answers' own
	// parser (its unknown fields and newer versions are refused there).
	Answers string            `json:"answers"`
	Files   map[string][]byte `json:"files"`
	Secrets Secrets           `json:"secrets"`
}

// CheckPassphrase applies the length rule to a new passphrase.
func CheckPassphrase(p string) error {
	if n := utf8.RuneCountInString(p); n < MinPassphrase {
		return fmt.Errorf("the passphrase is %d characters: use at least %d (anyone with a copy of the bundle can guess offline)", n, MinPassphrase)
	}
	return nil
}

// Seal encodes b and encrypts it with passphrase.
func Seal(b *Bundle, passphrase string) ([]byte, error) {
	answers, err := config.Marshal(b.Answers)
	if err != nil {
		return nil, err
	}
	for name := range b.Files {
		if err := checkName(name); err != nil {
			return nil, err
		}
	}
	plain, err := json.Marshal(content{
		Kind: kind, Format: Format,
		Created: b.Created.UTC(), Origin: b.Origin, Producer: b.Producer,
		Answers: string(answers), Files: b.Files, Secrets: b.Secrets,
	})
	if err != nil {
		return nil, fmt.Errorf("encode the bundle: %w", err)
	}
	return encrypt(plain, passphrase)
}

func encrypt(plain []byte, passphrase string) ([]byte, error) {
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return nil, err
	}
	r.SetWorkFactor(workFactor)
	var out bytes.Buffer
	w, err := age.Encrypt(&out, r)
	if err != nil {
		return nil, fmt.Errorf("encrypt the bundle: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, fmt.Errorf("encrypt the bundle: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encrypt the bundle: %w", err)
	}
	return out.Bytes(), nil
}

// Write seals b into path, mode 0600, atomically. An existing file is
// replaced only when replace is set; otherwise the error wraps
// fsutil.ErrExists.
func Write(path string, b *Bundle, passphrase string, replace bool) error {
	data, err := Seal(b, passphrase)
	if err != nil {
		return err
	}
	if replace {
		return fsutil.WriteFileAtomic(path, data, 0o600)
	}
	return fsutil.WriteFileExclusive(path, data, 0o600)
}

// Read opens the bundle in the file at path.
func Read(path, passphrase string) (*Bundle, error) {
	data, err := fsutil.ReadRegularFile(path, MaxFile)
	if err != nil {
		return nil, err
	}
	return Open(data, passphrase)
}

// ageMagic begins every age file in its binary form, which export writes.
const ageMagic = "age-encryption.org/"

// Open decrypts and decodes a bundle. Its errors wrap ErrPassphrase,
// ErrNotBundle, ErrDamaged or ErrNewerFormat.
func Open(data []byte, passphrase string) (*Bundle, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: the file is empty", ErrNotBundle)
	}
	if !bytes.HasPrefix(data, []byte(ageMagic)) {
		if len(data) < len(ageMagic) && strings.HasPrefix(ageMagic, string(data)) {
			return nil, fmt.Errorf("%w: it ends after %d bytes", ErrDamaged, len(data))
		}
		return nil, fmt.Errorf("%w: it is not an age-encrypted file, as paxsetup export writes", ErrNotBundle)
	}
	id, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPassphrase, err)
	}
	r, err := age.Decrypt(bytes.NewReader(data), id)
	var noMatch *age.NoIdentityMatchError
	switch {
	case errors.As(err, &noMatch):
		for _, t := range noMatch.StanzaTypes {
			if t == "scrypt" {
				// A changed scrypt stanza looks the same to age: the key
				// it unwraps fails to authenticate either way.
				return nil, fmt.Errorf("%w: it does not open this bundle (or the bundle's header was changed)", ErrPassphrase)
			}
		}
		return nil, fmt.Errorf("%w: it is encrypted to age keys (%s), not with a passphrase as paxsetup export writes", ErrNotBundle, strings.Join(noMatch.StanzaTypes, ", "))
	case err != nil:
		// A header cut short or changed (its MAC), or a nonce missing.
		return nil, fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, MaxFile+1))
	if err != nil {
		// age authenticates every chunk and the end of the stream: a
		// payload cut short or changed fails here, never decoded.
		return nil, fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	if len(plain) > MaxFile {
		return nil, fmt.Errorf("%w: it holds more than %s", ErrNotBundle, fsutil.Size(MaxFile))
	}
	return decode(plain)
}

func decode(plain []byte) (*Bundle, error) {
	var head struct {
		Kind     string `json:"kind"`
		Format   int    `json:"format"`
		Producer string `json:"producer"`
	}
	if err := json.Unmarshal(plain, &head); err != nil || head.Kind != kind || head.Format < 1 {
		return nil, fmt.Errorf("%w: the passphrase opens it, but what is inside is no paxsetup bundle", ErrNotBundle)
	}
	if head.Format > Format {
		by := ""
		if head.Producer != "" {
			by = " by " + head.Producer
		}
		return nil, fmt.Errorf("%w: it is format %d, written%s; this paxsetup reads up to format %d", ErrNewerFormat, head.Format, by, Format)
	}
	var c content
	dec := json.NewDecoder(bytes.NewReader(plain))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: format %d with a field this paxsetup does not know (%v)", ErrNotBundle, c.Format, err)
	}
	a, err := config.Parse([]byte(c.Answers), "the bundle's answers")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotBundle, err)
	}
	for name := range c.Files {
		if err := checkName(name); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotBundle, err)
		}
	}
	return &Bundle{
		Created: c.Created, Origin: c.Origin, Producer: c.Producer,
		Answers: a, Files: c.Files, Secrets: c.Secrets,
	}, nil
}

// checkName accepts a file's path inside a setup folder: relative, clean,
// and never leaving the folder.
func checkName(name string) error {
	if name == "" || path.IsAbs(name) || path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../") || strings.Contains(name, "\\") {
		return fmt.Errorf("%q is no file name inside a setup folder", name)
	}
	return nil
}
