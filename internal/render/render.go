// Package render turns a setup's answers into what paxsetup hands to the
// registry and to the operator: the registry's config file or environment,
// the equivalent docker run command, and the text that tells the operator
// what to enter in Palette.
package render

import (
	"bytes"
	_ "embed"
	"fmt"
	"slices"
	"text/template"

	"github.com/paxsetup/paxsetup/internal/dockerctl"
)

// Paths inside the registry container. The vendor's documented `docker run`
// mounts exactly these, and the image's default config reads /auth/htpasswd-basic.
const (
	ContainerAuthDir  = "/auth"
	ContainerCertsDir = "/certs"
	ContainerDataDir  = "/data"
	ContainerPort     = dockerctl.DefaultContainerPort
	HtpasswdPath      = ContainerAuthDir + "/htpasswd-basic"
	// StorageRoot is the image's default filesystem root, under the /data mount
	// so that packs survive a container's replacement.
	StorageRoot = ContainerDataDir + "/.spectro-server"
	// Realm is the image default's basic-auth realm.
	Realm = "basic-realm"
)

// RegistryEnv are the settings of a registry that serves its own certificate
// with htpasswd auth and filesystem storage.
type RegistryEnv struct {
	LogLevel string // "info" when empty
}

// Environ returns the REGISTRY_* variables for the container. They override
// the image's built-in config key by key (REGISTRY_HTTP_TLS_KEY sets
// http.tls.key), which is how the vendor documents the own-certificate mode;
// no value is a secret. It is Registry.Environ for that one setup; an
// unknown log level falls back to the default.
func (e RegistryEnv) Environ() []string {
	r := Registry{TLS: TLSCertificate, LogLevel: e.LogLevel}
	if !slices.Contains(LogLevels, e.LogLevel) {
		r.LogLevel = DefaultLogLevel
	}
	env, err := r.Environ()
	if err != nil {
		// Every value is a constant of this package: a failure is a bug
		// caught by the package's tests.
		panic(err)
	}
	return env
}

//go:embed palette.txt.tmpl
var paletteText string

var paletteTmpl = template.Must(template.New("palette").Parse(paletteText))

// Palette is what the operator enters in Palette and in the registry's clients.
type Palette struct {
	// TLS is how the registry gets its certificate; empty means
	// TLSCertificate, whose chain the operator uploads.
	TLS        TLS
	Endpoint   string // https://host:port, as Palette wants it
	HostPort   string // host:port, as the spectro CLI and docker want it
	AdminUser  string
	ReaderUser string
	ChainFile  string
	CAFile     string
	// PrivateACMECA is a letsencrypt setup whose ACME CA is private
	// (--ca-file): Palette needs its root, in ChainFile.
	PrivateACMECA bool
	// ClientCertDir holds only ca.crt: skopeo's and podman's --cert-dir.
	ClientCertDir string
	// DirArg is " --dir DIR" (shell-quoted) when the setup is not in the
	// default folder, so the printed commands work as they are.
	DirArg             string
	CredentialsFile    string // where generated passwords are saved
	AdminInCredentials bool   // the admin's password is in CredentialsFile
	// ReaderInCredentials: the second user's password is in CredentialsFile.
	ReaderInCredentials bool
	GeneratedPassword   map[string]string
	// SharedEndpoint is set when the packs are in S3, where several nodes
	// can serve them behind a load balancer: the endpoint without a port,
	// the name on the certificate every node serves.
	SharedEndpoint string
	// Node says which node this is, when it joined from a bundle (its
	// name, container and port), Origin the host that exported the bundle
	// and Exported when.
	Node, Origin, Exported string
}

// Render returns the Palette instructions as text.
func (p Palette) Render() (string, error) {
	var buf bytes.Buffer
	if err := paletteTmpl.Execute(&buf, p); err != nil {
		return "", fmt.Errorf("render Palette instructions: %w", err)
	}
	return buf.String(), nil
}
