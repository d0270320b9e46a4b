package setup

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/verify"
)

// fakeEngine fakes the engine with function fields; a call to a method
// without one panics through the nil embedded interface, so a test notices
// calls it did not expect.
type fakeEngine struct {
	Engine
	calls       []string
	inspectFn   func(id string) (dockerctl.Container, error)
	createFn    func(spec dockerctl.Spec) (string, error)
	startFn     func(id string) error
	publishing  []dockerctl.Container
	logs        string
	removed     []string
	renamed     map[string]string
	stopped     []string
	startedList []string
}

func (f *fakeEngine) record(s string) { f.calls = append(f.calls, s) }

func (f *fakeEngine) Inspect(_ context.Context, id string) (dockerctl.Container, error) {
	return f.inspectFn(id)
}
func (f *fakeEngine) Create(_ context.Context, spec dockerctl.Spec) (string, error) {
	f.record("create " + spec.Name)
	return f.createFn(spec)
}
func (f *fakeEngine) Start(_ context.Context, id string) error {
	f.record("start " + id)
	f.startedList = append(f.startedList, id)
	if f.startFn != nil {
		return f.startFn(id)
	}
	return nil
}
func (f *fakeEngine) Stop(_ context.Context, id string, _ time.Duration) error {
	f.record("stop " + id)
	f.stopped = append(f.stopped, id)
	return nil
}
func (f *fakeEngine) Remove(_ context.Context, id string) error {
	f.record("remove " + id)
	f.removed = append(f.removed, id)
	return nil
}
func (f *fakeEngine) Rename(_ context.Context, id, name string) error {
	f.record("rename " + id + " " + name)
	if f.renamed == nil {
		f.renamed = map[string]string{}
	}
	f.renamed[id] = name
	return nil
}
func (f *fakeEngine) ContainersPublishing(context.Context, int) ([]dockerctl.Container, error) {
	return f.publishing, nil
}
func (f *fakeEngine) Logs(context.Context, string, int) (string, error) { return f.logs, nil }

// healthyRegistry answers /health and the catalog like the vendor image.
func healthyRegistry(t *testing.T) verify.Options {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			w.Write([]byte(`{"status":"UP"}`))
			return
		}
		if _, _, ok := r.BasicAuth(); !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"repositories":[]}`))
	}))
	t.Cleanup(srv.Close)
	return verify.Options{Endpoint: srv.URL, Timeout: 2 * time.Second}
}

func deadRegistry(t *testing.T) verify.Options {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return verify.Options{Endpoint: "http://" + addr, Timeout: 5 * time.Second}
}

func spec(hash string) dockerctl.Spec {
	return dockerctl.Spec{Name: "reg", Image: "img", Labels: map[string]string{LabelManaged: "true", LabelSpec: hash}}
}

func TestRunContainer(t *testing.T) {
	running := func(id, hash string) *dockerctl.Container {
		return &dockerctl.Container{ID: id, Name: "reg", Running: true, Labels: map[string]string{LabelManaged: "true", LabelSpec: hash}}
	}
	tests := []struct {
		name       string
		old        *dockerctl.Container
		newCrashes bool
		healthy    bool
		wantAction string
		wantErr    string
		check      func(t *testing.T, f *fakeEngine)
	}{
		{
			name: "fresh start", healthy: true, wantAction: "created",
			check: func(t *testing.T, f *fakeEngine) {
				if !slices.Equal(f.calls, []string{"create reg", "start new"}) {
					t.Errorf("calls = %v", f.calls)
				}
			},
		},
		{
			name: "unchanged re-run leaves the container alone", old: running("old", "h1"), healthy: true, wantAction: "unchanged",
			check: func(t *testing.T, f *fakeEngine) {
				if len(f.calls) != 0 {
					t.Errorf("an identical running container must not be touched; calls = %v", f.calls)
				}
			},
		},
		{
			name: "stopped identical container is started", old: &dockerctl.Container{ID: "old", Labels: map[string]string{LabelSpec: "h1"}},
			healthy: true, wantAction: "started",
			check: func(t *testing.T, f *fakeEngine) {
				if !slices.Equal(f.calls, []string{"start old"}) {
					t.Errorf("calls = %v", f.calls)
				}
			},
		},
		{
			name: "changed container is replaced once the new one answers", old: running("old", "h0"), healthy: true, wantAction: "replaced",
			check: func(t *testing.T, f *fakeEngine) {
				want := []string{"stop old", "rename old " + f.renamed["old"], "create reg", "start new", "remove old"}
				if !slices.Equal(f.calls, want) {
					t.Errorf("calls = %v, want %v", f.calls, want)
				}
			},
		},
		{
			name: "a new container that crashes is removed and the old one restored", old: running("old", "h0"), newCrashes: true,
			wantErr: "previous registry was restored",
			check: func(t *testing.T, f *fakeEngine) {
				if !slices.Contains(f.removed, "new") || slices.Contains(f.removed, "old") {
					t.Errorf("removed = %v, want the new one only", f.removed)
				}
				if f.renamed["old"] != "reg" {
					t.Errorf("the old container must get its name back, renamed = %v", f.renamed)
				}
				if f.startedList[len(f.startedList)-1] != "old" {
					t.Errorf("the old container must run again, starts = %v", f.startedList)
				}
			},
		},
		{
			name: "a fresh container that crashes is removed", newCrashes: true, wantErr: "exited with code 1",
			check: func(t *testing.T, f *fakeEngine) {
				if !slices.Equal(f.removed, []string{"new"}) {
					t.Errorf("removed = %v", f.removed)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeEngine{logs: "level=fatal msg=\"open /certs/tls.crt: no such file\""}
			f.createFn = func(dockerctl.Spec) (string, error) { return "new", nil }
			f.inspectFn = func(id string) (dockerctl.Container, error) {
				if id == "new" && tt.newCrashes {
					return dockerctl.Container{ID: id, Running: false, ExitCode: 1}, nil
				}
				return dockerctl.Container{ID: id, Running: true}, nil
			}
			vopts := deadRegistry(t)
			if tt.healthy {
				vopts = healthyRegistry(t)
			}
			_, action, _, err := runContainer(context.Background(), f, spec("h1"), tt.old, vopts, t.TempDir(), nil, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if tt.newCrashes && !strings.Contains(err.Error(), "no such file") {
					t.Errorf("the crash report must carry the container's last log lines: %v", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if action != tt.wantAction {
				t.Errorf("action = %q, want %q", action, tt.wantAction)
			}
			tt.check(t, f)
		})
	}
}

func TestOwnContainer(t *testing.T) {
	tests := []struct {
		name    string
		c       *dockerctl.Container
		wantErr string
	}{
		{"name free", nil, ""},
		{"ours", &dockerctl.Container{ID: "x", Labels: map[string]string{LabelManaged: "true", LabelDir: "/srv/pax"}}, ""},
		{"someone else's", &dockerctl.Container{ID: "x"}, "did not create"},
		{"another setup's", &dockerctl.Container{ID: "x", Labels: map[string]string{LabelManaged: "true", LabelDir: "/elsewhere"}}, "did not create"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeEngine{inspectFn: func(string) (dockerctl.Container, error) {
				if tt.c == nil {
					return dockerctl.Container{}, dockerctl.ErrNotFound
				}
				return *tt.c, nil
			}}
			got, err := ownContainer(context.Background(), f, "reg", "/srv/pax")
			if tt.wantErr != "" {
				var fe *answers.FlagError
				if !errors.As(err, &fe) || fe.Flag != "name" || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a --name error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tt.c == nil) {
				t.Errorf("got %v for %v", got, tt.c)
			}
		})
	}
}

func TestCheckPort(t *testing.T) {
	held, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	heldPort := held.Addr().(*net.TCPAddr).Port
	free := func() int {
		ln, _ := net.Listen("tcp", ":0")
		defer ln.Close()
		return ln.Addr().(*net.TCPAddr).Port
	}()
	own := &dockerctl.Container{ID: "own", Name: "reg", Running: true, HostPorts: []int{heldPort}}

	tests := []struct {
		name       string
		port       int
		own        *dockerctl.Container
		publishing []dockerctl.Container
		wantErr    string
	}{
		{"free", free, nil, nil, ""},
		{"held by a process", heldPort, nil, nil, "taken by another program"},
		{"held by our own container", heldPort, own, []dockerctl.Container{*own}, ""},
		{"published by another container", free, nil, []dockerctl.Container{{ID: "c1", Name: "web"}}, `container "web"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeEngine{publishing: tt.publishing}
			err := checkPort(context.Background(), f, tt.port, tt.own)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "--port") {
				t.Errorf("err = %v, want ErrPortInUse naming %q and --port", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), strconv.Itoa(tt.port)) {
				t.Errorf("err = %v, want it to name the port", err)
			}
		})
	}
}
