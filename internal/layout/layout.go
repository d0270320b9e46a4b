// Package layout is the one map of a setup's folder: every path paxsetup
// reads or writes in it is named here, and nowhere else.
package layout

import (
	"path/filepath"

	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/render"
)

// Layout names the files of the setup in Dir:
//
//	paxsetup.yaml         the answers (no secrets)
//	credentials           generated passwords, 0600
//	PALETTE.txt           what to enter in Palette (no secrets)
//	auth/htpasswd-basic   the users                  -> /auth (read-only)
//	certs/                ca.crt ca.key tls.crt tls.key chain.pem
//	                                                 -> /certs (read-only)
//	certs/client/ca.crt   the CA alone, for clients' --cert-dir
//	config/myconfig.yml   registry config, 0600      -> /etc/spectropaxconfig
//	config/acme-ca.crt    a private ACME CA's own CA
//	data/                 packs and the ACME cache   -> /data; never deleted
//	trust-installed.json  where paxsetup trust put the CA
//	swap-journal.json     a container swap under way
//	.previous/            the files a run replaces, until it succeeds
//	dry-run/              what a dry run on a live setup would write
type Layout struct{ Dir string }

// Names of files and folders in the setup's folder.
const (
	CredentialsFile = "credentials"
	PaletteFile     = "PALETTE.txt"
	TrustLedgerFile = "trust-installed.json"
	JournalFile     = "swap-journal.json"
	PreviousDir     = ".previous"
	StagedDir       = "dry-run"
	// ClientCertsDir, under certs/, holds only what the registry's clients
	// need: ca.crt. containers/image (skopeo, podman, buildah) reads a
	// --cert-dir as a certs.d folder and takes every *.key there for a
	// client key, so certs/ itself, which holds the CA's and the server's
	// keys, fails as --cert-dir ("missing client certificate ca.cert for
	// key ca.key").
	ClientCertsDir = "client"
)

func (l Layout) join(elem ...string) string {
	return filepath.Join(append([]string{l.Dir}, elem...)...)
}

// Answers is paxsetup.yaml.
func (l Layout) Answers() string { return config.Path(l.Dir) }

// Credentials holds the passwords paxsetup generated.
func (l Layout) Credentials() string { return l.join(CredentialsFile) }

// Palette is the hand-off text.
func (l Layout) Palette() string { return l.join(PaletteFile) }

// TrustLedger records where `paxsetup trust` installed the CA.
func (l Layout) TrustLedger() string { return l.join(TrustLedgerFile) }

// Journal is the journal of a container swap under way.
func (l Layout) Journal() string { return l.join(JournalFile) }

// Previous holds the files a run replaces until its registry answers.
func (l Layout) Previous() string { return l.join(PreviousDir) }

// Staged is where a dry run on a live setup writes.
func (l Layout) Staged() string { return l.join(StagedDir) }

// Auth is the folder mounted at /auth.
func (l Layout) Auth() string { return l.join("auth") }

// Htpasswd is the bcrypt user file the registry reads.
func (l Layout) Htpasswd() string { return l.join("auth", "htpasswd-basic") }

// Certs is the folder mounted at /certs.
func (l Layout) Certs() string { return l.join("certs") }

// CertFiles are the certificate files in Certs.
func (l Layout) CertFiles() certgen.Files { return certgen.Files{Dir: l.Certs()} }

// ClientCerts is the folder to give clients as --cert-dir.
func (l Layout) ClientCerts() string { return l.join("certs", ClientCertsDir) }

// Config is the folder mounted at /etc/spectropaxconfig in the setups that
// give the registry a config file.
func (l Layout) Config() string { return l.join("config") }

// ConfigFile is the registry config paxsetup writes there.
func (l Layout) ConfigFile() string { return l.join("config", render.ConfigFileName) }

// ACMECAFile is the CA of a private ACME directory's own HTTPS certificate.
func (l Layout) ACMECAFile() string { return l.join("config", render.ACMECAFileName) }

// Data is the pack storage mounted at /data; paxsetup never deletes it.
func (l Layout) Data() string { return l.join("data") }
