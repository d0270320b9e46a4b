package dockerctl

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// DefaultContainerPort is where the registry listens inside its container.
const DefaultContainerPort = 5000

// Mount is a host folder (or file) bound into the container.
type Mount struct {
	Source   string
	Target   string
	ReadOnly bool
}

// Spec is the container to create: what `docker run` would be told.
type Spec struct {
	Name  string
	Image string
	// Cmd replaces the image's CMD; empty keeps it.
	Cmd    []string
	Env    []string
	Labels map[string]string
	// HostIP is the host address to publish on; empty means all addresses.
	HostIP string
	// HostPort is the host port to publish; zero publishes nothing.
	HostPort int
	// ContainerPort is the port inside the container; zero means
	// DefaultContainerPort.
	ContainerPort int
	// Mounts are bind mounts; every Source must exist, because the engine
	// refuses to start a container whose bind source is missing.
	Mounts        []Mount
	RestartAlways bool
	// Network, when set, is a user-defined network the container joins
	// instead of the default bridge (published ports work on either), with
	// Aliases as its names there.
	Network string
	Aliases []string
	// Relabel asks the engine to relabel the bind mounts for SELinux (the
	// :Z option), so the registry may read them on an enforcing host.
	Relabel bool
	// LogMaxSize and LogMaxFiles bound the container's json-file log; zero
	// values mean DefaultLogMaxSize and DefaultLogMaxFiles.
	LogMaxSize  string
	LogMaxFiles int
}

// Log rotation defaults: at most 3 x 10 MB of registry logs, so a busy
// registry cannot fill the disk that holds its packs (the engine's own
// default keeps json-file logs for ever).
const (
	DefaultLogMaxSize  = "10m"
	DefaultLogMaxFiles = 3
)

// Container is what paxsetup needs to know about a container.
type Container struct {
	ID   string
	Name string // without the engine's leading "/"
	// Image is the reference the container was created from, as given.
	Image string
	// ImageID is the image it actually runs ("sha256:...").
	ImageID string
	Running bool
	// Status is the engine's state: created, running, restarting, exited...
	Status string
	// Restarting is set while the engine waits to restart a container that
	// exited under a restart policy; Running stays set meanwhile.
	Restarting bool
	ExitCode   int
	// OOMKilled is set when the kernel killed the container for memory.
	OOMKilled bool
	// Error is the engine's reason the container could not start, if any.
	Error string
	// CreatedAt is when the container was created.
	CreatedAt time.Time
	// StartedAt is zero when the container never started.
	StartedAt time.Time
	// FinishedAt is when it last stopped; zero when it never did.
	FinishedAt   time.Time
	RestartCount int
	Labels       map[string]string
	Env          []string
	// HostPorts are the host ports published, sorted, each once.
	HostPorts []int
	// Ports are the published bindings, as "0.0.0.0:443->5000/tcp".
	Ports []string
	// Mounts are the bind mounts as the engine reports them.
	Mounts []Mount
}

// Create creates (but does not start) the container described by spec and
// returns its ID. A missing bind source is refused before the engine is
// asked; a taken name is ErrConflict, an absent image ErrNotFound.
func (c *Client) Create(ctx context.Context, spec Spec) (string, error) {
	ctx, cancel := bound(ctx, 0)
	defer cancel()
	opts, err := createOptions(spec)
	if err != nil {
		return "", fmt.Errorf("create container %q: %w", spec.Name, err)
	}
	res, err := c.api.ContainerCreate(ctx, opts)
	if err != nil {
		return "", fmt.Errorf("create container %q: %w", spec.Name, classify(err))
	}
	return res.ID, nil
}

// createOptions turns spec into the engine's create request, checking what
// the engine would only report later and less clearly.
func createOptions(spec Spec) (client.ContainerCreateOptions, error) {
	if spec.Image == "" {
		return client.ContainerCreateOptions{}, errors.New("no image given")
	}
	cfg := &container.Config{
		Image:  spec.Image,
		Env:    spec.Env,
		Labels: spec.Labels,
	}
	if len(spec.Cmd) > 0 {
		cfg.Cmd = spec.Cmd
	}
	maxSize, maxFiles := spec.LogMaxSize, spec.LogMaxFiles
	if maxSize == "" {
		maxSize = DefaultLogMaxSize
	}
	if maxFiles <= 0 {
		maxFiles = DefaultLogMaxFiles
	}
	host := &container.HostConfig{
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		// Set explicitly, not left to the engine's default driver: journald
		// or "local" would also bound the logs, but json-file is the one
		// every engine (Podman included) reads back through the API.
		LogConfig: container.LogConfig{
			Type:   "json-file",
			Config: map[string]string{"max-size": maxSize, "max-file": strconv.Itoa(maxFiles)},
		},
	}
	if spec.RestartAlways {
		host.RestartPolicy.Name = container.RestartPolicyAlways
	}

	if spec.HostPort != 0 {
		ctrPort := spec.ContainerPort
		if ctrPort == 0 {
			ctrPort = DefaultContainerPort
		}
		if err := checkPort("host port", spec.HostPort); err != nil {
			return client.ContainerCreateOptions{}, err
		}
		if err := checkPort("container port", ctrPort); err != nil {
			return client.ContainerCreateOptions{}, err
		}
		var ip netip.Addr
		if spec.HostIP != "" {
			var err error
			if ip, err = netip.ParseAddr(spec.HostIP); err != nil {
				return client.ContainerCreateOptions{}, fmt.Errorf("host address %q: %w", spec.HostIP, err)
			}
		}
		port, _ := network.PortFrom(uint16(ctrPort), network.TCP)
		// Exposed as well as bound, as `docker run -p` does.
		cfg.ExposedPorts = network.PortSet{port: {}}
		host.PortBindings = network.PortMap{
			port: {{HostIP: ip, HostPort: strconv.Itoa(spec.HostPort)}},
		}
	}

	for _, m := range spec.Mounts {
		src, err := filepath.Abs(m.Source)
		if err != nil {
			return client.ContainerCreateOptions{}, fmt.Errorf("bind mount source %q: %w", m.Source, err)
		}
		// Checked here so the error names the folder and what it is for,
		// before anything exists in the engine to clean up.
		if _, err := os.Stat(src); err != nil {
			return client.ContainerCreateOptions{}, fmt.Errorf("bind mount source %s (for %s) is missing: %w", src, m.Target, err)
		}
		if spec.Relabel {
			// The API's Mounts have no SELinux option (moby/moby#30934); only
			// the Binds string form takes z/Z.
			if strings.Contains(src, ":") || strings.Contains(m.Target, ":") {
				return client.ContainerCreateOptions{}, fmt.Errorf("bind mount %s -> %s: a path with ':' cannot be relabelled for SELinux: move the setup to a folder without ':'", src, m.Target)
			}
			mode := "rw"
			if m.ReadOnly {
				mode = "ro"
			}
			host.Binds = append(host.Binds, src+":"+m.Target+":"+mode+",Z")
			continue
		}
		host.Mounts = append(host.Mounts, mount.Mount{
			Type:     mount.TypeBind,
			Source:   src,
			Target:   m.Target,
			ReadOnly: m.ReadOnly,
		})
	}
	opts := client.ContainerCreateOptions{Name: spec.Name, Config: cfg, HostConfig: host}
	if spec.Network != "" {
		// As `docker run --network NET --network-alias NAME`: the aliases
		// exist only on a network given at create time.
		host.NetworkMode = container.NetworkMode(spec.Network)
		opts.NetworkingConfig = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			spec.Network: {Aliases: spec.Aliases},
		}}
	}
	return opts, nil
}

// NetworkExists reports whether the engine has a network of that name or ID.
func (c *Client) NetworkExists(ctx context.Context, name string) (bool, error) {
	ctx, cancel := bound(ctx, 0)
	defer cancel()
	_, err := c.api.NetworkInspect(ctx, name, client.NetworkInspectOptions{})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(classify(err), ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("inspect network %q: %w", name, classify(err))
}

func checkPort(what string, p int) error {
	if p < 1 || p > math.MaxUint16 {
		return fmt.Errorf("%s %d is outside 1-65535", what, p)
	}
	return nil
}

// Start starts the container. A host port held by someone else is
// ErrPortInUse.
func (c *Client) Start(ctx context.Context, id string) error {
	ctx, cancel := bound(ctx, 0)
	defer cancel()
	if _, err := c.api.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("start container %q: %w", id, classify(err))
	}
	return nil
}

// Stop asks the container to stop and kills it once timeout (rounded up to
// whole seconds) has passed; zero kills at once, a negative timeout waits
// for ever. Stopping a stopped container is not an error.
func (c *Client) Stop(ctx context.Context, id string, timeout time.Duration) error {
	secs := int(math.Ceil(timeout.Seconds()))
	if timeout < 0 {
		secs = -1
	} else {
		var cancel context.CancelFunc
		ctx, cancel = bound(ctx, timeout)
		defer cancel()
	}
	if _, err := c.api.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &secs}); err != nil {
		return fmt.Errorf("stop container %q: %w", id, classify(err))
	}
	return nil
}

// Remove removes the container, running or not. Bind-mounted folders are the
// operator's data and are never touched, nor are anonymous volumes.
func (c *Client) Remove(ctx context.Context, id string) error {
	ctx, cancel := bound(ctx, 0)
	defer cancel()
	opts := client.ContainerRemoveOptions{Force: true, RemoveVolumes: false}
	if _, err := c.api.ContainerRemove(ctx, id, opts); err != nil {
		return fmt.Errorf("remove container %q: %w", id, classify(err))
	}
	return nil
}

// Rename gives the container a new name; a taken name is ErrConflict.
func (c *Client) Rename(ctx context.Context, id, newName string) error {
	ctx, cancel := bound(ctx, 0)
	defer cancel()
	if _, err := c.api.ContainerRename(ctx, id, client.ContainerRenameOptions{NewName: newName}); err != nil {
		return fmt.Errorf("rename container %q to %q: %w", id, newName, classify(err))
	}
	return nil
}
