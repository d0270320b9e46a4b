// Package dockerctl is everything paxsetup asks of the Docker engine: reaching
// it, making sure the registry image is present, and running the registry
// container. Commands depend on the API interface so they can be tested with
// fakes; *Client is the one implementation that talks to a real engine.
package dockerctl

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/security"
)

// API is what paxsetup's commands need from the engine.
type API interface {
	Engine(ctx context.Context) (EngineInfo, error)
	ImageExists(ctx context.Context, ref string) (bool, error)
	EnsureImage(ctx context.Context, ref string, policy PullPolicy, progress io.Writer) error
	ImageID(ctx context.Context, ref string) (string, error)
	Create(ctx context.Context, spec Spec) (string, error)
	Start(ctx context.Context, id string) error
	Stop(ctx context.Context, id string, timeout time.Duration) error
	Remove(ctx context.Context, id string) error
	Rename(ctx context.Context, id, newName string) error
	Inspect(ctx context.Context, nameOrID string) (Container, error)
	FindByLabel(ctx context.Context, key, value string) ([]Container, error)
	ContainersPublishing(ctx context.Context, hostPort int) ([]Container, error)
	Logs(ctx context.Context, id string, tail int) (string, error)
	Close() error
}

var _ API = (*Client)(nil)

// engine is the part of the moby client that *Client uses, so this package's
// tests can stand in for the engine.
type engine interface {
	Ping(ctx context.Context, options client.PingOptions) (client.PingResult, error)
	ServerVersion(ctx context.Context, options client.ServerVersionOptions) (client.ServerVersionResult, error)
	Info(ctx context.Context, options client.InfoOptions) (client.SystemInfoResult, error)
	ImageInspect(ctx context.Context, ref string, options ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ImagePull(ctx context.Context, ref string, options client.ImagePullOptions) (client.ImagePullResponse, error)
	ContainerCreate(ctx context.Context, options client.ContainerCreateOptions) (client.ContainerCreateResult, error)
	ContainerStart(ctx context.Context, id string, options client.ContainerStartOptions) (client.ContainerStartResult, error)
	ContainerStop(ctx context.Context, id string, options client.ContainerStopOptions) (client.ContainerStopResult, error)
	ContainerRemove(ctx context.Context, id string, options client.ContainerRemoveOptions) (client.ContainerRemoveResult, error)
	ContainerRename(ctx context.Context, id string, options client.ContainerRenameOptions) (client.ContainerRenameResult, error)
	ContainerInspect(ctx context.Context, id string, options client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
	ContainerLogs(ctx context.Context, id string, options client.ContainerLogsOptions) (client.ContainerLogsResult, error)
	Close() error
}

// Client talks to one Docker engine. Make it with Connect.
type Client struct {
	api engine
	// host is the engine address (DOCKER_HOST or the default socket), named
	// in errors so the operator knows which engine was tried.
	host string
}

// Connect makes a client from the environment (DOCKER_HOST, DOCKER_TLS_VERIFY,
// DOCKER_CERT_PATH, DOCKER_API_VERSION) and pings the engine, so a missing or
// forbidden engine is reported here, with ErrEngineUnreachable or
// ErrPermission, rather than at the first real operation.
func Connect(ctx context.Context) (*Client, error) {
	return connect(ctx)
}

// connect takes extra options so tests can point a real client at sockets
// that fail in known ways.
func connect(ctx context.Context, extra ...client.Opt) (*Client, error) {
	// API-version negotiation is the client's default (its
	// WithAPIVersionNegotiation option is a deprecated no-op): it settles on
	// the engine's version, down to 1.40, unless DOCKER_API_VERSION pins one.
	opts := append([]client.Opt{client.FromEnv}, extra...)
	mc, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("configure Docker client from DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH: %w", err)
	}
	c := &Client{api: mc, host: mc.DaemonHost()}
	if _, err := mc.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		_ = mc.Close()
		return nil, connectError(c.host, err)
	}
	return c, nil
}

// Close releases the client's idle connections.
func (c *Client) Close() error {
	return c.api.Close()
}

// EngineInfo describes the engine paxsetup is about to use.
type EngineInfo struct {
	// Version is the engine's release, e.g. "20.10.24".
	Version string
	// APIVersion is the highest API version the engine speaks, e.g. "1.41".
	APIVersion string
	// OS is the engine's platform as Go names it: "linux" or "windows".
	OS string
	// OperatingSystem is the host's distribution as `docker info` shows it,
	// e.g. "Ubuntu 22.04.4 LTS".
	OperatingSystem string
	// Rootless is set when the engine runs without root: it cannot bind
	// ports below 1024 unless the host allows it.
	Rootless bool
}

// Engine reports the engine's version and whether it runs rootless.
func (c *Client) Engine(ctx context.Context) (EngineInfo, error) {
	v, err := c.api.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return EngineInfo{}, fmt.Errorf("read Docker engine version: %w", err)
	}
	info, err := c.api.Info(ctx, client.InfoOptions{})
	if err != nil {
		return EngineInfo{}, fmt.Errorf("read Docker engine info: %w", err)
	}
	out := EngineInfo{
		Version:         v.Version,
		APIVersion:      v.APIVersion,
		OS:              v.Os,
		OperatingSystem: info.Info.OperatingSystem,
	}
	for _, opt := range security.DecodeOptions(info.Info.SecurityOptions) {
		if opt.Name == "rootless" {
			out.Rootless = true
		}
	}
	return out, nil
}
