package render

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/configuration"

	"github.com/paxsetup/paxsetup/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/render -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the rendered output (run go test ./internal/render -update if the change is meant):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// parseAsRegistry parses what the container would get, with the registry's
// own parser: the config file, or the environment applied to the image's
// built-in config. The environment is set for the parse only.
func parseAsRegistry(t *testing.T, c Container) *configuration.Configuration {
	t.Helper()
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "REGISTRY_") {
			t.Fatalf("the test process has %s set; the parse would not be the container's", kv)
		}
	}
	input := c.Config
	if input == nil {
		data, err := os.ReadFile(defaultConfigPath)
		if err != nil {
			t.Fatal(err)
		}
		input = data
		for _, kv := range c.Env {
			k, v, _ := strings.Cut(kv, "=")
			t.Setenv(k, v)
		}
	}
	cfg, err := configuration.Parse(bytes.NewReader(input))
	if err != nil {
		t.Fatalf("the registry refuses the config: %v\n%s", err, input)
	}
	return cfg
}

func boolPtr(b bool) *bool { return &b }

// TestEveryModeAndStorage renders each mode with each storage, checks the
// output against its golden file, and parses it with the registry's parser,
// checking every value paxsetup set lands where the registry reads it.
func TestEveryModeAndStorage(t *testing.T) {
	modes := []string{config.ModeSelfSigned, config.ModeCustom, config.ModeLetsEncrypt, config.ModeHTTP}
	storages := []struct {
		name string
		s3   *config.S3Config
	}{
		{StorageFilesystem, nil},
		{StorageInMemory, nil},
		{StorageS3, &config.S3Config{Region: "eu-west-1", Bucket: "packs.example", RootDirectory: "/registry", Encrypt: true}},
		{StorageS3 + "-minio", &config.S3Config{Bucket: "packs", RegionEndpoint: "http://minio.lab:9000", Secure: boolPtr(false)}},
		{StorageS3 + "-redirect", &config.S3Config{Bucket: "packs", RegionEndpoint: "https://s3.lab:9000", Redirect: true}},
	}
	for _, mode := range modes {
		for _, st := range storages {
			name := mode + "-" + st.name
			t.Run(name, func(t *testing.T) {
				a := config.Defaults()
				a.Mode, a.Host, a.Storage, a.S3 = mode, "registry.example.com", strings.TrimSuffix(strings.TrimSuffix(st.name, "-minio"), "-redirect"), st.s3
				a.LogLevel = "warn"
				if mode == config.ModeLetsEncrypt {
					a.Email = "ops@example.com"
					a.SANs = []string{"packs.example.com"}
					a.ACMEDirectory = "https://acme.internal.example/directory"
				}
				r := FromAnswers(a)
				r.Storage.S3.AccessKey, r.Storage.S3.SecretKey = "AKIAEXAMPLEKEY", "wJalr/XUtnFEMI+K7MDENG=="
				if a.Storage == StorageS3 {
					r.HTTPSecret = "k3Jq9V6d0yH2s8Q4n1Zb7xW5cT0mR3pL"
				}
				c, err := r.Render()
				if err != nil {
					t.Fatal(err)
				}
				rendered := c.Config
				if rendered == nil {
					rendered = []byte(strings.Join(c.Env, "\n") + "\n")
					if len(c.Cmd) != 0 {
						t.Errorf("the environment setup must keep the image's command, got %q", c.Cmd)
					}
				} else if !slices.Equal(c.Cmd, []string{"serve", "/etc/spectropaxconfig/myconfig.yml"}) {
					t.Errorf("cmd = %q, want serve of the mounted config", c.Cmd)
				}
				golden(t, name+".golden", rendered)

				cfg := parseAsRegistry(t, c)
				checkParsed(t, cfg, a, r)
			})
		}
	}
}

// checkParsed checks what the registry read against what was asked.
func checkParsed(t *testing.T, cfg *configuration.Configuration, a config.Answers, r Registry) {
	t.Helper()
	if got := string(cfg.Log.Level); got != a.LogLevel {
		t.Errorf("log.level = %q, want %q", got, a.LogLevel)
	}
	if cfg.HTTP.Addr != ":5000" {
		t.Errorf("http.addr = %q, want :5000", cfg.HTTP.Addr)
	}
	for k, v := range SecurityHeaders {
		if got := cfg.HTTP.Headers.Values(k); !slices.Equal(got, v) {
			t.Errorf("header %s = %q, want %q (the image default's)", k, got, v)
		}
	}
	if len(cfg.Auth) != 1 || cfg.Auth.Type() != "htpasswd" {
		t.Fatalf("auth = %v, want htpasswd alone", cfg.Auth)
	}
	if ht := cfg.Auth["htpasswd"]; ht["path"] != HtpasswdPath || ht["realm"] != Realm {
		t.Errorf("auth.htpasswd = %v", ht)
	}

	tls := cfg.HTTP.TLS
	switch a.Mode {
	case config.ModeSelfSigned, config.ModeCustom:
		if tls.Certificate != "/certs/tls.crt" || tls.Key != "/certs/tls.key" {
			t.Errorf("http.tls = %q, %q, want the /certs pair", tls.Certificate, tls.Key)
		}
		if tls.LetsEncrypt.CacheFile != "" || len(tls.LetsEncrypt.Hosts) != 0 {
			t.Errorf("Let's Encrypt must stay off next to a certificate (the registry refuses both): %+v", tls.LetsEncrypt)
		}
	case config.ModeLetsEncrypt:
		le := tls.LetsEncrypt
		if tls.Certificate != "" || tls.Key != "" {
			t.Errorf("a certificate next to Let's Encrypt makes the registry refuse to start: %q", tls.Certificate)
		}
		if le.CacheFile != ACMECacheDir(a.ACMEDirectory) || !strings.HasPrefix(le.CacheFile, ContainerDataDir+"/") {
			t.Errorf("cachefile = %q, want %s on the persistent /data mount", le.CacheFile, ACMECacheDir(a.ACMEDirectory))
		}
		if le.Email != a.Email || le.DirectoryURL != a.ACMEDirectory {
			t.Errorf("letsencrypt email, directoryurl = %q, %q", le.Email, le.DirectoryURL)
		}
		if want := append([]string{a.Host}, a.SANs...); !slices.Equal(le.Hosts, want) {
			t.Errorf("letsencrypt.hosts = %q, want %q", le.Hosts, want)
		}
	case config.ModeHTTP:
		if tls.Certificate != "" || tls.LetsEncrypt.CacheFile != "" {
			t.Errorf("plain HTTP must have no TLS: %+v", tls)
		}
	}

	params := cfg.Storage.Parameters()
	switch a.Storage {
	case StorageFilesystem:
		if cfg.Storage.Type() != "filesystem" || params["rootdirectory"] != StorageRoot {
			t.Errorf("storage = %s %v, want filesystem under %s", cfg.Storage.Type(), params, StorageRoot)
		}
	case StorageInMemory:
		if cfg.Storage.Type() != "inmemory" {
			t.Errorf("storage = %s, want inmemory", cfg.Storage.Type())
		}
	case StorageS3:
		s := r.Storage.S3
		region := s.Region
		if region == "" {
			region = DefaultS3Region
		}
		want := map[string]any{
			"region": region, "bucket": s.Bucket, "encrypt": s.Encrypt, "secure": !s.Insecure,
			"accesskey": s.AccessKey, "secretkey": s.SecretKey,
		}
		if s.RootDirectory != "" {
			want["rootdirectory"] = s.RootDirectory
		}
		if s.RegionEndpoint != "" {
			want["regionendpoint"] = s.RegionEndpoint
			want["forcepathstyle"] = true
		}
		if cfg.Storage.Type() != "s3" || !reflect.DeepEqual(map[string]any(params), want) {
			t.Errorf("storage = %s %#v,\nwant s3 %#v", cfg.Storage.Type(), params, want)
		}
		// The registry's handlers read storage.redirect.disable: off, a blob
		// GET is answered by a redirect the client must follow to S3.
		if got := cfg.Storage["redirect"]["disable"]; got != !s.Redirect {
			t.Errorf("storage.redirect.disable = %v, want %v", got, !s.Redirect)
		}
	}
	if cfg.HTTP.Secret != r.HTTPSecret {
		t.Errorf("http.secret = %q, want %q", cfg.HTTP.Secret, r.HTTPSecret)
	}
}

// TestRegistryEnvParsesWithRegistryParser keeps the own-certificate
// environment of earlier releases: an unchanged setup keeps its container.
func TestRegistryEnvParsesWithRegistryParser(t *testing.T) {
	want := []string{
		"REGISTRY_LOG_LEVEL=debug",
		"REGISTRY_AUTH=htpasswd",
		"REGISTRY_AUTH_HTPASSWD_REALM=basic-realm",
		"REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd-basic",
		"REGISTRY_HTTP_TLS_CERTIFICATE=/certs/tls.crt",
		"REGISTRY_HTTP_TLS_KEY=/certs/tls.key",
		"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/data/.spectro-server",
	}
	env := RegistryEnv{LogLevel: "debug"}.Environ()
	if !slices.Equal(env, want) {
		t.Errorf("Environ() = %q,\nwant %q", env, want)
	}
	cfg := parseAsRegistry(t, Container{Env: env})
	if cfg.Log.Level != "debug" || cfg.HTTP.TLS.Certificate != "/certs/tls.crt" {
		t.Errorf("parsed = %+v", cfg)
	}
}

func TestUsesConfigFile(t *testing.T) {
	tests := []struct {
		name string
		r    Registry
		want bool
	}{
		{"own certificate", Registry{TLS: TLSCertificate}, false},
		{"plain HTTP in memory", Registry{TLS: TLSNone, Storage: Storage{Driver: StorageInMemory}}, false},
		{"default realm", Registry{TLS: TLSCertificate, Realm: Realm}, false},
		{"Let's Encrypt", Registry{TLS: TLSLetsEncrypt}, true},
		{"S3", Registry{TLS: TLSCertificate, Storage: Storage{Driver: StorageS3}}, true},
		{"own realm", Registry{TLS: TLSNone, Realm: "Packs"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.UsesConfigFile(); got != tt.want {
				t.Errorf("UsesConfigFile() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestValidateRefuses checks each kind of bad value is refused with its flag
// named and the reason given.
func TestValidateRefuses(t *testing.T) {
	le := func(edit func(*LetsEncrypt)) Registry {
		r := Registry{TLS: TLSLetsEncrypt, LetsEncrypt: LetsEncrypt{Hosts: []string{"registry.example.com"}, Email: "ops@example.com"}}
		edit(&r.LetsEncrypt)
		return r
	}
	s3 := func(edit func(*S3)) Registry {
		r := Registry{TLS: TLSCertificate, Storage: Storage{Driver: StorageS3, S3: S3{Region: "eu-west-1", Bucket: "packs"}}}
		edit(&r.Storage.S3)
		return r
	}
	tests := []struct {
		name     string
		r        Registry
		wantFlag string
		wantErr  string
	}{
		{"IP host", le(func(l *LetsEncrypt) { l.Hosts = []string{"203.0.113.7"} }), "host", "only for DNS names"},
		{"IPv6 host", le(func(l *LetsEncrypt) { l.Hosts = []string{"2001:db8::1"} }), "host", "IP address"},
		{"single-label host", le(func(l *LetsEncrypt) { l.Hosts = []string{"registry"} }), "host", "fully qualified"},
		{"wildcard SAN", le(func(l *LetsEncrypt) { l.Hosts = append(l.Hosts, "*.example.com") }), "san", "TLS-ALPN-01"},
		{"no email", le(func(l *LetsEncrypt) { l.Email = "" }), "email", "contact address"},
		{"email with name", le(func(l *LetsEncrypt) { l.Email = "Ops <ops@example.com>" }), "email", "without a name"},
		{"email without domain", le(func(l *LetsEncrypt) { l.Email = "ops@" }), "email", "not a valid email"},
		{"email on IP", le(func(l *LetsEncrypt) { l.Email = "ops@[10.0.0.1]" }), "email", "IP address"},
		{"email with newline", le(func(l *LetsEncrypt) { l.Email = "ops@example.com\nBcc: x@y.z" }), "email", "non-printable"},
		{"ACME over http", le(func(l *LetsEncrypt) { l.DirectoryURL = "http://acme.example/dir" }), "acme-directory", "https"},
		{"ACME with password", le(func(l *LetsEncrypt) { l.DirectoryURL = "https://u:p@acme.example/dir" }), "acme-directory", "password"},
		{"log level", Registry{TLS: TLSNone, LogLevel: "trace"}, "log-level", "error, warn, info, debug"},
		{"realm with quote", Registry{TLS: TLSNone, Realm: `my "realm"`}, "realm", "quote"},
		{"realm with newline", Registry{TLS: TLSNone, Realm: "a\nb"}, "realm", "non-printable"},
		{"unknown storage", Registry{TLS: TLSNone, Storage: Storage{Driver: "nfs"}}, "storage", "filesystem, inmemory, s3"},
		{"no bucket", s3(func(s *S3) { s.Bucket = "" }), "s3-bucket", "no bucket"},
		{"bucket upper case", s3(func(s *S3) { s.Bucket = "Packs" }), "s3-bucket", "not allowed"},
		{"bucket short", s3(func(s *S3) { s.Bucket = "ab" }), "s3-bucket", "3 to 63"},
		{"bucket like an IP", s3(func(s *S3) { s.Bucket = "10.0.0.1" }), "s3-bucket", "IP"},
		{"no region", s3(func(s *S3) { s.Region = "" }), "s3-region", "--s3-regionendpoint"},
		{"region with space", s3(func(s *S3) { s.Region = "eu west" }), "s3-region", "eu-west-1"},
		{"relative root", s3(func(s *S3) { s.RootDirectory = "registry" }), "s3-rootdirectory", "start with /"},
		{"dot-dot root", s3(func(s *S3) { s.RootDirectory = "/a/../b" }), "s3-rootdirectory", `".."`},
		{"endpoint without scheme", s3(func(s *S3) { s.RegionEndpoint = "minio:9000" }), "s3-regionendpoint", "http or https"},
		{"endpoint with keys", s3(func(s *S3) { s.RegionEndpoint = "https://AKIA:secret@minio:9000" }), "s3-regionendpoint", "--s3-credentials-file"},
		{"one key only", s3(func(s *S3) { s.AccessKey = "AKIA" }), "s3-credentials-file", "both"},
		{"key with newline", s3(func(s *S3) { s.AccessKey, s.SecretKey = "AKIA", "se\ncret" }), "s3-credentials-file", "non-printable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.r.Render()
			var ve *ValueError
			if !errors.As(err, &ve) || ve.Flag != tt.wantFlag {
				t.Fatalf("err = %v, want a ValueError for --%s", err, tt.wantFlag)
			}
			if !strings.HasPrefix(err.Error(), "--"+tt.wantFlag+": ") || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %q, want --%s: ...%s...", err, tt.wantFlag, tt.wantErr)
			}
		})
	}
}

// TestHostileValuesRoundTrip shows values full of YAML syntax reach the
// registry exactly as given, through the config file.
func TestHostileValuesRoundTrip(t *testing.T) {
	r := Registry{
		TLS:   TLSLetsEncrypt,
		Realm: "Packs: {a: b} # not a comment - [x] & *y !z 'q' ✓",
		LetsEncrypt: LetsEncrypt{
			Hosts:        []string{"registry.example.com", "true.example.com", "null.example.com"},
			Email:        "ops+#{x}&'y'!@example.com",
			DirectoryURL: "https://acme.example:8443/dir/a%23b;c=d",
		},
		Storage: Storage{Driver: StorageS3, S3: S3{
			Region: "no", Bucket: "yes", RootDirectory: "/a: b/#c/{d}/'e'/\"f\"/ü/~", RegionEndpoint: "https://[::1]:9000",
			AccessKey: "- &anchor *alias", SecretKey: "'\"\\ : # {} [] |> %@`",
		}},
	}
	c, err := r.Render()
	if err != nil {
		t.Fatal(err)
	}
	cfg := parseAsRegistry(t, c)
	le := cfg.HTTP.TLS.LetsEncrypt
	got := []any{cfg.Auth["htpasswd"]["realm"], le.Hosts, le.Email, le.DirectoryURL}
	want := []any{r.Realm, r.LetsEncrypt.Hosts, r.LetsEncrypt.Email, r.LetsEncrypt.DirectoryURL}
	p := cfg.Storage.Parameters()
	got = append(got, p["region"], p["bucket"], p["rootdirectory"], p["regionendpoint"], p["accesskey"], p["secretkey"])
	s := r.Storage.S3
	want = append(want, s.Region, s.Bucket, s.RootDirectory, s.RegionEndpoint, s.AccessKey, s.SecretKey)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the registry read\n%#v\nwant\n%#v\nfrom:\n%s", got, want, c.Config)
	}
}

// TestEnvironmentRefusesYAMLValues proves the reason the environment carries
// only paxsetup's own constants: the registry reads each value as YAML.
func TestEnvironmentRefusesYAMLValues(t *testing.T) {
	for _, v := range []string{"true", "123", "null", "a: b", "#x", "'q'", "[a]"} {
		if err := envSafe(v); err == nil {
			t.Errorf("envSafe(%q) accepted a value the registry would not read back as it is", v)
		}
	}
	for _, v := range []string{"basic-realm", "/auth/htpasswd-basic", "info", "inmemory"} {
		if err := envSafe(v); err != nil {
			t.Errorf("envSafe(%q): %v", v, err)
		}
	}
}

// FuzzRegistryValues feeds operator-typed values to the config renderer:
// each either reaches the registry's parser exactly as typed, or is refused
// with an error naming its flag.
func FuzzRegistryValues(f *testing.F) {
	seeds := [][6]string{
		{"registry.example.com", "ops@example.com", "basic-realm", "packs", "/registry", "https://minio.example.com:9000"},
		{"a.b", "o'brien@example.com", `Packs "quoted"`, "my.bucket-1", "/it's/a path", "http://[::1]:9000"},
		{"registry.example.com\n", "ops@example.com\nx: y", "line\nbreak", "pa\ncks", "/a\n/b", "https://x\n"},
		{"#comment.example.com", "#ops@example.com", "# realm", "#packs", "/#/x", "https://h/#frag"},
		{"key: value", "a: b@example.com", "realm: value", "a: b", "/a: b", "https://h:1/a: b"},
		{"{}", "{}@example.com", "{a: [b]}", "{}", "/{}", "https://{}"},
		{"ünïcödé.example", "ü@exämple.com", "Régistre ✓ 🔑", "bücket", "/pfad/ü/🔑", "https://xn--bcher-kva.example"},
		{"10.0.0.1", "ops@[10.0.0.1]", "", "10.0.0.1", "", "ftp://h"},
		{"-", "\"q\"@example.com", "\\", "--", "/..", "https://u:p@h"},
		{"true.example.com", "null@example.com", "yes", "yes", "/~", "https://h:99999"},
		{"*.example.com", "a@b", "\t", "aa", "//", "https://h?x=1"},
		{"x.example.com", "a@b.c", " ", "a-.b", "/\u2028", "https://h\u0085"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5])
	}
	f.Fuzz(func(t *testing.T, host, email, realm, bucket, rootdir, endpoint string) {
		good := func() Registry {
			return Registry{
				TLS:         TLSLetsEncrypt,
				LetsEncrypt: LetsEncrypt{Hosts: []string{"registry.example.com"}, Email: "ops@example.com"},
				Storage:     Storage{Driver: StorageS3, S3: S3{Bucket: "packs", Region: "eu-west-1"}},
			}
		}
		// Each value is tried alone next to good ones, so a refusal of one
		// never hides what the others would have done.
		fields := []struct {
			name  string
			value string
			set   func(*Registry, string)
			read  func(*configuration.Configuration) any
			want  any
		}{
			{"host", host, func(r *Registry, v string) { r.LetsEncrypt.Hosts = []string{v} },
				func(c *configuration.Configuration) any { return c.HTTP.TLS.LetsEncrypt.Hosts }, []string{host}},
			{"email", email, func(r *Registry, v string) { r.LetsEncrypt.Email = v },
				func(c *configuration.Configuration) any { return c.HTTP.TLS.LetsEncrypt.Email }, email},
			{"realm", realm, func(r *Registry, v string) { r.Realm = v },
				func(c *configuration.Configuration) any { return c.Auth["htpasswd"]["realm"] }, Registry{Realm: realm}.realm()},
			{"bucket", bucket, func(r *Registry, v string) { r.Storage.S3.Bucket = v },
				func(c *configuration.Configuration) any { return c.Storage.Parameters()["bucket"] }, bucket},
			{"rootdirectory", rootdir, func(r *Registry, v string) { r.Storage.S3.RootDirectory = v },
				func(c *configuration.Configuration) any { return c.Storage.Parameters()["rootdirectory"] }, nilIfEmpty(rootdir)},
			{"regionendpoint", endpoint, func(r *Registry, v string) { r.Storage.S3.RegionEndpoint = v },
				func(c *configuration.Configuration) any { return c.Storage.Parameters()["regionendpoint"] }, nilIfEmpty(endpoint)},
			{"directoryurl", endpoint, func(r *Registry, v string) { r.LetsEncrypt.DirectoryURL = v },
				func(c *configuration.Configuration) any { return c.HTTP.TLS.LetsEncrypt.DirectoryURL }, endpoint},
		}
		for _, fl := range fields {
			r := good()
			fl.set(&r, fl.value)
			out, err := r.ConfigYAML()
			if err != nil {
				var ve *ValueError
				if !errors.As(err, &ve) || ve.Flag == "" || !strings.HasPrefix(err.Error(), "--"+ve.Flag+": ") || len(ve.Err.Error()) < 10 {
					t.Fatalf("%s %q refused without naming the flag and the reason: %v", fl.name, fl.value, err)
				}
				continue
			}
			cfg, err := configuration.Parse(bytes.NewReader(out))
			if err != nil {
				t.Fatalf("%s %q accepted, but the registry cannot parse the config: %v\n%s", fl.name, fl.value, err, out)
			}
			if got := fl.read(cfg); !reflect.DeepEqual(got, fl.want) {
				t.Errorf("%s: the registry read %#v, want %#v\n%s", fl.name, got, fl.want, out)
			}
		}
	})
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// TestSecurityHeadersMatchImageDefault keeps the headers copied into config
// files equal to the image's built-in config.
func TestSecurityHeadersMatchImageDefault(t *testing.T) {
	cfg := parseAsRegistry(t, Container{})
	if !reflect.DeepEqual(cfg.HTTP.Headers, http.Header(SecurityHeaders)) {
		t.Errorf("image default headers %v, SecurityHeaders %v", cfg.HTTP.Headers, SecurityHeaders)
	}
	if got := fmt.Sprint(cfg.Storage.Parameters()["rootdirectory"]); got != StorageRoot {
		t.Errorf("image default rootdirectory %s, StorageRoot %s", got, StorageRoot)
	}
}

func TestPaletteRenderModes(t *testing.T) {
	base := Palette{Endpoint: "https://registry.example.com:443", HostPort: "registry.example.com:443", AdminUser: "admin",
		ChainFile: "/srv/pax/certs/chain.pem", CAFile: "/srv/pax/certs/ca.crt"}
	tests := []struct {
		tls      TLS
		want     []string
		wantNone []string
	}{
		{TLSCertificate, []string{"upload /srv/pax/certs/chain.pem", "sudo paxsetup trust\n", "/etc/docker/certs.d/NAME:PORT/ca.crt", "e.g. registry.example.com:443"}, []string{"Insecure"}},
		{TLSLetsEncrypt, []string{"publicly trusted", "spectro registry login registry.example.com:443"}, []string{"chain.pem", "ca.crt", "--insecure"}},
		{TLSNone, []string{"Insecure Skip TLS Verify", "login --insecure registry.example.com:443", "insecure-registries"}, []string{"chain.pem", "ca.crt"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.tls), func(t *testing.T) {
			p := base
			p.TLS = tt.tls
			out, err := p.Render()
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.wantNone {
				if strings.Contains(out, w) {
					t.Errorf("has %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestACMECacheDir: one cache folder per ACME directory, since autocert
// serves a cached certificate whatever CA issued it; Let's Encrypt keeps
// the folder setups have always used.
func TestACMECacheDir(t *testing.T) {
	le := ACMECacheDir("")
	if le != LetsEncryptCache || ACMECacheDir("https://acme-v02.api.letsencrypt.org/directory") != le {
		t.Errorf("Let's Encrypt's cache = %q, want %s for the default and its URL", le, LetsEncryptCache)
	}
	a, b := ACMECacheDir("https://pebble:14000/dir"), ACMECacheDir("https://pebble:14000/dir2")
	if a == b || a == le || b == le {
		t.Errorf("two directories share a cache: %q, %q (Let's Encrypt %q)", a, b, le)
	}
	if a != ACMECacheDir("https://pebble:14000/dir") {
		t.Error("the cache of one directory changes between calls")
	}
	hostile := ACMECacheDir("https://acme.example.com:8443/a/../../b?x=1#y")
	if !strings.HasPrefix(hostile, ACMECacheRoot+"/acme.example.com-") || strings.Contains(strings.TrimPrefix(hostile, ACMECacheRoot+"/"), "/") {
		t.Errorf("cache %q is not one folder under %s", hostile, ACMECacheRoot)
	}
}
