package setup

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
	"github.com/paxsetup/paxsetup/internal/verify"
)

func TestKeysNeeded(t *testing.T) {
	tests := []struct {
		name     string
		mode     string
		present  []string // files in certs/
		replace  bool
		ca, leaf bool
		node     bool // a node joined from a bundle
	}{
		{"a first run", config.ModeSelfSigned, nil, false, true, true, false},
		{"a re-run keeps its certificate", config.ModeSelfSigned, []string{"ca.crt", "ca.key", "tls.crt", "tls.key"}, false, false, false, false},
		{"a server key alone is kept or refused", config.ModeSelfSigned, []string{"tls.key"}, false, false, false, false},
		{"--force reuses the CA", config.ModeSelfSigned, []string{"ca.crt", "ca.key", "tls.crt", "tls.key"}, true, false, true, false},
		{"a CA without a server certificate", config.ModeSelfSigned, []string{"ca.crt", "ca.key"}, false, false, true, false},
		{"a CA certificate without its key", config.ModeSelfSigned, []string{"ca.crt"}, false, true, true, false},
		{"--force without a CA", config.ModeSelfSigned, []string{"tls.crt", "tls.key"}, true, true, true, false},
		{"custom mode makes no key", config.ModeCustom, nil, false, false, false, false},
		{"letsencrypt mode makes no key", config.ModeLetsEncrypt, nil, true, false, false, false},
		{"http mode makes no key", config.ModeHTTP, nil, false, false, false, false},
		{"a node joining from a bundle", config.ModeSelfSigned, nil, false, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			certs := Layout{Dir: dir}.Certs()
			if err := os.MkdirAll(certs, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, f := range tt.present {
				if err := os.WriteFile(filepath.Join(certs, f), []byte("x"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			a := config.Defaults()
			a.Mode = tt.mode
			if tt.node {
				a.Node = &config.Node{}
			}
			ca, leaf := keysNeeded(dir, a, tt.replace)
			if ca != tt.ca || leaf != tt.leaf {
				t.Errorf("keysNeeded = CA %v, server %v; want %v, %v", ca, leaf, tt.ca, tt.leaf)
			}
		})
	}
}

// usersOptions are the options of a run in dir that sets the admin's
// password and generates the reader's, at the lowest bcrypt cost.
func usersOptions(dir string) Options {
	a := config.Defaults()
	a.BcryptCost = htpasswd.MinCost
	return Options{Dir: dir, Answers: a, AdminPassword: answers.Password{Value: "admin-password-0123"}}
}

func TestWriteUsersPrepared(t *testing.T) {
	for _, prepared := range []bool{false, true} {
		name := map[bool]string{false: "prepared in place", true: "prepared beside the checks"}[prepared]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			l := Layout{Dir: dir}
			if err := os.MkdirAll(l.Auth(), 0o755); err != nil {
				t.Fatal(err)
			}
			opts := usersOptions(dir)
			if prepared {
				opts.users = startUsers(l, opts)
			}
			generated, err := writeUsers(context.Background(), l, opts)
			if err != nil {
				t.Fatal(err)
			}
			f, err := htpasswd.Load(l.Htpasswd())
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Verify("admin", "admin-password-0123"); err != nil {
				t.Errorf("the admin's password: %v", err)
			}
			pw, ok := generated["spectro"]
			if !ok || len(generated) != 1 {
				t.Fatalf("generated = %v, want the reader's password alone", generated)
			}
			if err := f.Verify("spectro", pw); err != nil {
				t.Errorf("the reader's generated password: %v", err)
			}
			if saved, ok := LoadCredentials(dir, "spectro"); !ok || saved != pw {
				t.Error("the reader's generated password is not in the credentials file")
			}
		})
	}

	t.Run("a broken file fails alike", func(t *testing.T) {
		var msgs []string
		for _, prepared := range []bool{false, true} {
			dir := t.TempDir()
			l := Layout{Dir: dir}
			if err := os.MkdirAll(l.Auth(), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(l.Htpasswd(), []byte("admin without a hash\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			opts := usersOptions(dir)
			if prepared {
				opts.users = startUsers(l, opts)
			}
			_, err := writeUsers(context.Background(), l, opts)
			if err == nil {
				t.Fatal("a broken htpasswd file was accepted")
			}
			msgs = append(msgs, strings.ReplaceAll(err.Error(), dir, "DIR"))
		}
		if msgs[0] != msgs[1] || !strings.Contains(msgs[0], "fix or remove the file") {
			t.Errorf("errors differ or lack the fix:\n  in place: %s\n  beside:   %s", msgs[0], msgs[1])
		}
	})

	t.Run("cancelled while they are prepared", func(t *testing.T) {
		dir := t.TempDir()
		l := Layout{Dir: dir}
		opts := usersOptions(dir)
		// Never done: only the cancellation can end the wait.
		opts.users = &pendingUsers{done: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := writeUsers(ctx, l, opts); err != context.Canceled {
			t.Fatalf("err = %v, want ctx.Err() itself", err)
		}
		if _, err := os.Stat(l.Htpasswd()); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the htpasswd file was written (stat: %v)", err)
		}
		if _, err := os.Stat(filepath.Join(dir, CredentialsFile)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the credentials file was written (stat: %v)", err)
		}
	})
}

// TestRunRefusedWhileUsersArePrepared: the users are prepared from the
// run's start, but a check that refuses the run still comes first, with its
// own error, and nothing is written.
func TestRunRefusedWhileUsersArePrepared(t *testing.T) {
	dir := t.TempDir()
	l := Layout{Dir: dir}
	if err := os.MkdirAll(l.Auth(), 0o755); err != nil {
		t.Fatal(err)
	}
	broken := []byte("admin without a hash\n")
	if err := os.WriteFile(l.Htpasswd(), broken, 0o600); err != nil {
		t.Fatal(err)
	}
	opts := usersOptions(dir)
	// No certificate, so no key is made.
	opts.Answers.Mode = config.ModeHTTP
	eng := &fakeEngine{
		inspectFn:  func(string) (dockerctl.Container, error) { return dockerctl.Container{}, dockerctl.ErrNotFound },
		publishing: []dockerctl.Container{{ID: "other", Name: "web"}},
	}
	_, err := Run(context.Background(), eng, opts)
	if !errors.Is(err, ErrPortInUse) {
		t.Fatalf("err = %v, want the port check's refusal", err)
	}
	if strings.Contains(err.Error(), "htpasswd") {
		t.Errorf("the refusal mentions the users' file: %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "auth" {
		t.Errorf("the setup folder holds %v, want auth/ alone", entries)
	}
	if got, _ := os.ReadFile(l.Htpasswd()); string(got) != string(broken) {
		t.Errorf("the htpasswd file changed to %q", got)
	}
	if len(eng.calls) != 0 {
		t.Errorf("the engine was asked to %q", eng.calls)
	}
}

// loginRegistry answers like the registry (as healthyRegistry does) and
// holds each of the admin's logins until the reader's first arrives, or
// for hold: it tells whether the two users' checks were under way at once.
type loginRegistry struct {
	hold       time.Duration
	readerIn   chan struct{}
	once       sync.Once
	overlapped atomic.Bool
	logins     atomic.Int32
}

func (g *loginRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/health" {
		w.Write([]byte(`{"status":"UP"}`))
		return
	}
	user, _, ok := r.BasicAuth()
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	g.logins.Add(1)
	switch user {
	case "spectro":
		g.once.Do(func() { close(g.readerIn) })
	case "admin":
		select {
		case <-g.readerIn:
			g.overlapped.Store(true)
		case <-time.After(g.hold):
		}
	}
	w.Write([]byte(`{"repositories":[]}`))
}

// registryEngine is an engine whose container "new" takes port 127.0.0.1:port
// when created, as the engine's port proxy does, and serves reg there once
// started; a connection before that is counted in early. old, when set, is
// the setup's running container.
type registryEngine struct {
	*lifeEngine
	t       *testing.T
	port    int
	reg     http.Handler
	old     *dockerctl.Container
	early   atomic.Int32
	started chan struct{}
}

func (f *registryEngine) ContainersPublishing(context.Context, int) ([]dockerctl.Container, error) {
	if f.old != nil {
		return []dockerctl.Container{*f.old}, nil
	}
	return nil, nil
}

func (f *registryEngine) Create(ctx context.Context, spec dockerctl.Spec) (string, error) {
	id, err := f.lifeEngine.Create(ctx, spec)
	if err != nil {
		return id, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(f.port))
	if err != nil {
		return "", err
	}
	f.started = make(chan struct{})
	srv := &httptest.Server{Listener: &earlyListener{Listener: ln, f: f}, Config: &http.Server{Handler: f.reg}}
	srv.Start()
	f.t.Cleanup(srv.Close)
	return id, nil
}

func (f *registryEngine) Start(ctx context.Context, id string) error {
	if err := f.lifeEngine.Start(ctx, id); err != nil || id != "new" {
		return err
	}
	// Starting takes the engine a while (networking, the port proxy),
	// time in which a client that polls the port would connect.
	time.Sleep(300 * time.Millisecond)
	close(f.started)
	return nil
}

// earlyListener counts and drops the connections made before the
// container is started.
type earlyListener struct {
	net.Listener
	f *registryEngine
}

func (l *earlyListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case <-l.f.started:
			return c, nil
		default:
			l.f.early.Add(1)
			c.Close()
		}
	}
}

// TestSecondUserBesideTheFirst: the registry checks both users' logins at
// once, on a first run and when a container is replaced, and nothing
// connects to the registry's port before its container is started.
func TestSecondUserBesideTheFirst(t *testing.T) {
	tests := []struct {
		name       string
		replace    bool
		wantAction string
	}{
		{"a first run", false, "created"},
		{"a replaced container", true, "replaced"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			port := freePort(t)
			opts := usersOptions(dir)
			opts.Answers.Mode = config.ModeHTTP
			opts.Answers.Host, opts.Answers.Port, opts.Answers.Name = "registry.local", port, "reg"
			opts.HealthTimeout = 20 * time.Second
			reg := &loginRegistry{hold: 20 * time.Second, readerIn: make(chan struct{})}
			eng := &registryEngine{t: t, port: port, reg: reg, lifeEngine: &lifeEngine{images: map[string]string{opts.Answers.Image: "sha256:1"}}}
			if tt.replace {
				eng.old = &dockerctl.Container{ID: "old", Name: "reg", Running: true, HostPorts: []int{port},
					Labels: map[string]string{LabelManaged: "true", LabelDir: dir, LabelSpec: "another"}}
			}
			eng.inspectFn = func(id string) (dockerctl.Container, error) {
				switch {
				case id == "new":
					return dockerctl.Container{ID: "new", Running: true}, nil
				case eng.old != nil && (id == "reg" || id == "old"):
					return *eng.old, nil
				}
				return dockerctl.Container{}, dockerctl.ErrNotFound
			}
			res, err := Run(context.Background(), eng, opts)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.ContainerAction != tt.wantAction {
				t.Errorf("action = %q, want %q", res.ContainerAction, tt.wantAction)
			}
			if !reg.overlapped.Load() {
				t.Error("the reader's login was checked after the admin's, not beside it")
			}
			if n := eng.early.Load(); n != 0 {
				t.Errorf("%d connections reached the registry's port before its container was started", n)
			}
		})
	}
}

func TestReaderCheck(t *testing.T) {
	reg := &loginRegistry{hold: 0, readerIn: make(chan struct{})}
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	vopts := verify.Options{Endpoint: srv.URL, Timeout: 5 * time.Second}
	opts := usersOptions(t.TempDir())
	generated := map[string]string{"spectro": "reader-password"}

	t.Run("run when it was not started", func(t *testing.T) {
		before := reg.logins.Load()
		if err := newReaderCheck(context.Background(), opts, vopts, generated).result(); err != nil {
			t.Fatal(err)
		}
		if got := reg.logins.Load() - before; got != 1 {
			t.Errorf("%d logins, want 1", got)
		}
	})
	t.Run("started once", func(t *testing.T) {
		before := reg.logins.Load()
		c := newReaderCheck(context.Background(), opts, vopts, generated)
		c.start()
		c.start()
		if err := c.result(); err != nil {
			t.Fatal(err)
		}
		if got := reg.logins.Load() - before; got != 1 {
			t.Errorf("%d logins, want 1", got)
		}
	})
	t.Run("a failure says so", func(t *testing.T) {
		c := newReaderCheck(context.Background(), opts, deadRegistry(t), generated)
		c.vopts.Timeout = 200 * time.Millisecond
		c.start()
		if err := c.result(); !errors.Is(err, ErrVerifyFailed) {
			t.Errorf("err = %v, want ErrVerifyFailed", err)
		}
	})
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
