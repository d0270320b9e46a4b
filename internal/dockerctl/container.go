package dockerctl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
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

// Inspect describes the container; an absent one is ErrNotFound.
func (c *Client) Inspect(ctx context.Context, nameOrID string) (Container, error) {
	ctx, cancel := bound(ctx, 0)
	defer cancel()
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
	out.CreatedAt = parseTime(r.Created)
	if s := r.State; s != nil {
		out.Running = s.Running
		out.Status = string(s.Status)
		out.Restarting = s.Restarting
		out.ExitCode = s.ExitCode
		out.OOMKilled = s.OOMKilled
		out.Error = s.Error
		out.StartedAt = parseTime(s.StartedAt)
		out.FinishedAt = parseTime(s.FinishedAt)
	}
	for _, m := range r.Mounts {
		out.Mounts = append(out.Mounts, Mount{Source: m.Source, Target: m.Destination, ReadOnly: !m.RW})
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
	if r.NetworkSettings != nil && len(r.NetworkSettings.Ports) > 0 {
		out.Ports = describePorts(r.NetworkSettings.Ports)
	} else if r.HostConfig != nil {
		out.Ports = describePorts(r.HostConfig.PortBindings)
	}
	return out
}

// parseTime reads the engine's timestamps; "0001-01-01T00:00:00Z", its word
// for never, parses to the zero time.
func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// describePorts writes bindings as `docker ps` does: 0.0.0.0:443->5000/tcp.
func describePorts(pm network.PortMap) []string {
	var out []string
	for port, bindings := range pm {
		for _, b := range bindings {
			if b.HostPort == "" {
				continue
			}
			ip := "0.0.0.0"
			if b.HostIP.IsValid() {
				ip = b.HostIP.String()
			}
			out = append(out, net.JoinHostPort(ip, b.HostPort)+"->"+port.String())
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
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
	ctx, cancel := bound(ctx, 0)
	defer cancel()
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
	ctx, cancel := bound(ctx, 0)
	defer cancel()
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
	ctx, cancel := bound(ctx, 0)
	defer cancel()
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

// LogOptions choose what StreamLogs shows.
type LogOptions struct {
	// Tail is how many lines from the end to show; "all" or "" for all.
	Tail string
	// Follow keeps streaming new lines until ctx ends.
	Follow bool
	// Timestamps prefixes each line with the engine's time stamp.
	Timestamps bool
	// Since shows only lines newer than this.
	Since time.Time
}

// StreamLogs copies the container's logs to stdout and stderr, each stream
// to its own writer, following new lines when opts.Follow until ctx ends
// (which is not an error).
func (c *Client) StreamLogs(ctx context.Context, id string, opts LogOptions, stdout, stderr io.Writer) error {
	ins, err := c.api.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return fmt.Errorf("read logs of container %q: %w", id, classify(err))
	}
	lo := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: opts.Follow, Timestamps: opts.Timestamps}
	if opts.Tail != "" && opts.Tail != "all" {
		n, err := strconv.Atoi(opts.Tail)
		if err != nil || n < 0 {
			return fmt.Errorf("read logs of container %q: tail %q is not a number of lines or \"all\"", id, opts.Tail)
		}
		lo.Tail = opts.Tail
	}
	if !opts.Since.IsZero() {
		lo.Since = opts.Since.Format(time.RFC3339Nano)
	}
	rc, err := c.api.ContainerLogs(ctx, id, lo)
	if err != nil {
		if ctx.Err() != nil && opts.Follow {
			return nil
		}
		return fmt.Errorf("read logs of container %q: %w", id, classify(err))
	}
	defer rc.Close()
	stop := context.AfterFunc(ctx, func() { _ = rc.Close() })
	defer stop()
	if cfg := ins.Container.Config; cfg != nil && cfg.Tty {
		_, err = io.Copy(stdout, rc)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, rc)
	}
	if err != nil && ctx.Err() != nil && opts.Follow {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read logs of container %q: %w", id, err)
	}
	return nil
}
