package render

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/paxsetup/paxsetup/internal/config"
)

// More paths inside the registry container.
const (
	// ContainerConfigDir is where the config folder is mounted, the path the
	// vendor's Let's Encrypt procedure uses.
	ContainerConfigDir = "/etc/spectropaxconfig"
	// ConfigFile is the config the registry is told to serve in the modes
	// that use a config file.
	ConfigFile = ContainerConfigDir + "/myconfig.yml"
	// ConfigFileName is ConfigFile's name in the setup's config/ folder.
	ConfigFileName = "myconfig.yml"
	// LetsEncryptCache is the ACME cache: the account key and the issued
	// certificates. Despite its key's name (cachefile) the registry uses it
	// as a folder (autocert.DirCache). It lives under the /data mount, which
	// is writable, survives a container's replacement and is never deleted,
	// because Let's Encrypt rate-limits a host that asks again after every
	// restart (five duplicate certificates a week).
	LetsEncryptCache = ContainerDataDir + "/letsencrypt"
	// ACMECacheRoot holds the caches of ACME directories other than Let's
	// Encrypt's, one folder each (ACMECacheDir).
	ACMECacheRoot = ContainerDataDir + "/acme"
	// ACMECAFileName is the ACME directory's CA (--acme-ca-file) in the
	// setup's config/ folder, and ContainerACMECAFile where the registry
	// reads it.
	ACMECAFileName      = "acme-ca.crt"
	ContainerACMECAFile = ContainerConfigDir + "/" + ACMECAFileName
	// ContainerCertFile and ContainerKeyFile are what the registry serves
	// in the own-certificate modes.
	ContainerCertFile = ContainerCertsDir + "/tls.crt"
	ContainerKeyFile  = ContainerCertsDir + "/tls.key"
)

// TLS says how the registry gets its certificate.
type TLS string

// The registry's TLS setups.
const (
	// TLSCertificate serves the certificate in /certs: paxsetup's own CA
	// (selfsigned) or the operator's (custom).
	TLSCertificate TLS = "certificate"
	// TLSLetsEncrypt has the registry obtain its certificate from an ACME
	// CA through the TLS-ALPN-01 challenge on its own TLS port.
	TLSLetsEncrypt TLS = "letsencrypt"
	// TLSNone is plain HTTP, for labs.
	TLSNone TLS = "none"
)

// Storage drivers paxsetup configures.
const (
	StorageFilesystem = "filesystem"
	StorageInMemory   = "inmemory"
	StorageS3         = "s3"
)

// StorageDrivers lists the drivers, default first, for help and messages.
var StorageDrivers = []string{StorageFilesystem, StorageInMemory, StorageS3}

// LogLevels are the levels the registry accepts (configuration.Loglevel).
var LogLevels = []string{"error", "warn", "info", "debug"}

// DefaultLogLevel is the registry's own default.
const DefaultLogLevel = "info"

// SecurityHeaders are the response headers of the image's built-in config,
// repeated in every config file paxsetup writes because a config passed to
// `serve` replaces the built-in one instead of adding to it.
var SecurityHeaders = map[string][]string{
	"X-Content-Type-Options":    {"nosniff"},
	"Strict-Transport-Security": {"max-age=63072000; includeSubdomains; preload"},
	"X-Frame-Options":           {"DENY"},
}

// Registry is everything paxsetup decides about the registry's own
// configuration. Every value an operator typed is checked by Validate and
// reaches the registry unchanged, through a marshalled YAML file.
type Registry struct {
	TLS TLS
	// LetsEncrypt is used with TLSLetsEncrypt.
	LetsEncrypt LetsEncrypt
	// LogLevel is one of LogLevels; empty means DefaultLogLevel.
	LogLevel string
	// Realm is the basic-auth realm; empty means the image's default.
	Realm   string
	Storage Storage
	// HTTPSecret signs the state of uploads in progress (http.secret).
	// Registries that share S3 storage behind a load balancer need the
	// same one, or an upload begun on one fails on the next; empty lets
	// each registry pick its own at start.
	HTTPSecret string
}

// LetsEncrypt are the ACME settings.
type LetsEncrypt struct {
	// Hosts are the DNS names the registry may obtain certificates for;
	// the first is the registry's host.
	Hosts []string
	// Email is the ACME account's contact.
	Email string
	// DirectoryURL is an ACME directory other than Let's Encrypt's
	// production one; empty means Let's Encrypt.
	DirectoryURL string
}

// Storage is where packs are kept.
type Storage struct {
	// Driver is one of StorageDrivers; empty means filesystem.
	Driver string
	S3     S3
}

// UsesConfigFile reports whether the registry must be given a config file
// rather than the REGISTRY_* environment over the image's built-in config.
//
// The environment is kept where it can say everything, because it is how
// the vendor documents the own-certificate setup, it leaves the image's
// built-in config (and whatever a vendor release adds to it) in force, and
// `docker inspect` shows the whole setup. It cannot carry operator-typed
// values or secrets: the registry parses every REGISTRY_* value as YAML
// (configuration/parser.go), so a bucket named "true" becomes a boolean and
// "a: b" a map, and the environment of a container is shown to anyone who
// may run `docker inspect`. So Let's Encrypt (host, email, ACME URL), S3
// (bucket, endpoint, keys) and a non-default realm use a marshalled file
// instead, mode 0600, mounted read-only: exact values, and no secret in the
// container's metadata.
func (r Registry) UsesConfigFile() bool {
	return r.TLS == TLSLetsEncrypt || r.storageDriver() == StorageS3 || r.HTTPSecret != "" || (r.Realm != "" && r.Realm != Realm)
}

func (r Registry) storageDriver() string {
	if r.Storage.Driver == "" {
		return StorageFilesystem
	}
	return r.Storage.Driver
}

func (r Registry) logLevel() string {
	if r.LogLevel == "" {
		return DefaultLogLevel
	}
	return r.LogLevel
}

func (r Registry) realm() string {
	if r.Realm == "" {
		return Realm
	}
	return r.Realm
}

// ValueError is a value the registry cannot be given; Flag names the
// paxsetup flag that sets it.
type ValueError struct {
	Flag string
	Err  error
}

func (e *ValueError) Error() string { return "--" + e.Flag + ": " + e.Err.Error() }
func (e *ValueError) Unwrap() error { return e.Err }

func valueErr(flag, format string, args ...any) error {
	return &ValueError{Flag: flag, Err: fmt.Errorf(format, args...)}
}

// Validate checks every value against what the registry and the services
// behind it accept, so a mistake is reported by paxsetup, naming its flag,
// rather than by a registry that does not start.
func (r Registry) Validate() error {
	switch r.TLS {
	case TLSCertificate, TLSNone:
	case TLSLetsEncrypt:
		if err := r.LetsEncrypt.validate(); err != nil {
			return err
		}
	default:
		return valueErr("mode", "unknown TLS setup %q", r.TLS)
	}
	if !slices.Contains(LogLevels, r.logLevel()) {
		return valueErr("log-level", "%q is not a registry log level: use %s", r.LogLevel, strings.Join(LogLevels, ", "))
	}
	if err := ValidateRealm(r.realm()); err != nil {
		return &ValueError{Flag: "realm", Err: err}
	}
	if err := printable(r.HTTPSecret); err != nil {
		return fmt.Errorf("the http secret %w", err)
	}
	switch r.storageDriver() {
	case StorageFilesystem, StorageInMemory:
	case StorageS3:
		if err := r.Storage.S3.validate(); err != nil {
			return err
		}
	default:
		return valueErr("storage", "unknown storage %q: use %s", r.Storage.Driver, strings.Join(StorageDrivers, ", "))
	}
	return nil
}

func (le LetsEncrypt) validate() error {
	if len(le.Hosts) == 0 {
		return valueErr("host", "Let's Encrypt needs the registry's DNS name")
	}
	for i, h := range le.Hosts {
		flag := "host"
		if i > 0 {
			flag = "san"
		}
		if err := ValidateACMEHost(h); err != nil {
			return &ValueError{Flag: flag, Err: err}
		}
	}
	if err := ValidateEmail(le.Email); err != nil {
		return &ValueError{Flag: "email", Err: err}
	}
	if le.DirectoryURL != "" {
		if err := ValidateServiceURL(le.DirectoryURL, false); err != nil {
			return &ValueError{Flag: "acme-directory", Err: err}
		}
	}
	return nil
}

// Environ returns the REGISTRY_* variables that turn the image's built-in
// config into r, for the setups that need no config file (UsesConfigFile).
// Every value is one paxsetup chose from a fixed set, and each is checked
// to read back unchanged when the registry parses it as YAML.
func (r Registry) Environ() ([]string, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if r.UsesConfigFile() {
		return nil, errors.New("this registry setup needs a config file: its values cannot go through REGISTRY_* variables unchanged")
	}
	env := []string{
		"REGISTRY_LOG_LEVEL=" + r.logLevel(),
		"REGISTRY_AUTH=htpasswd",
		"REGISTRY_AUTH_HTPASSWD_REALM=" + r.realm(),
		"REGISTRY_AUTH_HTPASSWD_PATH=" + HtpasswdPath,
	}
	if r.TLS == TLSCertificate {
		env = append(env,
			"REGISTRY_HTTP_TLS_CERTIFICATE="+ContainerCertFile,
			"REGISTRY_HTTP_TLS_KEY="+ContainerKeyFile)
	}
	switch r.storageDriver() {
	case StorageFilesystem:
		env = append(env, "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY="+StorageRoot)
	case StorageInMemory:
		// Replaces the built-in storage section as a whole; a
		// REGISTRY_STORAGE_FILESYSTEM_* variable next to it would add a
		// second driver, which the registry would pick at random.
		env = append(env, "REGISTRY_STORAGE=inmemory")
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if err := envSafe(v); err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	return env, nil
}

// envSafe checks that the registry, which parses each REGISTRY_* value as
// YAML, reads v back as the same string.
func envSafe(v string) error {
	var got any
	if err := yaml.Unmarshal([]byte(v), &got); err != nil {
		return fmt.Errorf("value %q is not plain YAML: %v", v, err)
	}
	if s, ok := got.(string); !ok || s != v {
		return fmt.Errorf("value %q would be read by the registry as %#v", v, got)
	}
	return nil
}

// Container is how the registry container is told its configuration.
type Container struct {
	// Env are REGISTRY_* variables; empty with a config file.
	Env []string
	// Cmd replaces the image's command; empty keeps its built-in config.
	Cmd []string
	// Config is the content of config/myconfig.yml, mounted at
	// ContainerConfigDir; nil when no file is used.
	Config []byte
}

// Render returns the container settings for r: the environment over the
// built-in config, or a config file served with `serve`.
func (r Registry) Render() (Container, error) {
	if r.UsesConfigFile() {
		cfg, err := r.ConfigYAML()
		if err != nil {
			return Container{}, err
		}
		return Container{Cmd: []string{"serve", ConfigFile}, Config: cfg}, nil
	}
	env, err := r.Environ()
	if err != nil {
		return Container{}, err
	}
	return Container{Env: env}, nil
}

// FromAnswers is the registry an init run's answers describe. The S3 keys
// are not answers (they are never saved): the caller adds them.
func FromAnswers(a config.Answers) Registry {
	r := Registry{LogLevel: a.LogLevel, Storage: Storage{Driver: a.Storage}}
	switch a.Mode {
	case config.ModeLetsEncrypt:
		r.TLS = TLSLetsEncrypt
		r.LetsEncrypt = LetsEncrypt{
			Hosts:        append([]string{a.Host}, a.SANs...),
			Email:        a.Email,
			DirectoryURL: a.ACMEDirectory,
		}
	case config.ModeHTTP:
		r.TLS = TLSNone
	default:
		r.TLS = TLSCertificate
	}
	if a.S3 != nil {
		r.Storage.S3 = S3{
			Region:         a.S3.Region,
			Bucket:         a.S3.Bucket,
			RootDirectory:  a.S3.RootDirectory,
			RegionEndpoint: a.S3.RegionEndpoint,
			Encrypt:        a.S3.Encrypt,
			Insecure:       a.S3.Secure != nil && !*a.S3.Secure,
			Redirect:       a.S3.Redirect,
		}
	}
	return r
}
