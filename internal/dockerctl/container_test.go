package dockerctl

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// defaultLogs is the rotation every container gets unless its spec says
// otherwise.
var defaultLogs = container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "10m", "max-file": "3"}}

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	auth := filepath.Join(dir, "auth")
	data := filepath.Join(dir, "data")
	for _, d := range []string{auth, data} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	port5000 := network.MustParsePort("5000/tcp")

	tests := []struct {
		name       string
		spec       Spec
		wantConfig *container.Config
		wantHost   *container.HostConfig
	}{
		{
			name: "registry with TLS on 443",
			spec: Spec{
				Name:     "spectro-registry",
				Image:    "example.com/spectro-registry:4.7.0",
				Cmd:      []string{"serve", "/etc/spectropaxconfig/myconfig.yml"},
				Env:      []string{"REGISTRY_AUTH=htpasswd", "REGISTRY_LOG_LEVEL=info"},
				Labels:   map[string]string{"io.paxsetup.managed": "true"},
				HostIP:   "192.0.2.10",
				HostPort: 443, ContainerPort: 5000,
				Mounts: []Mount{
					{Source: auth, Target: "/auth", ReadOnly: true},
					{Source: data, Target: "/data"},
				},
				RestartAlways: true,
			},
			wantConfig: &container.Config{
				Image:        "example.com/spectro-registry:4.7.0",
				Cmd:          []string{"serve", "/etc/spectropaxconfig/myconfig.yml"},
				Env:          []string{"REGISTRY_AUTH=htpasswd", "REGISTRY_LOG_LEVEL=info"},
				Labels:       map[string]string{"io.paxsetup.managed": "true"},
				ExposedPorts: network.PortSet{port5000: {}},
			},
			wantHost: &container.HostConfig{
				PortBindings: network.PortMap{
					port5000: {{HostIP: netip.MustParseAddr("192.0.2.10"), HostPort: "443"}},
				},
				RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyAlways},
				LogConfig:     defaultLogs,
				Mounts: []mount.Mount{
					{Type: mount.TypeBind, Source: auth, Target: "/auth", ReadOnly: true},
					{Type: mount.TypeBind, Source: data, Target: "/data"},
				},
			},
		},
		{
			name: "image CMD, all addresses, default container port, no restart",
			spec: Spec{Name: "lab", Image: "registry:lab", HostPort: 5001},
			wantConfig: &container.Config{
				Image:        "registry:lab",
				ExposedPorts: network.PortSet{port5000: {}},
			},
			wantHost: &container.HostConfig{
				PortBindings:  network.PortMap{port5000: {{HostPort: "5001"}}},
				RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
				LogConfig:     defaultLogs,
			},
		},
		{
			name:       "no host port publishes nothing",
			spec:       Spec{Name: "quiet", Image: "registry:lab", Cmd: []string{}},
			wantConfig: &container.Config{Image: "registry:lab"},
			wantHost: &container.HostConfig{
				RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
				LogConfig:     defaultLogs,
			},
		},
		{
			// The API's Mounts cannot carry SELinux labels; only Binds can.
			name: "SELinux relabel uses the Binds form with Z",
			spec: Spec{
				Name: "spectro-registry", Image: "r:1", Relabel: true,
				Mounts: []Mount{
					{Source: auth, Target: "/auth", ReadOnly: true},
					{Source: data, Target: "/data"},
				},
				LogMaxSize: "50m", LogMaxFiles: 5,
			},
			wantConfig: &container.Config{Image: "r:1"},
			wantHost: &container.HostConfig{
				RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
				LogConfig:     container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "50m", "max-file": "5"}},
				Binds:         []string{auth + ":/auth:ro,Z", data + ":/data:rw,Z"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got client.ContainerCreateOptions
			c := newFakeClient(&fakeEngine{
				containerCreateFunc: func(_ context.Context, opts client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
					got = opts
					return client.ContainerCreateResult{ID: "c0ffee"}, nil
				},
			})
			id, err := c.Create(context.Background(), tt.spec)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			if id != "c0ffee" {
				t.Errorf("id = %q, want c0ffee", id)
			}
			if got.Name != tt.spec.Name {
				t.Errorf("Name = %q, want %q", got.Name, tt.spec.Name)
			}
			if !reflect.DeepEqual(got.Config, tt.wantConfig) {
				t.Errorf("Config =\n%+v\nwant\n%+v", got.Config, tt.wantConfig)
			}
			if !reflect.DeepEqual(got.HostConfig, tt.wantHost) {
				t.Errorf("HostConfig =\n%+v\nwant\n%+v", got.HostConfig, tt.wantHost)
			}
		})
	}
}

func TestCreateRefusesBeforeEngine(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "certs")

	tests := []struct {
		name    string
		spec    Spec
		wantErr []string
		wantIs  error
	}{
		{
			name: "missing bind source",
			spec: Spec{Name: "spectro-registry", Image: "r:1", Mounts: []Mount{
				{Source: dir, Target: "/data"},
				{Source: missing, Target: "/certs", ReadOnly: true},
			}},
			wantErr: []string{`create container "spectro-registry"`, missing, "/certs", "missing"},
			wantIs:  fs.ErrNotExist,
		},
		{
			name:    "bad host address",
			spec:    Spec{Name: "r", Image: "r:1", HostIP: "not-an-ip", HostPort: 443},
			wantErr: []string{`host address "not-an-ip"`},
		},
		{
			name:    "host port out of range",
			spec:    Spec{Name: "r", Image: "r:1", HostPort: 70000},
			wantErr: []string{"host port 70000 is outside 1-65535"},
		},
		{
			name:    "no image",
			spec:    Spec{Name: "r"},
			wantErr: []string{"no image given"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFakeClient(&fakeEngine{
				containerCreateFunc: func(context.Context, client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
					t.Fatal("engine asked to create a container from an invalid spec")
					return client.ContainerCreateResult{}, nil
				},
			})
			_, err := c.Create(context.Background(), tt.spec)
			if err == nil {
				t.Fatal("Create succeeded, want an error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
		})
	}
}

func TestEngineErrorsMapToSentinels(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		fake    *fakeEngine
		call    func(c *Client) error
		wantIs  error
		wantErr string
	}{
		{
			// Rootless Docker 20.10 through its RootlessKit port driver.
			name: "rootless engine refuses port 443",
			fake: &fakeEngine{containerStartFunc: func(context.Context, string, client.ContainerStartOptions) (client.ContainerStartResult, error) {
				return client.ContainerStartResult{}, daemonError(cerrdefs.ErrUnknown, "driver failed programming external connectivity on endpoint spectro-registry (1f2e): "+
					"Error starting userland proxy: error while calling PortManager.AddPort(): cannot expose privileged port 443, "+
					"you can add 'net.ipv4.ip_unprivileged_port_start=443' to /etc/sysctl.conf (currently 1024), or set CAP_NET_BIND_SERVICE on rootlesskit binary, "+
					"or choose a larger port number (>= 1024): listen tcp4 0.0.0.0:443: bind: permission denied")
			}},
			call:    func(c *Client) error { return c.Start(ctx, "spectro-registry") },
			wantIs:  ErrPrivilegedPort,
			wantErr: "net.ipv4.ip_unprivileged_port_start=443",
		},
		{
			name: "inspect absent container",
			fake: &fakeEngine{containerInspectFunc: func(_ context.Context, id string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
				return client.ContainerInspectResult{}, notFound("container", id)
			}},
			call:    func(c *Client) error { _, err := c.Inspect(ctx, "spectro-registry"); return err },
			wantIs:  ErrNotFound,
			wantErr: `inspect container "spectro-registry": No such container: spectro-registry`,
		},
		{
			name: "start absent container",
			fake: &fakeEngine{containerStartFunc: func(_ context.Context, id string, _ client.ContainerStartOptions) (client.ContainerStartResult, error) {
				return client.ContainerStartResult{}, notFound("container", id)
			}},
			call:   func(c *Client) error { return c.Start(ctx, "gone") },
			wantIs: ErrNotFound,
		},
		{
			name: "stop absent container",
			fake: &fakeEngine{containerStopFunc: func(_ context.Context, id string, _ client.ContainerStopOptions) (client.ContainerStopResult, error) {
				return client.ContainerStopResult{}, notFound("container", id)
			}},
			call:   func(c *Client) error { return c.Stop(ctx, "gone", time.Second) },
			wantIs: ErrNotFound,
		},
		{
			name: "remove absent container",
			fake: &fakeEngine{containerRemoveFunc: func(_ context.Context, id string, _ client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
				return client.ContainerRemoveResult{}, notFound("container", id)
			}},
			call:   func(c *Client) error { return c.Remove(ctx, "gone") },
			wantIs: ErrNotFound,
		},
		{
			name: "image ID of absent image",
			fake: &fakeEngine{imageInspectFunc: func(_ context.Context, ref string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
				return client.ImageInspectResult{}, notFound("image", ref)
			}},
			call:   func(c *Client) error { _, err := c.ImageID(ctx, "r:1"); return err },
			wantIs: ErrNotFound,
		},
		{
			name: "create with a taken name",
			fake: &fakeEngine{containerCreateFunc: func(context.Context, client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
				return client.ContainerCreateResult{}, daemonError(cerrdefs.ErrConflict,
					`Conflict. The container name "/spectro-registry" is already in use by container "abc123"`)
			}},
			call: func(c *Client) error {
				_, err := c.Create(ctx, Spec{Name: "spectro-registry", Image: "r:1"})
				return err
			},
			wantIs:  ErrConflict,
			wantErr: `already in use by container "abc123"`,
		},
		{
			name: "rename onto a taken name",
			fake: &fakeEngine{containerRenameFunc: func(context.Context, string, client.ContainerRenameOptions) (client.ContainerRenameResult, error) {
				return client.ContainerRenameResult{}, daemonError(cerrdefs.ErrConflict, "name in use")
			}},
			call:   func(c *Client) error { return c.Rename(ctx, "new", "spectro-registry") },
			wantIs: ErrConflict,
		},
		{
			name: "start with the port held by a container",
			fake: &fakeEngine{containerStartFunc: func(context.Context, string, client.ContainerStartOptions) (client.ContainerStartResult, error) {
				return client.ContainerStartResult{}, daemonError(cerrdefs.ErrUnknown,
					"driver failed programming external connectivity on endpoint r: Bind for 0.0.0.0:443 failed: port is already allocated")
			}},
			call:    func(c *Client) error { return c.Start(ctx, "r") },
			wantIs:  ErrPortInUse,
			wantErr: "Bind for 0.0.0.0:443 failed",
		},
		{
			name: "start with the port held by a process",
			fake: &fakeEngine{containerStartFunc: func(context.Context, string, client.ContainerStartOptions) (client.ContainerStartResult, error) {
				return client.ContainerStartResult{}, daemonError(cerrdefs.ErrUnknown,
					"Error starting userland proxy: listen tcp4 0.0.0.0:443: bind: address already in use")
			}},
			call:   func(c *Client) error { return c.Start(ctx, "r") },
			wantIs: ErrPortInUse,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(newFakeClient(tt.fake))
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("error %v is not %v", err, tt.wantIs)
			}
			if tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), daemonPrefix) {
				t.Errorf("error %q keeps the engine's prefix", err)
			}
		})
	}
}

func TestStopTimeout(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		want    int
	}{
		{"whole seconds", 10 * time.Second, 10},
		{"rounded up", 1500 * time.Millisecond, 2},
		{"zero kills at once", 0, 0},
		{"negative waits", -time.Second, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *int
			c := newFakeClient(&fakeEngine{
				containerStopFunc: func(_ context.Context, _ string, opts client.ContainerStopOptions) (client.ContainerStopResult, error) {
					got = opts.Timeout
					return client.ContainerStopResult{}, nil
				},
			})
			if err := c.Stop(context.Background(), "r", tt.timeout); err != nil {
				t.Fatal(err)
			}
			if got == nil || *got != tt.want {
				t.Errorf("timeout sent = %v, want %d", got, tt.want)
			}
		})
	}
}

func TestRemoveKeepsVolumes(t *testing.T) {
	var got client.ContainerRemoveOptions
	c := newFakeClient(&fakeEngine{
		containerRemoveFunc: func(_ context.Context, _ string, opts client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
			got = opts
			return client.ContainerRemoveResult{}, nil
		},
	})
	if err := c.Remove(context.Background(), "r"); err != nil {
		t.Fatal(err)
	}
	if want := (client.ContainerRemoveOptions{Force: true}); got != want {
		t.Errorf("remove options = %+v, want %+v", got, want)
	}
}

func TestInspect(t *testing.T) {
	started := time.Date(2026, 5, 7, 21, 9, 36, 123456789, time.UTC)
	tests := []struct {
		name string
		resp container.InspectResponse
		want Container
	}{
		{
			name: "running, live and configured ports merged",
			resp: container.InspectResponse{
				ID:           "abc",
				Name:         "/spectro-registry",
				Image:        "sha256:1111",
				RestartCount: 2,
				State: &container.State{
					Status: container.StateRunning, Running: true,
					StartedAt: started.Format(time.RFC3339Nano),
				},
				Config: &container.Config{
					Image:  "r:4.7.0",
					Env:    []string{"REGISTRY_AUTH=htpasswd"},
					Labels: map[string]string{"io.paxsetup.managed": "true"},
				},
				HostConfig: &container.HostConfig{PortBindings: network.PortMap{
					network.MustParsePort("5000/tcp"): {{HostPort: "443"}},
				}},
				NetworkSettings: &container.NetworkSettings{Ports: network.PortMap{
					network.MustParsePort("5000/tcp"): {
						{HostIP: netip.MustParseAddr("0.0.0.0"), HostPort: "443"},
						{HostIP: netip.MustParseAddr("::"), HostPort: "443"},
					},
					network.MustParsePort("5001/tcp"): {{HostPort: "8443"}},
					network.MustParsePort("6000/tcp"): nil,
				}},
			},
			want: Container{
				ID: "abc", Name: "spectro-registry", Image: "r:4.7.0", ImageID: "sha256:1111",
				Running: true, Status: "running", StartedAt: started, RestartCount: 2,
				Labels:    map[string]string{"io.paxsetup.managed": "true"},
				Env:       []string{"REGISTRY_AUTH=htpasswd"},
				HostPorts: []int{443, 8443},
				Ports:     []string{"0.0.0.0:443->5000/tcp", "0.0.0.0:8443->5001/tcp", "[::]:443->5000/tcp"},
			},
		},
		{
			name: "created, never started",
			resp: container.InspectResponse{
				ID: "def", Name: "/new",
				State:  &container.State{Status: container.StateCreated, StartedAt: "0001-01-01T00:00:00Z"},
				Config: &container.Config{Image: "r:1"},
				HostConfig: &container.HostConfig{PortBindings: network.PortMap{
					network.MustParsePort("5000/tcp"): {{HostPort: "5001"}},
				}},
				NetworkSettings: &container.NetworkSettings{},
			},
			want: Container{ID: "def", Name: "new", Image: "r:1", Status: "created", HostPorts: []int{5001}, Ports: []string{"0.0.0.0:5001->5000/tcp"}},
		},
		{
			name: "exited with an error",
			resp: container.InspectResponse{
				ID: "ghi", Name: "/old",
				State: &container.State{Status: container.StateExited, ExitCode: 1},
			},
			want: Container{ID: "ghi", Name: "old", Status: "exited", ExitCode: 1},
		},
		{
			// A registry in a restart loop: the engine keeps Running set
			// while it waits to restart it.
			name: "restarting after a crash, out of memory",
			resp: container.InspectResponse{
				ID: "jkl", Name: "/loop", Created: "2026-05-07T21:09:30Z", RestartCount: 4,
				State: &container.State{
					Status: container.StateRestarting, Running: true, Restarting: true, ExitCode: 137, OOMKilled: true,
					Error: "", FinishedAt: "2026-05-07T21:09:40Z",
				},
				Mounts: []container.MountPoint{
					{Type: "bind", Source: "/srv/pax/auth", Destination: "/auth", RW: false},
					{Type: "bind", Source: "/srv/pax/data", Destination: "/data", RW: true},
				},
			},
			want: Container{
				ID: "jkl", Name: "loop", Status: "restarting", Running: true, Restarting: true, ExitCode: 137, OOMKilled: true,
				RestartCount: 4,
				CreatedAt:    time.Date(2026, 5, 7, 21, 9, 30, 0, time.UTC),
				FinishedAt:   time.Date(2026, 5, 7, 21, 9, 40, 0, time.UTC),
				Mounts: []Mount{
					{Source: "/srv/pax/auth", Target: "/auth", ReadOnly: true},
					{Source: "/srv/pax/data", Target: "/data"},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFakeClient(&fakeEngine{
				containerInspectFunc: func(context.Context, string, client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
					return client.ContainerInspectResult{Container: tt.resp}, nil
				},
			})
			got, err := c.Inspect(context.Background(), "x")
			if err != nil {
				t.Fatal(err)
			}
			if !got.StartedAt.Equal(tt.want.StartedAt) {
				t.Errorf("StartedAt = %v, want %v", got.StartedAt, tt.want.StartedAt)
			}
			got.StartedAt, tt.want.StartedAt = time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Inspect =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// inspectByID answers ContainerInspect from a table, and not-found otherwise.
func inspectByID(known map[string]container.InspectResponse) func(context.Context, string, client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	return func(_ context.Context, id string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
		r, ok := known[id]
		if !ok {
			return client.ContainerInspectResult{}, notFound("container", id)
		}
		return client.ContainerInspectResult{Container: r}, nil
	}
}

func TestFindByLabel(t *testing.T) {
	tests := []struct {
		name       string
		key, value string
		wantTerm   string
	}{
		{"key and value", "io.paxsetup.dir", "/srv/pax", "io.paxsetup.dir=/srv/pax"},
		{"any value", "io.paxsetup.managed", "", "io.paxsetup.managed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got client.ContainerListOptions
			c := newFakeClient(&fakeEngine{
				containerListFunc: func(_ context.Context, opts client.ContainerListOptions) (client.ContainerListResult, error) {
					got = opts
					// "raced" was removed between the list and the inspect.
					return client.ContainerListResult{Items: []container.Summary{{ID: "a"}, {ID: "raced"}, {ID: "b"}}}, nil
				},
				containerInspectFunc: inspectByID(map[string]container.InspectResponse{
					"a": {ID: "a", Name: "/spectro-registry", State: &container.State{Running: true}},
					"b": {ID: "b", Name: "/spectro-registry-old", State: &container.State{ExitCode: 2}},
				}),
			})
			ctrs, err := c.FindByLabel(context.Background(), tt.key, tt.value)
			if err != nil {
				t.Fatal(err)
			}
			if !got.All {
				t.Error("listed running containers only, want all")
			}
			if want := (client.Filters{"label": {tt.wantTerm: true}}); !reflect.DeepEqual(got.Filters, want) {
				t.Errorf("filters = %v, want %v", got.Filters, want)
			}
			if len(ctrs) != 2 || ctrs[0].Name != "spectro-registry" || !ctrs[0].Running || ctrs[1].ExitCode != 2 {
				t.Errorf("containers = %+v, want spectro-registry (running) and spectro-registry-old (exit 2)", ctrs)
			}
		})
	}
}

func TestContainersPublishing(t *testing.T) {
	var got client.ContainerListOptions
	c := newFakeClient(&fakeEngine{
		containerListFunc: func(_ context.Context, opts client.ContainerListOptions) (client.ContainerListResult, error) {
			got = opts
			return client.ContainerListResult{Items: []container.Summary{
				{ID: "web", Ports: []container.PortSummary{{PrivatePort: 443, Type: "tcp"}, {PrivatePort: 80, PublicPort: 8080, Type: "tcp"}}},
				{ID: "proxy", Ports: []container.PortSummary{{PrivatePort: 8443, PublicPort: 443, Type: "tcp"}}},
				{ID: "none"},
			}}, nil
		},
		containerInspectFunc: inspectByID(map[string]container.InspectResponse{
			"proxy": {ID: "proxy", Name: "/caddy"},
		}),
	})
	ctrs, err := c.ContainersPublishing(context.Background(), 443)
	if err != nil {
		t.Fatal(err)
	}
	if got.All {
		t.Error("listed stopped containers too; only running ones hold ports")
	}
	if len(ctrs) != 1 || ctrs[0].Name != "caddy" {
		t.Errorf("containers = %+v, want only caddy (443 inside \"web\" is not published)", ctrs)
	}
}

func TestLogs(t *testing.T) {
	multiplexed := func() io.ReadCloser {
		var b bytes.Buffer
		frame(&b, stdcopy.Stdout, "listening on [::]:5000\n")
		frame(&b, stdcopy.Stderr, "level=error msg=\"auth failed\"\n")
		frame(&b, stdcopy.Stdout, "GET /health 200\n")
		return io.NopCloser(&b)
	}
	const want = "listening on [::]:5000\nlevel=error msg=\"auth failed\"\nGET /health 200\n"

	tests := []struct {
		name     string
		tty      bool
		stream   func() io.ReadCloser
		tail     int
		wantTail string
	}{
		{name: "multiplexed, last 50", stream: multiplexed, tail: 50, wantTail: "50"},
		{name: "multiplexed, all", stream: multiplexed, tail: 0, wantTail: ""},
		{name: "terminal", tty: true, stream: func() io.ReadCloser { return io.NopCloser(strings.NewReader(want)) }, tail: 10, wantTail: "10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got client.ContainerLogsOptions
			c := newFakeClient(&fakeEngine{
				containerInspectFunc: inspectByID(map[string]container.InspectResponse{
					"r": {ID: "r", Config: &container.Config{Tty: tt.tty}},
				}),
				containerLogsFunc: func(_ context.Context, _ string, opts client.ContainerLogsOptions) (client.ContainerLogsResult, error) {
					got = opts
					return tt.stream(), nil
				},
			})
			logs, err := c.Logs(context.Background(), "r", tt.tail)
			if err != nil {
				t.Fatal(err)
			}
			if logs != want {
				t.Errorf("logs = %q, want %q", logs, want)
			}
			if !got.ShowStdout || !got.ShowStderr || got.Tail != tt.wantTail {
				t.Errorf("log options = %+v, want stdout, stderr, tail %q", got, tt.wantTail)
			}
		})
	}
}

// frame writes one record of the engine's multiplexed log stream: a header of
// the stream type, three zero bytes and the big-endian length, then the data
// (the format documented on client.ContainerLogs).
func frame(b *bytes.Buffer, stream stdcopy.StdType, data string) {
	hdr := [8]byte{0: byte(stream)}
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(data)))
	b.Write(hdr[:])
	b.WriteString(data)
}

func TestStreamLogs(t *testing.T) {
	var b bytes.Buffer
	frame(&b, stdcopy.Stdout, "listening on [::]:5000\n")
	frame(&b, stdcopy.Stderr, "level=error msg=\"auth failed\"\n")
	since := time.Date(2026, 5, 7, 21, 0, 0, 0, time.UTC)

	var got client.ContainerLogsOptions
	c := newFakeClient(&fakeEngine{
		containerInspectFunc: inspectByID(map[string]container.InspectResponse{"r": {ID: "r", Config: &container.Config{}}}),
		containerLogsFunc: func(_ context.Context, _ string, opts client.ContainerLogsOptions) (client.ContainerLogsResult, error) {
			got = opts
			return io.NopCloser(bytes.NewReader(b.Bytes())), nil
		},
	})
	var stdout, stderr strings.Builder
	err := c.StreamLogs(context.Background(), "r", LogOptions{Tail: "20", Timestamps: true, Since: since}, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "listening on [::]:5000\n" || stderr.String() != "level=error msg=\"auth failed\"\n" {
		t.Errorf("stdout %q, stderr %q: each stream must reach its own writer", stdout.String(), stderr.String())
	}
	want := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: "20", Timestamps: true, Since: since.Format(time.RFC3339Nano)}
	if got != want {
		t.Errorf("log options = %+v, want %+v", got, want)
	}

	if err := c.StreamLogs(context.Background(), "r", LogOptions{Tail: "ten"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), `tail "ten"`) {
		t.Errorf("bad tail: %v", err)
	}
}

// TestStreamLogsFollowStops follows a registry that logs one line and then
// stays quiet; the operator's Ctrl-C ends the stream without an error.
func TestStreamLogsFollowStops(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := newFakeClient(&fakeEngine{
		containerInspectFunc: inspectByID(map[string]container.InspectResponse{"r": {ID: "r", Config: &container.Config{Tty: true}}}),
		containerLogsFunc: func(_ context.Context, _ string, opts client.ContainerLogsOptions) (client.ContainerLogsResult, error) {
			if !opts.Follow {
				t.Error("not following")
			}
			go io.WriteString(pw, "GET /health 200\n")
			return pr, nil
		},
	})
	out := progressFunc(func(p []byte) {
		if strings.Contains(string(p), "GET /health") {
			cancel()
		}
	})
	if err := c.StreamLogs(ctx, "r", LogOptions{Follow: true}, out, out); err != nil {
		t.Errorf("following ended with %v, want nil after Ctrl-C", err)
	}
}

// TestCreateOnNetwork: --network puts the container on that network alone,
// as `docker run --network NET --network-alias NAME` does, with its aliases
// on that network's endpoint (the only place the engine accepts them).
func TestCreateOnNetwork(t *testing.T) {
	var got client.ContainerCreateOptions
	c := newFakeClient(&fakeEngine{
		containerCreateFunc: func(_ context.Context, opts client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
			got = opts
			return client.ContainerCreateResult{ID: "c0ffee"}, nil
		},
	})
	if _, err := c.Create(context.Background(), Spec{Name: "r", Image: "r:1", HostPort: 443, Network: "acme", Aliases: []string{"registry.example.com"}}); err != nil {
		t.Fatal(err)
	}
	if got.HostConfig.NetworkMode != "acme" {
		t.Errorf("NetworkMode = %q, want acme", got.HostConfig.NetworkMode)
	}
	want := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{"acme": {Aliases: []string{"registry.example.com"}}}}
	if !reflect.DeepEqual(got.NetworkingConfig, want) {
		t.Errorf("NetworkingConfig = %+v, want %+v", got.NetworkingConfig, want)
	}
	if len(got.HostConfig.PortBindings) != 1 {
		t.Errorf("the port is not published on the network: %v", got.HostConfig.PortBindings)
	}
}
