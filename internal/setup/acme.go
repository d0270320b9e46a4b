package setup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/fsutil"
)

// EnvSSLCertFile points the registry's Go TLS stack at the ACME directory's
// CA. Go reads the named file instead of the image's CA bundle, and still
// reads the image's certificate folders (/etc/ssl/certs), so a private ACME
// CA does not cut the registry off from public services it may use (S3).
const EnvSSLCertFile = "SSL_CERT_FILE"

// installACMEFiles copies the files a private ACME CA needs into the setup:
// the directory's own CA into config/ for the registry, and the root that
// issues the registry's certificates into certs/ca.crt (for verify and
// clients) and certs/chain.pem (for Palette, which asks for the chain up to
// the root; the leaf is left out, as the registry renews it by itself every
// few weeks and an uploaded leaf would go stale). Copies, not paths: the
// registry and later runs must not depend on where the operator kept them.
func installACMEFiles(l Layout, opts Options) error {
	a := opts.Answers
	if a.ACMECAFile != "" {
		data, err := readCerts("acme-ca-file", a.ACMECAFile)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(l.Config(), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", l.Config(), err)
		}
		if err := writeIfChanged(l.ACMECAFile(), data, certgen.CertFileMode); err != nil {
			return err
		}
	} else if err := os.Remove(l.ACMECAFile()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the unused %s: %w", l.ACMECAFile(), err)
	}
	if a.CAFile == "" {
		return nil
	}
	data, err := readCerts("ca-file", a.CAFile)
	if err != nil {
		return err
	}
	files := certgen.Files{Dir: l.Certs()}
	if err := keepOwnCA(files, data, opts.Force); err != nil {
		return err
	}
	for _, p := range []string{files.CACert(), files.Chain()} {
		if err := writeIfChanged(p, data, certgen.CertFileMode); err != nil {
			return err
		}
	}
	return nil
}

// readCerts reads a PEM file of certificates given by flag and returns them
// re-encoded: whatever else the file held (keys, comments) stays out.
func readCerts(flag, path string) ([]byte, error) {
	data, err := fsutil.ReadRegularFile(path, fsutil.MaxPEMFile)
	if err != nil {
		return nil, &answers.FlagError{Flag: flag, Err: fmt.Errorf("cannot read %s: %v", path, errors.Unwrap(err))}
	}
	certs, err := certgen.ParseCertificatesPEM(data)
	if err != nil {
		return nil, &answers.FlagError{Flag: flag, Err: fmt.Errorf("%s: %v", path, err)}
	}
	return encodeCerts(certs), nil
}

func writeIfChanged(path string, data []byte, mode fs.FileMode) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	return fsutil.WriteFileAtomic(path, data, mode)
}

// networkChecker is the engine's answer to whether a network exists; an
// engine without it (a test fake) lets the create call find out.
type networkChecker interface {
	NetworkExists(ctx context.Context, name string) (bool, error)
}

// checkNetwork refuses --network naming a network the engine lacks, before
// anything is written: the create call would fail only after the files.
func checkNetwork(ctx context.Context, eng Engine, a config.Answers) error {
	nc, ok := eng.(networkChecker)
	if a.Network == "" || !ok {
		return nil
	}
	found, err := nc.NetworkExists(ctx, a.Network)
	if err != nil {
		return err
	}
	if !found {
		return &answers.FlagError{Flag: "network", Err: fmt.Errorf("the engine has no network %q: create it (docker network create %s) or give an existing one (docker network ls)", a.Network, a.Network)}
	}
	return nil
}
