package layout

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryPathInTheFolder: each path the map names lies in the setup's
// folder, and no two name the same file, so a change to one name cannot
// silently make two features share a file.
func TestEveryPathInTheFolder(t *testing.T) {
	l := Layout{Dir: "/srv/pax"}
	paths := map[string]string{
		"Answers": l.Answers(), "Credentials": l.Credentials(), "Palette": l.Palette(),
		"TrustLedger": l.TrustLedger(), "Journal": l.Journal(), "Previous": l.Previous(),
		"Staged": l.Staged(), "Auth": l.Auth(), "Htpasswd": l.Htpasswd(), "Certs": l.Certs(),
		"ClientCerts": l.ClientCerts(), "Config": l.Config(), "ConfigFile": l.ConfigFile(),
		"ACMECAFile": l.ACMECAFile(), "Data": l.Data(),
		"CACert": l.CertFiles().CACert(), "TLSKey": l.CertFiles().TLSKey(),
	}
	seen := map[string]string{}
	for name, p := range paths {
		if !strings.HasPrefix(p, "/srv/pax/") || filepath.Clean(p) != p {
			t.Errorf("%s = %q, not a clean path in /srv/pax", name, p)
		}
		if other, ok := seen[p]; ok {
			t.Errorf("%s and %s are both %q", name, other, p)
		}
		seen[p] = name
	}
	if got := l.Htpasswd(); got != "/srv/pax/auth/htpasswd-basic" {
		t.Errorf("Htpasswd = %q: the registry's mount expects auth/htpasswd-basic", got)
	}
	if got := l.ConfigFile(); got != "/srv/pax/config/myconfig.yml" {
		t.Errorf("ConfigFile = %q", got)
	}
}
