package setup

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/fsutil"
	"github.com/paxsetup/paxsetup/internal/render"
)

// PaletteFor is what the operator enters in Palette for the setup in dir.
func PaletteFor(dir string, a config.Answers, generated map[string]string) render.Palette {
	p := render.Palette{
		TLS:           render.FromAnswers(a).TLS,
		Endpoint:      a.Endpoint(),
		HostPort:      a.HostPort(),
		AdminUser:     a.AdminUser,
		ReaderUser:    a.ReaderUser,
		ChainFile:     Layout{Dir: dir}.CertFiles().Chain(),
		CAFile:        Layout{Dir: dir}.CertFiles().CACert(),
		ClientCertDir: ClientCertDir(dir),
		PrivateACMECA: a.Mode == config.ModeLetsEncrypt && a.CAFile != "",
	}
	_, p.AdminInCredentials = LoadCredentials(dir, a.AdminUser)
	_, p.ReaderInCredentials = LoadCredentials(dir, a.ReaderUser)
	if p.AdminInCredentials || p.ReaderInCredentials || len(generated) > 0 {
		p.CredentialsFile = Layout{Dir: dir}.Credentials()
	}
	p.GeneratedPassword = generated
	// A letsencrypt registry is no shared one: each node would order its
	// own certificate (paxsetup export refuses it).
	if a.Storage == render.StorageS3 && a.Mode != config.ModeLetsEncrypt {
		host := a.Host
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		p.SharedEndpoint = (&url.URL{Scheme: a.Scheme(), Host: host}).String()
	}
	if n := a.Node; n != nil {
		p.Node = fmt.Sprintf("%s (container %s, port %d)", n.Host, a.Name, a.Port)
		p.Origin, p.Exported = n.Origin, n.Exported.UTC().Format("2006-01-02 15:04 MST")
	}
	return p
}

// SavePalette keeps the hand-off text next to the setup, pointing to the
// credentials file rather than holding any password.
func SavePalette(dir string, p render.Palette) error {
	p.GeneratedPassword = nil
	text, err := p.Render()
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(Layout{Dir: dir}.Palette(), []byte(text), 0o644)
}

// Load reads the answers of the setup in dir; no setup there is an error
// naming --dir.
func Load(dir string) (config.Answers, error) {
	a, ok, err := config.LoadIfExists(dir)
	if err != nil {
		return a, err
	}
	if !ok {
		return a, &answers.FlagError{Flag: "dir", Err: fmt.Errorf("no setup in %s (no %s): pass the --dir given to paxsetup init, or run paxsetup init", dir, config.FileName)}
	}
	return a, nil
}
