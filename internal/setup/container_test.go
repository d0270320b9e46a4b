package setup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/verify"
)

// unfaked names the embedded Engine so the fake can also have an Engine
// method, as *dockerctl.Client does.
type unfaked = Engine

// lifeEngine fakes the engine's container and image calls with function
// fields and a record of calls; a method it does not fake panics through the
// nil embedded interface.
type lifeEngine struct {
	unfaked

	mu    sync.Mutex
	calls []string

	images    map[string]string // reference or ID -> ID
	config    dockerctl.ImageConfig
	facts     dockerctl.EngineInfo
	loadFn    func(path, ref string) error
	inspectFn func(id string) (dockerctl.Container, error)
	startFn   func(id string) error
	logs      string
	logTail   int
}

func (f *lifeEngine) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *lifeEngine) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *lifeEngine) EnsureImage(_ context.Context, ref string, policy dockerctl.PullPolicy, _ io.Writer) error {
	f.record("ensure %s %s", ref, policy)
	return nil
}

func (f *lifeEngine) ImageExists(_ context.Context, ref string) (bool, error) {
	_, ok := f.images[ref]
	return ok, nil
}

func (f *lifeEngine) LoadImageArchive(_ context.Context, path, ref string, _ io.Writer) error {
	f.record("load %s", path)
	return f.loadFn(path, ref)
}

func (f *lifeEngine) ImageID(_ context.Context, ref string) (string, error) {
	if id, ok := f.images[ref]; ok {
		return id, nil
	}
	return "", fmt.Errorf("inspect image %q: %w", ref, dockerctl.ErrNotFound)
}

func (f *lifeEngine) ImageConfig(_ context.Context, ref string) (dockerctl.ImageConfig, error) {
	c := f.config
	c.ID = f.images[ref]
	return c, nil
}

func (f *lifeEngine) Engine(context.Context) (dockerctl.EngineInfo, error) { return f.facts, nil }

func (f *lifeEngine) Create(_ context.Context, spec dockerctl.Spec) (string, error) {
	f.record("create %s", spec.Name)
	return "new", nil
}

func (f *lifeEngine) Start(_ context.Context, id string) error {
	f.record("start %s", id)
	if f.startFn != nil {
		return f.startFn(id)
	}
	return nil
}

func (f *lifeEngine) Stop(_ context.Context, id string, _ time.Duration) error {
	f.record("stop %s", id)
	return nil
}

func (f *lifeEngine) Remove(ctx context.Context, id string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	f.record("remove %s", id)
	return nil
}

func (f *lifeEngine) Rename(ctx context.Context, id, name string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	f.record("rename %s %s", id, strings.SplitN(name, "-previous-", 2)[0])
	return nil
}

func (f *lifeEngine) Inspect(_ context.Context, id string) (dockerctl.Container, error) {
	return f.inspectFn(id)
}

func (f *lifeEngine) Logs(_ context.Context, _ string, tail int) (string, error) {
	f.mu.Lock()
	f.logTail = tail
	f.mu.Unlock()
	return f.logs, nil
}

// registryAt is a registry that answers /health and the catalog like the
// vendor image, or, when down, an address nothing listens on.
func registryAt(t *testing.T, up bool, timeout time.Duration) verify.Options {
	t.Helper()
	if !up {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return verify.Options{Endpoint: "http://" + addr, Timeout: timeout}
	}
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
	return verify.Options{Endpoint: srv.URL, Timeout: timeout}
}

func running(id, hash string) *dockerctl.Container {
	return &dockerctl.Container{ID: id, Name: "reg", Running: true, Labels: map[string]string{LabelManaged: "true", LabelSpec: hash}}
}

// TestWaitReadyCatchesRestartLoop: under restart=always the engine restarts
// a crashing registry, so it never looks stopped for long; the restart
// itself must count as the crash, reported at once with the diagnosis.
func TestWaitReadyCatchesRestartLoop(t *testing.T) {
	states := map[string]struct {
		c    dockerctl.Container
		want string
	}{
		"between restarts": {dockerctl.Container{ID: "new", Running: true, Restarting: true, ExitCode: 1}, "exited with code 1"},
		// Once restarted, the engine has reset the exit code.
		"restarted": {dockerctl.Container{ID: "new", Running: true, RestartCount: 1}, "exited right after starting and was restarted by the engine"},
		"stopped":   {dockerctl.Container{ID: "new", Running: false, Status: "exited", ExitCode: 1}, "exited with code 1"},
	}
	for name, state := range states {
		t.Run(name, func(t *testing.T) {
			f := &lifeEngine{
				logs: "configuration error: open /missing.yml: no such file or directory\nUsage:\n  registry serve <config> [flags]\n",
				inspectFn: func(string) (dockerctl.Container, error) {
					return state.c, nil
				},
			}
			start := time.Now()
			_, err := waitReady(context.Background(), f, "new", registryAt(t, false, 30*time.Second), 0, nil)
			if !errors.Is(err, ErrContainerCrash) {
				t.Fatalf("err = %v, want ErrContainerCrash", err)
			}
			if waited := time.Since(start); waited > 10*time.Second {
				t.Errorf("the crash was noticed only after %s: it waited for the health timeout", waited)
			}
			for _, want := range []string{
				state.want,
				"cause: the config file the registry was told to serve, /missing.yml, does not exist inside the container",
				"fix:", "its last log lines:", "registry serve <config>",
			} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("crash report lacks %q:\n%v", want, err)
				}
			}
			if f.logTail != crashLogLines {
				t.Errorf("asked for %d log lines, want %d", f.logTail, crashLogLines)
			}
		})
	}
}

// TestWaitReadyOldRestartsAreNotACrash: an existing registry that the
// engine restarted once, long ago, is not crashing now.
func TestWaitReadyOldRestartsAreNotACrash(t *testing.T) {
	f := &lifeEngine{inspectFn: func(string) (dockerctl.Container, error) {
		return dockerctl.Container{ID: "old", Running: true, RestartCount: 3}, nil
	}}
	if _, err := waitReady(context.Background(), f, "old", registryAt(t, true, 5*time.Second), 3, nil); err != nil {
		t.Fatal(err)
	}
}

func TestWaitReadyNeverAnswers(t *testing.T) {
	f := &lifeEngine{
		logs:      `time="2026-05-07T21:09:36Z" level=info msg="listening on [::]:5000"`,
		inspectFn: func(string) (dockerctl.Container, error) { return dockerctl.Container{ID: "new", Running: true}, nil },
	}
	_, err := waitReady(context.Background(), f, "new", registryAt(t, false, 500*time.Millisecond), 0, nil)
	if !errors.Is(err, ErrVerifyFailed) || !strings.Contains(err.Error(), "listening on [::]:5000") {
		t.Errorf("err = %v, want ErrVerifyFailed with the last log lines", err)
	}
}

// TestReplaceCancelledMidStart: the operator presses Ctrl-C while the new
// registry starts. The new container is removed, the old one gets its name
// back and runs again, and the error says the run was cancelled.
func TestReplaceCancelledMidStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &lifeEngine{
		inspectFn: func(id string) (dockerctl.Container, error) { return dockerctl.Container{ID: id, Running: true}, nil },
		startFn: func(id string) error {
			if id == "new" {
				cancel()
			}
			return nil
		},
	}
	_, _, _, err := runContainer(ctx, f, spec("h1"), running("old", "h0"), registryAt(t, false, 30*time.Second), t.TempDir(), nil, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "previous registry was restored") {
		t.Errorf("err = %v, want it to say the old registry is back", err)
	}
	want := []string{"stop old", "rename old reg", "create reg", "start new", "remove new", "rename old reg", "start old"}
	if got := f.recorded(); !slices.Equal(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}
}

// createOutlivesCaller carries out a create whose caller has gone, as the
// Docker engine does when its client goes away; interrupt is the operator's
// Ctrl-C, pressed while the create is under way.
type createOutlivesCaller struct {
	*lifeEngine
	interrupt context.CancelFunc
}

func (f createOutlivesCaller) Create(ctx context.Context, spec dockerctl.Spec) (string, error) {
	id, err := f.lifeEngine.Create(ctx, spec)
	f.interrupt()
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	return id, err
}

// TestFirstStartInterrupted: the operator presses Ctrl-C while a first run
// creates or starts its registry. The container the engine made is removed,
// and the error says the run was cancelled.
func TestFirstStartInterrupted(t *testing.T) {
	tests := []struct {
		name   string
		engine func(cancel context.CancelFunc) Engine
		want   []string
	}{
		{
			name: "while the engine creates it",
			engine: func(cancel context.CancelFunc) Engine {
				return createOutlivesCaller{lifeEngine: &lifeEngine{}, interrupt: cancel}
			},
			want: []string{"create reg", "remove new"},
		},
		{
			name: "while it starts",
			engine: func(cancel context.CancelFunc) Engine {
				return &lifeEngine{
					inspectFn: func(id string) (dockerctl.Container, error) { return dockerctl.Container{ID: id, Running: true}, nil },
					startFn:   func(string) error { cancel(); return nil },
				}
			},
			want: []string{"create reg", "start new", "remove new"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			eng := tt.engine(cancel)
			_, _, _, err := runContainer(ctx, eng, spec("h1"), nil, registryAt(t, false, 30*time.Second), t.TempDir(), nil, nil)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			var calls []string
			switch e := eng.(type) {
			case createOutlivesCaller:
				calls = e.recorded()
			case *lifeEngine:
				calls = e.recorded()
			}
			if !slices.Equal(calls, tt.want) {
				t.Errorf("calls = %v, want %v", calls, tt.want)
			}
		})
	}
}

// TestReplaceWithCrashingImage: an upgrade to an image that cannot start
// leaves the old registry serving, and says why the new one failed.
func TestReplaceWithCrashingImage(t *testing.T) {
	f := &lifeEngine{
		logs: `time="2026-05-07T21:09:36Z" level=fatal msg="cannot specify both certificate and Let's Encrypt"`,
		inspectFn: func(id string) (dockerctl.Container, error) {
			if id == "new" {
				return dockerctl.Container{ID: id, Status: "exited", ExitCode: 1}, nil
			}
			return dockerctl.Container{ID: id, Running: true}, nil
		},
	}
	_, _, _, err := runContainer(context.Background(), f, spec("h1"), running("old", "h0"), registryAt(t, false, time.Second), t.TempDir(), nil, nil)
	if !errors.Is(err, ErrContainerCrash) || !strings.Contains(err.Error(), "previous registry was restored but does not answer") ||
		!strings.Contains(err.Error(), "paxsetup init --mode letsencrypt") {
		t.Fatalf("err = %v", err)
	}
	calls := f.recorded()
	if calls[len(calls)-1] != "start old" || !slices.Contains(calls, "remove new") || slices.Contains(calls, "remove old") {
		t.Errorf("calls = %v: the new one must be removed and the old one started", calls)
	}
}

func TestEnsureImage(t *testing.T) {
	const ref = "example.com/spectro-registry:4.7.0"
	tests := []struct {
		name     string
		images   map[string]string
		saved    *config.Answers
		archive  string
		upgrade  bool
		loadErr  error
		wantRef  string
		wantID   string
		wantIs   error
		wantOut  []string
		wantCall []string
	}{
		{
			name:     "first run pulls per --pull",
			images:   map[string]string{ref: "sha256:aaa"},
			wantRef:  ref,
			wantID:   "sha256:aaa",
			wantCall: []string{"ensure " + ref + " missing"},
		},
		{
			name:     "re-run, tag unchanged",
			images:   map[string]string{ref: "sha256:aaa"},
			saved:    &config.Answers{Image: ref, ImageID: "sha256:aaa"},
			wantRef:  ref,
			wantID:   "sha256:aaa",
			wantCall: []string{"ensure " + ref + " missing"},
		},
		{
			name:    "re-run after the tag moved keeps the recorded image",
			images:  map[string]string{ref: "sha256:bbb", "sha256:aaa": "sha256:aaa"},
			saved:   &config.Answers{Image: ref, ImageID: "sha256:aaa"},
			wantRef: "sha256:aaa",
			wantID:  "sha256:aaa",
			wantOut: []string{"now names bbb; the registry keeps aaa", "paxsetup upgrade"},
		},
		{
			name:    "upgrade moves to what the tag names",
			images:  map[string]string{ref: "sha256:bbb", "sha256:aaa": "sha256:aaa"},
			saved:   &config.Answers{Image: ref, ImageID: "sha256:aaa"},
			upgrade: true,
			wantRef: ref,
			wantID:  "sha256:bbb",
		},
		{
			name:   "the recorded image is gone",
			images: map[string]string{ref: "sha256:bbb"},
			saved:  &config.Answers{Image: ref, ImageID: "sha256:aaa"},
			wantIs: ErrImageMoved,
		},
		{
			name:    "another --image is an upgrade by itself",
			images:  map[string]string{ref: "sha256:bbb"},
			saved:   &config.Answers{Image: "example.com/spectro-registry:4.5.0", ImageID: "sha256:aaa"},
			wantRef: ref,
			wantID:  "sha256:bbb",
		},
		{
			name:     "archive loaded when the image is absent, never pulled",
			images:   map[string]string{},
			archive:  "/media/usb/spectro-registry.tar.gz",
			wantRef:  ref,
			wantID:   "sha256:ccc",
			wantCall: []string{"load /media/usb/spectro-registry.tar.gz", "ensure " + ref + " never"},
		},
		{
			name:     "archive not loaded again when the image is there",
			images:   map[string]string{ref: "sha256:aaa"},
			archive:  "/media/usb/spectro-registry.tar.gz",
			wantRef:  ref,
			wantID:   "sha256:aaa",
			wantOut:  []string{"not loaded again"},
			wantCall: []string{"ensure " + ref + " never"},
		},
		{
			name:     "archive loaded again on an upgrade",
			images:   map[string]string{ref: "sha256:aaa"},
			archive:  "/media/usb/spectro-registry.tar.gz",
			upgrade:  true,
			wantRef:  ref,
			wantID:   "sha256:ccc",
			wantCall: []string{"load /media/usb/spectro-registry.tar.gz", "ensure " + ref + " never"},
		},
		{
			name:    "archive without the image",
			images:  map[string]string{},
			archive: "/media/usb/other.tar",
			loadErr: dockerctl.ErrArchiveLacksImage,
			wantIs:  dockerctl.ErrArchiveLacksImage,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.saved != nil {
				if err := config.Save(dir, *tt.saved); err != nil {
					t.Fatal(err)
				}
			}
			f := &lifeEngine{images: tt.images, config: dockerctl.ImageConfig{ExposedPorts: []string{"5000/tcp"}}, facts: dockerctl.EngineInfo{SELinux: true}}
			f.loadFn = func(string, string) error {
				if tt.loadErr != nil {
					return tt.loadErr
				}
				f.images[ref] = "sha256:ccc"
				return nil
			}
			a := config.Defaults()
			a.Image, a.ImageArchive = ref, tt.archive
			var out strings.Builder
			got, err := ensureImage(context.Background(), f, Options{Dir: dir, Answers: a, Out: &out, Upgrade: tt.upgrade})
			if tt.wantIs != nil {
				if !errors.Is(err, tt.wantIs) {
					t.Fatalf("err = %v, want %v", err, tt.wantIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Ref != tt.wantRef || got.ID != tt.wantID || !got.Engine.SELinux {
				t.Errorf("image = %+v, want ref %s, ID %s, with the engine's facts", got, tt.wantRef, tt.wantID)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if tt.wantCall != nil && !slices.Equal(f.recorded(), tt.wantCall) {
				t.Errorf("calls = %v, want %v", f.recorded(), tt.wantCall)
			}
		})
	}
}

func TestApplyImage(t *testing.T) {
	s := spec("h1")
	s.Image = "example.com/spectro-registry:4.7.0"
	applyImage(&s, imageChoice{Ref: "sha256:aaa", Engine: dockerctl.EngineInfo{SELinux: true}})
	if s.Image != "sha256:aaa" || s.Labels[LabelImage] != "example.com/spectro-registry:4.7.0" || !s.Relabel {
		t.Errorf("spec = %+v", s)
	}
}

// setupFiles lays out what an init run mounts, with its real modes.
func setupFiles(t *testing.T) (dockerctl.Spec, string) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]os.FileMode{
		"auth/htpasswd-basic": 0o600, "certs/tls.key": 0o600, "certs/ca.key": 0o600,
		"certs/tls.crt": 0o644, "certs/ca.crt": 0o644, "data/.spectro-server/docker/registry/v2/blobs/x": 0o644,
	}
	for rel, mode := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(rel), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dockerctl.Spec{Mounts: []dockerctl.Mount{
		{Source: filepath.Join(dir, "auth"), Target: "/auth", ReadOnly: true},
		{Source: filepath.Join(dir, "certs"), Target: "/certs", ReadOnly: true},
		{Source: filepath.Join(dir, "data"), Target: "/data"},
	}}, dir
}

// TestHandToImageUser gives the mounted files to a non-root image's user on
// the real filesystem (the tests run as root, as paxsetup does), keeping
// their modes and the CA key's owner.
func TestHandToImageUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test changes file owners and must run as root, as paxsetup does")
	}
	s, dir := setupFiles(t)
	img := imageChoice{Config: dockerctl.ImageConfig{User: "4242:4343"}}
	var out strings.Builder
	if err := handToImageUser(s, img, defaultChown, &out); err != nil {
		t.Fatal(err)
	}
	owner := func(rel string) (int, int, os.FileMode) {
		fi, err := os.Stat(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		return int(st.Uid), int(st.Gid), fi.Mode().Perm()
	}
	for rel, mode := range map[string]os.FileMode{
		"auth/htpasswd-basic": 0o600, "certs/tls.key": 0o600, "certs/tls.crt": 0o644, "data": 0o755,
		"data/.spectro-server/docker/registry/v2/blobs/x": 0o644,
	} {
		uid, gid, perm := owner(rel)
		if uid != 4242 || gid != 4343 || perm != mode {
			t.Errorf("%s: %d:%d %v, want 4242:4343 %v", rel, uid, gid, perm, mode)
		}
	}
	if uid, _, _ := owner("certs/ca.key"); uid != 0 {
		t.Errorf("certs/ca.key went to uid %d: the registry must not read the CA key", uid)
	}
	if !strings.Contains(out.String(), "files for the image's user (uid 4242)") {
		t.Errorf("output = %q", out.String())
	}

	// A second run finds everything already owned and changes nothing.
	calls := 0
	count := func(string, int, int) error { calls++; return nil }
	if err := handToImageUser(s, img, count, io.Discard); err != nil || calls != 0 {
		t.Errorf("re-run chowned %d files (%v), want none", calls, err)
	}
}

func TestHandToImageUserLeavesAlone(t *testing.T) {
	tests := []struct {
		name    string
		user    string
		engine  dockerctl.EngineInfo
		wantOut string
	}{
		{name: "root image", user: ""},
		{name: "explicit root", user: "0:0"},
		{name: "user by name", user: "registry", wantOut: `runs as user "registry"`},
		{name: "rootless engine", user: "1000", engine: dockerctl.EngineInfo{Rootless: true}, wantOut: "rootless engine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := setupFiles(t)
			chown := func(p string, _, _ int) error {
				t.Errorf("chowned %s", p)
				return nil
			}
			var out strings.Builder
			img := imageChoice{Config: dockerctl.ImageConfig{User: tt.user}, Engine: tt.engine}
			if err := handToImageUser(s, img, chown, &out); err != nil {
				t.Fatal(err)
			}
			if tt.wantOut == "" && out.Len() != 0 || !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("output = %q, want %q", out.String(), tt.wantOut)
			}
		})
	}
}

// TestHandToImageUserPermissionDenied: paxsetup run by a docker-group member
// rather than root may not give files away.
func TestHandToImageUserPermissionDenied(t *testing.T) {
	s, dir := setupFiles(t)
	denied := func(p string, _, _ int) error {
		return &fs.PathError{Op: "lchown", Path: p, Err: syscall.EPERM}
	}
	err := handToImageUser(s, imageChoice{Config: dockerctl.ImageConfig{User: "1000"}}, denied, io.Discard)
	if !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("err = %v, want a permission error", err)
	}
	for _, want := range []string{filepath.Join(dir, "auth"), "uid 1000", "run paxsetup as root (sudo)", "chown -R 1000"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err %q lacks %q", err, want)
		}
	}
}
