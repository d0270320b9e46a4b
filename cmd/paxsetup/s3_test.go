package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/moby/client"

	"github.com/paxsetup/paxsetup/internal/setup"
)

// s3Root is the key prefix init gives the registry in the S3 tests
// (--s3-rootdirectory /packs): distribution keeps everything under
// <root>/docker/registry/v2.
const s3Root = "packs/docker/registry/v2/"

// TestS3StorageWithMinIO sets up the stand-in registry with S3 storage on a
// real MinIO, reached by its name on a test network, with the region left
// to its default. An image pushed through the registry's published port
// lands in the bucket under --s3-rootdirectory, as the registry's own key
// layout; it pulls back from the host with the same digests, because by
// default the registry serves the blobs itself; with --s3-redirect it
// answers a blob download with a redirect to MinIO instead. The S3 keys come
// from a file, or from the environment.
func TestS3StorageWithMinIO(t *testing.T) {
	start := time.Now()
	cli := dockerClient(t)
	img := standInImage(t)
	netName := testNetwork(t, cli)
	m := startMinIO(t, cli, netName)
	t.Logf("images and MinIO ready in %s", time.Since(start).Round(time.Millisecond))

	// s3Setup runs init with S3 storage in its own bucket, and pushes a
	// random image as admin through the published port.
	s3Setup := func(t *testing.T, bucket string, env []string, extra ...string) (dir string, port int, tr http.RoundTripper, ref name.Reference, pushed v1.Image) {
		t.Helper()
		m.CreateBucket(t, bucket)
		fx := newE2ESetup(t, "")
		ctr := fx.name
		dir, port = fx.dir, fx.port
		args := fx.initArgs(img, "--network", netName, "--storage", "s3", "--s3-bucket", bucket, "--s3-regionendpoint", m.InternalURL,
			"--s3-secure=false", "--s3-rootdirectory", "/packs")
		initStart := time.Now()
		r := runBinary(t, env, append(args, extra...)...)
		if r.code != 0 {
			logs, _ := containerLogs(cli, ctr)
			t.Fatalf("init exited %d\nstdout:\n%s\nstderr:\n%s\nregistry log:\n%s", r.code, r.stdout, r.stderr, logs)
		}
		t.Logf("init took %s", time.Since(initStart).Round(time.Millisecond))
		if strings.Contains(r.stdout+r.stderr, m.SecretKey) {
			t.Error("init printed the S3 secret key")
		}

		tr = clientTransport(t, filepath.Join(dir, "certs", "ca.crt"))
		ref, err := name.ParseReference(e2eHost + ":" + strconv.Itoa(port) + "/s3/random:v1")
		if err != nil {
			t.Fatal(err)
		}
		pushed, err = random.Image(4096, 2)
		if err != nil {
			t.Fatal(err)
		}
		pusher := authn.FromConfig(authn.AuthConfig{Username: "admin", Password: adminPW})
		if err := ggcr.Write(ref, pushed, ggcr.WithAuth(pusher), ggcr.WithTransport(tr), ggcr.WithContext(t.Context())); err != nil {
			logs, _ := containerLogs(cli, ctr)
			t.Fatalf("push to %s as admin: %v\nregistry log:\n%s", ref, err, logs)
		}
		return dir, port, tr, ref, pushed
	}

	for _, tc := range []struct {
		name, bucket string
		keys         func(t *testing.T) (env, args []string)
	}{
		{"keys from a file", "packs-file", func(t *testing.T) ([]string, []string) {
			file := writeSecret(t, t.TempDir(), "s3-keys", "[default]\naws_access_key_id = "+m.AccessKey+"\naws_secret_access_key = "+m.SecretKey)
			return nil, []string{"--s3-credentials-file", file}
		}},
		{"keys from the environment", "packs-env", func(t *testing.T) ([]string, []string) {
			return []string{setup.EnvS3AccessKey + "=" + m.AccessKey, setup.EnvS3SecretKey + "=" + m.SecretKey}, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, args := tc.keys(t)
			dir, _, tr, ref, pushed := s3Setup(t, tc.bucket, env, args...)
			if v := runBinary(t, nil, "verify", "--dir", dir, "--no-color"); v.code != 0 || !strings.Contains(v.stdout, "200 from the registry itself") {
				t.Errorf("verify exited %d; want 0 and the layers served by the registry:\n%s%s", v.code, v.stdout, v.stderr)
			}

			keys := m.Keys(t, tc.bucket, "")
			for _, want := range append(blobKeys(t, pushed), s3Root+"repositories/s3/random/_manifests/tags/v1/current/link") {
				if !slices.Contains(keys, want) {
					t.Errorf("MinIO has no %s in bucket %s; its keys:\n%s", want, tc.bucket, strings.Join(keys, "\n"))
				}
			}
			for _, k := range keys {
				if !strings.HasPrefix(k, s3Root) {
					t.Errorf("key %s is outside --s3-rootdirectory /packs", k)
				}
			}

			// Pulled as the second user, through the registry alone: the
			// host cannot resolve MinIO's name on the test network.
			puller := authn.FromConfig(authn.AuthConfig{Username: "spectro", Password: readerPW})
			got, err := ggcr.Image(ref, ggcr.WithAuth(puller), ggcr.WithTransport(tr), ggcr.WithContext(t.Context()))
			if err != nil {
				t.Fatalf("pull %s as spectro: %v", ref, err)
			}
			if err := sameImage(got, pushed); err != nil {
				t.Errorf("pull %s: %v", ref, err)
			}
		})
	}

	t.Run("--s3-redirect sends blob downloads to MinIO", func(t *testing.T) {
		const bucket = "packs-redirect"
		file := writeSecret(t, t.TempDir(), "s3-keys", "aws_access_key_id="+m.AccessKey+"\naws_secret_access_key="+m.SecretKey)
		dir, port, tr, ref, pushed := s3Setup(t, bucket, nil, "--s3-credentials-file", file, "--s3-redirect")
		// verify follows the redirect from this host, which cannot resolve
		// MinIO's name on the test network, and says so.
		v := runBinary(t, nil, "verify", "--dir", dir, "--no-color")
		if !strings.Contains(v.stdout, "307 to "+m.InternalURL) || !strings.Contains(v.stdout, "from this host that fails") || !strings.Contains(v.stdout, "--s3-redirect=false") {
			t.Errorf("verify exited %d; want the redirect to %s named as failing from here:\n%s%s", v.code, m.InternalURL, v.stdout, v.stderr)
		}
		layers, err := pushed.Layers()
		if err != nil {
			t.Fatal(err)
		}
		digest, err := layers[0].Digest()
		if err != nil {
			t.Fatal(err)
		}
		url := "https://" + e2eHost + ":" + strconv.Itoa(port) + "/v2/" + ref.Context().RepositoryStr() + "/blobs/" + digest.String()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("spectro", readerPW)
		c := &http.Client{Transport: tr, Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		resp.Body.Close()
		want := m.InternalURL + "/" + bucket + "/" + blobKey(digest) + "?"
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(loc, want) {
			t.Errorf("GET %s = %d to %q; want 307 to %s...", url, resp.StatusCode, loc, want)
		}
	})
	t.Logf("whole test %s", time.Since(start).Round(time.Millisecond))
}

// blobKey is where the registry keeps the blob digest in the bucket.
func blobKey(digest v1.Hash) string {
	return s3Root + "blobs/" + digest.Algorithm + "/" + digest.Hex[:2] + "/" + digest.Hex + "/data"
}

// blobKeys are the keys of every blob of img: its manifest, its config and
// its layers.
func blobKeys(t *testing.T, img v1.Image) []string {
	t.Helper()
	manifest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	config, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{blobKey(manifest), blobKey(config)}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, blobKey(d))
	}
	return keys
}

// sameImage downloads every blob of got, which go-containerregistry checks
// against its digest as it reads, and compares the digests with want's.
func sameImage(got, want v1.Image) error {
	gd, err := got.Digest()
	if err != nil {
		return err
	}
	wd, err := want.Digest()
	if err != nil {
		return err
	}
	if gd != wd {
		return fmt.Errorf("manifest digest %s, pushed %s", gd, wd)
	}
	gc, err := got.ConfigName()
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if _, err := got.RawConfigFile(); err != nil {
		return fmt.Errorf("config %s: %w", gc, err)
	}
	layers, err := got.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		rc, err := l.Compressed()
		if err != nil {
			return fmt.Errorf("layer %s: %w", d, err)
		}
		_, err = io.Copy(io.Discard, rc)
		if cerr := rc.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("layer %s: %w", d, err)
		}
	}
	return nil
}

// TestS3PreflightWithMinIO has init's preflight try the bucket on a real
// MinIO, reached by its address on the test network (which this host and
// the registry both reach): good keys pass, the probe leaves no object
// behind, and the run goes on; a wrong secret key and a missing bucket each
// stop init with exit 2 before anything is written or started, naming the
// flag that fixes it.
func TestS3PreflightWithMinIO(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	netName := testNetwork(t, cli)
	m := startMinIO(t, cli, netName)
	m.CreateBucket(t, "packs")
	keysFile := func(secret string) string {
		return writeSecret(t, t.TempDir(), "s3-keys", "aws_access_key_id="+m.AccessKey+"\naws_secret_access_key="+secret)
	}
	initArgs := func(fx *e2eSetup, bucket, keys string) []string {
		return fx.initArgs(img, "--network", netName, "--storage", "s3", "--s3-bucket", bucket, "--s3-regionendpoint", m.AddrURL,
			"--s3-rootdirectory", "/packs", "--s3-credentials-file", keys)
	}

	for _, tc := range []struct {
		name, bucket, secret, flag, want string
	}{
		{"wrong secret key", "packs", "not-" + m.SecretKey, "--s3-credentials-file", "refused the keys"},
		{"no such bucket", "no-such-packs", m.SecretKey, "--s3-bucket", `no bucket "no-such-packs"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newE2ESetup(t, "")
			dir, ctr := fx.dir, fx.name
			r := runBinary(t, nil, initArgs(fx, tc.bucket, keysFile(tc.secret))...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.flag) || !strings.Contains(r.stdout+r.stderr, tc.want) {
				t.Fatalf("init exited %d, want 2 naming %s and saying %q\nstdout:\n%s\nstderr:\n%s", r.code, tc.flag, tc.want, r.stdout, r.stderr)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("init refused by preflight left %s behind: %v", dir, err)
			}
			if _, err := cli.ContainerInspect(t.Context(), ctr, client.ContainerInspectOptions{}); err == nil {
				t.Errorf("init refused by preflight created container %s", ctr)
			}
		})
	}

	t.Run("good keys", func(t *testing.T) {
		fx := newE2ESetup(t, "")
		dir, ctr := fx.dir, fx.name
		r := runBinary(t, nil, initArgs(fx, "packs", keysFile(m.SecretKey))...)
		if r.code != 0 {
			logs, _ := containerLogs(cli, ctr)
			t.Fatalf("init exited %d\nstdout:\n%s\nstderr:\n%s\nregistry log:\n%s", r.code, r.stdout, r.stderr, logs)
		}
		for _, want := range []string{
			"ok   s3 bucket: s3://packs/packs at " + m.AddrURL + ": the keys list, write and delete",
			"ok   s3 downloads: the registry serves the layers itself",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("init output lacks %q:\n%s", want, r.stdout)
			}
		}
		if v := runBinary(t, nil, "verify", "--dir", dir, "--no-color"); v.code != 0 || !strings.Contains(v.stdout, "no pack to download yet") {
			t.Errorf("verify exited %d; want 0 and no pack to download yet:\n%s%s", v.code, v.stdout, v.stderr)
		}
		for _, k := range m.Keys(t, "packs", "") {
			if strings.Contains(k, ".paxsetup-probe-") {
				t.Errorf("the preflight probe left %s in the bucket", k)
			}
		}
	})
}
