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

// ClientCertsDir, under certs/, holds only what the registry's clients need:
// ca.crt. containers/image (skopeo, podman, buildah) reads a --cert-dir as a
// certs.d folder and takes every *.key there for a client key, so certs/
// itself, which holds the CA's and the server's keys, fails as --cert-dir
// ("missing client certificate ca.cert for key ca.key").
const ClientCertsDir = "client"

// ClientCertDir is the folder to give clients as --cert-dir.
func ClientCertDir(dir string) string {
	return filepath.Join(dir, "certs", ClientCertsDir)
}

// writeClientCA copies the certificates of certs/ca.crt, and nothing else
// that file might hold, to certs/client/ca.crt.
func writeClientCA(l Layout) error {
	certs, err := certgen.LoadCertificates(filepath.Join(l.Certs(), "ca.crt"))
	if err != nil {
		return fmt.Errorf("client CA: %w", err)
	}
	var buf bytes.Buffer
	for _, c := range certs {
		pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	d := filepath.Join(l.Certs(), ClientCertsDir)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", d, err)
	}
	return fsutil.WriteFileAtomic(filepath.Join(d, "ca.crt"), buf.Bytes(), 0o644)
}
