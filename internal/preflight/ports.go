package preflight

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/paxsetup/paxsetup/internal/dockerctl"
)

// unprivilegedPortStart is the sysctl that decides which ports need root;
// rootless Docker binds host ports as an ordinary user.
const unprivilegedPortStart = "/proc/sys/net/ipv4/ip_unprivileged_port_start"

// PortCheckName is the name of the check of host port p.
func PortCheckName(p int) string { return "port " + strconv.Itoa(p) }

func (e *env) ports() []int {
	var out []int
	for _, p := range append([]int{e.opts.Port}, e.opts.ExtraPorts...) {
		if p != 0 && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func (e *env) portChecks(ctx context.Context) []Check {
	var out []Check
	for _, p := range e.ports() {
		out = append(out, e.checkPort(ctx, p))
	}
	return out
}

func (e *env) bindShown() string {
	if e.opts.Bind == "" {
		return "all addresses"
	}
	return e.opts.Bind
}

func (e *env) checkPort(ctx context.Context, port int) Check {
	c := Check{Name: PortCheckName(port)}
	if port < 1 || port > 65535 {
		c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("%d is not a TCP port", port), "give --port between 1 and 65535"
		return c
	}
	if port < 1024 && e.engineUsable() && e.info.Rootless {
		start := 1024
		if s, err := e.readTrimmed(unprivilegedPortStart); err == nil {
			if n, err := strconv.Atoi(s); err == nil {
				start = n
			}
		}
		if port < start {
			c.Status = Fail
			c.Detail = fmt.Sprintf("rootless Docker cannot publish port %d: ports below %d need root (net.ipv4.ip_unprivileged_port_start=%d)", port, start, start)
			c.Fix = fmt.Sprintf("allow it: sudo sysctl -w net.ipv4.ip_unprivileged_port_start=%d, and keep it across reboots: echo net.ipv4.ip_unprivileged_port_start=%d | sudo tee /etc/sysctl.d/99-paxsetup.conf; or use --port 8443",
				port, port)
			return c
		}
	}

	if e.engineUsable() {
		holders, err := e.eng.ContainersPublishing(ctx, port)
		if err == nil {
			for _, h := range holders {
				if e.ownContainer(h) {
					c.Status, c.Detail = OK, fmt.Sprintf("held by this setup's registry %q, which init replaces", h.Name)
					return c
				}
			}
			if len(holders) > 0 {
				h := holders[0]
				c.Status = Fail
				c.Detail = fmt.Sprintf("port %d is published by container %q (image %s)", port, h.Name, h.Image)
				c.Fix = fmt.Sprintf("stop it (docker stop %s) or choose another port (%s)", h.Name, e.suggestPort(port))
				return c
			}
		}
	}

	addr := net.JoinHostPort(e.opts.Bind, strconv.Itoa(port))
	ln, err := e.d.Listen("tcp", addr)
	if err == nil {
		ln.Close()
		c.Status, c.Detail = OK, fmt.Sprintf("free on %s", e.bindShown())
		return c
	}
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return e.portTaken(ctx, c, port)
	case errors.Is(err, syscall.EACCES) || errors.Is(err, fs.ErrPermission):
		// Docker, not this process, binds the port: being refused a
		// privileged port says nothing about whether it is free. Who
		// listens on it still does.
		if procs, _ := e.d.PortHolders(ctx, port); len(procs) > 0 {
			return e.portTaken(ctx, c, port)
		}
		c.Status, c.Detail = OK, fmt.Sprintf("no program listens on it (this user may not bind port %d; the engine does it)", port)
		return c
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		c.Status = Fail
		c.Detail = fmt.Sprintf("%s is not an address of this host", e.opts.Bind)
		c.Fix = "give --bind one of this host's addresses (" + e.hostAddrs() + "), or leave it empty for all"
		return c
	}
	c.Status, c.Detail = Warn, fmt.Sprintf("could not test whether port %d is free: %v", port, err)
	return c
}

// portTaken names the program holding the port.
func (e *env) portTaken(ctx context.Context, c Check, port int) Check {
	c.Status = Fail
	procs, err := e.d.PortHolders(ctx, port)
	var named []string
	for _, p := range procs {
		switch {
		case p.PID > 0 && p.Name != "":
			named = append(named, fmt.Sprintf("process %d (%s)", p.PID, p.Name))
		case p.PID > 0:
			named = append(named, fmt.Sprintf("process %d", p.PID))
		}
	}
	switch {
	case len(named) > 0:
		c.Detail = fmt.Sprintf("port %d on %s is held by %s", port, e.bindShown(), strings.Join(named, ", "))
		first := procs[0]
		if first.Name == "docker-proxy" {
			c.Detail += ", the engine's port proxy: a container publishes it"
			c.Fix = fmt.Sprintf("find it with `docker ps --filter publish=%d` and stop it, or choose another port (%s)", port, e.suggestPort(port))
		} else {
			c.Fix = fmt.Sprintf("stop it (kill %d, or stop its service), or choose another port (%s)", first.PID, e.suggestPort(port))
		}
	default:
		why := "a process this user cannot see"
		if err != nil {
			why = fmt.Sprintf("a process (listing sockets failed: %v)", err)
		}
		c.Detail = fmt.Sprintf("port %d on %s is held by %s", port, e.bindShown(), why)
		c.Fix = fmt.Sprintf("see which with `sudo ss -ltnp 'sport = :%d'`; stop it, or choose another port (%s)", port, e.suggestPort(port))
	}
	return c
}

// ownContainer reports whether c is this setup's registry: a re-run of init
// replaces it, so its holding the port is no conflict.
func (e *env) ownContainer(c dockerctl.Container) bool {
	return c.OwnedBy(e.opts.Dir)
}

// suggestPort proposes a free port near p, 8443 first for HTTPS.
func (e *env) suggestPort(p int) string {
	candidates := []int{}
	if p == 443 {
		candidates = append(candidates, 8443)
	}
	for q := p + 1; q < p+50 && q <= 65535; q++ {
		candidates = append(candidates, q)
	}
	for _, q := range candidates {
		ln, err := e.d.Listen("tcp", net.JoinHostPort(e.opts.Bind, strconv.Itoa(q)))
		if err == nil {
			ln.Close()
			return "--port " + strconv.Itoa(q)
		}
	}
	return "--port"
}

func (e *env) hostAddrs() string {
	ips, err := e.d.HostIPs()
	if err != nil || len(ips) == 0 {
		return "see `ip -brief address`"
	}
	var s []string
	for _, ip := range ips {
		s = append(s, ip.String())
	}
	return strings.Join(s, ", ")
}
