package render

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"
)

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
	Redirect   *redirectConfig   `yaml:"redirect,omitempty"`
}

type redirectConfig struct {
	Disable bool `yaml:"disable"`
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
	Secret  string              `yaml:"secret,omitempty"`
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
		HTTP:    httpSection{Addr: fmt.Sprintf(":%d", ContainerPort), Secret: r.HTTPSecret, Headers: SecurityHeaders},
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
		c.Storage.Redirect = &redirectConfig{Disable: !s.Redirect}
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
