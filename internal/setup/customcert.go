package setup

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/fsutil"
)

// installCustomCerts copies the operator's certificate, key and CA chain into
// certs/ as the registry and Palette want them: tls.crt (server certificate
// and intermediates), tls.key, chain.pem (server, intermediates, root) and
// ca.crt (what clients trust). The certificate is linted first: errors
// refuse the run, warnings are printed. The operator's files are the truth
// in this mode, so a re-run after a renewal installs the new certificate.
func installCustomCerts(l Layout, opts Options) error {
	b, err := loadCustomCert(opts.Answers, opts.Now(), opts.Out)
	if err != nil {
		return err
	}
	files := certgen.Files{Dir: l.Certs()}
	caOut := encodeCerts(b.roots)
	if err := keepOwnCA(files, caOut, opts.Force); err != nil {
		return err
	}
	for _, f := range []struct {
		path string
		data []byte
		mode fs.FileMode
	}{
		{files.TLSKey(), pem.EncodeToMemory(b.key), certgen.KeyFileMode},
		{files.TLSCert(), encodeCerts(b.served), certgen.CertFileMode},
		{files.Chain(), encodeCerts(b.full), certgen.CertFileMode},
		{files.CACert(), caOut, certgen.CertFileMode},
	} {
		if old, err := os.ReadFile(f.path); err == nil && bytes.Equal(old, f.data) {
			continue
		}
		if err := fsutil.WriteFileAtomic(f.path, f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

// CheckCustomCert checks the operator's certificate, key and CA chain named
// in a, as init would before installing them, so a wizard can say what is
// wrong as soon as the files are entered.
func CheckCustomCert(a config.Answers, now time.Time) error {
	_, err := loadCustomCert(a, now, io.Discard)
	return err
}

// customBundle is the operator's certificate, ordered for the registry
// (served: server, then intermediates) and for Palette (full: up to the root).
type customBundle struct {
	key                 *pem.Block
	served, full, roots []*x509.Certificate
}

// loadCustomCert reads and lints the operator's files; lint warnings go to
// warn, errors refuse them.
func loadCustomCert(a config.Answers, now time.Time, warn io.Writer) (*customBundle, error) {
	read := func(flag, path string) ([]byte, error) {
		data, err := fsutil.ReadRegularFile(path, fsutil.MaxPEMFile)
		if err != nil {
			return nil, &answers.FlagError{Flag: flag, Err: fmt.Errorf("cannot read %s: %v", path, errors.Unwrap(err))}
		}
		return data, nil
	}
	certPEM, err := read("cert-file", a.CertFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := read("key-file", a.KeyFile)
	if err != nil {
		return nil, err
	}
	caPEM, err := read("ca-file", a.CAFile)
	if err != nil {
		return nil, err
	}
	given, err := certgen.ParseCertificatesPEM(certPEM)
	if err != nil {
		return nil, &answers.FlagError{Flag: "cert-file", Err: fmt.Errorf("%s: %v", a.CertFile, err)}
	}
	cas, err := certgen.ParseCertificatesPEM(caPEM)
	if err != nil {
		return nil, &answers.FlagError{Flag: "ca-file", Err: fmt.Errorf("%s: %v", a.CAFile, err)}
	}
	// What the registry itself does with the pair (tls.LoadX509KeyPair):
	// it parses every key form and checks the key is the certificate's.
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, &answers.FlagError{Flag: "key-file", Err: fmt.Errorf("%s does not go with %s: %v", a.KeyFile, a.CertFile, err)}
	}
	keyBlock := privateKeyBlock(keyPEM)
	if keyBlock == nil {
		return nil, &answers.FlagError{Flag: "key-file", Err: fmt.Errorf("%s holds no PEM private key", a.KeyFile)}
	}

	var roots []*x509.Certificate
	var intermediates []*x509.Certificate
	for _, c := range cas {
		if isSelfSigned(c) {
			roots = append(roots, c)
		} else {
			intermediates = append(intermediates, c)
		}
	}
	// An operator whose trust anchor is an intermediate gives no root.
	if len(roots) == 0 {
		roots, intermediates = cas, nil
	}
	rootPool := x509.NewCertPool()
	for _, c := range roots {
		rootPool.AddCert(c)
	}
	leaf := given[0]
	served, full := given, append(append([]*x509.Certificate{}, given...), roots...)
	interPool := x509.NewCertPool()
	for _, c := range append(append([]*x509.Certificate{}, given[1:]...), intermediates...) {
		interPool.AddCert(c)
	}
	if chains, err := leaf.Verify(x509.VerifyOptions{
		Roots: rootPool, Intermediates: interPool, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err == nil {
		// The verified chain puts the intermediates in order, from the
		// --cert-file or the --ca-file, wherever the operator had them.
		full = chains[0]
		served = full[:len(full)-1]
	}

	hosts := append([]string{a.Host}, a.SANs...)
	findings := certgen.Lint(served, certgen.LintOptions{
		Hosts: hosts,
		Key:   pair.PrivateKey.(crypto.Signer).Public(),
		Roots: rootPool,
		Now:   now,
	})
	var problems []string
	for _, f := range findings {
		if f.Severity == certgen.SeverityError {
			problems = append(problems, f.String())
		} else {
			fmt.Fprintf(warn, "warn %s: %s\n", a.CertFile, f)
		}
	}
	if certgen.HasErrors(findings) {
		return nil, &answers.FlagError{Flag: "cert-file", Err: fmt.Errorf("%s cannot be served for %s: %s", a.CertFile, strings.Join(hosts, ", "), strings.Join(problems, "; "))}
	}

	return &customBundle{key: keyBlock, served: served, full: full, roots: roots}, nil
}

// keepOwnCA refuses to replace the ca.crt of paxsetup's own CA (whose key is
// in ca.key) unless forced; forced, the pair is kept aside as *.previous, so
// a return to --mode selfsigned can still reuse it by renaming it back.
func keepOwnCA(files certgen.Files, newCA []byte, force bool) error {
	if !fsutil.Exists(files.CAKey()) {
		return nil
	}
	if old, err := os.ReadFile(files.CACert()); err == nil && bytes.Equal(old, newCA) {
		return nil
	}
	if !force {
		return &answers.FlagError{Flag: "force", Err: fmt.Errorf("%s holds paxsetup's own CA (ca.key), which --ca-file would replace: re-run with --force to set it aside as ca.crt.previous and ca.key.previous", files.Dir)}
	}
	for _, p := range []string{files.CAKey(), files.CACert()} {
		if err := os.Rename(p, p+".previous"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("set aside %s: %w", p, err)
		}
	}
	return nil
}

func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

func encodeCerts(certs []*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// privateKeyBlock is the first private key in data, so a key file that also
// holds certificates or parameters is installed as the key alone.
func privateKeyBlock(data []byte) *pem.Block {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil
		}
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			return b
		}
	}
}
