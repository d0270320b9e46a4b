package dockerctl

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/moby/client"
)

// Endpoint is the engine paxsetup talks to, resolved the way the docker CLI
// resolves it, so that paxsetup reaches the engine `docker ps` shows.
type Endpoint struct {
	// Host is the engine's address: unix:///var/run/docker.sock,
	// tcp://host:2376, npipe:////./pipe/docker_engine.
	Host string
	// Source says where Host came from, for messages: "DOCKER_HOST",
	// `context "rootless"`, or "default socket".
	Source string
	// Context is the docker CLI context used, empty when none was.
	Context string
	// TLS is set when the connection uses TLS.
	TLS *TLSFiles
}

// TLSFiles are the PEM files of a TLS connection to the engine. A file that
// is empty is not used: no CA means the system's roots, no certificate means
// no client authentication.
type TLSFiles struct {
	CAFile, CertFile, KeyFile string
	// SkipVerify disables checking the engine's certificate, as
	// DOCKER_CERT_PATH without DOCKER_TLS_VERIFY does.
	SkipVerify bool
}

// ErrContextNotFound means DOCKER_CONTEXT or the docker CLI's current context
// names a context that has no metadata.
var ErrContextNotFound = errors.New("docker context not found")

// DefaultContext is the docker CLI's name for "no context": the environment
// and the default socket decide.
const DefaultContext = "default"

// ConfigDir is the docker CLI's configuration folder: DOCKER_CONFIG, else
// ~/.docker.
func ConfigDir(getenv func(string) string) string {
	if d := getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".docker")
}

// ResolveEndpoint works out which engine to use, in the docker CLI's order:
// DOCKER_HOST (with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH), else the context
// named by DOCKER_CONTEXT, else the currentContext of config.json in
// configDir, else the default socket. getenv is os.Getenv outside tests.
func ResolveEndpoint(getenv func(string) string, configDir string) (Endpoint, error) {
	if host := getenv("DOCKER_HOST"); host != "" {
		ep := Endpoint{Host: host, Source: "DOCKER_HOST"}
		tlsFiles, err := envTLS(getenv, configDir)
		if err != nil {
			return Endpoint{}, err
		}
		ep.TLS = tlsFiles
		return ep, checkHost(ep)
	}
	name, from, err := contextName(getenv, configDir)
	if err != nil {
		return Endpoint{}, err
	}
	if name == "" || name == DefaultContext {
		// The default context still honours DOCKER_CERT_PATH, which some
		// sites set for a TLS-protected local socket.
		tlsFiles, err := envTLS(getenv, configDir)
		if err != nil {
			return Endpoint{}, err
		}
		return Endpoint{Host: DefaultHost, Source: "default socket", TLS: tlsFiles}, nil
	}
	ep, err := readContext(configDir, name, from)
	if err != nil {
		return Endpoint{}, err
	}
	return ep, checkHost(ep)
}

// DefaultHost is the engine socket used when nothing names another.
const DefaultHost = client.DefaultDockerHost

// envTLS is the TLS of DOCKER_TLS_VERIFY and DOCKER_CERT_PATH. The docker CLI
// reads ca.pem, cert.pem and key.pem from DOCKER_CERT_PATH, defaulting to its
// config folder when only DOCKER_TLS_VERIFY is set; the Go client's FromEnv
// does nothing without DOCKER_CERT_PATH, so that default is applied here.
func envTLS(getenv func(string) string, configDir string) (*TLSFiles, error) {
	certPath := getenv("DOCKER_CERT_PATH")
	verify := getenv("DOCKER_TLS_VERIFY") != ""
	if certPath == "" && !verify {
		return nil, nil
	}
	if certPath == "" {
		certPath = configDir
	}
	files := &TLSFiles{
		CAFile:     filepath.Join(certPath, "ca.pem"),
		CertFile:   filepath.Join(certPath, "cert.pem"),
		KeyFile:    filepath.Join(certPath, "key.pem"),
		SkipVerify: !verify,
	}
	for _, f := range []string{files.CAFile, files.CertFile, files.KeyFile} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("TLS to the Docker engine (DOCKER_TLS_VERIFY/DOCKER_CERT_PATH): %w: put ca.pem, cert.pem and key.pem in %s or set DOCKER_CERT_PATH", err, certPath)
		}
	}
	return files, nil
}

// contextName returns the context to use and where its name came from.
func contextName(getenv func(string) string, configDir string) (name, from string, err error) {
	if name := getenv("DOCKER_CONTEXT"); name != "" {
		return name, "DOCKER_CONTEXT", nil
	}
	path := filepath.Join(configDir, "config.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("read the docker CLI's settings: %w", err)
	}
	var cfg struct {
		CurrentContext string `json:"currentContext"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return "", "", fmt.Errorf("read the docker CLI's settings %s: %w (fix the file, or set DOCKER_HOST)", path, err)
	}
	return cfg.CurrentContext, path, nil
}

// contextMeta is the part of a context's meta.json that names the engine.
type contextMeta struct {
	Name      string `json:"Name"`
	Endpoints map[string]struct {
		Host          string `json:"Host"`
		SkipTLSVerify bool   `json:"SkipTLSVerify"`
	} `json:"Endpoints"`
}

// readContext reads a docker CLI context. The CLI stores each context under
// the SHA-256 of its name (docker/cli cli/context/store): metadata in
// contexts/meta/<digest>/meta.json, TLS files in
// contexts/tls/<digest>/docker/{ca,cert,key}.pem.
func readContext(configDir, name, from string) (Endpoint, error) {
	sum := sha256.Sum256([]byte(name))
	digest := hex.EncodeToString(sum[:])
	metaPath := filepath.Join(configDir, "contexts", "meta", digest, "meta.json")
	data, err := os.ReadFile(metaPath)
	if errors.Is(err, fs.ErrNotExist) {
		return Endpoint{}, fmt.Errorf("%w: %q (from %s) has no %s: list contexts with `docker context ls`, or set DOCKER_HOST", ErrContextNotFound, name, from, metaPath)
	}
	if err != nil {
		return Endpoint{}, fmt.Errorf("read docker context %q: %w", name, err)
	}
	var meta contextMeta
	if err := json.Unmarshal(data, &meta); err != nil {
		return Endpoint{}, fmt.Errorf("read docker context %q from %s: %w", name, metaPath, err)
	}
	dockerEP, ok := meta.Endpoints["docker"]
	if !ok || dockerEP.Host == "" {
		return Endpoint{}, fmt.Errorf("docker context %q (%s) names no docker endpoint: fix it with `docker context update`, or set DOCKER_HOST", name, metaPath)
	}
	ep := Endpoint{Host: dockerEP.Host, Source: fmt.Sprintf("context %q", name), Context: name}

	tlsDir := filepath.Join(configDir, "contexts", "tls", digest, "docker")
	files := &TLSFiles{SkipVerify: dockerEP.SkipTLSVerify}
	for _, f := range []struct {
		dst  *string
		name string
	}{{&files.CAFile, "ca.pem"}, {&files.CertFile, "cert.pem"}, {&files.KeyFile, "key.pem"}} {
		p := filepath.Join(tlsDir, f.name)
		if _, err := os.Stat(p); err == nil {
			*f.dst = p
		}
	}
	if files.CAFile != "" || files.CertFile != "" || files.SkipVerify {
		ep.TLS = files
	}
	return ep, nil
}

// checkHost refuses what the Go client cannot dial, with the way round it;
// the client itself would try to dial "user@host" as TCP and fail obscurely.
func checkHost(ep Endpoint) error {
	scheme, _, ok := strings.Cut(ep.Host, "://")
	if !ok {
		return fmt.Errorf("docker engine address %q (from %s) is not an address like unix:///var/run/docker.sock or tcp://host:2376", ep.Host, ep.Source)
	}
	switch scheme {
	case "unix", "tcp", "npipe", "http", "https":
		return nil
	case "ssh":
		return fmt.Errorf("docker engine address %q (from %s): paxsetup does not reach engines over ssh; run it on the engine's host, "+
			"or forward the socket (ssh -nNT -L /tmp/docker.sock:/var/run/docker.sock HOST) and set DOCKER_HOST=unix:///tmp/docker.sock", ep.Host, ep.Source)
	}
	return fmt.Errorf("docker engine address %q (from %s): unknown scheme %q: use unix://, tcp:// or npipe://", ep.Host, ep.Source, scheme)
}
