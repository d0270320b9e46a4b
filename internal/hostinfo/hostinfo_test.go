package hostinfo

import (
	"context"
	"net"
	"testing"
)

func TestIPsAreTheHostsOwn(t *testing.T) {
	ips, err := IPs()
	if err != nil {
		t.Fatal(err)
	}
	own := map[string]bool{}
	ifaces, _ := net.InterfaceAddrs()
	for _, a := range ifaces {
		if n, ok := a.(*net.IPNet); ok {
			own[n.IP.String()] = true
		}
	}
	for _, ip := range ips {
		if ip.IsLoopback() || ip.IsLinkLocalUnicast() {
			t.Errorf("%s must not be offered as a SAN", ip)
		}
		if !own[ip.String()] {
			t.Errorf("%s is not an address of this host", ip)
		}
	}
}

func TestFQDN(t *testing.T) {
	name, err := FQDN(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if name == "" {
		t.Fatal("empty host name")
	}
}

func TestIsVirtual(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"docker0", true}, {"br-1a2b3c", true}, {"veth12ab", true}, {"eth0", false}, {"ens192", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isVirtual(tt.name); got != tt.want {
				t.Errorf("isVirtual(%q) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}
