package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/moby/moby/client"
)

// Pebble is Let's Encrypt's ACME test server, built from the Go module proxy
// at a pinned version so that end-to-end tests issue real certificates
// through a real ACME flow (TLS-ALPN-01 validation included).
//
// v2.8.0 is pinned because it answers finalize with a Location header, as
// Let's Encrypt does; v2.9.0 and later leave it off, which x/crypto's ACME
// client before v0.58.0 fails on with `Post "": unsupported protocol scheme`
// (golang/go#77704). The stand-in registry is built with this module's
// x/crypto, so a test against a later Pebble would pass for it and hide the
// failure from a vendor image built with an older one.
const (
	PebbleModule  = "github.com/letsencrypt/pebble/v2"
	PebbleVersion = "v2.8.0"
	// PebbleRepository names the images BuildPebble tags.
	PebbleRepository = "paxsetup-testpebble"
)

// Pebble's ports inside its container, and the port its VA connects to
// for TLS-ALPN-01: the registry's own port, since the registry answers the
// challenge on the port it serves (a site forwards 443 to it).
const (
	PebbleDirectoryPort  = 14000
	PebbleManagementPort = 15000
	PebbleTLSALPNPort    = 5000
)

// pebbleDockerfile runs Pebble from a scratch image: it needs no more than
// its config and the API certificate the module ships for "localhost" and
// "pebble".
const pebbleDockerfile = `FROM scratch
COPY pebble /bin/pebble
COPY pebble-config.json /etc/pebble/pebble-config.json
COPY cert.pem key.pem /etc/pebble/
EXPOSE 14000 15000
ENTRYPOINT ["/bin/pebble", "-config", "/etc/pebble/pebble-config.json"]
`

// PebbleAPICertFile and PebbleAPIKeyFile are where Pebble reads its API
// certificate, for a test to mount another over.
const (
	PebbleAPICertFile = "/etc/pebble/cert.pem"
	PebbleAPIKeyFile  = "/etc/pebble/key.pem"
)

// PebbleImage is a built Pebble image and the CA of its API certificate
// (test/certs/pebble.minica.pem in the module): what an ACME client must
// trust to reach the directory.
type PebbleImage struct {
	Ref       string
	MiniCAPEM []byte
	// MiniCAKeyPEM is that CA's key, also in the module: with it a test
	// makes the API certificate of a second Pebble under another name.
	MiniCAKeyPEM []byte
}

// BuildPebble returns the Pebble image on the engine behind cli, building it
// first when the engine has none for the pinned version, this Go and the
// engine's architecture. Build output goes to logw, which may be nil.
func BuildPebble(ctx context.Context, cli *client.Client, logw io.Writer) (PebbleImage, error) {
	config, err := pebbleConfig()
	if err != nil {
		return PebbleImage{}, err
	}
	ref, mod, err := moduleProgram{
		Module: PebbleModule, Version: PebbleVersion, Package: "./cmd/pebble",
		Binary: "pebble", Repository: PebbleRepository, Dockerfile: pebbleDockerfile,
		BuildFlags: []string{"-trimpath", "-ldflags=-s -w"},
		Inputs:     inputSet{"pebble-config.json": config},
		ModuleFiles: map[string]string{
			"cert.pem": filepath.Join("test", "certs", "localhost", "cert.pem"),
			"key.pem":  filepath.Join("test", "certs", "localhost", "key.pem"),
		},
	}.build(ctx, cli, logw)
	if err != nil {
		return PebbleImage{}, err
	}
	img := PebbleImage{Ref: ref}
	if img.MiniCAPEM, err = os.ReadFile(filepath.Join(mod.Dir, "test", "certs", "pebble.minica.pem")); err != nil {
		return PebbleImage{}, fmt.Errorf("read Pebble's API CA: %w", err)
	}
	if img.MiniCAKeyPEM, err = os.ReadFile(filepath.Join(mod.Dir, "test", "certs", "pebble.minica.key.pem")); err != nil {
		return PebbleImage{}, fmt.Errorf("read Pebble's API CA key: %w", err)
	}
	return img, nil
}

// pebbleConfig is Pebble's test config with the TLS-ALPN-01 port moved to
// the registry's.
func pebbleConfig() ([]byte, error) {
	type profile struct {
		Description    string `json:"description"`
		ValidityPeriod int    `json:"validityPeriod"`
	}
	c := map[string]any{"pebble": map[string]any{
		"listenAddress":                  fmt.Sprintf("0.0.0.0:%d", PebbleDirectoryPort),
		"managementListenAddress":        fmt.Sprintf("0.0.0.0:%d", PebbleManagementPort),
		"certificate":                    PebbleAPICertFile,
		"privateKey":                     PebbleAPIKeyFile,
		"httpPort":                       5002,
		"tlsPort":                        PebbleTLSALPNPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		// The Retry-After Pebble sends while it validates: autocert waits it
		// out between polls, so the module config's 3 and 5 s would be most
		// of an order's time.
		"retryAfter": map[string]int{"authz": 1, "order": 1},
		"profiles":   map[string]profile{"default": {"90 days", 7776000}},
	}}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode Pebble's config: %w", err)
	}
	return b, nil
}

// module is what `go mod download -json` says of a module version.
type module struct {
	Dir, Sum, Error string
}

func downloadModule(ctx context.Context, pathVersion string) (module, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", pathVersion)
	// Outside any module, so this module's go.mod is neither read nor changed.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	var m module
	if jerr := json.Unmarshal(out, &m); jerr == nil && m.Error != "" {
		return module{}, fmt.Errorf("go mod download %s: %s", pathVersion, m.Error)
	}
	if err != nil {
		return module{}, fmt.Errorf("go mod download %s: %w", pathVersion, commandError(err))
	}
	if m.Dir == "" {
		return module{}, fmt.Errorf("go mod download %s: no folder in its answer: %s", pathVersion, out)
	}
	return m, nil
}

// tarFile is one file of a build context.
type tarFile struct {
	name string
	mode int64
	body []byte
}

// tarFiles returns a build context holding files. Fixed times keep the
// engine's COPY cache keyed on content.
func tarFiles(files []tarFile) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body)), ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("write build context %s: %w", f.name, err)
		}
		if _, err := tw.Write(f.body); err != nil {
			return nil, fmt.Errorf("write build context %s: %w", f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("write build context: %w", err)
	}
	return &buf, nil
}
