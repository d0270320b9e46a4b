package dockerctl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
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
}

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
	Status   string
	ExitCode int
	// StartedAt is zero when the container never started.
	StartedAt    time.Time
	RestartCount int
	Labels       map[string]string
	Env          []string
	// HostPorts are the host ports published, sorted, each once.
	HostPorts []int
}

// Create creates (but does not start) the container described by spec and
// returns its ID. A missing bind source is refused before the engine is
// asked; a taken name is ErrConflict, an absent image ErrNotFound.
func (c *Client) Create(ctx context.Context, spec Spec) (string, error) {
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
	host := &container.HostConfig{
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
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
		host.Mounts = append(host.Mounts, mount.Mount{
			Type:     mount.TypeBind,
			Source:   src,
			Target:   m.Target,
			ReadOnly: m.ReadOnly,
		})
	}
	return client.ContainerCreateOptions{Name: spec.Name, Config: cfg, HostConfig: host}, nil
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
	}
	if _, err := c.api.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &secs}); err != nil {
		return fmt.Errorf("stop container %q: %w", id, classify(err))
	}
	return nil
}

// Remove removes the container, running or not. Bind-mounted folders are the
// operator's data and are never touched, nor are anonymous volumes.
func (c *Client) Remove(ctx context.Context, id string) error {
	opts := client.ContainerRemoveOptions{Force: true, RemoveVolumes: false}
	if _, err := c.api.ContainerRemove(ctx, id, opts); err != nil {
		return fmt.Errorf("remove container %q: %w", id, classify(err))
	}
	return nil
}

// Rename gives the container a new name; a taken name is ErrConflict.
func (c *Client) Rename(ctx context.Context, id, newName string) error {
	if _, err := c.api.ContainerRename(ctx, id, client.ContainerRenameOptions{NewName: newName}); err != nil {
		return fmt.Errorf("rename container %q to %q: %w", id, newName, classify(err))
	}
	return nil
}

// Inspect describes the container; an absent one is ErrNotFound.
func (c *Client) Inspect(ctx context.Context, nameOrID string) (Container, error) {
	res, err := c.api.ContainerInspect(ctx, nameOrID, client.ContainerInspectOptions{})
	if err != nil {
		return Container{}, fmt.Errorf("inspect container %q: %w", nameOrID, classify(err))
	}
	return fromInspect(res.Container), nil
}

func fromInspect(r container.InspectResponse) Container {
	out := Container{
		ID:           r.ID,
		Name:         strings.TrimPrefix(r.Name, "/"),
		ImageID:      r.Image,
		RestartCount: r.RestartCount,
	}
	if r.Config != nil {
		out.Image = r.Config.Image
		out.Labels = r.Config.Labels
		out.Env = r.Config.Env
	}
	if s := r.State; s != nil {
		out.Running = s.Running
		out.Status = string(s.Status)
		out.ExitCode = s.ExitCode
		// The engine sends "0001-01-01T00:00:00Z" for a container that never
		// started, which parses to the zero time.
		out.StartedAt, _ = time.Parse(time.RFC3339Nano, s.StartedAt)
	}
	// A stopped container has no live bindings, only configured ones; a
	// running one may have a live port the configuration left to the engine.
	var ports []int
	if r.HostConfig != nil {
		ports = appendHostPorts(ports, r.HostConfig.PortBindings)
	}
	if r.NetworkSettings != nil {
		ports = appendHostPorts(ports, r.NetworkSettings.Ports)
	}
	slices.Sort(ports)
	out.HostPorts = slices.Compact(ports)
	return out
}

func appendHostPorts(ports []int, pm network.PortMap) []int {
	for _, bindings := range pm {
		for _, b := range bindings {
			if p, err := strconv.Atoi(b.HostPort); err == nil && p > 0 {
				ports = append(ports, p)
			}
		}
	}
	return ports
}

// FindByLabel returns every container, running or not, whose label key has
// value value (any value when value is empty).
func (c *Client) FindByLabel(ctx context.Context, key, value string) ([]Container, error) {
	if key == "" {
		return nil, errors.New("find containers by label: empty label key")
	}
	term := key
	if value != "" {
		term = key + "=" + value
	}
	res, err := c.api.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: make(client.Filters).Add("label", term),
	})
	if err != nil {
		return nil, fmt.Errorf("list containers labelled %s: %w", term, err)
	}
	return c.inspectAll(ctx, res.Items)
}

// ContainersPublishing returns the running containers that publish hostPort,
// so a port conflict can name its holder.
func (c *Client) ContainersPublishing(ctx context.Context, hostPort int) ([]Container, error) {
	res, err := c.api.ContainerList(ctx, client.ContainerListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list containers publishing port %d: %w", hostPort, err)
	}
	// Matched here rather than with the engine's "publish" filter, whose
	// meaning (host or container port, which protocols) has varied between
	// engine releases.
	var holders []container.Summary
	for _, s := range res.Items {
		if slices.ContainsFunc(s.Ports, func(p container.PortSummary) bool { return int(p.PublicPort) == hostPort }) {
			holders = append(holders, s)
		}
	}
	return c.inspectAll(ctx, holders)
}

// inspectAll gives listed containers the same full description as Inspect;
// the list alone lacks exit codes, start times and environment.
func (c *Client) inspectAll(ctx context.Context, items []container.Summary) ([]Container, error) {
	out := make([]Container, 0, len(items))
	for _, s := range items {
		ctr, err := c.Inspect(ctx, s.ID)
		if errors.Is(err, ErrNotFound) {
			continue // removed since it was listed
		}
		if err != nil {
			return nil, err
		}
		out = append(out, ctr)
	}
	return out, nil
}

// Logs returns the last tail lines of the container's stdout and stderr,
// interleaved as written (all lines when tail <= 0).
func (c *Client) Logs(ctx context.Context, id string, tail int) (string, error) {
	// A container with a terminal has a single raw stream; without one the
	// engine multiplexes stdout and stderr with frame headers.
	ins, err := c.api.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return "", fmt.Errorf("read logs of container %q: %w", id, classify(err))
	}
	opts := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true}
	if tail > 0 {
		opts.Tail = strconv.Itoa(tail)
	}
	rc, err := c.api.ContainerLogs(ctx, id, opts)
	if err != nil {
		return "", fmt.Errorf("read logs of container %q: %w", id, classify(err))
	}
	defer rc.Close()
	var buf bytes.Buffer
	if cfg := ins.Container.Config; cfg != nil && cfg.Tty {
		_, err = io.Copy(&buf, rc)
	} else {
		_, err = stdcopy.StdCopy(&buf, &buf, rc)
	}
	if err != nil {
		return buf.String(), fmt.Errorf("read logs of container %q: %w", id, err)
	}
	return buf.String(), nil
}
