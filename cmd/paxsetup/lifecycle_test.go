package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"

	"github.com/paxsetup/paxsetup/internal/config"
)

// lifecycleSetup is one setup of the stand-in registry made by the built
// binary, with its own container name, port and folder.
type lifecycleSetup struct {
	*e2eSetup
	// images are removed after the setup's containers, which may use them.
	images []string
}

func newLifecycleSetup(t *testing.T) *lifecycleSetup {
	t.Helper()
	s := &lifecycleSetup{}
	// Registered before the setup's own cleanup, so it runs after it: the
	// images go once the containers that may use them are gone.
	t.Cleanup(func() {
		for _, ref := range s.images {
			untag(s.cli, ref)
		}
	})
	s.e2eSetup = newE2ESetup(t, "")
	return s
}

// init runs `paxsetup init --yes` for this setup, its certificate also
// for 127.0.0.1, with extra arguments.
func (s *lifecycleSetup) init(image string, extra ...string) run {
	s.t.Helper()
	return s.e2eSetup.init(image, append([]string{"--san", "127.0.0.1"}, extra...)...)
}

func (s *lifecycleSetup) http() *http.Client {
	return registryClient(s.t, filepath.Join(s.dir, "certs", "ca.crt"), e2eHost, s.port)
}

func mustSucceed(t *testing.T, what string, r run) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s exited %d\nstdout:\n%s\nstderr:\n%s", what, r.code, r.stdout, r.stderr)
	}
}

// buildImage builds dockerfile (FROM an image the engine holds, so nothing
// is pulled) as ref, removed at the end of the test after the setup's
// containers.
func (s *lifecycleSetup) buildImage(ref, dockerfile string) string {
	t, cli := s.t, s.cli
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile)), ModTime: time.Unix(0, 0)})
	tw.Write([]byte(dockerfile))
	tw.Close()
	ctx := context.Background()
	res, err := cli.ImageBuild(ctx, &buf, client.ImageBuildOptions{Tags: []string{ref}, Remove: true, ForceRemove: true})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	dec := json.NewDecoder(res.Body)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if m.Error != nil {
			t.Fatalf("build %s: %s", ref, m.Error.Message)
		}
	}
	s.images = append(s.images, ref)
	return ref
}

// untag removes one tag; the image stays while other tags (the shared
// stand-in's) name it.
func untag(cli *client.Client, ref string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{})
}

func imageID(t *testing.T, cli *client.Client, ref string) string {
	t.Helper()
	res, err := cli.ImageInspect(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return res.ID
}

func inspect(t *testing.T, cli *client.Client, nameOrID string) client.ContainerInspectResult {
	t.Helper()
	res, err := cli.ContainerInspect(context.Background(), nameOrID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// pushedImage is what pushImage stored in the registry.
type pushedImage struct {
	repo, tag, layerDigest string
	layer                  []byte
}

// pushImage pushes a one-layer image through the registry's API as the
// admin, as a pack upload would, so the registry holds real data.
func pushImage(t *testing.T, c *http.Client, endpoint, repo string) pushedImage {
	t.Helper()
	do := func(method, u, contentType string, body []byte, want int) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, u, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("admin", adminPW)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, u, err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s %s = %d, want %d: %s", method, u, resp.StatusCode, want, msg)
		}
		return resp
	}
	blob := func(data []byte) string {
		digest := fmt.Sprintf("sha256:%x", sha256.Sum256(data))
		resp := do(http.MethodPost, endpoint+"/v2/"+repo+"/blobs/uploads/", "", nil, http.StatusAccepted)
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		base, _ := url.Parse(endpoint)
		loc = base.ResolveReference(loc)
		q := loc.Query()
		q.Set("digest", digest)
		loc.RawQuery = q.Encode()
		do(http.MethodPut, loc.String(), "application/octet-stream", data, http.StatusCreated)
		return digest
	}
	img := pushedImage{repo: repo, tag: "1.0.0", layer: []byte("pack content " + repo)}
	img.layerDigest = blob(img.layer)
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	cfgDigest := blob(cfg)
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfgDigest, "size": len(cfg)},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": img.layerDigest, "size": len(img.layer)}},
	})
	do(http.MethodPut, endpoint+"/v2/"+repo+"/manifests/"+img.tag, "application/vnd.oci.image.manifest.v1+json", manifest, http.StatusCreated)
	return img
}

// checkServes proves the registry serves the pushed image: the admin sees it
// in the v1 catalog and can read its layer back, byte for byte.
func checkServes(t *testing.T, c *http.Client, endpoint string, img pushedImage) {
	t.Helper()
	get := func(path string) (int, []byte) {
		req, _ := http.NewRequest(http.MethodGet, endpoint+path, nil)
		req.SetBasicAuth("admin", adminPW)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	code, body := get("/v1/_catalog")
	if code != http.StatusOK || !strings.Contains(string(body), `"`+img.repo+`"`) {
		t.Errorf("GET /v1/_catalog = %d %s, want 200 listing %s", code, body, img.repo)
	}
	code, body = get("/v2/" + img.repo + "/blobs/" + img.layerDigest)
	if code != http.StatusOK || !bytes.Equal(body, img.layer) {
		t.Errorf("GET the pushed layer = %d %q, want 200 %q", code, body, img.layer)
	}
}

// TestLifecycleEndToEnd takes one setup through its whole life with the
// built binary and the real engine: a fresh start bound to one address,
// data pushed, a re-run, status and logs, an upgrade to an image that cannot
// start (rolled back, data served again), an upgrade that works, a moved tag
// that is not followed until asked, discovery of a renamed container, and
// down keeping every file.
func TestLifecycleEndToEnd(t *testing.T) {
	img := standInImage(t)
	s := newLifecycleSetup(t)
	cli := s.cli

	mustSucceed(t, "init", s.init(img, "--bind", "127.0.0.1"))
	firstID := containerID(t, cli, s.name)
	stand := imageID(t, cli, img)

	t.Run("fresh start as asked", func(t *testing.T) {
		c := inspect(t, cli, s.name).Container
		bindings := c.HostConfig.PortBindings
		found := false
		for _, bs := range bindings {
			for _, b := range bs {
				found = found || (b.HostIP.String() == "127.0.0.1" && b.HostPort == strconv.Itoa(s.port))
			}
		}
		if !found {
			t.Errorf("port bindings = %v, want 127.0.0.1:%d (--bind)", bindings, s.port)
		}
		lc := c.HostConfig.LogConfig
		rotated := lc.Config["max-size"] == "10m" && lc.Config["max-file"] == "3"
		// Podman applies max-size to its k8s-file driver but does not report
		// the options back through the Docker API.
		if lc.Type != "json-file" || !rotated && !(isPodman(t, cli) && len(lc.Config) == 0) {
			t.Errorf("log config = %+v, want json-file rotated at 3 x 10m", lc)
		}
		if c.Config.Labels["io.paxsetup.image"] != img {
			t.Errorf("labels = %v, want io.paxsetup.image=%s", c.Config.Labels, img)
		}
		var a config.Answers
		readYAML(t, config.Path(s.dir), &a)
		if a.ImageID != stand || a.Bind != "127.0.0.1" {
			t.Errorf("paxsetup.yaml records image_id %q, bind %q; want %s, 127.0.0.1", a.ImageID, a.Bind, stand)
		}
	})

	pushed := pushImage(t, s.http(), s.endpoint(), "packs/edge")
	marker := filepath.Join(s.dir, "data", "operator-note.txt")
	if err := os.WriteFile(marker, []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	checkServes(t, s.http(), s.endpoint(), pushed)

	t.Run("unchanged re-run and upgrade to the same image leave the container alone", func(t *testing.T) {
		mustSucceed(t, "re-run", s.run("init", "--yes"))
		r := s.run("upgrade", "--image", img, "--pull", "never")
		mustSucceed(t, "upgrade to the running image", r)
		if !strings.Contains(r.stdout, "nothing to upgrade") {
			t.Errorf("upgrade output:\n%s", r.stdout)
		}
		if got := containerID(t, cli, s.name); got != firstID {
			t.Error("the container was replaced although nothing changed")
		}
	})

	t.Run("status", func(t *testing.T) {
		r := s.run("status")
		mustSucceed(t, "status", r)
		for _, want := range []string{s.name + " (" + firstID[:12] + ") running since", img, "127.0.0.1:" + strconv.Itoa(s.port) + "->5000/tcp",
			"Restarts     0", `ok GET /health: 200 {"status":"UP"}`, "824 days left"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("status lacks %q:\n%s", want, r.stdout)
			}
		}
		r = s.run("status", "--output", "json")
		mustSucceed(t, "status --output json", r)
		var st Status
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
			t.Fatalf("status JSON: %v\n%s", err, r.stdout)
		}
		if !st.Running || st.ID != firstID || st.Image != img || st.ImageID != stand || st.Health == nil || !st.Health.OK ||
			st.Certificate == nil || st.Certificate.DaysLeft != 824 || st.Since == nil || time.Since(*st.Since) > time.Hour {
			t.Errorf("status = %+v", st)
		}
	})

	t.Run("logs", func(t *testing.T) {
		r := s.run("logs", "--tail", "all")
		mustSucceed(t, "logs", r)
		if !strings.Contains(r.stderr+r.stdout, "listening on [::]:5000") || !strings.Contains(r.stdout, "GET /v1/_catalog") && !strings.Contains(r.stdout, "GET /v2/_catalog") {
			t.Errorf("logs lack the registry's start and access lines:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		}
		r = s.run("logs", "--tail", "2")
		mustSucceed(t, "logs --tail 2", r)
		if n := strings.Count(r.stdout+r.stderr, "\n"); n != 2 {
			t.Errorf("--tail 2 printed %d lines:\n%s%s", n, r.stdout, r.stderr)
		}
		if r := s.run("logs", "--tail", "many"); r.code != exitUsage || !strings.Contains(r.stderr, "--tail") {
			t.Errorf("--tail many: exit %d, %s", r.code, r.stderr)
		}
	})

	t.Run("upgrade to an image that cannot start rolls back", func(t *testing.T) {
		broken := s.buildImage("paxsetup-test-broken:"+strings.TrimPrefix(s.name, "paxsetup-test-"),
			"FROM "+img+"\nCMD [\"serve\", \"/missing.yml\"]\n")
		r := s.run("upgrade", "--image", broken, "--pull", "never", "--timeout", "30s")
		if r.code != exitError {
			t.Fatalf("upgrade to a broken image exited %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
		}
		for _, want := range []string{"previous registry was restored", "/missing.yml, does not exist inside the container", "configuration error: open /missing.yml"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("the failure report lacks %q:\n%s", want, r.stderr)
			}
		}
		if got := containerID(t, cli, s.name); got != firstID {
			t.Errorf("the registry running now is %s, want the old one %s back", got, firstID)
		}
		if !inspect(t, cli, s.name).Container.State.Running {
			t.Fatal("the old registry does not run again")
		}
		checkServes(t, s.http(), s.endpoint(), pushed)
		if data, err := os.ReadFile(marker); err != nil || string(data) != "kept" {
			t.Errorf("data/operator-note.txt after the rollback: %q, %v", data, err)
		}
		res, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", "io.paxsetup.dir="+s.dir)})
		if err != nil || len(res.Items) != 1 {
			t.Errorf("containers of the setup after the rollback: %d (%v), want the old one alone", len(res.Items), err)
		}
		var a config.Answers
		readYAML(t, config.Path(s.dir), &a)
		if a.Image != img || a.ImageID != stand {
			t.Errorf("after a failed upgrade paxsetup.yaml says %s %s, want the old %s %s", a.Image, a.ImageID, img, stand)
		}
	})

	// A second image with its own ID, so the recorded ID can be seen to move.
	tag := "paxsetup-test-next:" + strings.TrimPrefix(s.name, "paxsetup-test-")
	next := s.buildImage(tag, "FROM "+img+"\nLABEL io.paxsetup.test.next="+s.name+"\n")
	nextID := imageID(t, cli, next)
	// Moving the tag below leaves this image untagged: removed by its ID.
	s.images = append(s.images, nextID)

	t.Run("upgrade to a working image", func(t *testing.T) {
		r := s.run("upgrade", "--image", next, "--pull", "never")
		mustSucceed(t, "upgrade", r)
		if !strings.Contains(r.stdout, "Upgraded:") {
			t.Errorf("upgrade output:\n%s", r.stdout)
		}
		c := inspect(t, cli, s.name).Container
		if c.ID == firstID || c.Image != nextID || !c.State.Running {
			t.Errorf("after the upgrade: container %s on %s running=%v, want a new one on %s", c.ID[:12], c.Image, c.State.Running, nextID)
		}
		checkServes(t, s.http(), s.endpoint(), pushed)
		var a config.Answers
		readYAML(t, config.Path(s.dir), &a)
		if a.Image != next || a.ImageID != nextID || a.Bind != "127.0.0.1" {
			t.Errorf("paxsetup.yaml: image %s %s bind %q, want %s %s 127.0.0.1", a.Image, a.ImageID, a.Bind, next, nextID)
		}
	})

	t.Run("a moved tag is followed only on upgrade", func(t *testing.T) {
		before := containerID(t, cli, s.name)
		// The tag now names the stand-in itself, as a re-pushed tag would.
		if _, err := cli.ImageTag(context.Background(), client.ImageTagOptions{Source: img, Target: tag}); err != nil {
			t.Fatal(err)
		}
		r := s.run("init", "--yes")
		mustSucceed(t, "re-run after the tag moved", r)
		if !strings.Contains(r.stdout, "the registry keeps") || containerID(t, cli, s.name) != before {
			t.Errorf("a re-run followed the moved tag:\n%s", r.stdout)
		}
		mustSucceed(t, "upgrade to the moved tag", s.run("upgrade", "--image", tag, "--pull", "never"))
		if got := inspect(t, cli, s.name).Container.Image; got != stand {
			t.Errorf("after upgrading, the registry runs %s, want %s", got, stand)
		}
		checkServes(t, s.http(), s.endpoint(), pushed)
	})

	t.Run("a renamed container is still found by its labels", func(t *testing.T) {
		renamed := s.name + "-renamed"
		if _, err := cli.ContainerRename(context.Background(), s.name, client.ContainerRenameOptions{NewName: renamed}); err != nil {
			t.Fatal(err)
		}
		r := s.run("status", "--output", "json")
		mustSucceed(t, "status of a renamed container", r)
		var st Status
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.Container != renamed || !st.Running {
			t.Errorf("status = %+v (%v), want %s running", st, err, renamed)
		}
		if r := s.run("logs", "--tail", "1"); r.code != 0 || r.stdout+r.stderr == "" {
			t.Errorf("logs of a renamed container: exit %d\n%s", r.code, r.stderr)
		}
	})

	t.Run("down keeps every file", func(t *testing.T) {
		before := snapshot(t, s.dir)
		if r := runBinary(t, nil, "down", "--dir", s.dir); r.code != exitUsage || !strings.Contains(r.stderr, "--yes") {
			t.Errorf("down without a terminal and --yes: exit %d\n%s", r.code, r.stderr)
		}
		if r := s.run("down", "--yes", "--delete-data"); r.code != exitUsage || !strings.Contains(r.stderr, "--confirm-delete-data="+s.dir) {
			t.Errorf("--delete-data under --yes alone: exit %d\n%s", r.code, r.stderr)
		}
		r := s.run("down", "--yes")
		mustSucceed(t, "down", r)
		res, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", "io.paxsetup.dir="+s.dir)})
		if err != nil || len(res.Items) != 0 {
			t.Errorf("containers of the setup after down: %d (%v)", len(res.Items), err)
		}
		after := snapshot(t, s.dir)
		for f, sum := range before {
			if after[f] != sum {
				t.Errorf("%s changed or vanished with down", f)
			}
		}
		if r := s.run("status"); r.code != exitCheck || !strings.Contains(r.stdout, "no container of this setup") {
			t.Errorf("status after down: exit %d\n%s", r.code, r.stdout)
		}
		// Started again from the same files, it serves the same packs.
		mustSucceed(t, "init after down", s.run("init", "--yes"))
		checkServes(t, s.http(), s.endpoint(), pushed)
	})

	t.Run("down --delete-data with the folder confirmed", func(t *testing.T) {
		if r := s.run("down", "--yes", "--delete-data", "--confirm-delete-data", filepath.Dir(s.dir)); r.code != exitUsage {
			t.Errorf("a wrong confirmation: exit %d\n%s", r.code, r.stderr)
		}
		if _, err := os.Stat(marker); err != nil {
			t.Fatalf("a wrong confirmation deleted data: %v", err)
		}
		mustSucceed(t, "down --delete-data", s.run("down", "--yes", "--delete-data", "--confirm-delete-data", s.dir))
		if _, err := os.Stat(filepath.Join(s.dir, "data")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("data/ still there: %v", err)
		}
		for _, f := range []string{config.FileName, "auth/htpasswd-basic", "certs/tls.key", "certs/ca.key"} {
			if _, err := os.Stat(filepath.Join(s.dir, f)); err != nil {
				t.Errorf("%s went with data/: %v", f, err)
			}
		}
	})
}

// isPodman reports whether the engine is Podman's Docker-compatible service.
func isPodman(t *testing.T, cli *client.Client) bool {
	t.Helper()
	v, err := cli.ServerVersion(context.Background(), client.ServerVersionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range v.Components {
		if strings.Contains(c.Name, "Podman") {
			return true
		}
	}
	return false
}

// snapshot hashes every file under dir.
func snapshot(t *testing.T, dir string) map[string][sha256.Size]byte {
	t.Helper()
	out := map[string][sha256.Size]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[p] = sha256.Sum256(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 5 {
		t.Fatalf("only %d files in %s", len(out), dir)
	}
	return out
}

// TestImageArchiveEndToEnd sets up from a `docker save` tarball after the
// image was removed, as on an air-gapped host, plain and gzip-compressed.
// The image is a copy of the stand-in under a tag of its own, so removing
// it never touches the stand-in other tests share.
func TestImageArchiveEndToEnd(t *testing.T) {
	img := standInImage(t)
	cli := dockerClient(t)
	ctx := context.Background()
	tag := "paxsetup-test-airgap:" + strings.TrimPrefix(uniqueName(t), "paxsetup-test-")
	if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: img, Target: tag}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { untag(cli, tag) })
	saved, err := cli.ImageSave(ctx, []string{tag})
	if err != nil {
		t.Fatal(err)
	}
	tarball, err := io.ReadAll(saved)
	saved.Close()
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(tarball)
	zw.Close()
	archives := t.TempDir()

	for _, a := range []struct {
		file string
		data []byte
	}{{"spectro-registry.tar", tarball}, {"spectro-registry.tar.gz", gz.Bytes()}} {
		t.Run(a.file, func(t *testing.T) {
			path := filepath.Join(archives, a.file)
			if err := os.WriteFile(path, a.data, 0o644); err != nil {
				t.Fatal(err)
			}
			untag(cli, tag)
			if _, err := cli.ImageInspect(ctx, tag); err == nil {
				t.Fatal("the image is still there after removal")
			}
			s := newLifecycleSetup(t)
			r := s.init(tag, "--image-archive", path)
			mustSucceed(t, "init --image-archive", r)
			// Docker reports the name as given; Podman qualifies it
			// (docker.io/library/NAME or localhost/NAME).
			if !regexp.MustCompile(`(?m)^loaded (\S+/)?` + regexp.QuoteMeta(tag) + `$`).MatchString(r.stdout) {
				t.Errorf("init does not say it loaded the image:\n%s", r.stdout)
			}
			if got := imageID(t, cli, tag); got != imageID(t, cli, img) {
				t.Errorf("loaded %s as %s, want the saved image %s", tag, got, imageID(t, cli, img))
			}
			if got := status(t, s.http(), s.endpoint()+"/v1/_catalog", "admin", adminPW); got != 200 {
				t.Errorf("catalog as admin = %d", got)
			}
			var ans config.Answers
			readYAML(t, config.Path(s.dir), &ans)
			if ans.ImageArchive != "" {
				t.Errorf("paxsetup.yaml keeps image_archive %q: a replay would need the file", ans.ImageArchive)
			}
			// A re-run with the tarball gone works: the engine has the image.
			os.Remove(path)
			mustSucceed(t, "re-run without the tarball", s.run("init", "--yes"))
		})
	}

	t.Run("an archive without the image", func(t *testing.T) {
		path := filepath.Join(archives, "other.tar")
		if err := os.WriteFile(path, tarball, 0o644); err != nil {
			t.Fatal(err)
		}
		s := newLifecycleSetup(t)
		want := "paxsetup-test-absent:" + strings.TrimPrefix(s.name, "paxsetup-test-")
		t.Cleanup(func() { untag(cli, tag) })
		r := s.init(want, "--image-archive", path)
		if r.code != exitError || !strings.Contains(r.stderr, tag+", not "+want) || !strings.Contains(r.stderr, "pass --image ") {
			t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
		if _, err := cli.ContainerInspect(ctx, s.name, client.ContainerInspectOptions{}); err == nil {
			t.Error("a container was created")
		}
	})
}

// TestNonRootImage runs the registry as a non-root user: paxsetup hands it
// the files it mounts, keeping their modes, and keeps the CA key from it.
func TestNonRootImage(t *testing.T) {
	img := standInImage(t)
	s := newLifecycleSetup(t)
	nonroot := s.buildImage("paxsetup-test-nonroot:"+strings.TrimPrefix(s.name, "paxsetup-test-"), "FROM "+img+"\nUSER 4242:4243\n")
	r := s.init(nonroot)
	mustSucceed(t, "init with a non-root image", r)
	if !strings.Contains(r.stdout, "files for the image's user (uid 4242)") {
		t.Errorf("init output:\n%s", r.stdout)
	}
	if got := status(t, s.http(), s.endpoint()+"/v1/_catalog", "admin", adminPW); got != 200 {
		t.Errorf("catalog as admin = %d: the registry cannot read its files", got)
	}
	pushed := pushImage(t, s.http(), s.endpoint(), "packs/nonroot")
	checkServes(t, s.http(), s.endpoint(), pushed)
	for rel, want := range map[string]struct {
		uid  uint32
		mode os.FileMode
	}{
		"auth/htpasswd-basic": {4242, 0o600}, "certs/tls.key": {4242, 0o600}, "certs/ca.key": {0, 0o600}, "data": {4242, 0o755},
	} {
		fi, err := os.Stat(filepath.Join(s.dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != want.uid || fi.Mode().Perm() != want.mode {
			t.Errorf("%s: uid %d mode %v, want uid %d mode %v", rel, uid, fi.Mode().Perm(), want.uid, want.mode)
		}
	}
}

// TestInitBrokenImageLeavesNothing: a first start with an image that exits
// reports the cause and leaves no container behind.
func TestInitBrokenImageLeavesNothing(t *testing.T) {
	img := standInImage(t)
	s := newLifecycleSetup(t)
	broken := s.buildImage("paxsetup-test-broken:"+strings.TrimPrefix(s.name, "paxsetup-test-"), "FROM "+img+"\nCMD [\"serve\", \"/missing.yml\"]\n")
	r := s.init(broken, "--timeout", "30s")
	if r.code != exitError || !strings.Contains(r.stderr, "registry container exited") || !strings.Contains(r.stderr, "cause: the config file the registry was told to serve, /missing.yml") {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if _, err := s.cli.ContainerInspect(context.Background(), s.name, client.ContainerInspectOptions{}); err == nil {
		t.Error("the crashed container was left behind")
	}
}

// TestLifecycleBadFlags: --bind and --image-archive are checked before
// anything is written.
func TestLifecycleBadFlags(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "setup")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"bind is not an IP", []string{"--bind", "registry.local"}, `--bind: "registry.local" is not an IP address`},
		{"archive missing", []string{"--image-archive", filepath.Join(dir, "nope.tar")}, "--image-archive: stat"},
		{"archive is a folder", []string{"--image-archive", os.TempDir()}, "is not a file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runBinary(t, nil, append([]string{"init", "--yes", "--host", e2eHost, "--dir", dir}, tt.args...)...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q, want 2 and %q", r.code, r.stderr, tt.want)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the setup folder was created: %v", err)
			}
		})
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"status", "--dir", dir}, "no setup in " + dir},
		{[]string{"upgrade", "--dir", dir, "--image", "x:1"}, "no setup in " + dir},
		{[]string{"down", "--dir", dir, "--confirm-delete-data", dir}, "--confirm-delete-data: only goes with --delete-data"},
		{[]string{"status", "--dir", dir, "--output", "yaml"}, `--output: "yaml"`},
	} {
		if r := runBinary(t, nil, tt.args...); r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
}
