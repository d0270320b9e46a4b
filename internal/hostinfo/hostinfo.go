// Package hostinfo finds this machine's name and addresses: the defaults for
// the registry's host name and its certificate's IP SANs.
package hostinfo

import (
	"context"
	"net"
	"os"
	"sort"
	"strings"
	"time"
)

// FQDN returns this machine's fully qualified name when the resolver knows
// one, else its plain host name.
func FQDN(ctx context.Context) (string, error) {
	host, err := os.Hostname()
	if err != nil {
		return "", err
	}
	if strings.Contains(host, ".") {
		return strings.ToLower(host), nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if cname, err := net.DefaultResolver.LookupCNAME(ctx, host); err == nil {
		if c := strings.TrimSuffix(cname, "."); strings.Contains(c, ".") {
			return strings.ToLower(c), nil
		}
	}
	return strings.ToLower(host), nil
}

// virtualPrefixes name interfaces that belong to container engines and VPN
// tunnels rather than to the host's own network: their addresses are not
// where Palette reaches the registry.
var virtualPrefixes = []string{"docker", "br-", "veth", "cni", "flannel", "cali", "virbr", "podman", "lo"}

// IPs returns the host's own unicast addresses, without loopback, link-local
// and container-bridge addresses, IPv4 first.
func IPs() ([]net.IP, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []net.IP
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || iface.Flags&net.FlagLoopback != 0 || isVirtual(iface.Name) {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipnet, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip := ipnet.IP
			if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsMulticast() || ip.IsUnspecified() {
				continue
			}
			out = append(out, ip)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].To4() != nil && out[j].To4() == nil })
	return out, nil
}

func isVirtual(name string) bool {
	for _, p := range virtualPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
