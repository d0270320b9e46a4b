package dockerctl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

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

// Labels paxsetup puts on the containers it makes: that it made the
// container, and for the setup in which folder.
const (
	LabelManaged = "io.paxsetup.managed"
	LabelDir     = "io.paxsetup.dir"
)

// Managed reports whether paxsetup made the container, for any setup.
func (c Container) Managed() bool { return c.Labels[LabelManaged] == "true" }

// OwnedBy reports whether paxsetup made the container for the setup in dir:
// the one rule by which paxsetup decides a container is its to replace,
// stop or restart.
func (c Container) OwnedBy(dir string) bool {
	return c.Managed() && dir != "" && c.Labels[LabelDir] == dir
}
