package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// engineProxy stands between paxsetup and the Docker engine on a unix
// socket of its own, and can fail one chosen call: drop the connection once
// the engine has acted (the caller never learns the outcome), or delay it.
type engineProxy struct {
	socket string
	srv    *http.Server

	mu     sync.Mutex
	method string
	path   *regexp.Regexp
	fault  string // "drop" or "delay"
	hits   int
}

func startEngineProxy(t *testing.T) *engineProxy {
	t.Helper()
	p := &engineProxy{socket: filepath.Join(t.TempDir(), "engine.sock")}
	ln, err := net.Listen("unix", p.socket)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(&url.URL{Scheme: "http", Host: "docker"})
			r.Out.Host = "docker"
		},
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", "/var/run/docker.sock")
		}},
		FlushInterval: -1,
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p.take(r) {
		case "drop":
			// The engine acts on the call; its answer never arrives.
			rec := &discard{header: http.Header{}}
			rp.ServeHTTP(rec, r)
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
				}
			}
			return
		case "delay":
			time.Sleep(2 * time.Second)
		}
		rp.ServeHTTP(w, r)
	})}
	go p.srv.Serve(ln)
	t.Cleanup(func() { p.srv.Close() })
	return p
}

// failNext makes the next call matching method and path fail with fault.
func (p *engineProxy) failNext(method, path, fault string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.method, p.path, p.fault, p.hits = method, regexp.MustCompile(path), fault, 0
}

func (p *engineProxy) take(r *http.Request) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.path == nil || r.Method != p.method || !p.path.MatchString(r.URL.Path) {
		return ""
	}
	p.hits++
	f := p.fault
	p.path = nil
	return f
}

// discard is a ResponseWriter that forgets the engine's answer.
type discard struct{ header http.Header }

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// TestEngineFaultsDuringContainerSwap drops, then delays, each engine call of
// a container swap (stop, rename, create, start, remove) in re-runs that
// replace the registry. After each run a registry serves, or the next run
// restores one, saying so; one container of the setup remains.
func TestEngineFaultsDuringContainerSwap(t *testing.T) {
	s := newFaultSetup(t, filepath.Join(t.TempDir(), "setup"), nil)
	cli, name, dir, port, base := s.cli, s.name, s.dir, s.port, s.base
	proxy := startEngineProxy(t)
	env := []string{"DOCKER_HOST=unix://" + proxy.socket, "DOCKER_CONTEXT="}
	calls := []struct{ step, method, path string }{
		{"stop", http.MethodPost, `/containers/[^/]+/stop$`},
		{"rename", http.MethodPost, `/containers/[^/]+/rename$`},
		{"create", http.MethodPost, `/containers/create$`},
		{"start", http.MethodPost, `/containers/[^/]+/start$`},
		{"remove", http.MethodDelete, `/containers/[^/]+$`},
	}
	// Each run asks for the log level the running registry does not have,
	// so that it replaces the container.
	otherLevel := func(t *testing.T) string {
		t.Helper()
		c, err := cli.ContainerInspect(context.Background(), name, client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(c.Container.Config.Env, "REGISTRY_LOG_LEVEL=debug") {
			return "info"
		}
		return "debug"
	}
	for _, fault := range []string{"drop", "delay"} {
		for _, c := range calls {
			t.Run(fault+" "+c.step, func(t *testing.T) {
				level := otherLevel(t)
				proxy.failNext(c.method, c.path, fault)
				r := runBinary(t, env, append(base, "--log-level", level)...)
				if proxy.hits != 1 {
					t.Fatalf("the run made no %s call to fail (exit %d):\n%s%s", c.step, r.code, r.stdout, r.stderr)
				}
				ok := serves(t, dir, port, 15*time.Second)
				t.Logf("exit %d, serving %v", r.code, ok)
				if fault == "delay" && r.code != 0 {
					t.Errorf("a delayed %s failed the run:\n%s%s", c.step, r.stdout, r.stderr)
				}
				if !ok {
					next := runBinary(t, nil, base...)
					if next.code != 0 || !serves(t, dir, port, 15*time.Second) {
						t.Fatalf("no registry after a dropped %s, and the next run did not restore one (exit %d):\n%s%s", c.step, next.code, next.stdout, next.stderr)
					}
					t.Errorf("a dropped %s left no registry serving until the next run:\n%s%s", c.step, r.stdout, r.stderr)
				}
				if ours := s.containers(t); ours != 1 {
					// A dropped remove of the old container leaves it set
					// aside: the next run must clear it.
					if next := runBinary(t, nil, base...); next.code != 0 {
						t.Fatalf("the next run exited %d:\n%s%s", next.code, next.stdout, next.stderr)
					}
					t.Logf("%d containers of the setup after the run", ours)
				}
			})
		}
	}
	if ours := s.containers(t); ours != 1 {
		t.Errorf("%d containers of the setup remain, want 1", ours)
	}
}
