package templates

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/paxsetup/paxsetup/internal/certgen"
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

// DefaultS3Region is the region written when only an endpoint is given: the
// S3 client signs every request with a region, and us-east-1 is both the
// AWS SDK's default and MinIO's.
const DefaultS3Region = "us-east-1"

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

// S3 is S3 or MinIO storage.
type S3 struct {
	Region, Bucket, RootDirectory string
	// RegionEndpoint is the URL of an S3-compatible service such as MinIO;
	// empty means AWS.
	RegionEndpoint string
	Encrypt        bool
	// Insecure turns off TLS to the endpoint (the driver's secure: false).
	// The zero value keeps TLS on.
	Insecure bool
	// AccessKey and SecretKey are secrets: they only ever go into the 0600
	// config file. Both empty means the driver's own credential chain (an
	// instance role, say).
	AccessKey, SecretKey string
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
	return r.TLS == TLSLetsEncrypt || r.storageDriver() == StorageS3 || (r.Realm != "" && r.Realm != Realm)
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

func (s S3) validate() error {
	if err := ValidateBucket(s.Bucket); err != nil {
		return &ValueError{Flag: "s3-bucket", Err: err}
	}
	if s.Region == "" && s.RegionEndpoint == "" {
		return valueErr("s3-region", "no region: give the bucket's AWS region, e.g. --s3-region eu-west-1 (or --s3-regionendpoint for MinIO)")
	}
	if s.Region != "" {
		if err := ValidateRegion(s.Region); err != nil {
			return &ValueError{Flag: "s3-region", Err: err}
		}
	}
	if s.RegionEndpoint != "" {
		if err := ValidateServiceURL(s.RegionEndpoint, true); err != nil {
			return &ValueError{Flag: "s3-regionendpoint", Err: err}
		}
	}
	if s.RootDirectory != "" {
		if err := ValidateRootDirectory(s.RootDirectory); err != nil {
			return &ValueError{Flag: "s3-rootdirectory", Err: err}
		}
	}
	if (s.AccessKey == "") != (s.SecretKey == "") {
		return valueErr("s3-credentials-file", "only one of the access key and the secret key is given: give both, or neither to use the host's own AWS credentials (an instance role)")
	}
	for name, v := range map[string]string{"access key": s.AccessKey, "secret key": s.SecretKey} {
		if err := printable(v); err != nil {
			return valueErr("s3-credentials-file", "the S3 %s %w", name, err)
		}
	}
	return nil
}

// printable refuses what cannot be typed into a form or a file: invalid
// UTF-8, control characters (newlines included) and other non-printable runes.
func printable(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("is not valid UTF-8")
	}
	for _, r := range s {
		if !unicode.IsPrint(r) && r != ' ' {
			return fmt.Errorf("contains the non-printable character %U", r)
		}
	}
	return nil
}

// letsEncryptDirectory is the directory the registry uses when none is
// configured (autocert's default, acme.LetsEncryptURL).
const letsEncryptDirectory = "https://acme-v02.api.letsencrypt.org/directory"

// ACMECacheDir is the registry's ACME cache for a directory URL (empty:
// Let's Encrypt's). autocert serves a cached certificate without looking at
// its issuer, so a cache shared between two CAs would keep serving the first
// CA's certificate after a switch: each directory gets its own folder, named
// by its host and a digest of the whole URL. Let's Encrypt keeps the folder
// earlier setups used, so their account and certificate stay in use.
func ACMECacheDir(directoryURL string) string {
	if directoryURL == "" || directoryURL == letsEncryptDirectory {
		return LetsEncryptCache
	}
	host := "directory"
	if u, err := url.Parse(directoryURL); err == nil && u.Hostname() != "" {
		host = safeName.ReplaceAllString(u.Hostname(), "_")
	}
	sum := sha256.Sum256([]byte(directoryURL))
	return ACMECacheRoot + "/" + host + "-" + hex.EncodeToString(sum[:6])
}

// safeName matches what may not appear in a folder name made from a host.
var safeName = regexp.MustCompile(`[^A-Za-z0-9.-]`)

// ValidateACMEHost checks a name Let's Encrypt can issue for: one DNS name,
// no IP address (Let's Encrypt does not issue for IPs) and no wildcard (the
// registry answers only the TLS-ALPN-01 challenge, and wildcards need DNS-01).
func ValidateACMEHost(host string) error {
	if net.ParseIP(host) != nil {
		return fmt.Errorf("%q is an IP address: Let's Encrypt issues certificates only for DNS names; give the name that resolves to this host, or use --mode selfsigned or custom", host)
	}
	if strings.Contains(host, "*") {
		return fmt.Errorf("%q is a wildcard: the registry obtains certificates through the TLS-ALPN-01 challenge, which cannot prove a wildcard; list each name", host)
	}
	if err := certgen.ValidateHost(host); err != nil {
		return err
	}
	if !strings.Contains(host, ".") {
		return fmt.Errorf("%q is not a fully qualified name: Let's Encrypt needs a public DNS name such as registry.example.com", host)
	}
	return nil
}

// ValidateEmail checks an ACME contact: a bare address (no display name, no
// angle brackets) whose domain is a DNS name, as Let's Encrypt requires.
func ValidateEmail(email string) error {
	if email == "" {
		return errors.New("no email: Let's Encrypt needs a contact address for expiry and policy notices, e.g. --email ops@example.com")
	}
	bad := func(why string) error {
		return fmt.Errorf("%q is not a valid email address: %s; give a plain address such as ops@example.com", email, why)
	}
	if err := printable(email); err != nil {
		return bad("it " + err.Error())
	}
	if len(email) > 254 {
		return bad("it is longer than 254 characters")
	}
	addr, err := mail.ParseAddress(email)
	if err != nil {
		return bad(strings.TrimPrefix(err.Error(), "mail: "))
	}
	if addr.Address != email || addr.Name != "" {
		return bad("give the address alone, without a name, quotes or angle brackets")
	}
	local, domain, _ := strings.Cut(email, "@")
	if local == "" || strings.ContainsAny(local, "\" ") {
		return bad("the part before @ must be a plain mailbox name")
	}
	if net.ParseIP(strings.Trim(domain, "[]")) != nil {
		return bad("the domain is an IP address")
	}
	if err := certgen.ValidateHost(domain); err != nil || !strings.Contains(domain, ".") {
		return bad(fmt.Sprintf("the domain %q is not a DNS name", domain))
	}
	return nil
}

// ValidateRealm checks a basic-auth realm. The registry puts it in the
// WWW-Authenticate header as a quoted string, so quotes and backslashes
// (which clients unescape differently) and control characters are refused.
func ValidateRealm(realm string) error {
	if realm == "" {
		return errors.New("the realm is empty")
	}
	if err := printable(realm); err != nil {
		return fmt.Errorf("realm %q %w", realm, err)
	}
	if strings.ContainsAny(realm, `"\`) {
		return fmt.Errorf("realm %q contains a quote or backslash, which browsers show differently; remove it", realm)
	}
	return nil
}

// ValidateBucket checks an S3 bucket name against the AWS naming rules,
// which MinIO applies too: 3 to 63 lowercase letters, digits, dots and
// hyphens, starting and ending with a letter or digit, not shaped like an IP.
func ValidateBucket(bucket string) error {
	if bucket == "" {
		return errors.New("no bucket: give the S3 bucket that holds the packs, e.g. --s3-bucket packs")
	}
	bad := func(why string) error {
		return fmt.Errorf("%q is not a valid S3 bucket name: %s", bucket, why)
	}
	if len(bucket) < 3 || len(bucket) > 63 {
		return bad(fmt.Sprintf("it is %d characters long (3 to 63)", len(bucket)))
	}
	for _, r := range bucket {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return bad(fmt.Sprintf("%q is not allowed (use lowercase letters, digits, '.' and '-')", r))
		}
	}
	if !isAlnum(bucket[0]) || !isAlnum(bucket[len(bucket)-1]) {
		return bad("it must start and end with a letter or digit")
	}
	if strings.Contains(bucket, "..") {
		return bad("it has two dots in a row")
	}
	if net.ParseIP(bucket) != nil {
		return bad("it is shaped like an IP address")
	}
	return nil
}

func isAlnum(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }

// ValidateRegion checks an AWS region name such as eu-west-1. The registry's
// driver checks AWS regions against its own list, which differs between
// releases, so only the shape is checked here.
func ValidateRegion(region string) error {
	if len(region) > 64 {
		return fmt.Errorf("region %.20q... is %d characters long; AWS regions look like eu-west-1", region, len(region))
	}
	for _, r := range region {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("region %q contains %q; AWS regions are lowercase letters, digits and hyphens, like eu-west-1", region, r)
		}
	}
	if region == "" || region[0] == '-' || region[len(region)-1] == '-' {
		return fmt.Errorf("region %q is not a region name like eu-west-1", region)
	}
	return nil
}

// ValidateRootDirectory checks the S3 key prefix for the packs: an absolute
// path such as /registry, without control characters or "." and ".."
// segments, which S3 would keep as literal key parts.
func ValidateRootDirectory(dir string) error {
	if !strings.HasPrefix(dir, "/") {
		return fmt.Errorf("%q must start with /, e.g. /registry", dir)
	}
	if err := printable(dir); err != nil {
		return fmt.Errorf("%q %w", dir, err)
	}
	if len(dir) > 512 {
		return fmt.Errorf("%.20q... is %d bytes long; keep the prefix under 512", dir, len(dir))
	}
	for seg := range strings.SplitSeq(strings.Trim(dir, "/"), "/") {
		if seg == "." || seg == ".." {
			return fmt.Errorf("%q has a %q segment; write the path without it", dir, seg)
		}
	}
	if strings.Contains(dir, "//") {
		return fmt.Errorf("%q has an empty segment (//)", dir)
	}
	return nil
}

// ValidateServiceURL checks the URL of a service the registry calls (an S3
// endpoint, an ACME directory): http or https with a host, and no user or
// password in it, since secrets go in files, never in a URL that is printed.
// Plain http is allowed only where allowHTTP says so (a MinIO in the lab).
func ValidateServiceURL(raw string, allowHTTP bool) error {
	if err := printable(raw); err != nil || strings.Contains(raw, " ") {
		return fmt.Errorf("%q is not a URL: it contains spaces or control characters", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %v", raw, err)
	}
	schemes := "https"
	if allowHTTP {
		schemes = "http or https"
	}
	if u.Scheme != "https" && !(allowHTTP && u.Scheme == "http") {
		return fmt.Errorf("%q must be an %s URL, e.g. https://minio.example.com:9000", raw, schemes)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%q has no host", raw)
	}
	if u.User != nil {
		return fmt.Errorf("%q holds a user name or password: remove it (S3 keys go in --s3-credentials-file)", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "#") || strings.HasSuffix(raw, "?") {
		return fmt.Errorf("%q has a query or fragment: give the bare URL", raw)
	}
	return nil
}

// The config file's shape: the registry's own keys, in the order of the
// image's built-in config, so the two read alike.
type configFile struct {
	Version string        `yaml:"version"`
	Log     logSection    `yaml:"log"`
	Storage storageConfig `yaml:"storage"`
	HTTP    httpSection   `yaml:"http"`
	Auth    authSection   `yaml:"auth"`
}

type logSection struct {
	Level  string            `yaml:"level"`
	Fields map[string]string `yaml:"fields"`
}

type storageConfig struct {
	Cache      map[string]string `yaml:"cache,omitempty"`
	Filesystem *filesystemConfig `yaml:"filesystem,omitempty"`
	InMemory   *struct{}         `yaml:"inmemory,omitempty"`
	S3         *s3Config         `yaml:"s3,omitempty"`
}

type filesystemConfig struct {
	RootDirectory string `yaml:"rootdirectory"`
}

type s3Config struct {
	Region         string `yaml:"region"`
	Bucket         string `yaml:"bucket"`
	RootDirectory  string `yaml:"rootdirectory,omitempty"`
	RegionEndpoint string `yaml:"regionendpoint,omitempty"`
	// ForcePathStyle is set with an endpoint: MinIO serves buckets as
	// paths unless it is given a domain, and distribution 2.x forced path
	// style whenever an endpoint was set, so older images behave the same.
	ForcePathStyle bool   `yaml:"forcepathstyle,omitempty"`
	Encrypt        bool   `yaml:"encrypt"`
	Secure         bool   `yaml:"secure"`
	AccessKey      string `yaml:"accesskey,omitempty"`
	SecretKey      string `yaml:"secretkey,omitempty"`
}

type httpSection struct {
	Addr    string              `yaml:"addr"`
	Headers map[string][]string `yaml:"headers"`
	TLS     *tlsSection         `yaml:"tls,omitempty"`
}

type tlsSection struct {
	Certificate string             `yaml:"certificate,omitempty"`
	Key         string             `yaml:"key,omitempty"`
	LetsEncrypt *letsEncryptConfig `yaml:"letsencrypt,omitempty"`
}

type letsEncryptConfig struct {
	CacheFile    string   `yaml:"cachefile"`
	Email        string   `yaml:"email"`
	Hosts        []string `yaml:"hosts"`
	DirectoryURL string   `yaml:"directoryurl,omitempty"`
}

type authSection struct {
	Htpasswd htpasswdConfig `yaml:"htpasswd"`
}

type htpasswdConfig struct {
	Realm string `yaml:"realm"`
	Path  string `yaml:"path"`
}

// configHeader opens every config file: it says where the file comes from
// and that editing it is pointless.
const configHeader = "# Registry config written by paxsetup init; it is rewritten on every run.\n" +
	"# Change the setup with paxsetup init flags instead. Mode 0600: it may hold S3 keys.\n"

// ConfigYAML returns the registry config file for r. Values are marshalled,
// never pasted into text, so whatever passed Validate is read back by the
// registry exactly as given.
func (r Registry) ConfigYAML() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	c := configFile{
		Version: "0.1",
		Log:     logSection{Level: r.logLevel(), Fields: map[string]string{"service": "registry"}},
		HTTP:    httpSection{Addr: fmt.Sprintf(":%d", ContainerPort), Headers: SecurityHeaders},
		Auth:    authSection{Htpasswd: htpasswdConfig{Realm: r.realm(), Path: HtpasswdPath}},
	}
	switch r.storageDriver() {
	case StorageFilesystem:
		c.Storage.Cache = map[string]string{"blobdescriptor": "inmemory"}
		c.Storage.Filesystem = &filesystemConfig{RootDirectory: StorageRoot}
	case StorageInMemory:
		c.Storage.InMemory = &struct{}{}
	case StorageS3:
		s := r.Storage.S3
		region := s.Region
		if region == "" {
			region = DefaultS3Region
		}
		c.Storage.Cache = map[string]string{"blobdescriptor": "inmemory"}
		c.Storage.S3 = &s3Config{
			Region: region, Bucket: s.Bucket, RootDirectory: s.RootDirectory,
			RegionEndpoint: s.RegionEndpoint, ForcePathStyle: s.RegionEndpoint != "",
			Encrypt: s.Encrypt, Secure: !s.Insecure,
			AccessKey: s.AccessKey, SecretKey: s.SecretKey,
		}
	}
	switch r.TLS {
	case TLSCertificate:
		c.HTTP.TLS = &tlsSection{Certificate: ContainerCertFile, Key: ContainerKeyFile}
	case TLSLetsEncrypt:
		c.HTTP.TLS = &tlsSection{LetsEncrypt: &letsEncryptConfig{
			CacheFile:    ACMECacheDir(r.LetsEncrypt.DirectoryURL),
			Email:        r.LetsEncrypt.Email,
			Hosts:        r.LetsEncrypt.Hosts,
			DirectoryURL: r.LetsEncrypt.DirectoryURL,
		}}
	}
	var b bytes.Buffer
	b.WriteString(configHeader)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("encode the registry config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode the registry config: %w", err)
	}
	return b.Bytes(), nil
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
		}
	}
	return r
}
