package setup

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"

	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/fsutil"
)

// ClientCertDir is the folder to give clients as --cert-dir.
func ClientCertDir(dir string) string { return Layout{Dir: dir}.ClientCerts() }

// writeClientCA copies the certificates of certs/ca.crt, and nothing else
// that file might hold, to certs/client/ca.crt.
func writeClientCA(l Layout) error {
	certs, err := certgen.LoadCertificates(l.CertFiles().CACert())
	if err != nil {
		return fmt.Errorf("client CA: %w", err)
	}
	var buf bytes.Buffer
	for _, c := range certs {
		pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	d := l.ClientCerts()
	if err := os.MkdirAll(d, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", d, err)
	}
	return fsutil.WriteFileAtomic(filepath.Join(d, "ca.crt"), buf.Bytes(), 0o644)
}
