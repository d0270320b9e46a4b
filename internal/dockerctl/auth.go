package dockerctl

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/registry"

	"github.com/paxsetup/paxsetup/internal/secretenv"
)

// dockerHubServer is the key under which the docker CLI stores Docker Hub's
// credentials, whatever name the image was pulled by.
const dockerHubServer = "https://index.docker.io/v1/"

// dockerConfig is the part of the docker CLI's config.json that holds
// registry credentials.
type dockerConfig struct {
	Auths       map[string]authEntry `json:"auths"`
	CredsStore  string               `json:"credsStore"`
	CredHelpers map[string]string    `json:"credHelpers"`
}

// registryAuth returns the X-Registry-Auth value for pulling ref with the
// credentials `docker login` saved in configDir/config.json: from the
// registry's credential helper (credHelpers), the default store
// (credsStore), or the file itself (auths). It returns "" to pull
// anonymously, and a note for the operator when saved credentials could not
// be used; the pull then still runs, since public images need none.
func registryAuth(ctx context.Context, configDir, ref string) (header, note string, err error) {
	if configDir == "" {
		return "", "", nil
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", "", fmt.Errorf("image reference %q: %w", ref, err)
	}
	domain := reference.Domain(named)
	server := domain
	if domain == "docker.io" {
		server = dockerHubServer
	}

	path := filepath.Join(configDir, "config.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", nil
	}
	if err != nil {
		return "", fmt.Sprintf("registry credentials: cannot read %s (%v); pulling without credentials", path, err), nil
	}
	var cfg dockerConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return "", fmt.Sprintf("registry credentials: %s is not valid JSON (%v); pulling without credentials", path, err), nil
	}

	ac := registry.AuthConfig{ServerAddress: server}
	helper := cfg.CredHelpers[domain]
	if helper == "" && domain == "docker.io" {
		helper = cfg.CredHelpers[dockerHubServer]
	}
	if helper == "" {
		helper = cfg.CredsStore
	}
	found := false
	if helper != "" {
		user, secret, err := fromHelper(ctx, helper, server)
		switch {
		case err != nil:
			return "", fmt.Sprintf("registry credentials: %v; pulling %s without credentials", err, domain), nil
		case user == "<token>":
			// The credential-helper protocol's marker for an identity token.
			ac.IdentityToken, found = secret, true
		case user != "" || secret != "":
			ac.Username, ac.Password, found = user, secret, true
		}
	}
	if a, key, ok := savedAuth(cfg, server); ok && !found {
		switch {
		case a.Auth != "":
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			user, pass, ok := strings.Cut(string(raw), ":")
			if err != nil || !ok {
				return "", fmt.Sprintf(`registry credentials: the "auth" of %s in %s is not base64 of user:password; pulling without credentials (run docker login %s again)`, key, path, domain), nil
			}
			ac.Username, ac.Password = user, pass
		default:
			ac.Username, ac.Password = a.Username, a.Password
		}
		ac.IdentityToken = a.IdentityToken
		found = ac.Username != "" || ac.IdentityToken != ""
	}
	if !found {
		return "", "", nil
	}
	buf, err := json.Marshal(ac)
	if err != nil {
		return "", "", err
	}
	return base64.URLEncoding.EncodeToString(buf), "", nil
}

// authEntry is one registry's entry under "auths".
type authEntry = struct {
	Auth          string `json:"auth"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	IdentityToken string `json:"identitytoken"`
}

// savedAuth finds the server's entry in "auths", whichever way its key is
// written.
func savedAuth(cfg dockerConfig, server string) (authEntry, string, bool) {
	for key, a := range cfg.Auths {
		if serverHost(key) == serverHost(server) {
			return a, key, true
		}
	}
	return authEntry{}, "", false
}

// serverHost reduces a config.json key ("https://index.docker.io/v1/",
// "us-docker.pkg.dev", "http://host:5000") to the host the CLI matches on.
func serverHost(key string) string {
	key = strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
	host, _, _ := strings.Cut(key, "/")
	if host == "index.docker.io" || host == "registry-1.docker.io" {
		return "docker.io"
	}
	return host
}

// helperNotFound is what credential helpers print when they hold nothing for
// the server (docker-credential-helpers credentials.ErrCredentialsNotFound).
const helperNotFound = "credentials not found in native keychain"

// fromHelper asks docker-credential-<helper> for the server's credentials,
// speaking the credential-helper protocol: the server on stdin, JSON on
// stdout. The secret never touches argv or the environment.
func fromHelper(ctx context.Context, helper, server string) (user, secret string, err error) {
	prog := "docker-credential-" + helper
	path, err := exec.LookPath(prog)
	if err != nil {
		return "", "", fmt.Errorf("config.json names the credential helper %q but %s is not on PATH", helper, prog)
	}
	cmd := exec.CommandContext(ctx, path, "get")
	cmd.Env = secretenv.Environ()
	cmd.Stdin = strings.NewReader(server)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stdout.String() + " " + stderr.String())
		if strings.Contains(msg, helperNotFound) {
			return "", "", nil
		}
		return "", "", fmt.Errorf("%s get: %v: %s", prog, err, msg)
	}
	var out struct {
		Username string `json:"Username"`
		Secret   string `json:"Secret"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return "", "", fmt.Errorf("%s get: unreadable answer: %v", prog, err)
	}
	return out.Username, out.Secret, nil
}
