package render

import (
	"strings"
	"testing"
)

// The image's built-in config, as the stand-in image ships it.
const defaultConfigPath = "../testregistry/config.yml"

func TestPaletteRender(t *testing.T) {
	p := Palette{
		Endpoint:            "https://registry.local:18443",
		HostPort:            "registry.local:18443",
		AdminUser:           "admin",
		ReaderUser:          "spectro",
		ChainFile:           "/srv/pax/certs/chain.pem",
		CAFile:              "/srv/pax/certs/ca.crt",
		ClientCertDir:       "/srv/pax/certs/client",
		DirArg:              " --dir '/srv/pax setup'",
		CredentialsFile:     "/srv/pax/credentials",
		AdminInCredentials:  true,
		ReaderInCredentials: true,
		GeneratedPassword:   map[string]string{"admin": "s3cret-admin-pw"},
	}
	out, err := p.Render()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Endpoint:     https://registry.local:18443",
		"Username:     spectro: the second login, for Palette and other readers,\n                so that admin's password stays with you",
		"the registry gives every user the same rights",
		"not a\n                read-only login",
		"upload /srv/pax/certs/chain.pem",
		"admin: s3cret-admin-pw",
		"Password:     spectro's, in /srv/pax/credentials",
		"spectro registry login registry.local:18443",
		"/etc/docker/certs.d/NAME:PORT/ca.crt",
		"e.g. registry.local:18443",
		"--cert-dir /srv/pax/certs/client (ca.crt only, no keys)",
		"this host:    sudo paxsetup trust --dir '/srv/pax setup'\n",
		"Check it any time with: paxsetup verify --dir '/srv/pax setup'",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	p.GeneratedPassword, p.CredentialsFile, p.AdminInCredentials, p.ReaderInCredentials = nil, "", false, false
	out, err = p.Render()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(out, "\n") {
		if n := len([]rune(l)); n > 80 && !strings.Contains(l, "/srv/pax") {
			t.Errorf("line %d is %d columns, more than a terminal's 80: %q", i, n, l)
		}
	}
	if !strings.Contains(out, "Password:     spectro's, the one you chose") {
		t.Errorf("the password line must point to the operator's own password:\n%s", out)
	}
	if strings.Contains(out, "Generated passwords") || strings.Contains(out, "s3cret") {
		t.Errorf("no password may be shown when none was generated:\n%s", out)
	}

	p.TLS = TLSLetsEncrypt
	out, _ = p.Render()
	if !strings.Contains(out, "none needed: Let's Encrypt's certificate is publicly trusted") || strings.Contains(out, "chain.pem") {
		t.Errorf("Let's Encrypt needs no upload:\n%s", out)
	}
	p.PrivateACMECA = true
	out, _ = p.Render()
	if !strings.Contains(out, "upload /srv/pax/certs/chain.pem\n                (the root your ACME CA issues from, PEM)") || strings.Contains(out, "publicly trusted") {
		t.Errorf("a private ACME CA's root must be uploaded:\n%s", out)
	}
}

// TestPaletteSeveralNodes: packs in S3 can be served by several nodes; the
// text says which endpoint Palette gets, what the certificate must name,
// how a node is added, and, on a joined node, which node it is.
func TestPaletteSeveralNodes(t *testing.T) {
	p := Palette{
		Endpoint:       "https://registry.example.com:8443",
		HostPort:       "registry.example.com:8443",
		AdminUser:      "admin",
		ReaderUser:     "spectro",
		ChainFile:      "/srv/pax/certs/chain.pem",
		CAFile:         "/srv/pax/certs/ca.crt",
		SharedEndpoint: "https://registry.example.com",
		DirArg:         " --dir '/srv/pax setup'",
	}
	out, err := p.Render()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Palette's endpoint is then\n  https://registry.example.com, on the load balancer's port,\n",
		"The certificate must also name the balancer and each node:\ngive them with --san at the first node's init.",
		"Add a node: paxsetup export --dir '/srv/pax setup' --out FILE here,\nthen paxsetup init --join FILE on the node.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "This node") {
		t.Errorf("the first node is no joined node:\n%s", out)
	}

	p.Node, p.Origin, p.Exported = "node2.example.com (container spectro-registry, port 8443)", "node1.example.com", "2026-05-01 10:00 UTC"
	out, _ = p.Render()
	if want := "This node: node2.example.com (container spectro-registry, port 8443),\njoined from the bundle exported on node1.example.com\nat 2026-05-01 10:00 UTC.\n"; !strings.HasSuffix(out, want) {
		t.Errorf("output does not end with %q:\n%s", want, out)
	}
	for i, l := range strings.Split(out, "\n") {
		if n := len([]rune(l)); n > 80 && !strings.Contains(l, "/srv/pax") {
			t.Errorf("line %d is %d columns, more than a terminal's 80: %q", i, n, l)
		}
	}

	p.TLS, p.SharedEndpoint = TLSNone, "http://registry.example.com"
	out, _ = p.Render()
	if strings.Contains(out, "--san") || !strings.Contains(out, "  http://registry.example.com, on the load balancer's port,") {
		t.Errorf("plain HTTP has no certificate to name the nodes:\n%s", out)
	}
}
