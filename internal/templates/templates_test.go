package templates

import (
	"os"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
)

// The image's built-in config, as the stand-in image ships it.
const defaultConfigPath = "../testregistry/config.yml"

// TestRegistryEnvParsesWithRegistryParser applies the environment to the
// image's default config through the registry's own parser, as the registry
// does at start, and checks every value lands where it must.
func TestRegistryEnvParsesWithRegistryParser(t *testing.T) {
	for _, kv := range (RegistryEnv{LogLevel: "debug"}).Environ() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	f, err := os.Open(defaultConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := configuration.Parse(f)
	if err != nil {
		t.Fatalf("the registry refuses the config: %v", err)
	}
	if got := string(cfg.Log.Level); got != "debug" {
		t.Errorf("log.level = %q, want debug", got)
	}
	if got := cfg.HTTP.TLS.Certificate; got != "/certs/tls.crt" {
		t.Errorf("http.tls.certificate = %q", got)
	}
	if got := cfg.HTTP.TLS.Key; got != "/certs/tls.key" {
		t.Errorf("http.tls.key = %q", got)
	}
	if len(cfg.HTTP.TLS.LetsEncrypt.Hosts) != 0 || cfg.HTTP.TLS.LetsEncrypt.CacheFile != "" {
		t.Errorf("letsencrypt must stay off next to a certificate: %+v", cfg.HTTP.TLS.LetsEncrypt)
	}
	if cfg.HTTP.Addr != ":5000" {
		t.Errorf("http.addr = %q, want :5000", cfg.HTTP.Addr)
	}
	ht, ok := cfg.Auth["htpasswd"]
	if !ok || len(cfg.Auth) != 1 {
		t.Fatalf("auth = %v, want htpasswd alone", cfg.Auth)
	}
	if ht["path"] != HtpasswdPath || ht["realm"] != Realm {
		t.Errorf("auth.htpasswd = %v", ht)
	}
	if got := cfg.Storage.Type(); got != "filesystem" {
		t.Errorf("storage = %q, want filesystem", got)
	}
	if got := cfg.Storage.Parameters()["rootdirectory"]; got != StorageRoot {
		t.Errorf("storage.filesystem.rootdirectory = %v, want %s (under the /data mount)", got, StorageRoot)
	}
}

func TestPaletteRender(t *testing.T) {
	p := Palette{
		Endpoint:           "https://registry.local:18443",
		HostPort:           "registry.local:18443",
		AdminUser:          "admin",
		ReaderUser:         "spectro",
		ChainFile:          "/srv/pax/certs/chain.pem",
		CAFile:             "/srv/pax/certs/ca.crt",
		CredentialsFile:    "/srv/pax/credentials",
		AdminInCredentials: true,
		GeneratedPassword:  map[string]string{"admin": "s3cret-admin-pw"},
	}
	out, err := p.Render()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Endpoint:     https://registry.local:18443",
		"admin (read-write), or spectro (read-only)",
		"upload /srv/pax/certs/chain.pem",
		"admin: s3cret-admin-pw",
		"Password:     in /srv/pax/credentials",
		"spectro registry login registry.local:18443",
		"/etc/docker/certs.d/registry.local:18443/ca.crt",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	p.GeneratedPassword, p.CredentialsFile, p.AdminInCredentials = nil, "", false
	out, err = p.Render()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Password:     the one you chose") {
		t.Errorf("the password line must point to the operator's own password:\n%s", out)
	}
	if strings.Contains(out, "Generated passwords") || strings.Contains(out, "s3cret") {
		t.Errorf("no password may be shown when none was generated:\n%s", out)
	}
}
