package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
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
	cli := dockerClient(t)
	img := standInImage(t)
	dir := filepath.Join(t.TempDir(), "setup")
	name := uniqueName(t)
	port := freePort(t)
	removeContainer(t, cli, name)
	base := []string{"init", "--yes", "--host", e2eHost, "--san", "127.0.0.1", "--port", strconv.Itoa(port),
		"--dir", dir, "--image", img, "--pull", "never", "--name", name, "--no-color"}
	if r := runBinary(t, nil, base...); r.code != 0 {
		t.Fatalf("init exited %d\n%s%s", r.code, r.stdout, r.stderr)
	}
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
		t.Logf("run %d: %v after %v: exit %d, serving %v", i, sig, delay.Round(time.Millisecond), cmd.ProcessState.ExitCode(), ok)
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
	list, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	ours := 0
	for _, c := range list.Items {
		if c.Labels["io.paxsetup.dir"] == dir {
			ours++
			t.Logf("container %v %s", c.Names, c.State)
		}
	}
	if ours != 1 {
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
	cli := dockerClient(t)
	img := standInImage(t)
	dir := filepath.Join(t.TempDir(), "setup")
	name := uniqueName(t)
	port := freePort(t)
	removeContainer(t, cli, name)
	base := []string{"init", "--yes", "--host", e2eHost, "--san", "127.0.0.1", "--port", strconv.Itoa(port),
		"--dir", dir, "--image", img, "--pull", "never", "--name", name, "--no-color"}
	if r := runBinary(t, nil, base...); r.code != 0 {
		t.Fatalf("init exited %d\n%s%s", r.code, r.stdout, r.stderr)
	}
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
	list, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	ours := 0
	for _, c := range list.Items {
		if c.Labels["io.paxsetup.dir"] == dir {
			ours++
		}
	}
	if ours != 1 {
		t.Errorf("%d containers of the setup remain, want 1", ours)
	}
}
