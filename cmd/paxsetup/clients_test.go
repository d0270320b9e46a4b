package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/memory"
	orasremote "oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// The test network: an unusual private subnet, so that it collides with no
// network of the host. Its gateway is an address of this host, where the
// registry's published port answers, and it is not loopback: the docker
// daemon skips TLS verification for 127.0.0.0/8 only, so a push to the
// gateway address proves what `paxsetup trust` installed.
const (
	clientsSubnet  = "172.31.213.0/24"
	clientsGateway = "172.31.213.1"
)

// clientTransport trusts only caFile, and dials registry.local on loopback:
// the name resolves nowhere else, and no /etc/hosts entry is needed.
func clientTransport(t *testing.T, caFile string) *http.Transport {
	t.Helper()
	data, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		t.Fatalf("no certificate in %s", caFile)
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, port, err := net.SplitHostPort(addr); err == nil && host == e2eHost {
				addr = net.JoinHostPort("127.0.0.1", port)
			}
			return d.DialContext(ctx, network, addr)
		},
	}
}

// TestRealClientsEndToEnd sets up the stand-in registry with the built
// binary and uses it with the clients operators use: go-containerregistry
// (crane's library) and oras-go push as admin and pull and list as the
// second user, by name and by IP, trusting only the setup's CA; the catalog
// lists what they pushed; the digests survive `down` and `init`; and the
// docker CLI pushes and pulls at a non-loopback address after `paxsetup
// trust`, which it refuses before.
func TestRealClientsEndToEnd(t *testing.T) {
	ctx := context.Background()
	s := newLifecycleSetup(t)
	img := standInImage(t)

	netName := uniqueName(t)
	if out, err := exec.Command("docker", "network", "create", "--subnet", clientsSubnet, "--gateway", clientsGateway, netName).CombinedOutput(); err != nil {
		t.Fatalf("docker network create: %v\n%s", err, out)
	}
	// Registered before the container cleanups, so it runs after them.
	t.Cleanup(func() { exec.Command("docker", "network", "rm", netName).Run() })

	mustSucceed(t, "init", s.init(img, "--san", clientsGateway))
	caFile := filepath.Join(s.dir, "certs", "ca.crt")
	tr := clientTransport(t, caFile)
	port := strconv.Itoa(s.port)
	byName := e2eHost + ":" + port
	byIP := clientsGateway + ":" + port
	admin := authn.FromConfig(authn.AuthConfig{Username: "admin", Password: adminPW})
	reader := authn.FromConfig(authn.AuthConfig{Username: "spectro", Password: readerPW})

	// crane's library: push a random image as admin, by name and by IP.
	craneDigests := map[string]string{}
	for _, host := range []string{byName, byIP} {
		ref, err := name.ParseReference(host + "/crane/random:v1")
		if err != nil {
			t.Fatal(err)
		}
		image, err := random.Image(2048, 2)
		if err != nil {
			t.Fatal(err)
		}
		if err := ggcr.Write(ref, image, ggcr.WithAuth(admin), ggcr.WithTransport(tr), ggcr.WithContext(ctx)); err != nil {
			t.Fatalf("crane push to %s as admin: %v", host, err)
		}
		d, err := image.Digest()
		if err != nil {
			t.Fatal(err)
		}
		craneDigests[host] = d.String()
	}
	// The last push wins the tag, whichever address it used.
	craneDigest := craneDigests[byIP]

	// oras-go: push an artifact as admin.
	orasRepo := func(host string, cred auth.Credential) *orasremote.Repository {
		r, err := orasremote.NewRepository(host + "/oras/artifact")
		if err != nil {
			t.Fatal(err)
		}
		r.Client = &auth.Client{Client: &http.Client{Transport: tr}, Credential: auth.StaticCredential(host, cred)}
		return r
	}
	layer := []byte("a pack's content, pushed by oras\n")
	src := memory.New()
	layerDesc := content.NewDescriptorFromBytes("application/vnd.paxsetup.test.layer", layer)
	if err := src.Push(ctx, layerDesc, bytes.NewReader(layer)); err != nil {
		t.Fatal(err)
	}
	manifest, err := oras.PackManifest(ctx, src, oras.PackManifestVersion1_1, "application/vnd.paxsetup.test",
		oras.PackManifestOptions{Layers: []ocispec.Descriptor{layerDesc}})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Tag(ctx, manifest, "v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := oras.Copy(ctx, src, "v1", orasRepo(byName, auth.Credential{Username: "admin", Password: adminPW}), "v1", oras.DefaultCopyOptions); err != nil {
		t.Fatalf("oras push as admin: %v", err)
	}

	// Pull and list as the second user, by name and by IP.
	pullAll := func(t *testing.T) {
		for _, host := range []string{byName, byIP} {
			ref, err := name.ParseReference(host + "/crane/random:v1")
			if err != nil {
				t.Fatal(err)
			}
			got, err := ggcr.Image(ref, ggcr.WithAuth(reader), ggcr.WithTransport(tr), ggcr.WithContext(ctx))
			if err != nil {
				t.Fatalf("crane pull from %s as spectro: %v", host, err)
			}
			d, err := got.Digest()
			if err != nil || d.String() != craneDigest {
				t.Errorf("crane pull from %s: digest %s (%v), pushed %s", host, d, err, craneDigest)
			}
			// Every layer, not only the manifest.
			layers, err := got.Layers()
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range layers {
				rc, err := l.Compressed()
				if err != nil {
					t.Fatalf("crane layer from %s: %v", host, err)
				}
				rc.Close()
			}
			tags, err := ggcr.List(ref.Context(), ggcr.WithAuth(reader), ggcr.WithTransport(tr), ggcr.WithContext(ctx))
			if err != nil || !slices.Contains(tags, "v1") {
				t.Errorf("crane ls %s as spectro = %v, %v", host, tags, err)
			}

			repo := orasRepo(host, auth.Credential{Username: "spectro", Password: readerPW})
			dst := memory.New()
			desc, err := oras.Copy(ctx, repo, "v1", dst, "v1", oras.DefaultCopyOptions)
			if err != nil {
				t.Fatalf("oras pull from %s as spectro: %v", host, err)
			}
			if desc.Digest != manifest.Digest {
				t.Errorf("oras pull from %s: digest %s, pushed %s", host, desc.Digest, manifest.Digest)
			}
			gotLayer, err := content.FetchAll(ctx, dst, layerDesc)
			if err != nil || !bytes.Equal(gotLayer, layer) {
				t.Errorf("oras pull from %s: layer %q (%v)", host, gotLayer, err)
			}
			var orasTags []string
			if err := repo.Tags(ctx, "", func(ts []string) error { orasTags = append(orasTags, ts...); return nil }); err != nil || !slices.Contains(orasTags, "v1") {
				t.Errorf("oras repo tags %s as spectro = %v, %v", host, orasTags, err)
			}
		}
	}
	t.Run("pull and list as the second user", pullAll)

	catalog := func(t *testing.T) []string {
		req, err := http.NewRequest(http.MethodGet, "https://"+byName+"/v1/_catalog", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("spectro", readerPW)
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var cat struct{ Repositories []string }
		if err := json.NewDecoder(resp.Body).Decode(&cat); err != nil || resp.StatusCode != 200 {
			t.Fatalf("/v1/_catalog: %d %v", resp.StatusCode, err)
		}
		return cat.Repositories
	}
	t.Run("catalog lists what was pushed", func(t *testing.T) {
		got := catalog(t)
		for _, want := range []string{"crane/random", "oras/artifact"} {
			if !slices.Contains(got, want) {
				t.Errorf("/v1/_catalog = %v, lacks %s", got, want)
			}
		}
	})

	t.Run("digests survive down and init", func(t *testing.T) {
		mustSucceed(t, "down", s.run("down", "--yes"))
		mustSucceed(t, "init again", s.run("init", "--yes"))
		pullAll(t)
	})

	t.Run("docker CLI after paxsetup trust", func(t *testing.T) {
		dockerCLI(t, s, byIP)
	})
}

// dockerCLI pushes and pulls with the docker CLI at addr, a non-loopback
// address of this host: refused before `paxsetup trust` (unknown
// authority), working after it, and the trust stores as they were after
// `trust --uninstall`.
func dockerCLI(t *testing.T, s *lifecycleSetup, addr string) {
	cfg := t.TempDir() // the CLI's logins stay out of ~/.docker
	docker := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command("docker", args...)
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+cfg)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	login := func(user, pw string) (string, error) {
		return docker(pw+"\n", "login", addr, "--username", user, "--password-stdin")
	}

	// A tiny image built here, FROM scratch: nothing is pulled.
	ctxDir := t.TempDir()
	os.WriteFile(filepath.Join(ctxDir, "hello.txt"), []byte("hello from the docker CLI test\n"), 0o644)
	os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte("FROM scratch\nCOPY hello.txt /hello.txt\n"), 0o644)
	ref := addr + "/dockercli/tiny:v1"
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", ref).Run() })
	if out, err := docker("", "build", "-q", "-t", ref, ctxDir); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	idOf := func() string {
		out, err := docker("", "image", "inspect", "--format", "{{.Id}}", ref)
		if err != nil {
			t.Fatalf("docker image inspect: %v\n%s", err, out)
		}
		return strings.TrimSpace(out)
	}
	builtID := idOf()

	stores := []string{"/etc/docker/certs.d", "/etc/spectro/certs.d", "/etc/spectro"}
	before := snapshotTrees(t, stores)
	uninstall := func() run {
		return runBinary(t, nil, "trust", "--uninstall", "--dir", s.dir, "--target", "docker,spectro", "--no-color")
	}
	t.Cleanup(func() { uninstall() })

	if _, err := os.Stat(filepath.Join("/etc/docker/certs.d", addr)); err == nil {
		t.Fatalf("/etc/docker/certs.d/%s exists before the test: another run left it", addr)
	}
	out, err := login("admin", adminPW)
	if err == nil || !strings.Contains(out, "x509") || !strings.Contains(out, "unknown authority") {
		t.Fatalf("docker login before trust: want x509 unknown authority, got %v\n%s", err, out)
	}

	tr := runBinary(t, nil, "trust", "--dir", s.dir, "--target", "docker,spectro", "--no-color")
	mustSucceed(t, "trust", tr)
	if !strings.Contains(tr.stdout, filepath.Join("/etc/docker/certs.d", addr, "ca.crt")) {
		t.Fatalf("trust did not install for %s:\n%s", addr, tr.stdout)
	}

	if out, err := login("admin", adminPW); err != nil {
		t.Fatalf("docker login as admin after trust: %v\n%s", err, out)
	}
	if out, err := docker("", "push", ref); err != nil {
		t.Fatalf("docker push as admin: %v\n%s", err, out)
	}
	if out, err := docker("", "rmi", ref); err != nil {
		t.Fatalf("docker rmi: %v\n%s", err, out)
	}
	if out, err := login("spectro", readerPW); err != nil {
		t.Fatalf("docker login as spectro: %v\n%s", err, out)
	}
	if out, err := docker("", "pull", ref); err != nil {
		t.Fatalf("docker pull as spectro: %v\n%s", err, out)
	}
	if got := idOf(); got != builtID {
		t.Errorf("pulled image %s, built %s", got, builtID)
	}
	docker("", "logout", addr)

	un := uninstall()
	mustSucceed(t, "trust --uninstall", un)
	if after := snapshotTrees(t, stores); !maps.Equal(before, after) {
		t.Errorf("trust stores differ after --uninstall:\nbefore %v\nafter  %v\n%s", before, after, un.stdout)
	}
}

// snapshotTrees records every folder and file (with its content) under
// roots; a missing root is recorded as missing.
func snapshotTrees(t *testing.T, roots []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == root && os.IsNotExist(err) {
					out[p] = "missing"
					return nil
				}
				return err
			}
			if d.IsDir() {
				out[p+"/"] = "dir"
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[p] = string(data)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}
