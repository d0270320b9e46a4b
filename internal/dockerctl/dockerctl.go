// Package dockerctl is everything paxsetup asks of the Docker engine: reaching
// it, making sure the registry image is present, and running the registry
// container. Commands depend on the API interface so they can be tested with
// fakes; *Client is the one implementation that talks to a real engine.
package dockerctl

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/security"
)

// API is what paxsetup's commands need from the engine.
type API interface {
	Engine(ctx context.Context) (EngineInfo, error)
	ImageExists(ctx context.Context, ref string) (bool, error)
	EnsureImage(ctx context.Context, ref string, policy PullPolicy, progress io.Writer) error
	LoadImageArchive(ctx context.Context, path, ref string, progress io.Writer) error
	ImageID(ctx context.Context, ref string) (string, error)
	ImageConfig(ctx context.Context, ref string) (ImageConfig, error)
	Create(ctx context.Context, spec Spec) (string, error)
	Start(ctx context.Context, id string) error
	Stop(ctx context.Context, id string, timeout time.Duration) error
	Remove(ctx context.Context, id string) error
	Rename(ctx context.Context, id, newName string) error
	Inspect(ctx context.Context, nameOrID string) (Container, error)
	FindByLabel(ctx context.Context, key, value string) ([]Container, error)
	ContainersPublishing(ctx context.Context, hostPort int) ([]Container, error)
	Logs(ctx context.Context, id string, tail int) (string, error)
	StreamLogs(ctx context.Context, id string, opts LogOptions, stdout, stderr io.Writer) error
	Close() error
}

var _ API = (*Client)(nil)

// engine is the part of the moby client that *Client uses, so this package's
// tests can stand in for the engine.
type engine interface {
	Ping(ctx context.Context, options client.PingOptions) (client.PingResult, error)
	ClientVersion() string
	ServerVersion(ctx context.Context, options client.ServerVersionOptions) (client.ServerVersionResult, error)
	Info(ctx context.Context, options client.InfoOptions) (client.SystemInfoResult, error)
	ImageInspect(ctx context.Context, ref string, options ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ImagePull(ctx context.Context, ref string, options client.ImagePullOptions) (client.ImagePullResponse, error)
	ImageLoad(ctx context.Context, input io.Reader, options ...client.ImageLoadOption) (client.ImageLoadResult, error)
	ContainerCreate(ctx context.Context, options client.ContainerCreateOptions) (client.ContainerCreateResult, error)
	ContainerStart(ctx context.Context, id string, options client.ContainerStartOptions) (client.ContainerStartResult, error)
	ContainerStop(ctx context.Context, id string, options client.ContainerStopOptions) (client.ContainerStopResult, error)
	ContainerRemove(ctx context.Context, id string, options client.ContainerRemoveOptions) (client.ContainerRemoveResult, error)
	ContainerRename(ctx context.Context, id string, options client.ContainerRenameOptions) (client.ContainerRenameResult, error)
	ContainerInspect(ctx context.Context, id string, options client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
	ContainerLogs(ctx context.Context, id string, options client.ContainerLogsOptions) (client.ContainerLogsResult, error)
	NetworkInspect(ctx context.Context, networkID string, options client.NetworkInspectOptions) (client.NetworkInspectResult, error)
	Close() error
}

// Client talks to one Docker engine. Make it with Connect.
type Client struct {
	api engine
	// host is the engine address, named in errors so the operator knows
	// which engine was tried.
	host string
	// endpoint is where host came from (DOCKER_HOST, a context, the
	// default socket).
	endpoint Endpoint
	// configDir is the docker CLI's folder, where registry credentials
	// live; empty means pulls are anonymous.
	configDir string
}

// Connect reaches the engine the docker CLI would use (see ResolveEndpoint:
// DOCKER_HOST with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, else DOCKER_CONTEXT
// or the CLI's current context, else the default socket) and pings it, so a
// missing or forbidden engine is reported here, with ErrEngineUnreachable or
// ErrPermission, rather than at the first real operation. DOCKER_API_VERSION
// pins the API version; otherwise the client negotiates it with the engine.
func Connect(ctx context.Context) (*Client, error) {
	configDir := ConfigDir(os.Getenv)
	ep, err := ResolveEndpoint(os.Getenv, configDir)
	if err != nil {
		return nil, err
	}
	return connectTo(ctx, ep, configDir)
}

// connect is Connect with extra options, so tests can point a real client
// at sockets that fail in known ways.
func connect(ctx context.Context, extra ...client.Opt) (*Client, error) {
	return connectTo(ctx, Endpoint{Host: DefaultHost, Source: "default socket"}, "", extra...)
}

func connectTo(ctx context.Context, ep Endpoint, configDir string, extra ...client.Opt) (*Client, error) {
	opts, err := clientOptions(ep)
	if err != nil {
		return nil, err
	}
	// API-version negotiation is the client's default (its
	// WithAPIVersionNegotiation option is a deprecated no-op): it settles on
	// the engine's version, down to 1.40, unless DOCKER_API_VERSION pins one.
	opts = append(opts, extra...)
	mc, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("configure Docker client for %s (from %s): %w", ep.Host, ep.Source, err)
	}
	c := &Client{api: mc, host: mc.DaemonHost(), endpoint: ep, configDir: configDir}
	if _, err := mc.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		_ = mc.Close()
		return nil, connectError(c.describeHost(), err)
	}
	return c, nil
}

// clientOptions turns an endpoint into the client's options. The HTTP client
// comes first: WithHost then fits its transport to the address's scheme.
func clientOptions(ep Endpoint) ([]client.Opt, error) {
	var opts []client.Opt
	if ep.TLS != nil {
		cfg, err := tlsConfig(*ep.TLS)
		if err != nil {
			return nil, fmt.Errorf("TLS to the Docker engine at %s (from %s): %w", ep.Host, ep.Source, err)
		}
		opts = append(opts, client.WithHTTPClient(&http.Client{
			Transport:     &http.Transport{TLSClientConfig: cfg},
			CheckRedirect: client.CheckRedirect,
		}))
	}
	return append(opts, client.WithHost(ep.Host), client.WithAPIVersionFromEnv()), nil
}

func tlsConfig(f TLSFiles) (*tls.Config, error) {
	// Skipping verification is the operator's choice: DOCKER_CERT_PATH
	// without DOCKER_TLS_VERIFY, or the context's SkipTLSVerify.
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: f.SkipVerify}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", f.CAFile)
		}
		cfg.RootCAs = pool
	}
	if f.CertFile != "" || f.KeyFile != "" {
		pair, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// describeHost names the engine and, when it was not DOCKER_HOST or the
// default, where its address came from.
func (c *Client) describeHost() string {
	switch c.endpoint.Source {
	case "", "default socket", "DOCKER_HOST":
		return c.host
	}
	return c.host + " (" + c.endpoint.Source + ")"
}

// Endpoint returns the engine this client talks to and where its address
// came from.
func (c *Client) Endpoint() Endpoint { return c.endpoint }

// Close releases the client's idle connections.
func (c *Client) Close() error {
	return c.api.Close()
}

// EngineInfo describes the engine paxsetup is about to use: what preflight
// reports and what decides how the container is made.
type EngineInfo struct {
	// Host is the engine's address and Source where it came from
	// (DOCKER_HOST, a docker CLI context, the default socket).
	Host, Source string
	// Version is the engine's release, e.g. "20.10.24".
	Version string
	// APIVersion is the highest API version the engine speaks, e.g. "1.41".
	APIVersion string
	// ClientAPIVersion is the version this client settled on with the
	// engine: the lower of the two, or DOCKER_API_VERSION.
	ClientAPIVersion string
	// OS is the engine's platform as Go names it: "linux" or "windows".
	OS string
	// Arch is the engine's architecture as Go names it: "amd64", "arm64".
	Arch string
	// OperatingSystem is the host's distribution as `docker info` shows it,
	// e.g. "Ubuntu 22.04.4 LTS".
	OperatingSystem string
	// Rootless is set when the engine runs without root: it cannot bind
	// ports below 1024 unless the host allows it, and a container's
	// non-root users map to the host's subordinate IDs.
	Rootless bool
	// SELinux is set when the engine labels containers for SELinux: bind
	// mounts then need relabelling (:Z) or the registry cannot read them.
	SELinux bool
	// Podman is set when the engine is Podman's Docker-compatible service.
	Podman bool
	// SystemTime is the engine host's clock when it answered (zero when the
	// engine did not say): a skew against this host breaks certificates.
	SystemTime time.Time
}

// Engine reports the engine's version, API, platform and security options.
func (c *Client) Engine(ctx context.Context) (EngineInfo, error) {
	ctx, cancel := bound(ctx, 0)
	defer cancel()
	v, err := c.api.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return EngineInfo{}, fmt.Errorf("read Docker engine version: %w", err)
	}
	info, err := c.api.Info(ctx, client.InfoOptions{})
	if err != nil {
		return EngineInfo{}, fmt.Errorf("read Docker engine info: %w", err)
	}
	out := EngineInfo{
		Host:             c.host,
		Source:           c.endpoint.Source,
		Version:          v.Version,
		APIVersion:       v.APIVersion,
		ClientAPIVersion: c.api.ClientVersion(),
		OS:               v.Os,
		Arch:             v.Arch,
		OperatingSystem:  info.Info.OperatingSystem,
	}
	if t, err := time.Parse(time.RFC3339Nano, info.Info.SystemTime); err == nil {
		out.SystemTime = t
	}
	for _, opt := range security.DecodeOptions(info.Info.SecurityOptions) {
		switch opt.Name {
		case "rootless":
			out.Rootless = true
		case "selinux":
			out.SELinux = true
		}
	}
	for _, comp := range v.Components {
		if strings.Contains(strings.ToLower(comp.Name), "podman") {
			out.Podman = true
		}
	}
	return out, nil
}
