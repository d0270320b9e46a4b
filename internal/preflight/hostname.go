package preflight

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// resolution is what the host name resolves to, asked once per Run.
type resolution struct {
	addrs []netip.Addr
	err   error
}

func (e *env) resolve(ctx context.Context) resolution {
	e.resolveOnce.Do(func() {
		names, err := e.d.LookupHost(ctx, e.opts.Host)
		e.resolved.err = err
		for _, n := range names {
			if a, err := netip.ParseAddr(n); err == nil {
				e.resolved.addrs = append(e.resolved.addrs, a.Unmap())
			}
		}
	})
	return e.resolved
}

// ownAddrs are this host's addresses; loopback is added, since a name that
// resolves to it does lead here, if only from this host.
func (e *env) ownAddrs() (map[netip.Addr]bool, []string) {
	own := map[netip.Addr]bool{}
	var shown []string
	ips, _ := e.d.HostIPs()
	for _, ip := range ips {
		if a, ok := netip.AddrFromSlice(ip); ok {
			own[a.Unmap()] = true
			shown = append(shown, a.Unmap().String())
		}
	}
	return own, shown
}

func (e *env) checkHostName(ctx context.Context) Check {
	host := e.opts.Host
	c := Check{Name: CheckHostName}
	if host == "" {
		c.Status, c.Detail, c.Fix = Fail, "no host name given", "give --host: the name (or IP) Palette will use to reach the registry"
		return c
	}
	own, shown := e.ownAddrs()
	ownList := strings.Join(shown, ", ")
	if ownList == "" {
		ownList = "none found"
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		switch {
		case own[ip]:
			c.Status, c.Detail = OK, fmt.Sprintf("%s is an address of this host", host)
		case ip.IsLoopback():
			c.Status, c.Detail = Warn, fmt.Sprintf("%s is a loopback address: Palette, on another machine, cannot reach it", host)
			c.Fix = "give --host this host's DNS name or one of its addresses (" + ownList + ")"
		default:
			c.Status, c.Detail = Warn, fmt.Sprintf("%s is not an address of this host (this host has: %s): fine behind NAT or a load balancer, else Palette reaches another machine", host, ownList)
			c.Fix = "give --host one of this host's addresses, or its DNS name"
		}
		return c
	}
	r := e.resolve(ctx)
	if r.err != nil || len(r.addrs) == 0 {
		c.Status = Warn
		c.Detail = fmt.Sprintf("%s does not resolve from this host (%v): Palette must resolve it to reach the registry", host, lookupErr(r.err))
		c.Fix = fmt.Sprintf("add a DNS record for %s pointing to this host (%s), or use --host with one of those addresses", host, ownList)
		return c
	}
	var all, mine []string
	loopbackOnly := true
	for _, a := range r.addrs {
		all = append(all, a.String())
		if own[a] {
			mine = append(mine, a.String())
		}
		if !a.IsLoopback() {
			loopbackOnly = false
		}
	}
	switch {
	case len(mine) > 0:
		c.Status, c.Detail = OK, fmt.Sprintf("%s resolves to %s (this host: %s)", host, strings.Join(all, ", "), strings.Join(mine, ", "))
	case loopbackOnly:
		c.Status = Warn
		c.Detail = fmt.Sprintf("%s resolves only to loopback (%s), likely from /etc/hosts: Palette, on another machine, needs a DNS record", host, strings.Join(all, ", "))
		c.Fix = fmt.Sprintf("add a DNS record for %s pointing to one of this host's addresses (%s)", host, ownList)
	default:
		c.Status = Warn
		c.Detail = fmt.Sprintf("%s resolves to %s, none of which is this host's (%s): fine behind NAT or a load balancer, else Palette reaches another machine", host, strings.Join(all, ", "), ownList)
		c.Fix = fmt.Sprintf("point the DNS record for %s at this host, or use --host with this host's name", host)
	}
	return c
}

func lookupErr(err error) string {
	if err == nil {
		return "no address"
	}
	if dnsErr, ok := err.(*net.DNSError); ok && dnsErr.IsNotFound {
		return "no such host"
	}
	return err.Error()
}

// isPublic reports whether Let's Encrypt, on the internet, can reach a.
func isPublic(a netip.Addr) bool {
	cgnat := netip.MustParsePrefix("100.64.0.0/10")
	return a.IsGlobalUnicast() && !a.IsPrivate() && !cgnat.Contains(a)
}
