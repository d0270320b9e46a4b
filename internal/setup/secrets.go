package setup

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"go.yaml.in/yaml/v3"
)

// Secrets are the secrets a setup keeps in its registry config file
// (config/myconfig.yml, mode 0600) and nowhere else: not in paxsetup.yaml,
// not in the container's environment.
type Secrets struct {
	S3Keys S3Keys
	// HTTPSecret is the registry's http.secret, kept with S3 storage.
	HTTPSecret string
}

// SavedSecrets reads the secrets back from the config file of the setup in
// dir; a setup without one has none.
func SavedSecrets(dir string) (Secrets, error) {
	path := Layout{Dir: dir}.ConfigFile()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Secrets{}, nil
	}
	if err != nil {
		return Secrets{}, err
	}
	var c struct {
		Storage struct {
			S3 struct {
				AccessKey string `yaml:"accesskey"`
				SecretKey string `yaml:"secretkey"`
			} `yaml:"s3"`
		} `yaml:"storage"`
		HTTP struct {
			Secret string `yaml:"secret"`
		} `yaml:"http"`
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		return Secrets{}, fmt.Errorf("read the secrets in %s: %w (remove the file and give the S3 keys again)", path, err)
	}
	return Secrets{
		S3Keys:     S3Keys{AccessKey: c.Storage.S3.AccessKey, SecretKey: c.Storage.S3.SecretKey},
		HTTPSecret: c.HTTP.Secret,
	}, nil
}

// httpSecretFor is the http secret of a setup with S3 storage: the one this
// run was given (a node joining from a bundle), else the one the setup
// already has, else a new one. It is made once and then kept, because every
// registry that shares the bucket behind a load balancer must sign upload
// state with the same secret.
func httpSecretFor(opts Options, saved Secrets) (string, error) {
	if opts.HTTPSecret != "" {
		return opts.HTTPSecret, nil
	}
	if saved.HTTPSecret != "" {
		return saved.HTTPSecret, nil
	}
	return NewHTTPSecret()
}

// NewHTTPSecret makes a random http secret: 32 bytes from the system's
// CSPRNG, as URL-safe base64.
func NewHTTPSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make the http secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
