package certgen

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/paxsetup/paxsetup/internal/fsutil"
)

// File modes: a key is readable by its owner only; certificates are public.
const (
	KeyFileMode  os.FileMode = 0o600
	CertFileMode os.FileMode = 0o644
	DirMode      os.FileMode = 0o755
)

// ErrExists is wrapped by Generate's error when a server certificate or key
// is already there and Force is off. It is fsutil.ErrExists (fs.ErrExist),
// so either sentinel matches.
var ErrExists = fsutil.ErrExists

// Files names the files in a certs folder. The registry reads tls.crt and
// tls.key; clients trust ca.crt; Palette asks for chain.pem.
type Files struct {
	Dir string
}

// CACert is the path of the CA certificate that clients trust.
func (f Files) CACert() string { return filepath.Join(f.Dir, "ca.crt") }

// CAKey is the path of the CA key, kept to renew the server certificate.
func (f Files) CAKey() string { return filepath.Join(f.Dir, "ca.key") }

// TLSCert is the path of what the registry serves: the server certificate,
// then any intermediates, without the root.
func (f Files) TLSCert() string { return filepath.Join(f.Dir, "tls.crt") }

// TLSKey is the path of the server key.
func (f Files) TLSKey() string { return filepath.Join(f.Dir, "tls.key") }

// Chain is the path of the full chain that Palette's pack registry form asks
// for: server certificate, intermediates, root.
func (f Files) Chain() string { return filepath.Join(f.Dir, "chain.pem") }

// GenerateOptions describes a certs folder to fill. Every zero value but Dir
// and Host means the default.
type GenerateOptions struct {
	// Dir is the certs folder; it is made (0755) when missing.
	Dir string
	// Host and SANs are as in LeafOptions.
	Host string
	SANs []string
	// Days is the server certificate's validity; 0 means DefaultLeafDays.
	Days int
	// KeyType is the server key's type; "" means DefaultKeyType.
	KeyType KeyType
	// CADays and CAKeyType apply only when a new CA is made; zero means
	// DefaultCADays and DefaultKeyType.
	CADays    int
	CAKeyType KeyType
	// Force replaces an existing tls.crt and tls.key. The CA is reused
	// regardless, so clients that trust it keep trusting the new certificate.
	Force bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source for serial numbers and the CA name; nil means
	// crypto/rand.Reader.
	Rand io.Reader
	// CAKey and Key, when set, are used instead of making new keys (CAKey
	// only when a new CA is made).
	CAKey crypto.Signer
	Key   crypto.Signer
	// PendingCAKey and PendingKey, when set and of the type asked for, are
	// used instead of starting new keys: a caller starts them (StartKey)
	// while it does other work. One that does not fit, or is not needed
	// (the CA is reused), is left unused.
	PendingCAKey *PendingKey
	PendingKey   *PendingKey
	// SelfSigned makes one certificate that is its own issuer, as the
	// vendor's manual procedure does (but with SANs), instead of a CA and a
	// certificate it signs. It is written as tls.crt, and also as ca.crt and
	// chain.pem, since it is both what clients trust and the whole chain.
	SelfSigned bool
}

// Result says what Generate did.
type Result struct {
	Files Files
	CA    *CA
	Leaf  *Leaf
	// CAReused is true when ca.crt and ca.key were already there and kept.
	CAReused bool
	// LeafReplaced is true when Force replaced an existing tls.crt or tls.key.
	LeafReplaced bool
	// Written lists the paths written, in order.
	Written []string
	// SelfSigned is true when Leaf is its own issuer and CA is nil.
	SelfSigned bool
	// Findings are Lint's findings on the new certificate for Host and
	// SANs: warnings only (such as a validity over 825 days), since Generate
	// makes nothing a client refuses.
	Findings []Finding
}

// Generate fills a certs folder with a CA (reused when ca.crt and ca.key are
// there) and a server certificate it signs. The keys are made first, in
// parallel; files are written only once everything is ready, so a failure or
// a cancelled ctx (reported as ctx.Err() itself) leaves the folder as it was.
// A write error, rare once the folder is there, returns the Result too, so
// the caller can say which files were already replaced.
func Generate(ctx context.Context, opts GenerateOptions) (*Result, error) {
	if opts.Dir == "" {
		return nil, errors.New("no certs folder given")
	}
	leafOpts := LeafOptions{
		Host: opts.Host, SANs: opts.SANs, Days: opts.Days,
		KeyType: opts.KeyType, Key: opts.Key, Now: opts.Now, Rand: opts.Rand,
	}
	if err := checkLeafOptions(leafOpts); err != nil {
		return nil, err
	}
	if opts.CAKey == nil {
		if err := opts.CAKeyType.check(); err != nil {
			return nil, err
		}
	}
	if opts.CADays < 0 {
		return nil, fmt.Errorf("CA validity must be at least 1 day (got %d)", opts.CADays)
	}
	files := Files{Dir: opts.Dir}
	res := &Result{Files: files}

	// A ca.crt left by SelfSigned is a server certificate, not a CA: it is
	// replaced along with tls.crt, never reused.
	selfSignedLayout := fsutil.Exists(files.CACert()) && !fsutil.Exists(files.CAKey()) && holdsServerCert(files.CACert())
	if opts.SelfSigned && fsutil.Exists(files.CAKey()) {
		return nil, fmt.Errorf("%s holds a CA: a self-signed certificate would replace the ca.crt clients trust; write it to another folder (--out), or drop --self-signed to issue from that CA", opts.Dir)
	}
	replaceable := []string{files.TLSCert(), files.TLSKey()}
	if opts.SelfSigned || selfSignedLayout {
		replaceable = append(replaceable, files.CACert())
	}
	var present []string
	for _, p := range replaceable {
		if fsutil.Exists(p) {
			present = append(present, p)
		}
	}
	if len(present) > 0 && !opts.Force {
		verb, pronoun := "exists", "it"
		if len(present) > 1 {
			verb, pronoun = "exist", "them"
		}
		return nil, &sentinelError{
			msg: fmt.Sprintf("%s already %s: pass --force to replace %s", joinAnd(present), verb, pronoun),
			err: ErrExists,
		}
	}
	res.LeafReplaced = len(present) > 0
	if opts.SelfSigned {
		return generateSelfSigned(ctx, opts, leafOpts, res)
	}

	var ca *CA
	if !selfSignedLayout {
		var err error
		if ca, err = existingCA(files); err != nil {
			return nil, err
		}
	}
	res.CAReused = ca != nil
	if ca != nil {
		if err := ca.canIssue(opts.Host, nowOrDefault(opts.Now)); err != nil {
			return nil, err
		}
	}

	// The key goroutines read crypto/rand, which is safe for concurrent use;
	// opts.Rand need not be.
	var caKeyCh <-chan keyResult
	if ca == nil {
		caKeyCh = keySource(opts.PendingCAKey, opts.CAKeyType, opts.CAKey)
	}
	leafKeyCh := keySource(opts.PendingKey, opts.KeyType, opts.Key)
	var (
		caKey crypto.Signer
		err   error
	)
	if caKeyCh != nil {
		if caKey, err = awaitKey(ctx, caKeyCh, "CA"); err != nil {
			return nil, err
		}
	}
	if leafOpts.Key, err = awaitKey(ctx, leafKeyCh, "server"); err != nil {
		return nil, err
	}

	if ca == nil {
		ca, err = NewCA(CAOptions{Days: opts.CADays, Key: caKey, Now: opts.Now, Rand: opts.Rand})
		if err != nil {
			return nil, err
		}
	}
	leaf, err := ca.Issue(leafOpts)
	if err != nil {
		return nil, err
	}
	res.CA, res.Leaf = ca, leaf

	var out []file
	if !res.CAReused {
		caKeyPEM, err := ca.KeyPEM()
		if err != nil {
			return nil, err
		}
		out = append(out, file{files.CAKey(), caKeyPEM, KeyFileMode}, file{files.CACert(), ca.CertPEM(), CertFileMode})
	}
	leafKeyPEM, err := leaf.KeyPEM()
	if err != nil {
		return nil, err
	}
	// Our CA is a root, so there are no intermediates: tls.crt is the leaf
	// alone and chain.pem adds the root.
	out = append(out,
		file{files.TLSKey(), leafKeyPEM, KeyFileMode},
		file{files.TLSCert(), leaf.CertPEM(), CertFileMode},
		file{files.Chain(), certPEM(leaf.Cert, ca.Cert), CertFileMode},
	)

	res.Findings = generatedFindings([]*x509.Certificate{leaf.Cert, ca.Cert}, leaf, opts)
	return writeFiles(ctx, opts.Dir, out, res)
}

// generateSelfSigned is Generate for opts.SelfSigned, once the folder is
// known to allow it.
func generateSelfSigned(ctx context.Context, opts GenerateOptions, leafOpts LeafOptions, res *Result) (*Result, error) {
	var err error
	if leafOpts.Key, err = awaitKey(ctx, keySource(opts.PendingKey, opts.KeyType, opts.Key), "server"); err != nil {
		return nil, err
	}
	leaf, err := SelfSigned(leafOpts)
	if err != nil {
		return nil, err
	}
	res.Leaf, res.SelfSigned = leaf, true
	keyPEM, err := leaf.KeyPEM()
	if err != nil {
		return nil, err
	}
	files := res.Files
	out := []file{
		{files.TLSKey(), keyPEM, KeyFileMode},
		{files.TLSCert(), leaf.CertPEM(), CertFileMode},
		{files.CACert(), leaf.CertPEM(), CertFileMode},
		{files.Chain(), leaf.CertPEM(), CertFileMode},
	}
	res.Findings = generatedFindings([]*x509.Certificate{leaf.Cert}, leaf, opts)
	return writeFiles(ctx, opts.Dir, out, res)
}

// generatedFindings lints what Generate made, for the warnings an operator
// should see (a long validity, an expiry within weeks).
func generatedFindings(chain []*x509.Certificate, leaf *Leaf, opts GenerateOptions) []Finding {
	return Lint(chain, LintOptions{
		Hosts: append([]string{opts.Host}, opts.SANs...),
		Key:   leaf.Key.Public(),
		Now:   nowOrDefault(opts.Now),
	})
}

type file struct {
	path string
	data []byte
	mode os.FileMode
}

// writeFiles makes dir when missing and writes out, all or nothing.
func writeFiles(ctx context.Context, dir string, out []file, res *Result) (*Result, error) {
	// The last point to stop: once writing starts it runs to the end, since
	// stopping halfway would leave a key without its certificate.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !fsutil.Exists(dir) {
		if err := os.MkdirAll(dir, DirMode); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
		// MkdirAll's mode passes through the umask. The folder is mounted
		// into the registry container, whose user need not be the owner,
		// so the mode is set outright.
		if err := os.Chmod(dir, DirMode); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
	}
	// All or nothing: a key without its certificate, or a CA key without
	// the CA, is worse than the old pair.
	set := make([]fsutil.File, len(out))
	for i, f := range out {
		set[i] = fsutil.File{Path: f.path, Data: f.data, Perm: f.mode}
	}
	if err := fsutil.WriteFilesAtomic(set); err != nil {
		return res, err
	}
	for _, f := range out {
		res.Written = append(res.Written, f.path)
	}
	return res, nil
}

// holdsServerCert reports whether path starts with a certificate that is
// not a CA: what SelfSigned leaves in ca.crt.
func holdsServerCert(path string) bool {
	certs, err := readCertificates(path)
	return err == nil && !(certs[0].BasicConstraintsValid && certs[0].IsCA)
}

func joinAnd(items []string) string {
	if len(items) <= 2 {
		return strings.Join(items, " and ")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// existingCA loads the CA when both its files are there, returns nil when
// neither is, and refuses a half pair: making a new CA then would silently
// replace the one clients trust, or orphan its key.
func existingCA(files Files) (*CA, error) {
	haveCert, haveKey := fsutil.Exists(files.CACert()), fsutil.Exists(files.CAKey())
	switch {
	case haveCert && haveKey:
		ca, err := LoadCA(files.CACert(), files.CAKey())
		if err != nil {
			return nil, fmt.Errorf("reuse the CA: %w", err)
		}
		return ca, nil
	case haveCert:
		return nil, fmt.Errorf("%s exists but %s does not: restore the key, or remove %s to make a new CA (clients must then trust the new one)",
			files.CACert(), files.CAKey(), files.CACert())
	case haveKey:
		return nil, fmt.Errorf("%s exists but %s does not: restore the certificate, or remove %s to make a new CA",
			files.CAKey(), files.CACert(), files.CAKey())
	}
	return nil, nil
}

type keyResult struct {
	key crypto.Signer
	err error
}

// startKey makes a key in its own goroutine (RSA-4096 takes seconds, so the
// CA's and the server's are made side by side). The channel is buffered so
// the goroutine ends even when nobody waits any more.
func startKey(k KeyType, given crypto.Signer, r io.Reader) <-chan keyResult {
	ch := make(chan keyResult, 1)
	if given != nil {
		ch <- keyResult{key: given}
		return ch
	}
	// Read the variable here, not in the goroutine, which may outlive a
	// cancelled Generate.
	gen := generateKey
	go func() {
		key, err := gen(k, r)
		ch <- keyResult{key, err}
	}()
	return ch
}

// PendingKey is a key being made in its own goroutine, for Generate to
// take (GenerateOptions.PendingKey, PendingCAKey).
type PendingKey struct {
	kind KeyType
	mu   sync.Mutex
	ch   <-chan keyResult // nil once taken
}

// StartKey starts making a key of type k ("" means DefaultKeyType) and
// returns at once. Making a key writes nothing, so a caller may start it
// before it knows that it will use it; the goroutine cannot be stopped, and
// a key nobody takes is made and dropped.
func StartKey(k KeyType) (*PendingKey, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	return &PendingKey{kind: k.orDefault(), ch: startKey(k, nil, rand.Reader)}, nil
}

// take hands the key's channel to one taker: its result can be received
// only once.
func (p *PendingKey) take(k KeyType) <-chan keyResult {
	if p == nil || p.kind != k.orDefault() {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	ch := p.ch
	p.ch = nil
	return ch
}

// keySource is where a key of type k comes from: the given key, else the
// pending one when it is of that type and not taken yet, else a key started
// now.
func keySource(pending *PendingKey, k KeyType, given crypto.Signer) <-chan keyResult {
	if given == nil {
		if ch := pending.take(k); ch != nil {
			return ch
		}
	}
	return startKey(k, given, rand.Reader)
}

// awaitKey returns ctx.Err() itself when ctx ends first, so callers can tell
// an operator's Ctrl-C from a failure.
func awaitKey(ctx context.Context, ch <-chan keyResult, what string) (crypto.Signer, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case res := <-ch:
		if res.err != nil {
			return nil, fmt.Errorf("make %s key: %w", what, res.err)
		}
		return res.key, nil
	}
}

// sentinelError carries a message of its own while matching a sentinel with
// errors.Is, so the text reads as one sentence rather than ending in the
// sentinel's text.
type sentinelError struct {
	msg string
	err error
}

func (e *sentinelError) Error() string { return e.msg }
func (e *sentinelError) Unwrap() error { return e.err }
