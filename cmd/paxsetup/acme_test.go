package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/paxsetup/paxsetup/internal/testregistry/image"
)

// acmeHost is the registry's name in the ACME tests: Pebble finds it through
// Docker's embedded DNS on the test network, where init gives the registry
// that alias (--network).
const acmeHost = "le.test.internal"

// pebbleImage builds the Pebble image once per test run (and once per
// machine: it is tagged by a hash of its inputs).
var pebbleImage = onceImage("Pebble", 10*time.Minute, image.BuildPebble)

// runOnNetwork creates and starts a container on the test network netName,
// where alias names it, and removes it when the test ends. It returns the
// container as the engine describes it once started, and its address on
// netName, which this host reaches too.
func runOnNetwork(t *testing.T, cli *client.Client, name string, cfg *container.Config, host *container.HostConfig, netName, alias string) (container.InspectResponse, netip.Addr) {
	t.Helper()
	ctx := context.Background()
	host.NetworkMode = container.NetworkMode(netName)
	_, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: name, Config: cfg, HostConfig: host,
		NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			netName: {Aliases: []string{alias}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	removeContainer(t, cli, name)
	if _, err := cli.ContainerStart(ctx, name, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ns := res.Container.NetworkSettings
	if ns == nil || ns.Networks[netName] == nil || !ns.Networks[netName].IPAddress.IsValid() {
		t.Fatalf("container %s has no address on %s", name, netName)
	}
	return res.Container, ns.Networks[netName].IPAddress
}

// testNetwork creates a bridge network for one test and removes it after
// the test's containers (cleanups run last-in, first-out).
func testNetwork(t *testing.T, cli *client.Client) string {
	t.Helper()
	name := uniqueName(t) + "-net"
	if _, err := cli.NetworkCreate(context.Background(), name, client.NetworkCreateOptions{Driver: "bridge"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = cli.NetworkRemove(ctx, name, client.NetworkRemoveOptions{})
	})
	return name
}

// pebble is a running Pebble on a test network.
type pebble struct {
	name string
	// root is the PEM root Pebble issues from; Pebble makes a new one at
	// every start.
	root []byte
}

// startPebble runs Pebble on netName as alias, with the ACME test server's
// usual test settings: no random sleep before validations, no rejected
// nonces (PEBBLE_WFE_NONCEREJECT's default of 5% would make the registry's
// first order fail at random). Validations are real: no
// PEBBLE_VA_ALWAYS_VALID.
//
// extraHosts go into Pebble's /etc/hosts ("name:ip"), which its resolver
// reads before DNS: a name can resolve elsewhere for Pebble alone.
func startPebble(t *testing.T, cli *client.Client, img image.PebbleImage, netName, alias string, extraHosts ...string) pebble {
	t.Helper()
	name := uniqueName(t) + "-" + alias
	host := &container.HostConfig{NetworkMode: container.NetworkMode(netName), ExtraHosts: extraHosts}
	if alias != "pebble" {
		// The image's API certificate names "pebble" only: another alias
		// gets its own, from the same CA, so --acme-ca-file stays the same.
		certFile, keyFile := pebbleAPICert(t, img, alias)
		host.Mounts = []mount.Mount{
			{Type: mount.TypeBind, Source: certFile, Target: image.PebbleAPICertFile, ReadOnly: true},
			{Type: mount.TypeBind, Source: keyFile, Target: image.PebbleAPIKeyFile, ReadOnly: true},
		}
	}
	_, addr := runOnNetwork(t, cli, name, &container.Config{
		Image: img.Ref,
		Env:   []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0"},
	}, host, netName, alias)
	// The host reaches a container on a bridge network at its address;
	// the management API's certificate is Pebble's own, for "pebble".
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(img.MiniCAPEM)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: alias}, Proxy: nil}}
	url := "https://" + net.JoinHostPort(addr.String(), strconv.Itoa(image.PebbleManagementPort)) + "/roots/0"
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := c.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte("BEGIN CERTIFICATE")) {
				return pebble{name: name, root: body}
			}
			err = fmt.Errorf("%s answered %d: %q", url, resp.StatusCode, body)
		}
		if time.Now().After(deadline) {
			logs, _ := containerLogs(cli, name)
			t.Fatalf("Pebble's management API never answered: %v\n%s", err, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pebbleAPICert issues an API certificate for name from Pebble's API CA.
func pebbleAPICert(t *testing.T, img image.PebbleImage, name string) (certFile, keyFile string) {
	t.Helper()
	caPair, err := tls.X509KeyPair(img.MiniCAPEM, img.MiniCAKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caPair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caPair.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Pebble runs as root in its container; 0644 lets any engine user read.
	certFile = writeFile(t, dir, name+".pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	keyFile = writeFile(t, dir, name+".key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	return certFile, keyFile
}

func containerLogs(cli *client.Client, name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := cli.ContainerLogs(ctx, name, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), err
}

// servedLeaf makes a TLS handshake with the registry at 127.0.0.1:port by
// name, as a client that looked acmeHost up would, trusting only root, and
// returns the certificate it serves.
func servedLeaf(t *testing.T, port int, root []byte) (*x509.Certificate, error) {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(root) {
		t.Fatal("the root holds no certificate")
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		&tls.Config{RootCAs: pool, ServerName: acmeHost})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// acmeInitArgs is init in letsencrypt mode against the Pebble at alias on
// netName, trusting its API CA (minica) and its issuing root (rootFile).
func acmeInitArgs(dir, img, name string, port int, netName, alias, minica, rootFile, adminFile, readerFile string) []string {
	return []string{"init", "--yes", "--dir", dir, "--mode", "letsencrypt", "--host", acmeHost,
		"--email", "ops@example.com", "--acme-directory", "https://" + alias + ":" + strconv.Itoa(image.PebbleDirectoryPort) + "/dir",
		"--acme-ca-file", minica, "--ca-file", rootFile, "--network", netName,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--image", img, "--pull", "never", "--name", name,
		"--admin-password-file", adminFile, "--reader-password-file", readerFile, "--no-color"}
}

// TestLetsEncryptWithPebble issues a real certificate through a config
// paxsetup wrote: the registry orders it from Pebble at the first handshake
// by name, Pebble validates TLS-ALPN-01 by connecting back to the registry,
// and paxsetup checks the chain against Pebble's root. The certificate
// survives a restart (the ACME cache is on /data), and switching to another
// ACME directory never serves the first CA's certificate.
func TestLetsEncryptWithPebble(t *testing.T) {
	start := time.Now()
	cli := dockerClient(t)
	img := standInImage(t)
	peb := pebbleImage(t)
	t.Logf("images ready in %s", time.Since(start).Round(time.Millisecond))
	netName := testNetwork(t, cli)
	p1 := startPebble(t, cli, peb, netName, "pebble")
	name := uniqueName(t)
	removeContainer(t, cli, name)
	port := freePort(t)
	work := t.TempDir()
	dir := filepath.Join(work, "setup")
	minica := writeFile(t, work, "pebble.minica.pem", peb.MiniCAPEM)
	root1 := writeFile(t, work, "pebble-root-1.pem", p1.root)
	admin, reader := writeSecret(t, work, "a", adminPW), writeSecret(t, work, "r", readerPW)

	initStart := time.Now()
	r := modesMustRun(t, acmeInitArgs(dir, img, name, port, netName, "pebble", minica, root1, admin, reader)...)
	t.Logf("init with a Pebble order took %s", time.Since(initStart).Round(time.Millisecond))
	if !strings.Contains(r.stdout, "acme the registry orders its certificate for "+acmeHost) {
		t.Errorf("init printed no progress line for the ACME order:\n%s", r.stdout)
	}
	leaf, err := servedLeaf(t, port, p1.root)
	if err != nil {
		logs, _ := containerLogs(cli, name)
		t.Fatalf("the served certificate does not chain to Pebble's root for %s: %v\nregistry log:\n%s", acmeHost, err, logs)
	}
	if !strings.HasPrefix(leaf.Issuer.CommonName, "Pebble Intermediate CA") || len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != acmeHost {
		t.Errorf("served certificate: issuer %q, names %v; want Pebble's, for %s", leaf.Issuer.CommonName, leaf.DNSNames, acmeHost)
	}
	if !strings.Contains(r.stdout, "upload "+filepath.Join(dir, "certs", "chain.pem")) {
		t.Errorf("init does not tell to upload the private ACME CA's root to Palette:\n%s", r.stdout)
	}
	chain, err := os.ReadFile(filepath.Join(dir, "certs", "chain.pem"))
	if err != nil || !bytes.Equal(bytes.TrimSpace(chain), bytes.TrimSpace(p1.root)) {
		t.Errorf("certs/chain.pem is not Pebble's root (for Palette): %v\n%s", err, chain)
	}

	if v := runBinary(t, nil, "verify", "--dir", dir, "--no-color"); v.code != 0 {
		t.Fatalf("verify --dir exited %d\n%s%s", v.code, v.stdout, v.stderr)
	}
	_, mounts, _, env := modesInspect(t, cli, name)
	if rw, ok := mounts["/etc/spectropaxconfig"]; !ok || rw || !slices.Contains(env, "SSL_CERT_FILE=/etc/spectropaxconfig/acme-ca.crt") {
		t.Errorf("the ACME CA is not the registry's read-only trust: mounts %v, env %q", mounts, env)
	}
	saved, err := os.ReadFile(filepath.Join(dir, "paxsetup.yaml"))
	if err != nil || !bytes.Contains(saved, []byte("network: "+netName)) || !bytes.Contains(saved, []byte("acme_ca_file: "+minica)) {
		t.Errorf("paxsetup.yaml does not keep --network and --acme-ca-file for a replay: %v\n%s", err, saved)
	}

	restartStart := time.Now()
	if _, err := cli.ContainerRestart(context.Background(), name, client.ContainerRestartOptions{}); err != nil {
		t.Fatal(err)
	}
	again := waitLeaf(t, port, p1.root)
	t.Logf("restart to certificate served took %s", time.Since(restartStart).Round(time.Millisecond))
	if again.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Errorf("after a restart the registry serves serial %x, not the cached %x: it ordered again", again.SerialNumber, leaf.SerialNumber)
	}

	// Another CA: a second Pebble, with its own root. The first CA's
	// certificate, still in its own cache folder, must not be served.
	p2 := startPebble(t, cli, peb, netName, "pebble2")
	root2 := writeFile(t, work, "pebble-root-2.pem", p2.root)
	switchStart := time.Now()
	modesMustRun(t, acmeInitArgs(dir, img, name, port, netName, "pebble2", minica, root2, admin, reader)...)
	t.Logf("init switching to another ACME directory took %s", time.Since(switchStart).Round(time.Millisecond))
	second, err := servedLeaf(t, port, p2.root)
	if err != nil {
		t.Fatalf("after the switch the certificate does not chain to the second CA's root: %v", err)
	}
	if second.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
		t.Error("after the switch the registry still serves the first CA's certificate")
	}
	if _, err := servedLeaf(t, port, p1.root); err == nil {
		t.Error("after the switch the served certificate still chains to the first CA's root")
	}
	if v := runBinary(t, nil, "verify", "--dir", dir, "--no-color"); v.code != 0 {
		t.Fatalf("verify --dir after the switch exited %d\n%s%s", v.code, v.stdout, v.stderr)
	}
	caches, _ := filepath.Glob(filepath.Join(dir, "data", "acme", "*"))
	if len(caches) != 2 {
		t.Errorf("want one ACME cache per directory under data/acme, got %q", caches)
	}

	// The CA goes away and the certificate with it (as when a renewal
	// falls due while the CA is down): verify and status say why the
	// registry has none, from its log.
	if _, err := cli.ContainerStop(context.Background(), p2.name, client.ContainerStopOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range caches {
		if err := os.RemoveAll(c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cli.ContainerRestart(context.Background(), name, client.ContainerRestartOptions{}); err != nil {
		t.Fatal(err)
	}
	const want = "the registry could not get its certificate: the registry cannot resolve the ACME directory https://pebble2:14000/dir"
	for _, args := range [][]string{{"verify", "--dir", dir, "--timeout", "20s"}, {"status", "--dir", dir}} {
		r := runBinary(t, nil, append(args, "--no-color")...)
		if r.code != exitCheck || !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "--network") {
			t.Errorf("paxsetup %s with the CA gone: exit %d, want 3 and %q with its fix\n%s%s", args[0], r.code, want, r.stdout, r.stderr)
		}
	}
	t.Logf("whole test %s", time.Since(start).Round(time.Millisecond))
}

// waitLeaf retries servedLeaf while the restarted registry starts.
func waitLeaf(t *testing.T, port int, root []byte) *x509.Certificate {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		leaf, err := servedLeaf(t, port, root)
		if err == nil {
			return leaf
		}
		if time.Now().After(deadline) {
			t.Fatalf("no certificate served after the restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestLetsEncryptFailuresDiagnosed: when the registry cannot get its
// certificate, init fails (exit 1) and says why and what to do, from the
// registry's own ACME error: the directory refusing connections, and the
// CA's validation reaching something other than the registry.
func TestLetsEncryptFailuresDiagnosed(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	peb := pebbleImage(t)
	netName := testNetwork(t, cli)
	// For this Pebble the registry's name resolves to Pebble itself, where
	// nothing answers the challenge: as when DNS points elsewhere.
	p := startPebble(t, cli, peb, netName, "pebble", acmeHost+":127.0.0.1")
	work := t.TempDir()
	minica := writeFile(t, work, "pebble.minica.pem", peb.MiniCAPEM)
	root := writeFile(t, work, "pebble-root.pem", p.root)
	admin, reader := writeSecret(t, work, "a", adminPW), writeSecret(t, work, "r", readerPW)
	tests := []struct {
		name      string
		directory string
		want      []string
	}{
		{"directory unreachable", "https://pebble:14001/dir", []string{"cannot connect to the ACME directory https://pebble:14001/dir (connect: connection refused)", "fix:   check --acme-directory"}},
		{"challenge fails", "https://pebble:14000/dir", []string{"could not validate " + acmeHost + " through TLS-ALPN-01", "fix:   make " + acmeHost + " resolve, for the CA, to this host"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			name := uniqueName(t)
			removeContainer(t, cli, name)
			dir := filepath.Join(t.TempDir(), "setup")
			args := acmeInitArgs(dir, img, name, freePort(t), netName, "pebble", minica, root, admin, reader)
			for i, a := range args {
				if a == "--acme-directory" {
					args[i+1] = tt.directory
				}
			}
			r := runBinary(t, nil, args...)
			t.Logf("init failed in %s", time.Since(start).Round(time.Millisecond))
			if r.code != 1 {
				t.Fatalf("init exited %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("the error lacks %q:\n%s", w, r.stderr)
				}
			}
		})
	}
}

// TestInitUnknownNetwork: a --network the engine lacks is refused before
// any file of the setup is written, naming the flag and how to make it.
func TestInitUnknownNetwork(t *testing.T) {
	dockerClient(t)
	work := t.TempDir()
	dir := filepath.Join(work, "setup")
	net := uniqueName(t) + "-missing"
	r := runBinary(t, nil, "init", "--yes", "--dir", dir, "--host", e2eHost, "--port", strconv.Itoa(freePort(t)),
		"--name", uniqueName(t), "--image", standInImage(t), "--pull", "never", "--network", net,
		"--admin-password-file", writeSecret(t, work, "a", adminPW), "--reader-password-file", writeSecret(t, work, "r", readerPW))
	if r.code != exitUsage || !strings.Contains(r.stderr, "--network") || !strings.Contains(r.stderr, "docker network create "+net) {
		t.Errorf("exit %d, want %d naming --network and its fix\n%s", r.code, exitUsage, r.stderr)
	}
	for _, name := range []string{"auth", "certs", "paxsetup.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("a refused run wrote %s", name)
		}
	}
}
