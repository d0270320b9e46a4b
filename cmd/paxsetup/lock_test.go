package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/paxsetup/paxsetup/internal/htpasswd"
	"github.com/paxsetup/paxsetup/internal/setup"
	"github.com/paxsetup/paxsetup/internal/setuplock"
)

// TestLockWritersWaitReadersDoNot holds a setup folder's lock and runs every
// command against it: each writer gives up (PAXSETUP_LOCK_WAIT=0) naming
// the holder and changing no file; each reader runs as if no lock existed.
func TestLockWritersWaitReadersDoNot(t *testing.T) {
	img := standInImage(t)
	work := t.TempDir()
	dir := filepath.Join(work, "setup")
	pw := writeSecret(t, work, "new.pw", "new-password-0123")
	base := []string{"--dir", dir, "--no-color"}
	f, _, errb := newTestFactory(nil)
	if code := Main(append([]string{"init", "--yes", "--dry-run", "--host", e2eHost, "--port", strconv.Itoa(freePort(t)),
		"--image", img, "--pull", "never", "--name", uniqueName(t)}, base...), f); code != 0 {
		t.Fatalf("init --dry-run exited %d:\n%s", code, errb)
	}

	held, err := setuplock.Acquire(t.Context(), dir, setuplock.Options{Command: "paxsetup test"})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	before := snapshot(t, dir)
	root := t.TempDir()

	for _, tt := range []struct {
		name   string
		args   []string
		writes bool
	}{
		{"init", []string{"init", "--yes"}, true},
		{"init dry run", []string{"init", "--yes", "--dry-run"}, true},
		{"upgrade", []string{"upgrade", "--pull", "never"}, true},
		{"down", []string{"down", "--yes"}, true},
		{"users add", []string{"users", "add", "ci", "--password-file", pw}, true},
		{"users passwd", []string{"users", "passwd", "admin", "--password-file", pw}, true},
		{"users remove", []string{"users", "remove", "spectro"}, true},
		{"trust", []string{"trust", "--root", root, "--target", "docker"}, true},
		{"certs gen into the setup", []string{"certs", "gen", "--force"}, true},
		{"users list", []string{"users", "list"}, false},
		{"trust dry run", []string{"trust", "--root", root, "--target", "docker", "--dry-run"}, false},
		{"certs gen elsewhere", []string{"certs", "gen", "--out", filepath.Join(work, "other")}, false},
		{"certs inspect", []string{"certs", "inspect", filepath.Join(dir, "certs", "tls.crt")}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, out, errb := newTestFactory(map[string]string{EnvLockWait: "0"})
			code := Main(append(tt.args, base...), f)
			holder := fmt.Sprintf("paxsetup test (pid %d)", os.Getpid())
			if !tt.writes {
				if code != 0 || strings.Contains(errb.String(), holder) {
					t.Errorf("a reader was held up by the lock: exit %d\n%s%s", code, out, errb)
				}
				return
			}
			if code != exitError || !strings.Contains(errb.String(), holder) {
				t.Errorf("exit %d, want %d naming the holder:\n%s%s", code, exitError, out, errb)
			}
			after := snapshot(t, dir)
			for p, sum := range before {
				if after[p] != sum {
					t.Errorf("%s changed while another run held the lock", p)
				}
			}
			if len(after) != len(before) {
				t.Errorf("files appeared while another run held the lock: %d, were %d", len(after), len(before))
			}
		})
	}

	t.Run("bad wait", func(t *testing.T) {
		f, _, errb := newTestFactory(map[string]string{EnvLockWait: "soon"})
		if code := Main(append([]string{"users", "remove", "spectro"}, base...), f); code != exitUsage || !strings.Contains(errb.String(), EnvLockWait) {
			t.Errorf("exit %d, want %d naming %s:\n%s", code, exitUsage, EnvLockWait, errb)
		}
	})
}

// TestConcurrentInits starts two unattended inits of one fresh folder at
// the same moment, five times over: both must succeed (the second waits for
// the first, then keeps what it set up), and the setup must agree with
// itself: the registry serves the certificate under certs/, chained to
// certs/ca.crt; the generated passwords in credentials match
// auth/htpasswd-basic and log in; one container.
func TestConcurrentInits(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	bin := paxsetupBinary(t)
	for i := range 5 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			name := uniqueName(t)
			removeContainer(t, cli, name)
			port := freePort(t)
			dir := filepath.Join(t.TempDir(), "setup")
			args := []string{"init", "--yes", "--host", e2eHost, "--san", "127.0.0.1", "--port", strconv.Itoa(port),
				"--dir", dir, "--image", img, "--pull", "never", "--name", name, "--no-color"}

			type started struct {
				cmd      *exec.Cmd
				out, err bytes.Buffer
			}
			runs := []*started{{}, {}}
			for _, r := range runs {
				r.cmd = exec.Command(bin, args...)
				r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.err
			}
			for _, r := range runs {
				if err := r.cmd.Start(); err != nil {
					t.Fatal(err)
				}
			}
			for _, r := range runs {
				r.cmd.Wait()
			}
			waited := 0
			for j, r := range runs {
				if code := r.cmd.ProcessState.ExitCode(); code != 0 {
					t.Errorf("init %d exited %d\nstdout:\n%s\nstderr:\n%s", j, code, &r.out, &r.err)
				}
				other := runs[1-j].cmd.Process.Pid
				if strings.Contains(r.err.String(), fmt.Sprintf("held by paxsetup init (pid %d)", other)) {
					waited++
				}
			}
			if waited != 1 {
				t.Errorf("%d of the two inits waited for the other, want 1:\n%s\n%s", waited, &runs[0].err, &runs[1].err)
			}
			checkSetupAgrees(t, cli, dir, port)
		})
	}
}

// checkSetupAgrees checks that the files of the setup in dir and the
// registry serving on port describe one setup.
func checkSetupAgrees(t *testing.T, cli *client.Client, dir string, port int) {
	t.Helper()
	caFile := filepath.Join(dir, "certs", "ca.crt")
	pool := x509.NewCertPool()
	pool.AddCert(readCert(t, caFile))
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		&tls.Config{RootCAs: pool, ServerName: e2eHost})
	if err != nil {
		t.Fatalf("the served certificate does not chain to %s: %v", caFile, err)
	}
	served := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	if !served.Equal(readCert(t, filepath.Join(dir, "certs", "tls.crt"))) {
		t.Error("the registry serves a certificate other than certs/tls.crt")
	}
	chain, err := os.ReadFile(filepath.Join(dir, "certs", "chain.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := pem.Decode(chain); b == nil || !bytes.Equal(b.Bytes, served.Raw) {
		t.Error("chain.pem does not start with the served certificate")
	}

	ht, err := htpasswd.Load(filepath.Join(dir, "auth", "htpasswd-basic"))
	if err != nil {
		t.Fatal(err)
	}
	c := registryClient(t, caFile, e2eHost, port)
	for _, user := range []string{"admin", "spectro"} {
		pw, ok := setup.LoadCredentials(dir, user)
		if !ok {
			t.Errorf("no generated password for %s in credentials", user)
			continue
		}
		if err := ht.Verify(user, pw); err != nil {
			t.Errorf("credentials' password of %s does not match htpasswd-basic: %v", user, err)
		}
		url := "https://" + e2eHost + ":" + strconv.Itoa(port) + "/v1/_catalog"
		if got := status(t, c, url, user, pw); got != 200 {
			t.Errorf("GET %s as %s = %d, want 200", url, user, got)
		}
	}

	res, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: true,
		Filters: make(client.Filters).Add("label", setup.LabelDir+"="+dir)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 1 {
		t.Errorf("%d containers of the setup, want 1", len(res.Items))
	}
}
