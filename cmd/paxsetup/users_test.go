package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
	"github.com/paxsetup/paxsetup/internal/setup"
)

// fakeRegistry answers /health and /v1/_catalog like the vendor image,
// checking logins against the htpasswd file as it was when it last
// "started", or as it is now when rereads is set.
type fakeRegistry struct {
	path    string
	rereads bool

	mu     sync.Mutex
	loaded *htpasswd.File
}

func (r *fakeRegistry) start(t *testing.T) {
	f, err := htpasswd.Load(r.path)
	if err != nil {
		t.Error(err)
		return
	}
	r.mu.Lock()
	r.loaded = f
	r.mu.Unlock()
}

func (r *fakeRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch req.URL.Path {
	case "/health":
		w.Write([]byte(`{"status":"UP"}`))
	case "/v1/_catalog":
		r.mu.Lock()
		f := r.loaded
		r.mu.Unlock()
		if r.rereads {
			f, _ = htpasswd.Load(r.path)
		}
		user, pw, ok := req.BasicAuth()
		if !ok || f.Verify(user, pw) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"repositories":[]}`))
	default:
		http.NotFound(w, req)
	}
}

// fakeDocker is the engine holding the setup's one container.
type fakeDocker struct {
	dockerctl.API
	c       dockerctl.Container
	calls   []string
	onStart func()
}

func (d *fakeDocker) Inspect(_ context.Context, name string) (dockerctl.Container, error) {
	if name != d.c.Name && name != d.c.ID {
		return dockerctl.Container{}, dockerctl.ErrNotFound
	}
	return d.c, nil
}
func (d *fakeDocker) Stop(_ context.Context, id string, _ time.Duration) error {
	d.calls = append(d.calls, "stop "+id)
	return nil
}
func (d *fakeDocker) Start(_ context.Context, id string) error {
	d.calls = append(d.calls, "start "+id)
	d.onStart()
	return nil
}
func (d *fakeDocker) Close() error { return nil }

// TestUsersRestartsRegistryThatDoesNotReread: an older registry reads the
// htpasswd file only at start, so paxsetup restarts its container, says so,
// and checks the new login afterwards; a registry that re-reads is left
// running.
func TestUsersRestartsRegistryThatDoesNotReread(t *testing.T) {
	tests := []struct {
		name        string
		rereads     bool
		action      []string
		wantRestart bool
		wantOut     string
	}{
		{"add, registry re-reads", true, []string{"add", "carol", "--password-stdin"}, false, "no restart was needed"},
		{"add, registry reads at start", false, []string{"add", "carol", "--password-stdin"}, true, "reads auth/htpasswd-basic only at start"},
		{"remove, registry re-reads", true, []string{"remove", "spectro"}, false, "no restart was needed"},
		{"remove, registry reads at start", false, []string{"remove", "spectro"}, true, "Restarted container"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l := setup.Layout{Dir: dir}
			if err := os.MkdirAll(l.Auth(), 0o755); err != nil {
				t.Fatal(err)
			}
			f := &htpasswd.File{}
			for u, pw := range map[string]string{"admin": adminPW, "spectro": readerPW} {
				if err := f.Set(u, pw, htpasswd.MinCost); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.Write(l.Htpasswd()); err != nil {
				t.Fatal(err)
			}
			reg := &fakeRegistry{path: l.Htpasswd(), rereads: tt.rereads}
			reg.start(t)
			srv := httptest.NewServer(reg)
			defer srv.Close()
			_, portStr, _ := net.SplitHostPort(srv.Listener.Addr().String())
			port, _ := strconv.Atoi(portStr)

			a := config.Defaults()
			a.Mode, a.Host, a.Port, a.Name, a.BcryptCost = config.ModeHTTP, "registry.local", port, "reg", htpasswd.MinCost
			if err := config.Save(dir, a); err != nil {
				t.Fatal(err)
			}
			docker := &fakeDocker{
				c: dockerctl.Container{ID: "c1", Name: "reg", Running: true,
					Labels: map[string]string{setup.LabelManaged: "true", setup.LabelDir: dir}},
				onStart: func() { reg.start(t) },
			}
			fac, out, errb := newTestFactory(nil)
			fac.IO.In = strings.NewReader("carol-password-1\n")
			fac.Docker = func(context.Context) (dockerctl.API, error) { return docker, nil }

			code := Main(append(append([]string{"users"}, tt.action...), "--dir", dir, "--timeout", "5s"), fac)
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errb)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("output lacks %q:\n%s", tt.wantOut, out)
			}
			restarted := strings.Join(docker.calls, ",") == "stop c1,start c1"
			if restarted != tt.wantRestart {
				t.Errorf("engine calls = %q, want a restart: %v", docker.calls, tt.wantRestart)
			}

			login := func(user, pw string) int {
				req, _ := http.NewRequest("GET", srv.URL+"/v1/_catalog", nil)
				req.SetBasicAuth(user, pw)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			if tt.action[0] == "add" && login("carol", "carol-password-1") != 200 {
				t.Error("the new user cannot log in afterwards")
			}
			if tt.action[0] == "remove" && login("spectro", readerPW) != 401 {
				t.Error("the removed user can still log in")
			}
			if login("admin", adminPW) != 200 {
				t.Error("the admin lost access")
			}
		})
	}
}

// TestUsersBadInput: each mistake is refused with exit 2 and the flag or
// argument named, and the file is left as it was.
func TestUsersBadInput(t *testing.T) {
	dir := t.TempDir()
	l := setup.Layout{Dir: dir}
	os.MkdirAll(l.Auth(), 0o755)
	f := &htpasswd.File{}
	if err := f.Set("admin", adminPW, htpasswd.MinCost); err != nil {
		t.Fatal(err)
	}
	if err := f.Write(l.Htpasswd()); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(l.Htpasswd())
	long := filepath.Join(dir, "long.pw")
	os.WriteFile(long, []byte(strings.Repeat("x", 73)+"\n"), 0o600)
	tests := []struct {
		name    string
		args    []string
		stdin   string
		wantErr []string
	}{
		{"colon in user", []string{"add", "a:b", "--password-stdin"}, "good-password-1", []string{`"a:b"`, `":"`}},
		{"weak password", []string{"add", "bob", "--password-stdin"}, "short", []string{"--password-stdin", "at least 12"}},
		{"password is the user", []string{"add", "bob-the-builder", "--password-stdin"}, "bob-the-builder", []string{"--password-stdin", "user name"}},
		{"over-long password", []string{"add", "bob", "--password-file", long}, "", []string{"--password-file", "72"}},
		{"no terminal, no password", []string{"add", "bob"}, "", []string{"--password-file", "--password-stdin"}},
		{"both sources", []string{"add", "bob", "--password-stdin", "--password-file", long}, "", []string{"--password-stdin", "not both"}},
		{"cost out of range", []string{"add", "bob", "--password-stdin", "--bcrypt-cost", "15"}, "good-password-1", []string{"--bcrypt-cost", "4 to 14"}},
		{"existing user", []string{"add", "admin", "--password-stdin"}, "good-password-1", []string{"users passwd admin"}},
		{"unknown user", []string{"passwd", "nobody", "--password-stdin"}, "good-password-1", []string{`"nobody"`, "admin"}},
		{"remove unknown", []string{"remove", "nobody"}, "", []string{`"nobody"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fac, _, errb := newTestFactory(nil)
			fac.IO.In = strings.NewReader(tt.stdin)
			code := Main(append(append([]string{"users"}, tt.args...), "--dir", dir), fac)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitUsage, errb)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errb)
				}
			}
			if after, _ := os.ReadFile(l.Htpasswd()); string(after) != string(before) {
				t.Error("a refused command changed the file")
			}
		})
	}
}

// TestUsersEditsApacheFile: a file made and annotated with Apache's
// htpasswd is edited by `paxsetup users` without losing its users or
// comments, and Apache's tool still verifies every password afterwards.
func TestUsersEditsApacheFile(t *testing.T) {
	tool, err := exec.LookPath("htpasswd")
	if err != nil {
		t.Fatalf("Apache's htpasswd is not on PATH (install apache2-utils): %v", err)
	}
	dir := t.TempDir()
	l := setup.Layout{Dir: dir}
	os.MkdirAll(l.Auth(), 0o755)
	path := l.Htpasswd()
	// Passwords on argv only because this builds a test fixture.
	for i, u := range [][2]string{{"alice", "alice-password-1"}, {"bob", "bob-password-12"}} {
		args := []string{"-bB", "-C", "5", path, u[0], u[1]}
		if i == 0 {
			args = append([]string{"-c"}, args...)
		}
		if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
			t.Fatalf("htpasswd %v: %v\n%s", args, err, out)
		}
	}
	data, _ := os.ReadFile(path)
	os.WriteFile(path, append([]byte("# site users, managed by hand\n"), data...), 0o600)

	run := func(stdin string, args ...string) {
		t.Helper()
		fac, out, errb := newTestFactory(nil)
		fac.IO.In = strings.NewReader(stdin)
		if code := Main(append(append([]string{"users"}, args...), "--dir", dir), fac); code != 0 {
			t.Fatalf("users %v: exit %d\n%s%s", args, code, out, errb)
		}
	}
	run("carol-password-1\n", "add", "carol", "--password-stdin")
	run("bob-password-new\n", "passwd", "bob", "--password-stdin")

	after, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(after), "# site users, managed by hand\nalice:$2y$05$") {
		t.Errorf("the comment or alice's line changed:\n%s", after)
	}
	for _, c := range [][2]string{{"alice", "alice-password-1"}, {"bob", "bob-password-new"}, {"carol", "carol-password-1"}} {
		if out, err := exec.Command(tool, "-vb", path, c[0], c[1]).CombinedOutput(); err != nil {
			t.Errorf("htpasswd -vb %s after the edit: %v\n%s", c[0], err, out)
		}
	}
	if err := exec.Command(tool, "-vb", path, "bob", "bob-password-12").Run(); err == nil {
		t.Error("bob's old password still verifies")
	}
}

// TestUsersOnASharedRegistry: with the packs in S3, a change of users ends
// by saying that each node keeps its own copy of them; with the packs in
// data/ there are no other nodes to speak of.
func TestUsersOnASharedRegistry(t *testing.T) {
	s := newSharedSetup(t)
	fsSetup := savedSetup(t)
	pw := writeSecret(t, s.work, "carol.pw", "carol-password-0123")
	const note = "note the packs are in S3, but each node of this registry keeps its own copy\nof the users (auth/htpasswd-basic): if other nodes serve it (paxsetup init\n--join), make the same change on each of them, or run paxsetup export here\nand paxsetup init --join with the new bundle on each.\n"
	for _, tt := range []struct {
		dir  string
		args []string
		note bool
	}{
		{s.dir, []string{"users", "add", "carol", "--password-file", pw}, true},
		{s.dir, []string{"users", "passwd", "carol", "--password-file", pw}, true},
		{s.dir, []string{"users", "remove", "carol"}, true},
		{fsSetup, []string{"users", "add", "carol", "--password-file", pw}, false},
	} {
		code, out, errb, _ := nodeRun(t, nil, append(tt.args, "--dir", tt.dir)...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", tt.args, code, out, errb)
		}
		if strings.HasSuffix(out, note) != tt.note || strings.Contains(out, "each node") != tt.note {
			t.Errorf("%v in %s: the note is there: %v, want %v:\n%s", tt.args, tt.dir, strings.HasSuffix(out, note), tt.note, out)
		}
	}
}
