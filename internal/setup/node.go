package setup

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/fsutil"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
	"github.com/paxsetup/paxsetup/internal/render"
)

// SharedFile is a file that every node of a registry shared through S3
// holds the same: `paxsetup export` bundles it, `init --join` installs it.
type SharedFile struct {
	// Name is its path in the setup folder.
	Name string
	Perm fs.FileMode
	// TLS: only a setup that serves its own certificate (selfsigned,
	// custom) has it.
	TLS bool
	// Optional: a setup may lack it.
	Optional bool
}

// SharedFiles are the files a node bundle carries. certs/ca.key is not one
// of them: a node serves the certificate, and never issues one, so the CA's
// key stays on the host where the setup was made.
var SharedFiles = []SharedFile{
	{Name: "auth/htpasswd-basic", Perm: 0o600},
	// Only when paxsetup generated a password: the node's verify logs in
	// with it, and its PALETTE.txt points to it.
	{Name: CredentialsFile, Perm: 0o600, Optional: true},
	{Name: "certs/ca.crt", Perm: certgen.CertFileMode, TLS: true},
	{Name: "certs/tls.crt", Perm: certgen.CertFileMode, TLS: true},
	{Name: "certs/tls.key", Perm: certgen.KeyFileMode, TLS: true},
	{Name: "certs/chain.pem", Perm: certgen.CertFileMode, TLS: true},
}

// servesOwnCert reports whether the setup serves the certificate in certs/.
func servesOwnCert(a config.Answers) bool {
	return render.FromAnswers(a).TLS == render.TLSCertificate
}

// ReadShared reads the shared files of the setup in dir, as a bundle
// carries them. A file the setup needs but lacks is an error saying how to
// make the setup whole.
func ReadShared(dir string, a config.Answers) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, f := range SharedFiles {
		if f.TLS && !servesOwnCert(a) {
			continue
		}
		p := filepath.Join(dir, f.Name)
		data, err := fsutil.ReadRegularFile(p, fsutil.MaxPEMFile)
		switch {
		case errors.Is(err, fs.ErrNotExist) && f.Optional:
			continue
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("%s is missing: run paxsetup init --yes --dir %s to make the setup whole, then export again", p, render.ShellQuote(dir))
		case err != nil:
			return nil, err
		}
		files[f.Name] = data
	}
	return files, nil
}

// keepNodeCert is keepCert for a node joined from a bundle. Such a node has
// no CA key, and must serve the shared certificate: it issues none, so
// --force and a renewal are refused. The bundle's certificate is checked
// before it is installed; later runs keep the installed one while it fits.
func keepNodeCert(l Layout, opts Options) (bool, error) {
	a := opts.Answers
	if opts.Force || opts.RenewCert {
		return false, &answers.FlagError{Flag: "force", Err: fmt.Errorf("this node serves the shared certificate from the bundle exported on %s, and has no CA key to issue another: renew it there (paxsetup certs gen --force, then paxsetup init --yes), then paxsetup export and paxsetup init --join on this node", a.Node.Origin)}
	}
	if opts.Install != nil {
		return false, checkInstall(opts)
	}
	if !servesOwnCert(a) {
		return false, nil
	}
	files := map[string][]byte{}
	for _, f := range SharedFiles {
		if !f.TLS {
			continue
		}
		data, err := fsutil.ReadRegularFile(filepath.Join(l.Dir, f.Name), fsutil.MaxPEMFile)
		if err != nil {
			return false, fmt.Errorf("this node's shared certificate: %w; install it again with paxsetup init --join BUNDLE", err)
		}
		files[f.Name] = data
	}
	if err := checkSharedCert(files, "this node's", a.Host, opts.Now()); err != nil {
		return false, fmt.Errorf("%w; this node serves the shared certificate from the bundle exported on %s: renew it there (paxsetup certs gen --force, then paxsetup init --yes), then paxsetup export and paxsetup init --join on this node", err, a.Node.Origin)
	}
	return true, nil
}

// checkInstall checks the files a joining node is given before any is
// written: only shared files, every one the setup needs, users the registry
// can read, and a certificate that fits the shared name now.
func checkInstall(opts Options) error {
	a := opts.Answers
	files := opts.Install
	for name := range files {
		if !slices.ContainsFunc(SharedFiles, func(f SharedFile) bool { return f.Name == name }) {
			return fmt.Errorf("the bundle holds %s, which is no file a node shares", name)
		}
	}
	for _, f := range SharedFiles {
		_, ok := files[f.Name]
		switch {
		case f.TLS && !servesOwnCert(a) && ok:
			return fmt.Errorf("the bundle holds %s, which a setup in mode %s does not use", f.Name, a.Mode)
		case !ok && !f.Optional && (!f.TLS || servesOwnCert(a)):
			return fmt.Errorf("the bundle lacks %s, which a setup in mode %s needs: export it again from a whole setup", f.Name, a.Mode)
		}
	}
	if _, err := htpasswd.Parse(bytes.NewReader(files["auth/htpasswd-basic"])); err != nil {
		return fmt.Errorf("the bundle's auth/htpasswd-basic: %w", err)
	}
	if !servesOwnCert(a) {
		return nil
	}
	if err := checkSharedCert(files, "the bundle's", a.Host, opts.Now()); err != nil {
		return fmt.Errorf("%w; renew it on the host that exported the bundle (paxsetup certs gen --force, then paxsetup init --yes), then export again", err)
	}
	return nil
}

// checkSharedCert checks a node's certificate (whose files are named by
// where, e.g. "the bundle's") as the registry and its clients will use it:
// tls.crt goes with tls.key, chains to ca.crt for server use, names the
// shared host, and is valid for at least a day more. An operator's own
// certificate may name the host in its SANs only, so the CN is not asked
// for, as it is of paxsetup's own (certgen.CheckLeaf).
func checkSharedCert(files map[string][]byte, where, host string, now time.Time) error {
	pair, err := tls.X509KeyPair(files["certs/tls.crt"], files["certs/tls.key"])
	if err != nil {
		return fmt.Errorf("%s certs/tls.crt and certs/tls.key do not go together: %w", where, err)
	}
	chain := make([]*x509.Certificate, 0, len(pair.Certificate))
	for _, der := range pair.Certificate {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return fmt.Errorf("%s certs/tls.crt: %w", where, err)
		}
		chain = append(chain, c)
	}
	cas, err := certgen.ParseCertificatesPEM(files["certs/ca.crt"])
	if err != nil {
		return fmt.Errorf("%s certs/ca.crt: %w", where, err)
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range cas {
		roots.AddCert(c)
	}
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	leaf := chain[0]
	var problems []string
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, CurrentTime: now, DNSName: host,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		problems = append(problems, err.Error())
	}
	if leaf.NotAfter.Sub(now) < certgen.MinRemaining {
		problems = append(problems, fmt.Sprintf("it expires on %s", leaf.NotAfter.UTC().Format(time.RFC3339)))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s certificate cannot be served as %s: %s", ErrCertMismatch, where, host, strings.Join(problems, "; "))
	}
	return nil
}

// installNode writes the shared files a joining node was given in place of
// the users and certificates a run would make, all written in full before
// any is put in place; then the files made from them (certs/client/ca.crt)
// and the registry config with the bundle's secrets. A credentials file the
// bundle lacks is removed: its passwords would be another registry's.
func installNode(l Layout, opts Options) error {
	var out []fsutil.File
	for _, f := range SharedFiles {
		if data, ok := opts.Install[f.Name]; ok {
			out = append(out, fsutil.File{Path: filepath.Join(l.Dir, f.Name), Data: data, Perm: f.Perm})
		}
	}
	if err := fsutil.WriteFilesAtomic(out); err != nil {
		return err
	}
	if _, ok := opts.Install[CredentialsFile]; !ok {
		if err := os.Remove(l.Credentials()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if servesOwnCert(opts.Answers) {
		if err := writeClientCA(l); err != nil {
			return err
		}
	}
	return writeRegistryConfig(l, opts)
}
