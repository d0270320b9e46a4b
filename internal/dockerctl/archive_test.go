package dockerctl

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
)

// loadResult is the engine's load report.
type loadResult struct{ io.ReadCloser }

func loadOf(records ...string) client.ImageLoadResult {
	return loadResult{io.NopCloser(strings.NewReader(strings.Join(records, "\n") + "\n"))}
}

func TestLoadImageArchive(t *testing.T) {
	archive := []byte("pretend this is a docker save tarball")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(archive)
	zw.Close()

	const ref = "us-docker.pkg.dev/palette-images/palette/spectro-registry:4.7.0"
	tests := []struct {
		name     string
		file     []byte
		report   []string
		loadErr  error
		present  bool
		wantErr  []string
		wantIs   error
		wantBody []byte
	}{
		{
			name:     "plain tar holding the image",
			file:     archive,
			report:   []string{`{"stream":"Loaded image: ` + ref + `\n"}`},
			wantBody: archive,
		},
		{
			name:     "gzip is decompressed before it reaches the engine",
			file:     gz.Bytes(),
			report:   []string{`{"stream":"Loaded image: ` + ref + `\n"}`},
			wantBody: archive,
		},
		{
			name:     "Docker Hub names compare in their short form",
			file:     archive,
			report:   []string{`{"stream":"Loaded image: registry:2\n"}`, `{"stream":"Loaded image: ` + ref + `\n"}`},
			wantBody: archive,
		},
		{
			name:     "Podman reports several names on one line",
			file:     archive,
			report:   []string{`{"stream":"Loaded image(s): localhost/other:1,` + ref + `\n"}`},
			wantBody: archive,
		},
		{
			// Podman stores a short name as localhost/NAME; the ID decides.
			name:     "Podman's localhost/ name for the same image",
			file:     archive,
			report:   []string{`{"stream":"Loaded image(s): localhost/spectro-registry:4.7.0\n"}`},
			present:  true,
			wantBody: archive,
		},
		{
			name:    "an archive of another image",
			file:    archive,
			report:  []string{`{"stream":"Loaded image: us-docker.pkg.dev/palette-images/palette/spectro-registry:4.5.0\n"}`},
			wantIs:  ErrArchiveLacksImage,
			wantErr: []string{"holds us-docker.pkg.dev/palette-images/palette/spectro-registry:4.5.0, not " + ref, "pass --image us-docker.pkg.dev/palette-images/palette/spectro-registry:4.5.0"},
		},
		{
			name:    "an archive saved by ID, without a name",
			file:    archive,
			report:  []string{`{"stream":"Loaded image ID: sha256:4f7d\n"}`},
			wantIs:  ErrArchiveLacksImage,
			wantErr: []string{"holds no tagged image", "docker save " + ref},
		},
		{
			name:     "an engine that names nothing, holding the image afterwards",
			file:     archive,
			report:   []string{`{"stream":"\n"}`},
			present:  true,
			wantBody: archive,
		},
		{
			name:    "a file that is not an image archive",
			file:    []byte("<html>404</html>"),
			report:  []string{`{"errorDetail":{"message":"open /var/lib/docker/tmp/docker-import-1/repositories: no such file or directory; json: cannot unmarshal; manifest.json missing"}}`},
			wantErr: []string{"not a complete `docker save` archive"},
		},
		{
			name:    "the engine refuses the upload",
			file:    archive,
			loadErr: errors.New("Error response from daemon: write /var/lib/docker/tmp: no space left on device"),
			wantErr: []string{"no space left on device"},
		},
		{
			// The engine died mid-load: its report ends inside a record.
			name:    "engine gone mid-load",
			file:    archive,
			report:  []string{`{"stream":"Loaded ima`},
			wantErr: []string{"the engine stopped answering mid-load", "docker info"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "spectro-registry.tar")
			if err := os.WriteFile(path, tt.file, 0o644); err != nil {
				t.Fatal(err)
			}
			var body []byte
			c := newFakeClient(&fakeEngine{
				imageLoadFunc: func(_ context.Context, in io.Reader, _ ...client.ImageLoadOption) (client.ImageLoadResult, error) {
					var err error
					body, err = io.ReadAll(in)
					if err != nil {
						t.Fatal(err)
					}
					if tt.loadErr != nil {
						return nil, tt.loadErr
					}
					return loadOf(tt.report...), nil
				},
				imageInspectFunc: func(_ context.Context, r string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
					if tt.present {
						return client.ImageInspectResult{InspectResponse: image.InspectResponse{ID: "sha256:same"}}, nil
					}
					return client.ImageInspectResult{}, notFound("image", r)
				},
			})
			var progress strings.Builder
			err := c.LoadImageArchive(context.Background(), path, ref, &progress)
			if len(tt.wantErr) > 0 || tt.wantIs != nil {
				if err == nil {
					t.Fatal("LoadImageArchive succeeded, want an error")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("error %v is not %v", err, tt.wantIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(body, tt.wantBody) {
				t.Errorf("engine received %q, want %q", body, tt.wantBody)
			}
			if !strings.Contains(progress.String(), "loading "+path) {
				t.Errorf("progress = %q", progress.String())
			}
		})
	}
}

func TestLoadImageArchiveMissingFile(t *testing.T) {
	c := newFakeClient(&fakeEngine{})
	err := c.LoadImageArchive(context.Background(), "/nonexistent/x.tar", "r:1", nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error = %v, want ErrNotExist", err)
	}
}

func TestParseImageUser(t *testing.T) {
	tests := []struct {
		in   string
		want ImageUser
	}{
		{"", ImageUser{Root: true, Numeric: true, GID: -1}},
		{"root", ImageUser{Name: "root", Root: true, Numeric: true, GID: -1}},
		{"0:0", ImageUser{Name: "0:0", Root: true, Numeric: true, GID: 0}},
		{"1000", ImageUser{Name: "1000", UID: 1000, Numeric: true, GID: -1}},
		{"65534:65534", ImageUser{Name: "65534:65534", UID: 65534, GID: 65534, Numeric: true}},
		{"registry", ImageUser{Name: "registry", GID: -1}},
		{"registry:registry", ImageUser{Name: "registry:registry", GID: -1}},
		{"1000:staff", ImageUser{Name: "1000:staff", UID: 1000, Numeric: true, GID: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := ParseImageUser(tt.in); got != tt.want {
				t.Errorf("ParseImageUser(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestTCPPort(t *testing.T) {
	for _, tt := range []struct {
		ports []string
		want  int
	}{
		{[]string{"5000/tcp"}, 5000},
		{[]string{"5000/tcp", "5001/udp"}, 5000},
		{[]string{"5000/tcp", "5001/tcp"}, 0},
		{nil, 0},
	} {
		if got := (ImageConfig{ExposedPorts: tt.ports}).TCPPort(); got != tt.want {
			t.Errorf("TCPPort(%v) = %d, want %d", tt.ports, got, tt.want)
		}
	}
}

// buildTinyImage builds an image FROM scratch holding one file, with the
// USER, EXPOSE, ENTRYPOINT and CMD an image config can carry, and tags it
// ref. It needs no registry: nothing is pulled.
func buildTinyImage(t *testing.T, mc *client.Client, ref string) {
	t.Helper()
	dockerfile := "FROM scratch\nCOPY hello /hello\nUSER 1234:5678\nEXPOSE 5000/tcp\nENTRYPOINT [\"/hello\"]\nCMD [\"serve\", \"/etc/spectro/config.yml\"]\n"
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range map[string]string{"Dockerfile": dockerfile, "hello": "hello " + ref} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(0, 0)})
		tw.Write([]byte(body))
	}
	tw.Close()
	ctx := context.Background()
	res, err := mc.ImageBuild(ctx, &buf, client.ImageBuildOptions{Tags: []string{ref}, Remove: true, ForceRemove: true})
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
	t.Cleanup(func() { removeImage(mc, ref) })
}

func removeImage(mc *client.Client, ref string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = mc.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: true, PruneChildren: true})
}

// TestImageArchiveRealEngine saves an image, removes it, and loads it back
// from the archive, plain and gzip-compressed, as an air-gapped site does;
// it also reads the image's config.
func TestImageArchiveRealEngine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Connect(ctx)
	if err != nil {
		t.Fatalf("this test needs a Docker engine: %v", err)
	}
	defer c.Close()
	mc := c.api.(*client.Client)
	ref := "paxsetup-dockerctl-test:" + strconv.FormatInt(time.Now().UnixNano(), 36)
	buildTinyImage(t, mc, ref)

	cfg, err := c.ImageConfig(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.User != "1234:5678" || !slices.Equal(cfg.Entrypoint, []string{"/hello"}) ||
		!slices.Equal(cfg.Cmd, []string{"serve", "/etc/spectro/config.yml"}) || cfg.TCPPort() != 5000 || !strings.HasPrefix(cfg.ID, "sha256:") {
		t.Errorf("ImageConfig = %+v", cfg)
	}
	if _, err := c.ImageConfig(ctx, ref+"-absent"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ImageConfig of an absent image: %v, want ErrNotFound", err)
	}

	saved, err := mc.ImageSave(ctx, []string{ref})
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

	dir := t.TempDir()
	for _, a := range []struct {
		name string
		data []byte
	}{{"plain.tar", tarball}, {"compressed.tar.gz", gz.Bytes()}} {
		t.Run(a.name, func(t *testing.T) {
			removeImage(mc, ref)
			if ok, _ := c.ImageExists(ctx, ref); ok {
				t.Fatal("the image is still there after removal")
			}
			path := filepath.Join(dir, a.name)
			if err := os.WriteFile(path, a.data, 0o644); err != nil {
				t.Fatal(err)
			}
			var progress strings.Builder
			if err := c.LoadImageArchive(ctx, path, ref, &progress); err != nil {
				t.Fatalf("LoadImageArchive: %v\n%s", err, progress.String())
			}
			id, err := c.ImageID(ctx, ref)
			if err != nil || id != cfg.ID {
				t.Errorf("after loading, %s is %q (%v), want %s", ref, id, err, cfg.ID)
			}
			// Docker reports the short name, Podman the normalized one.
			if !strings.Contains(progress.String(), "loaded "+ref) && !strings.Contains(progress.String(), "loaded "+normalize(ref)) {
				t.Errorf("progress does not name the loaded image:\n%s", progress.String())
			}
			if err := c.LoadImageArchive(ctx, path, ref+"-other", nil); !errors.Is(err, ErrArchiveLacksImage) {
				t.Errorf("loading for another name: %v, want ErrArchiveLacksImage", err)
			}
		})
	}

	t.Run("not an archive", func(t *testing.T) {
		path := filepath.Join(dir, "junk.tar")
		os.WriteFile(path, []byte(fmt.Sprintf("%0512d", 0)), 0o644)
		if err := c.LoadImageArchive(ctx, path, ref, nil); err == nil {
			t.Error("the engine loaded junk")
		}
	})
}
