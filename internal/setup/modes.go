package setup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/fsutil"
	"github.com/paxsetup/paxsetup/internal/render"
	"github.com/paxsetup/paxsetup/internal/secretenv"
)

// S3Keys are the S3 access key pair. They reach only the 0600 config file.
type S3Keys struct {
	AccessKey, SecretKey string
}

// Environment variables that carry S3 keys into unattended runs.
const (
	EnvS3AccessKey = secretenv.S3AccessKey
	EnvS3SecretKey = secretenv.S3SecretKey
)

// ReadS3Keys takes the S3 keys from file when given, else from the
// environment (PAXSETUP_S3_ACCESS_KEY and PAXSETUP_S3_SECRET_KEY). The file
// is either an AWS shared credentials file with one profile or KEY=VALUE
// lines (aws_access_key_id and aws_secret_access_key, or the AWS_* variable
// names). No keys at all is not an error: the registry then uses the host's
// own AWS credentials, such as an instance role.
func ReadS3Keys(file string, getenv func(string) string) (S3Keys, error) {
	if file == "" {
		k := S3Keys{AccessKey: getenv(EnvS3AccessKey), SecretKey: getenv(EnvS3SecretKey)}
		if (k.AccessKey == "") != (k.SecretKey == "") {
			return S3Keys{}, &answers.FlagError{Flag: "s3-credentials-file", Err: fmt.Errorf("only one of %s and %s is set: set both", EnvS3AccessKey, EnvS3SecretKey)}
		}
		return k, nil
	}
	bad := func(format string, args ...any) error {
		return &answers.FlagError{Flag: "s3-credentials-file", Err: fmt.Errorf("%s: "+format, append([]any{file}, args...)...)}
	}
	data, err := fsutil.ReadRegularFile(file, fsutil.MaxSecretFile)
	if err != nil {
		return S3Keys{}, bad("cannot read it: %v", errors.Unwrap(err))
	}
	var k S3Keys
	profiles := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
			continue
		case strings.HasPrefix(line, "["):
			if profiles++; profiles > 1 {
				return S3Keys{}, bad("it holds more than one profile; give a file with only the registry's keys")
			}
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return S3Keys{}, bad("line %d is not KEY=VALUE", n)
		}
		key = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(key), "export "))
		value = strings.TrimSpace(value)
		switch key {
		case "aws_access_key_id", "accesskey":
			k.AccessKey = value
		case "aws_secret_access_key", "secretkey":
			k.SecretKey = value
		}
	}
	if k.AccessKey == "" || k.SecretKey == "" {
		return S3Keys{}, bad("it must hold both aws_access_key_id and aws_secret_access_key")
	}
	return k, nil
}

// registryFor is the registry the answers describe, with the secrets of
// this run: the S3 keys given now or, when none are, those the previous run
// wrote (`init --yes` replays a setup without the keys being given again),
// and with S3 storage the http secret the registries sharing the bucket
// must agree on (see httpSecretFor).
func registryFor(l Layout, opts Options) (render.Registry, error) {
	r := render.FromAnswers(opts.Answers)
	if r.Storage.Driver != render.StorageS3 {
		return r, nil
	}
	saved, err := SavedSecrets(l.Dir)
	if err != nil {
		return r, err
	}
	keys := opts.S3Keys
	// A joining node takes the bundle's keys, or none when the registry
	// uses the hosts' own AWS credentials.
	if keys == (S3Keys{}) && opts.Install == nil {
		keys = saved.S3Keys
	}
	r.Storage.S3.AccessKey, r.Storage.S3.SecretKey = keys.AccessKey, keys.SecretKey
	if r.HTTPSecret, err = httpSecretFor(opts, saved); err != nil {
		return r, err
	}
	return r, nil
}

// writeRegistryConfig writes config/myconfig.yml when the setup uses one,
// and removes a stale one (it may hold S3 keys) when it does not.
func writeRegistryConfig(l Layout, opts Options) error {
	r, err := registryFor(l, opts)
	if err != nil {
		return err
	}
	c, err := r.Render()
	if err != nil {
		var ve *render.ValueError
		if errors.As(err, &ve) {
			return &answers.FlagError{Flag: ve.Flag, Err: ve.Err}
		}
		return err
	}
	if c.Config == nil {
		if err := os.Remove(l.ConfigFile()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove the unused %s: %w", l.ConfigFile(), err)
		}
		return nil
	}
	if err := os.MkdirAll(l.Config(), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", l.Config(), err)
	}
	if old, err := os.ReadFile(l.ConfigFile()); err == nil && bytes.Equal(old, c.Config) {
		return nil
	}
	// 0600 like the htpasswd file: it may hold the S3 secret key.
	return fsutil.WriteFileAtomic(l.ConfigFile(), c.Config, 0o600)
}

// containerConfig is what the registry container gets for the answers: its
// environment or command, its mounts, and the files whose content it reads
// at start (they go into the spec hash, so a change replaces the container).
type containerConfig struct {
	Env    []string
	Cmd    []string
	Mounts []dockerctl.Mount
	Files  []string
}

// containerConfigFor decides the container's configuration. It needs no
// secret: a config file's content is hashed from disk.
func containerConfigFor(l Layout, a config.Answers) (containerConfig, error) {
	r := render.FromAnswers(a)
	var cc containerConfig
	// /auth is mounted in every mode, Let's Encrypt too (the vendor's
	// example keeps htpasswd-basic next to myconfig.yml): one htpasswd file
	// for `paxsetup users` to edit, wherever the registry is configured.
	cc.Mounts = []dockerctl.Mount{{Source: l.Auth(), Target: render.ContainerAuthDir, ReadOnly: true}}
	cc.Files = []string{l.Htpasswd()}
	if r.TLS == render.TLSCertificate {
		cc.Mounts = append(cc.Mounts, dockerctl.Mount{Source: l.Certs(), Target: render.ContainerCertsDir, ReadOnly: true})
		cc.Files = append(cc.Files, l.CertFiles().TLSCert(), l.CertFiles().TLSKey())
	}
	// /data holds the packs (filesystem storage) and the ACME cache; it is
	// mounted with any storage, so switching storage never hides it.
	cc.Mounts = append(cc.Mounts, dockerctl.Mount{Source: l.Data(), Target: render.ContainerDataDir})
	if r.UsesConfigFile() {
		cc.Mounts = append(cc.Mounts, dockerctl.Mount{Source: l.Config(), Target: render.ContainerConfigDir, ReadOnly: true})
		cc.Cmd = []string{"serve", render.ConfigFile}
		cc.Files = append(cc.Files, l.ConfigFile())
		if a.Mode == config.ModeLetsEncrypt && a.ACMECAFile != "" {
			cc.Env = []string{EnvSSLCertFile + "=" + render.ContainerACMECAFile}
			cc.Files = append(cc.Files, l.ACMECAFile())
		}
		return cc, nil
	}
	env, err := r.Environ()
	if err != nil {
		return cc, err
	}
	cc.Env = env
	return cc, nil
}

// Warnings are what the operator should know about the answers before the
// run: nothing is wrong, but something may surprise.
func Warnings(a config.Answers) []string {
	var w []string
	if a.Storage == render.StorageInMemory {
		w = append(w, "--storage inmemory keeps packs in the container's memory: every pack is lost when the registry restarts or is replaced; use filesystem (the default) or s3 for anything but a test")
	}
	if a.Mode == config.ModeLetsEncrypt {
		w = append(w, fmt.Sprintf(letsEncryptNote, a.Host))
	}
	if a.Mode == config.ModeLetsEncrypt && a.Port != 443 {
		w = append(w, fmt.Sprintf("Let's Encrypt checks the name through port 443 (TLS-ALPN-01); with --port %d it works only if something forwards %s:443 to this port", a.Port, a.Host))
	}
	if a.Mode == config.ModeHTTP {
		w = append(w, "--mode http serves packs and passwords in clear text: use it only in a lab network")
	}
	if a.S3 != nil && a.S3.Secure != nil && !*a.S3.Secure {
		w = append(w, "--s3-secure=false sends packs and the S3 keys to the endpoint without TLS")
	}
	return w
}

// letsEncryptNote is what Let's Encrypt needs that paxsetup cannot check
// from here. The registry answers only the TLS-ALPN-01 challenge, on its TLS
// port (autocert's GetCertificate; it runs no HTTP-01 handler), so 443 is
// the one port to open: port 80 is not used.
const letsEncryptNote = "Let's Encrypt issues the certificate at the first HTTPS request: %s must resolve publicly to this host and port 443 must be reachable from the internet (port 80 is not needed)"
