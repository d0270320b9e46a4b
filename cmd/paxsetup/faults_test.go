package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/paxsetup/paxsetup/internal/htpasswd"
)

// faultRuns is how many interrupted runs each fault test makes; more with
// PAXSETUP_FAULT_RUNS, for a longer hunt than CI's.
func faultRuns(t *testing.T) int {
	if s := os.Getenv("PAXSETUP_FAULT_RUNS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("PAXSETUP_FAULT_RUNS=%q: want a positive number", s)
		}
		return n
	}
	return 12
}

// faultSetup is a setup that a fault test runs init against again and
// again: base is `init --yes` with every answer of the setup.
type faultSetup struct {
	*e2eSetup
	// base is the first init, its passwords from the environment it was
	// given, without the password files.
	base []string
}

// newFaultSetup starts a registry with the stand-in image, its setup in dir,
// with env for the first init (e.g. the passwords); every container of the
// setup goes when the test ends.
func newFaultSetup(t *testing.T, dir string, env []string) *faultSetup {
	t.Helper()
	s := &faultSetup{e2eSetup: newE2ESetup(t, dir)}
	s.base = []string{"init", "--yes", "--host", e2eHost, "--san", "127.0.0.1", "--port", strconv.Itoa(s.port),
		"--dir", dir, "--image", standInImage(t), "--pull", "never", "--name", s.name, "--no-color"}
	if r := runBinary(t, env, s.base...); r.code != 0 {
		t.Fatalf("init exited %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	return s
}

// removeSetupContainers removes, when the test ends, every container of the
// setup in dir, under whatever name a failed run left it.
func removeSetupContainers(t *testing.T, cli *client.Client, dir string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", "io.paxsetup.dir="+dir)})
		if err != nil {
			return
		}
		for _, c := range res.Items {
			_, _ = cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true})
		}
	})
}

// killedBy reports whether the signal itself ended the process: one sent in
// the first milliseconds, before the Go runtime has started paxsetup's
// handler, takes the default action. Nothing was done by then.
func killedBy(ps *os.ProcessState, sig syscall.Signal) bool {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// serves waits up to limit for the registry of the setup to answer /health
// as the setup's own CA says it should.
func serves(t *testing.T, dir string, port int, limit time.Duration) bool {
	t.Helper()
	c := registryClient(t, filepath.Join(dir, "certs", "ca.crt"), e2eHost, port)
	c.Timeout = 2 * time.Second
	deadline := time.Now().Add(limit)
	for {
		resp, err := c.Get("https://" + e2eHost + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSignalsDuringContainerSwap interrupts re-runs that replace the
// registry's container (a changed log level changes the container) with
// SIGINT or SIGTERM at random moments. After every interrupted run a
// registry must serve: the old one or the new one, with the setup's
// certificate; and the next run must find the setup whole.
func TestSignalsDuringContainerSwap(t *testing.T) {
	s := newFaultSetup(t, filepath.Join(t.TempDir(), "setup"), nil)
	dir, port, base := s.dir, s.port, s.base
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("seed %d", seed)
	levels := []string{"debug", "info"}
	signals := []syscall.Signal{syscall.SIGINT, syscall.SIGTERM}
	dead := 0
	runs := faultRuns(t)
	for i := range runs {
		sig := signals[i%2]
		delay := time.Duration(rng.Int64N(int64(1200 * time.Millisecond)))
		cmd := exec.Command(paxsetupBinary(t), append(base, "--log-level", levels[i%2])...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		_ = cmd.Process.Signal(sig)
		_ = cmd.Wait()
		ok := serves(t, dir, port, 15*time.Second)
		code := cmd.ProcessState.ExitCode()
		t.Logf("run %d: %v after %v: exit %d, serving %v", i, sig, delay.Round(time.Millisecond), code, ok)
		if code != 0 && code != exitInterrupt && !killedBy(cmd.ProcessState, sig) {
			t.Errorf("run %d: exit %d after %v, want 0 (done before it) or %d (interrupted)", i, code, sig, exitInterrupt)
		}
		if !ok {
			dead++
			// The next run must restore it, and say so.
			r := runBinary(t, nil, base...)
			if r.code != 0 || !serves(t, dir, port, 15*time.Second) {
				t.Fatalf("run %d left no registry, and the next init did not restore one (exit %d):\n%s%s", i, r.code, r.stdout, r.stderr)
			}
		}
	}
	if dead > 0 {
		t.Errorf("%d of %d interrupted runs left no registry serving", dead, runs)
	}
	// Whatever happened, one container of this setup remains, under its name.
	if ours := s.containers(t); ours != 1 {
		t.Errorf("%d containers of the setup remain, want 1", ours)
	}
	if r := runBinary(t, nil, append([]string{"verify"}, "--dir", dir)...); r.code != 0 {
		t.Errorf("verify after the runs exited %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestKilledDuringContainerSwap kills re-runs that replace the registry's
// container at random moments (SIGKILL: nothing can be held or cleaned up).
// The next run must find the setup's journal, put a registry back and say
// so, and the setup must end with one container that serves.
func TestKilledDuringContainerSwap(t *testing.T) {
	s := newFaultSetup(t, filepath.Join(t.TempDir(), "setup"), nil)
	dir, port, base := s.dir, s.port, s.base
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("seed %d", seed)
	levels := []string{"debug", "info"}
	recovered := 0
	runs := faultRuns(t)
	for i := range runs {
		delay := time.Duration(rng.Int64N(int64(1200 * time.Millisecond)))
		cmd := exec.Command(paxsetupBinary(t), append(base, "--log-level", levels[i%2])...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_, journal := os.Stat(filepath.Join(dir, "swap-journal.json"))
		if journal == nil {
			if st := runBinary(t, nil, "status", "--dir", dir, "--no-color"); !strings.Contains(st.stdout, "Interrupted") {
				t.Errorf("run %d: status does not say a run was interrupted:\n%s%s", i, st.stdout, st.stderr)
			}
		}
		r := runBinary(t, nil, base...)
		said := strings.Contains(r.stdout, "was interrupted")
		t.Logf("run %d: killed after %v: journal left %v; next init exit %d, said so %v", i, delay.Round(time.Millisecond), journal == nil, r.code, said)
		if r.code != 0 || !serves(t, dir, port, 15*time.Second) {
			t.Fatalf("run %d: the init after the kill did not leave a serving registry (exit %d):\n%s%s", i, r.code, r.stdout, r.stderr)
		}
		if journal == nil {
			recovered++
			if !said {
				t.Errorf("run %d: the next init restored a swap without saying so:\n%s", i, r.stdout)
			}
		}
	}
	t.Logf("%d of %d kills fell inside a swap and were recovered by the next run", recovered, runs)
	if ours := s.containers(t); ours != 1 {
		t.Errorf("%d containers of the setup remain, want 1", ours)
	}
}

// fill leaves about free bytes available on the filesystem of dir, by
// writing a filler file there; remove the returned path to give them back.
func fill(t *testing.T, dir string, free int64) string {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	avail := int64(st.Bavail) * int64(st.Bsize)
	p := filepath.Join(dir, "filler")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for left := avail - free; left > 0; {
		n := min(left, int64(len(chunk)))
		if _, err := f.Write(chunk[:n]); err != nil {
			break // full a little early: the page rounding of tmpfs
		}
		left -= n
	}
	return p
}

// wholeSetup checks that the files of a setup agree with each other: the
// server key is the certificate's, the certificate chains to certs/ca.crt,
// chain.pem leads with it, every saved password matches its hash, and no
// temporary file is left.
func wholeSetup(t *testing.T, dir string) {
	t.Helper()
	certs := filepath.Join(dir, "certs")
	pair, err := tls.LoadX509KeyPair(filepath.Join(certs, "tls.crt"), filepath.Join(certs, "tls.key"))
	if err != nil {
		t.Errorf("tls.key and tls.crt: %v", err)
		return
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(filepath.Join(certs, "ca.crt"))
	if err != nil || !pool.AppendCertsFromPEM(caPEM) {
		t.Errorf("ca.crt: %v", err)
		return
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: e2eHost}); err != nil {
		t.Errorf("tls.crt against ca.crt: %v", err)
	}
	chain := readAllCerts(t, filepath.Join(certs, "chain.pem"))
	if len(chain) < 2 || !chain[0].Equal(leaf) {
		t.Errorf("chain.pem does not lead with tls.crt")
	}
	var creds struct{ Users map[string]string }
	readYAML(t, filepath.Join(dir, "credentials"), &creds)
	f, err := htpasswd.Load(filepath.Join(dir, "auth", "htpasswd-basic"))
	if err != nil {
		t.Fatal(err)
	}
	for user, pw := range creds.Users {
		if err := f.Verify(user, pw); err != nil {
			t.Errorf("credentials and htpasswd disagree on %s: %v", user, err)
		}
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp-") {
			t.Errorf("a temporary file is left: %s", p)
		}
		return nil
	})
}

// TestFullDiskLeavesTheSetupWhole keeps a setup on a tmpfs and fills it to
// different points once a run that replaces the certificate and the
// generated passwords (--force) is past its checks (which refuse a disk with
// less than 1 GiB free). Whatever the run gets to write, the setup's files
// agree with each other and the registry serves; the next run, with room
// again, brings the running registry to them.
func TestFullDiskLeavesTheSetupWhole(t *testing.T) {
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1100m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs (the test needs root): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", mnt).Run() })
	s := newFaultSetup(t, filepath.Join(mnt, "setup"), nil)
	cli, dir, name, port, base := s.cli, s.dir, s.name, s.port, s.base
	replaced := 0
	for _, free := range []int64{0, 4 << 10, 8 << 10, 12 << 10, 16 << 10, 24 << 10} {
		code, out := runFillingDisk(t, mnt, free, append(base, "--force"))
		if code != 0 {
			replaced++
		}
		t.Logf("re-run, %2d KiB free once past the checks: exit %d", free>>10, code)
		wholeSetup(t, dir)
		if !serves(t, dir, port, 15*time.Second) {
			t.Errorf("%d KiB free: no registry serves after the run:\n%s", free>>10, out)
		}
		if r := runBinary(t, nil, base...); r.code != 0 {
			t.Fatalf("%d KiB free: the next run, with room, exited %d\n%s%s", free>>10, r.code, r.stdout, r.stderr)
		}
		wholeSetup(t, dir)
		c := registryClient(t, filepath.Join(dir, "certs", "ca.crt"), e2eHost, port)
		var creds struct{ Users map[string]string }
		readYAML(t, filepath.Join(dir, "credentials"), &creds)
		if got := status(t, c, "https://"+e2eHost+"/v2/", "admin", creds.Users["admin"]); got != 200 {
			t.Errorf("%d KiB free: after the next run the registry refuses the saved admin password: %d", free>>10, got)
		}
	}
	if _, err := cli.ContainerRemove(context.Background(), name, client.ContainerRemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}

	// First runs write files that were not there: a full disk between two
	// of them is where a key without its certificate could be left.
	fresh := 0
	for i, free := range []int64{0, 4 << 10, 8 << 10, 12 << 10, 16 << 10, 20 << 10, 24 << 10, 28 << 10, 32 << 10} {
		d := filepath.Join(mnt, "fresh"+strconv.Itoa(i))
		args := append(append([]string{}, base...), "--dir", d)
		code, out := runFillingDisk(t, mnt, free, args)
		if code != 0 {
			fresh++
		}
		t.Logf("first run, %2d KiB free once past the checks: exit %d", free>>10, code)
		present := 0
		for _, f := range []string{"ca.crt", "ca.key", "tls.crt", "tls.key", "chain.pem"} {
			if _, err := os.Stat(filepath.Join(d, "certs", f)); err == nil {
				present++
			}
		}
		if present != 0 && present != 5 {
			t.Errorf("%d KiB free: %d of the 5 certificate files were written:\n%s", free>>10, present, out)
		}
		if r := runBinary(t, nil, args...); r.code != 0 {
			t.Fatalf("%d KiB free: the next run, with room, exited %d\n%s%s", free>>10, r.code, r.stdout, r.stderr)
		}
		wholeSetup(t, d)
		if !serves(t, d, port, 15*time.Second) {
			t.Errorf("%d KiB free: the next run's registry does not serve", free>>10)
		}
		if _, err := cli.ContainerRemove(context.Background(), name, client.ContainerRemoveOptions{Force: true}); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(d); err != nil {
			t.Fatal(err)
		}
	}
	if replaced == 0 || fresh == 0 {
		t.Errorf("runs that met a full disk: %d re-runs, %d first runs; the test fills too little", replaced, fresh)
	}
}

// lockedBuffer is a bytes.Buffer that several goroutines may write.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runFillingDisk runs paxsetup with args and fills the filesystem at mnt,
// leaving free bytes, as soon as the run is past its checks (which want a
// gibibyte free). It returns the exit code and the output, and gives the
// space back.
func runFillingDisk(t *testing.T, mnt string, free int64, args []string) (int, string) {
	t.Helper()
	// Just over what the checks ask, so that the rest fills at once.
	before := fill(t, mnt, 1<<30+4<<20)
	if err := os.Rename(before, before+"-checks"); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(paxsetupBinary(t), args...)
	// exec copies stdout and stderr in goroutines of their own: the one
	// buffer both go to is locked.
	var out lockedBuffer
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = io.MultiWriter(pw, &out), &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(pr)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "Setting up") {
	}
	filler := fill(t, mnt, free)
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	_ = cmd.Wait()
	pw.Close()
	for _, p := range []string{filler, before + "-checks"} {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

// TestSignalsDuringUpgrade interrupts upgrades between two images with
// SIGINT or SIGTERM at random moments: after each, a registry serves.
func TestSignalsDuringUpgrade(t *testing.T) {
	img := standInImage(t)
	s := newLifecycleSetup(t)
	if r := s.init(img); r.code != 0 {
		t.Fatalf("init exited %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	other := s.buildImage("paxsetup-test-other:"+strings.TrimPrefix(s.name, "paxsetup-test-"), "FROM "+img+"\nLABEL io.paxsetup.test=other\n")
	images := []string{other, img}
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("seed %d", seed)
	signals := []syscall.Signal{syscall.SIGINT, syscall.SIGTERM}
	dead := 0
	runs := faultRuns(t)
	for i := range runs {
		sig := signals[i%2]
		delay := time.Duration(rng.Int64N(int64(1200 * time.Millisecond)))
		cmd := exec.Command(paxsetupBinary(t), "upgrade", "--image", images[i%2], "--pull", "never", "--dir", s.dir, "--no-color")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		_ = cmd.Process.Signal(sig)
		_ = cmd.Wait()
		code := cmd.ProcessState.ExitCode()
		ok := serves(t, s.dir, s.port, 15*time.Second)
		t.Logf("run %d: %v after %v: exit %d, serving %v", i, sig, delay.Round(time.Millisecond), code, ok)
		if code != 0 && code != exitInterrupt && !killedBy(cmd.ProcessState, sig) {
			t.Errorf("run %d: exit %d after %v, want 0 or %d", i, code, sig, exitInterrupt)
		}
		if !ok {
			dead++
			if r := s.init(img); r.code != 0 || !serves(t, s.dir, s.port, 15*time.Second) {
				t.Fatalf("run %d left no registry, and init did not restore one (exit %d):\n%s%s", i, r.code, r.stdout, r.stderr)
			}
		}
	}
	if dead > 0 {
		t.Errorf("%d of %d interrupted upgrades left no registry serving", dead, runs)
	}
}

// TestSignalsDuringFirstRun interrupts first runs, in a fresh folder, with
// SIGINT or SIGTERM at random moments: from the start, soon after "Setting
// up" (the run's checks go on while the certificate keys are made), or soon
// after the certificates are written (the container is created, started and
// waited for). An interrupted run leaves no container of the setup and no
// temporary file, its certificate files all or none, and the next run
// completes the setup.
func TestSignalsDuringFirstRun(t *testing.T) {
	cli := dockerClient(t)
	root := t.TempDir()
	name, port := uniqueName(t), freePort(t)
	removeContainer(t, cli, name)
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("seed %d", seed)
	signals := []syscall.Signal{syscall.SIGINT, syscall.SIGTERM}
	moments := []struct {
		after string // the output line the delay counts from; "" is the start
		max   time.Duration
	}{
		{"", 2500 * time.Millisecond},
		{"Setting up", 300 * time.Millisecond},
		{"ok   certificates in certs/", 600 * time.Millisecond},
	}
	runs := faultRuns(t)
	interrupted := map[bool]int{}
	for i := range runs {
		d := filepath.Join(root, "setup"+strconv.Itoa(i))
		removeSetupContainers(t, cli, d)
		args := []string{"init", "--yes", "--host", e2eHost, "--san", "127.0.0.1", "--port", strconv.Itoa(port),
			"--dir", d, "--image", standInImage(t), "--pull", "never", "--name", name, "--no-color"}
		sig, m := signals[i%2], moments[i%len(moments)]
		delay := time.Duration(rng.Int64N(int64(m.max)))
		ps, out, errb := runSignalled(t, args, m.after, delay, sig)
		code := ps.ExitCode()
		certs := strings.Contains(out, "ok   certificates in certs/")
		t.Logf("run %d: %v %v after %q: exit %d, certificates written %v", i, sig, delay.Round(time.Millisecond),
			m.after, code, certs)
		if code != 0 && code != exitInterrupt && !killedBy(ps, sig) {
			t.Errorf("run %d: exit %d after %v, want 0 (done before it) or %d (interrupted):\n%s%s", i, code, sig, exitInterrupt, out, errb)
		}
		if code != 0 {
			interrupted[certs]++
			if n := countSetupContainers(t, cli, d); n != 0 {
				t.Errorf("run %d: the interrupted run left %d containers of the setup", i, n)
			}
			present := 0
			for _, f := range []string{"ca.crt", "ca.key", "tls.crt", "tls.key", "chain.pem"} {
				if _, err := os.Stat(filepath.Join(d, "certs", f)); err == nil {
					present++
				}
			}
			if present != 0 && present != 5 {
				t.Errorf("run %d: %d of the 5 certificate files were written", i, present)
			}
			_ = filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
				if err == nil && strings.Contains(e.Name(), ".tmp-") {
					t.Errorf("run %d: a temporary file is left: %s", i, p)
				}
				return nil
			})
			if r := runBinary(t, nil, args...); r.code != 0 {
				t.Fatalf("run %d: the next run exited %d\n%s%s", i, r.code, r.stdout, r.stderr)
			}
		}
		wholeSetup(t, d)
		if !serves(t, d, port, 15*time.Second) {
			t.Errorf("run %d: the setup's registry does not serve", i)
		}
		if _, err := cli.ContainerRemove(context.Background(), name, client.ContainerRemoveOptions{Force: true}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("of %d runs, %d were interrupted before their certificates were written and %d after", runs, interrupted[false], interrupted[true])
}

// runSignalled runs paxsetup with args and sends it sig delay after it
// printed a line starting with after ("" counts from its start). It returns
// when the run has ended, with its output and errors.
func runSignalled(t *testing.T, args []string, after string, delay time.Duration, sig syscall.Signal) (*os.ProcessState, string, string) {
	t.Helper()
	cmd := exec.Command(paxsetupBinary(t), args...)
	// Two buffers: the output and the errors are written by two goroutines.
	var out, errb bytes.Buffer
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = io.MultiWriter(pw, &out), &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The pipe ends with the run, also one that never prints after.
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		pw.Close()
		close(exited)
	}()
	if after != "" {
		sc := bufio.NewScanner(pr)
		for sc.Scan() && !strings.HasPrefix(sc.Text(), after) {
		}
	}
	// Read on, so that the run never waits to write its output.
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	time.Sleep(delay)
	_ = cmd.Process.Signal(sig)
	<-exited
	return cmd.ProcessState, out.String(), errb.String()
}

// countSetupContainers counts the containers of the setup in dir, whatever
// their names.
func countSetupContainers(t *testing.T, cli *client.Client, dir string) int {
	t.Helper()
	list, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: true,
		Filters: make(client.Filters).Add("label", "io.paxsetup.dir="+dir)})
	if err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}
