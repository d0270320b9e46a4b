package dockerctl

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/moby/moby/client/pkg/versions"
)

// TestRealEngine needs the Docker engine of DOCKER_HOST (or the default
// socket). It fails rather than skips without one: a skipped test would let
// a broken CI engine pass unnoticed.
func TestRealEngine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c, err := Connect(ctx)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer c.Close()

	info, err := c.Engine(ctx)
	if err != nil {
		t.Fatalf("Engine: %v", err)
	}
	// 1.40 (Docker 19.03) is the oldest API the moby client negotiates down to.
	if versions.LessThan(info.APIVersion, "1.40") {
		t.Errorf("engine API version %q is below 1.40", info.APIVersion)
	}
	if info.Version == "" || info.OS == "" {
		t.Errorf("Engine = %+v, want version and OS filled in", info)
	}
}

// TestCreateRealEngine has the engine accept what Create sends: SELinux
// relabelling in the Binds form (which an engine without SELinux accepts
// and ignores), read-only mounts, log rotation and a bound address.
func TestCreateRealEngine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := Connect(ctx)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer c.Close()
	mc := c.api.(*client.Client)
	info, err := c.Engine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	suffix := strconv.FormatInt(time.Now().UnixNano(), 36)
	ref := "paxsetup-dockerctl-test:" + suffix
	buildTinyImage(t, mc, ref)

	dir := t.TempDir()
	for _, d := range []string{"auth", "data"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, relabel := range []bool{false, true} {
		t.Run(fmt.Sprintf("relabel=%v", relabel), func(t *testing.T) {
			name := fmt.Sprintf("paxsetup-dockerctl-test-%s-%v", suffix, relabel)
			id, err := c.Create(ctx, Spec{
				Name: name, Image: ref, HostIP: "127.0.0.1", HostPort: 1, ContainerPort: 5000, RestartAlways: true,
				Relabel: relabel,
				Mounts: []Mount{
					{Source: filepath.Join(dir, "auth"), Target: "/auth", ReadOnly: true},
					{Source: filepath.Join(dir, "data"), Target: "/data"},
				},
			})
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			t.Cleanup(func() { _ = c.Remove(context.Background(), id) })
			got, err := c.Inspect(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			want := []Mount{
				{Source: filepath.Join(dir, "auth"), Target: "/auth", ReadOnly: true},
				{Source: filepath.Join(dir, "data"), Target: "/data"},
			}
			slices.SortFunc(got.Mounts, func(a, b Mount) int { return strings.Compare(a.Target, b.Target) })
			if !slices.Equal(got.Mounts, want) {
				t.Errorf("mounts = %+v, want %+v", got.Mounts, want)
			}
			if !slices.Equal(got.Ports, []string{"127.0.0.1:1->5000/tcp"}) {
				t.Errorf("ports = %v", got.Ports)
			}
			raw, err := mc.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			lc := raw.Container.HostConfig.LogConfig
			// Podman applies max-size to its k8s-file driver but does not
			// report the options back through this API.
			rotated := lc.Config["max-size"] == DefaultLogMaxSize && lc.Config["max-file"] == strconv.Itoa(DefaultLogMaxFiles)
			if lc.Type != "json-file" || !rotated && !(info.Podman && lc.Config == nil) {
				t.Errorf("log config = %+v", lc)
			}
		})
	}
}

func TestOwnedBy(t *testing.T) {
	ours := Container{Labels: map[string]string{LabelManaged: "true", LabelDir: "/srv/pax"}}
	for _, tt := range []struct {
		c    Container
		dir  string
		want bool
	}{
		{ours, "/srv/pax", true},
		{ours, "/srv/other", false},
		{ours, "", false},
		{Container{Labels: map[string]string{LabelDir: "/srv/pax"}}, "/srv/pax", false},
		{Container{Labels: map[string]string{LabelManaged: "false", LabelDir: "/srv/pax"}}, "/srv/pax", false},
		{Container{}, "/srv/pax", false},
	} {
		if got := tt.c.OwnedBy(tt.dir); got != tt.want {
			t.Errorf("%v.OwnedBy(%q) = %v, want %v", tt.c.Labels, tt.dir, got, tt.want)
		}
	}
}
