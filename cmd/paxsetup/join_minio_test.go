package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestJoinedNodeServesTheSameRegistry sets up a registry with S3 storage on
// a real MinIO, exports it, and joins a second node from the bundle, as the
// stand-in image on another port: the node serves the same certificate, its
// users log in with the first node's passwords, an image pushed through the
// first node pulls from the second with the same digests, and a blob upload
// begun on one node is finished on the other (distribution signs the upload
// state with http.secret, so that needs the shared secret: a registry on the
// same bucket with a secret of its own refuses the same step). A user added
// on the node alone goes when the node joins again from the bundle, and the
// node serves on. With the first node down the node serves every pack, and
// the first node, started again, serves again. Every client request goes
// through the registries' published ports, from outside the test network.
func TestJoinedNodeServesTheSameRegistry(t *testing.T) {
	start := time.Now()
	cli := dockerClient(t)
	img := standInImage(t)
	netName := testNetwork(t, cli)
	m := startMinIO(t, cli, netName)
	m.CreateBucket(t, "packs")
	work := t.TempDir()
	keys := writeSecret(t, work, "s3-keys", "aws_access_key_id="+m.AccessKey+"\naws_secret_access_key="+m.SecretKey)
	passFile := writeSecret(t, work, "bundle.pass", bundlePass)

	fx1 := newE2ESetup(t, "")
	first, c1, p1 := fx1.dir, fx1.name, fx1.port
	r := fx1.init(img, "--network", netName, "--storage", "s3", "--s3-bucket", "packs", "--s3-regionendpoint", m.AddrURL,
		"--s3-credentials-file", keys, "--san", "node1.registry.local", "--san", "node2.registry.local")
	if r.code != 0 {
		logs, _ := containerLogs(cli, c1)
		t.Fatalf("init exited %d\n%s%s\nregistry log:\n%s", r.code, r.stdout, r.stderr, logs)
	}
	tr := clientTransport(t, filepath.Join(first, "certs", "ca.crt"))
	ref1, err := name.ParseReference(e2eHost + ":" + strconv.Itoa(p1) + "/nodes/random:v1")
	if err != nil {
		t.Fatal(err)
	}
	pushed, err := random.Image(4096, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := ggcr.Write(ref1, pushed, ggcr.WithAuth(authn.FromConfig(authn.AuthConfig{Username: "admin", Password: adminPW})),
		ggcr.WithTransport(tr), ggcr.WithContext(t.Context())); err != nil {
		t.Fatalf("push through the first node: %v", err)
	}

	bundleFile := filepath.Join(work, "registry.bundle")
	if r := runBinary(t, nil, "export", "--dir", first, "--out", bundleFile, "--passphrase-file", passFile, "--no-color"); r.code != 0 {
		t.Fatalf("export exited %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	fx2 := newE2ESetup(t, "")
	node, c2, p2 := fx2.dir, fx2.name, fx2.port
	join := []string{"init", "--join", bundleFile, "--passphrase-file", passFile, "--dir", node, "--port", strconv.Itoa(p2),
		"--name", c2, "--network", netName, "--image", img, "--pull", "never", "--no-color"}
	joinStart := time.Now()
	r = runBinary(t, nil, join...)
	if r.code != 0 {
		logs, _ := containerLogs(cli, c2)
		t.Fatalf("join exited %d\n%s%s\nregistry log:\n%s", r.code, r.stdout, r.stderr, logs)
	}
	t.Logf("join took %s", time.Since(joinStart).Round(time.Millisecond))
	if !strings.Contains(r.stdout, "This node: ") || !strings.Contains(r.stdout, "port "+strconv.Itoa(p2)) {
		t.Errorf("the join's text does not say which node it is:\n%s", r.stdout)
	}
	for _, secret := range []string{bundlePass, m.SecretKey, adminPW, readerPW} {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("the join printed the secret %q", secret)
		}
	}

	if !bytes.Equal(servedCert(t, p1), servedCert(t, p2)) {
		t.Error("the nodes serve different certificates")
	}
	ref2, err := name.ParseReference(e2eHost + ":" + strconv.Itoa(p2) + "/nodes/random:v1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ggcr.Image(ref2, ggcr.WithAuth(authn.FromConfig(authn.AuthConfig{Username: "spectro", Password: readerPW})),
		ggcr.WithTransport(tr), ggcr.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("pull from the joined node as spectro: %v", err)
	}
	if err := sameImage(got, pushed); err != nil {
		t.Errorf("pull from the joined node: %v", err)
	}
	uploadAcross(t, tr, p1, p2)
	if v := runBinary(t, nil, "verify", "--dir", node, "--no-color"); v.code != 0 {
		t.Errorf("verify on the node exited %d:\n%s%s", v.code, v.stdout, v.stderr)
	}

	// The node's own user goes when it joins again: its files are the
	// bundle's once more.
	carol := writeSecret(t, work, "carol", "carol-password-0123")
	if r := runBinary(t, nil, "users", "add", "carol", "--password-file", carol, "--dir", node, "--no-color"); r.code != 0 || !strings.Contains(r.stdout, "each node of this registry keeps its own copy") {
		t.Fatalf("users add on the node exited %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	c := registryClient(t, filepath.Join(node, "certs", "ca.crt"), e2eHost, p2)
	v2 := "https://" + e2eHost + "/v2/"
	if got := status(t, c, v2, "carol", "carol-password-0123"); got != http.StatusOK {
		t.Fatalf("carol on the node before the re-join: %d", got)
	}
	if r := runBinary(t, nil, join...); r.code != 0 {
		logs, _ := containerLogs(cli, c2)
		t.Fatalf("join again exited %d\n%s%s\nregistry log:\n%s", r.code, r.stdout, r.stderr, logs)
	}
	for _, f := range []string{"auth/htpasswd-basic", "certs/tls.crt", "certs/tls.key", "credentials"} {
		a, _ := os.ReadFile(filepath.Join(first, f))
		b, _ := os.ReadFile(filepath.Join(node, f))
		if !bytes.Equal(a, b) {
			t.Errorf("%s on the node is not the first node's after the re-join", f)
		}
	}
	if got := status(t, c, v2, "carol", "carol-password-0123"); got != http.StatusUnauthorized {
		t.Errorf("carol on the node after the re-join: %d, want 401", got)
	}
	if got := status(t, c, v2, "admin", adminPW); got != http.StatusOK {
		t.Errorf("admin on the node after the re-join: %d", got)
	}

	// A registry on the same bucket set up by a plain init has a secret of
	// its own: the upload begun on the first node fails there.
	fx3 := newE2ESetup(t, "")
	other, p3 := fx3.dir, fx3.port
	if r := fx3.init(img, "--network", netName, "--storage", "s3", "--s3-bucket", "packs", "--s3-regionendpoint", m.AddrURL,
		"--s3-credentials-file", keys); r.code != 0 {
		t.Fatalf("init of a registry with its own secret exited %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	code := finishElsewhere(t, tr, clientTransport(t, filepath.Join(other, "certs", "ca.crt")), p1, p3)
	if code/100 != 4 {
		t.Errorf("an upload begun on the first node, finished on a registry with another http.secret: %d, want a 4xx refusal", code)
	}
	t.Logf("a registry with its own http.secret answered %d to the upload begun on the first node", code)
	if r := runBinary(t, nil, "down", "--dir", other, "--yes"); r.code != 0 {
		t.Errorf("down of the other registry exited %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// The first node goes: the node serves every pack on its own; the first
	// comes back and serves again.
	pull := func(port int) {
		t.Helper()
		ref, err := name.ParseReference(e2eHost + ":" + strconv.Itoa(port) + "/nodes/random:v1")
		if err != nil {
			t.Fatal(err)
		}
		got, err := ggcr.Image(ref, ggcr.WithAuth(authn.FromConfig(authn.AuthConfig{Username: "spectro", Password: readerPW})),
			ggcr.WithTransport(tr), ggcr.WithContext(t.Context()))
		if err != nil {
			t.Fatalf("pull from port %d: %v", port, err)
		}
		if err := sameImage(got, pushed); err != nil {
			t.Errorf("pull from port %d: %v", port, err)
		}
	}
	if r := runBinary(t, nil, "down", "--dir", first, "--yes"); r.code != 0 {
		t.Fatalf("down of the first node exited %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	pull(p2)
	uploadAcross(t, tr, p2, p2)
	if r := runBinary(t, nil, "init", "--yes", "--dir", first, "--no-color"); r.code != 0 {
		t.Fatalf("the first node's init again exited %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	pull(p1)
	uploadAcross(t, tr, p1, p2)
	t.Logf("whole test %s", time.Since(start).Round(time.Millisecond))
}

// finishElsewhere begins a blob upload on the registry at port from and
// finishes it on the one at port to, each reached with its own transport,
// and returns the status of the finishing PUT.
func finishElsewhere(t *testing.T, trFrom, trTo http.RoundTripper, from, to int) int {
	t.Helper()
	blob := []byte("a layer for another registry " + time.Now().String())
	sum := sha256.Sum256(blob)
	do := func(tr http.RoundTripper, method, u string, body []byte) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, u, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("admin", adminPW)
		resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, u, err)
		}
		resp.Body.Close()
		return resp
	}
	resp := do(trFrom, http.MethodPost, "https://"+e2eHost+":"+strconv.Itoa(from)+"/v2/nodes/upload/blobs/uploads/", nil)
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusAccepted || err != nil {
		t.Fatalf("begin the upload on port %d: %d (%v)", from, resp.StatusCode, err)
	}
	q := loc.Query()
	q.Set("digest", "sha256:"+hex.EncodeToString(sum[:]))
	return do(trTo, http.MethodPut, "https://"+e2eHost+":"+strconv.Itoa(to)+loc.Path+"?"+q.Encode(), blob).StatusCode
}

// uploadAcross begins a blob upload on the registry at port from, finishes
// it on the one at port to, and reads the blob back from the first.
func uploadAcross(t *testing.T, tr http.RoundTripper, from, to int) {
	t.Helper()
	blob := []byte("a layer uploaded across two nodes " + time.Now().String())
	sum := sha256.Sum256(blob)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	base := func(port int) string { return "https://" + e2eHost + ":" + strconv.Itoa(port) }
	do := func(method, u string, body []byte) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, u, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("admin", adminPW)
		if body != nil {
			req.Header.Set("Content-Type", "application/octet-stream")
		}
		resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, u, err)
		}
		resp.Body.Close()
		return resp
	}
	resp := do(http.MethodPost, base(from)+"/v2/nodes/upload/blobs/uploads/", nil)
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusAccepted || err != nil || !strings.Contains(loc.RawQuery, "_state=") {
		t.Fatalf("begin the upload on port %d: %d, Location %q (%v)", from, resp.StatusCode, resp.Header.Get("Location"), err)
	}
	q := loc.Query()
	q.Set("digest", digest)
	finish := base(to) + loc.Path + "?" + q.Encode()
	if resp := do(http.MethodPut, finish, blob); resp.StatusCode != http.StatusCreated {
		t.Fatalf("finish on port %d the upload begun on port %d: %d, want 201 (both must sign the upload state with the same http.secret)", to, from, resp.StatusCode)
	}
	if resp := do(http.MethodGet, base(from)+"/v2/nodes/upload/blobs/"+digest, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("the blob finished on port %d, read on port %d: %d", to, from, resp.StatusCode)
	}
}

// TestSignalsDuringJoin interrupts joins from a bundle with SIGINT or
// SIGTERM at random moments, from the passphrase's scrypt to the node's
// container starting. After each, the node's folder holds none of the
// shared files or all of them as the first node has them, no temporary file
// and no container is left, and a join again sets up a node that serves.
func TestSignalsDuringJoin(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	netName := testNetwork(t, cli)
	m := startMinIO(t, cli, netName)
	m.CreateBucket(t, "packs")
	work := t.TempDir()
	keys := writeSecret(t, work, "s3-keys", "aws_access_key_id="+m.AccessKey+"\naws_secret_access_key="+m.SecretKey)
	passFile := writeSecret(t, work, "bundle.pass", bundlePass)
	first := newE2ESetup(t, "")
	if r := first.init(img, "--network", netName, "--storage", "s3", "--s3-bucket", "packs",
		"--s3-regionendpoint", m.AddrURL, "--s3-credentials-file", keys); r.code != 0 {
		t.Fatalf("init exited %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	bundleFile := filepath.Join(work, "registry.bundle")
	if r := first.run("export", "--out", bundleFile, "--passphrase-file", passFile); r.code != 0 {
		t.Fatalf("export exited %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	shared := []string{"certs/ca.crt", "certs/tls.crt", "certs/tls.key", "certs/chain.pem", "auth/htpasswd-basic"}

	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("seed %d", seed)
	runs := max(faultRuns(t)/2, 4)
	interrupted := 0
	for i := range runs {
		node := newE2ESetup(t, "")
		args := []string{"init", "--join", bundleFile, "--passphrase-file", passFile, "--dir", node.dir, "--port", strconv.Itoa(node.port),
			"--name", node.name, "--network", netName, "--image", img, "--pull", "never", "--no-color"}
		sig := []syscall.Signal{syscall.SIGINT, syscall.SIGTERM}[i%2]
		delay := time.Duration(rng.Int64N(int64(1800 * time.Millisecond)))
		ps, out, errb := runSignalled(t, args, "", delay, sig)
		code := ps.ExitCode()
		t.Logf("run %d: %v after %v: exit %d", i, sig, delay.Round(time.Millisecond), code)
		if code != 0 && code != exitInterrupt && !killedBy(ps, sig) {
			t.Errorf("run %d: exit %d after %v, want 0 or %d:\n%s%s", i, code, sig, exitInterrupt, out, errb)
		}
		if code != 0 {
			interrupted++
			if n := node.containers(t); n != 0 {
				t.Errorf("run %d: the interrupted join left %d containers", i, n)
			}
			present := 0
			for _, f := range shared {
				b, err := os.ReadFile(filepath.Join(node.dir, f))
				if err != nil {
					continue
				}
				present++
				if a, _ := os.ReadFile(filepath.Join(first.dir, f)); !bytes.Equal(a, b) {
					t.Errorf("run %d: %s differs from the first node's", i, f)
				}
			}
			if present != 0 && present != len(shared) {
				t.Errorf("run %d: %d of the %d shared files were written", i, present, len(shared))
			}
			_ = filepath.WalkDir(node.dir, func(p string, e fs.DirEntry, err error) error {
				if err == nil && strings.Contains(e.Name(), ".tmp-") {
					t.Errorf("run %d: a temporary file is left: %s", i, p)
				}
				return nil
			})
			if r := runBinary(t, nil, args...); r.code != 0 {
				t.Fatalf("run %d: the join again exited %d\n%s%s", i, r.code, r.stdout, r.stderr)
			}
		}
		if !serves(t, node.dir, node.port, 15*time.Second) {
			t.Errorf("run %d: the node does not serve", i)
		}
		if r := node.run("down", "--yes"); r.code != 0 {
			t.Errorf("run %d: down exited %d\n%s%s", i, r.code, r.stdout, r.stderr)
		}
	}
	t.Logf("of %d joins, %d were interrupted", runs, interrupted)
}
