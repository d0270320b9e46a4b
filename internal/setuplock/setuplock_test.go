package setuplock

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func skipWithoutFlock(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no flock here: the lock is a no-op")
	}
}

func TestAcquireRecordsHolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "setup")
	since := time.Date(2025, 3, 1, 14, 3, 7, 0, time.UTC)
	l, err := Acquire(t.Context(), dir, Options{Command: "paxsetup init", Now: func() time.Time { return since }})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FileName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file mode %v, want 0600", fi.Mode().Perm())
	}
	if di, err := os.Stat(dir); err != nil || !di.IsDir() || di.Mode().Perm()&^0o755 != 0 {
		t.Errorf("setup folder: %v, %v; want a folder, mode 0755 at most", di, err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	host, _ := os.Hostname()
	want := Holder{PID: os.Getpid(), Command: "paxsetup init", Host: host, Since: since}
	if got := readHolder(f); got != want {
		t.Errorf("holder in the file = %+v, want %+v", got, want)
	}
	// Something else in the folder: it is a setup now, and stays.
	if err := os.WriteFile(filepath.Join(dir, "paxsetup.yaml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the lock file is still there after release: %v", err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("the setup folder went with the lock: %v", err)
	}
}

func TestAcquireWaitsForHolder(t *testing.T) {
	skipWithoutFlock(t)
	dir := t.TempDir()
	first, err := Acquire(t.Context(), dir, Options{Command: "paxsetup init"})
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan Holder, 1)
	type result struct {
		l   *Lock
		err error
	}
	done := make(chan result, 1)
	go func() {
		l, err := Acquire(t.Context(), dir, Options{Command: "paxsetup users add", Wait: time.Minute, Poll: 10 * time.Millisecond,
			Waiting: func(h Holder) { waiting <- h }})
		done <- result{l, err}
	}()
	var h Holder
	select {
	case h = <-waiting:
	case r := <-done:
		t.Fatalf("second Acquire returned while the first held the lock: %v", r.err)
	}
	if h.PID != os.Getpid() || h.Command != "paxsetup init" {
		t.Errorf("waiting for %+v, want this process's paxsetup init", h)
	}
	select {
	case r := <-done:
		t.Fatalf("second Acquire returned while the first held the lock: %v", r.err)
	default:
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("second Acquire after release: %v", r.err)
	}
	r.l.Release()
}

func TestAcquireTimesOutNamingHolder(t *testing.T) {
	skipWithoutFlock(t)
	dir := t.TempDir()
	first, err := Acquire(t.Context(), dir, Options{Command: "paxsetup init"})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Release()
	for _, wait := range []time.Duration{0, 50 * time.Millisecond} {
		t.Run(fmt.Sprint("wait ", wait), func(t *testing.T) {
			l, err := Acquire(t.Context(), dir, Options{Command: "paxsetup down", Wait: wait, Poll: 10 * time.Millisecond})
			if err == nil {
				l.Release()
				t.Fatal("second Acquire got the lock while it was held")
			}
			var he *HeldError
			if !errors.As(err, &he) || !errors.Is(err, ErrHeld) {
				t.Fatalf("err = %v, want a HeldError", err)
			}
			if he.Holder.PID != os.Getpid() || he.Holder.Command != "paxsetup init" || he.Dir != dir || he.Waited != wait {
				t.Errorf("HeldError = %+v, want this process's paxsetup init on %s after %s", he, dir, wait)
			}
		})
	}
}

func TestAcquireCancelled(t *testing.T) {
	skipWithoutFlock(t)
	dir := t.TempDir()
	first, err := Acquire(t.Context(), dir, Options{Command: "paxsetup init"})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Release()
	ctx, cancel := context.WithCancel(t.Context())
	_, err = Acquire(ctx, dir, Options{Wait: time.Hour, Poll: 10 * time.Millisecond, Waiting: func(Holder) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestReleasedWhenHolderDies is why the lock is flock and not a PID file: a
// killed holder leaves nothing to clean up.
func TestReleasedWhenHolderDies(t *testing.T) {
	skipWithoutFlock(t)
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLock$")
	cmd.Env = append(os.Environ(), "SETUPLOCK_HELPER_DIR="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper said %q (%v), want locked", line, err)
	}

	_, err = Acquire(t.Context(), dir, Options{Command: "paxsetup init"})
	var he *HeldError
	if !errors.As(err, &he) || he.Holder.PID != cmd.Process.Pid || he.Holder.Command != "paxsetup helper" {
		t.Fatalf("Acquire while the helper holds the lock: %v, want the helper (pid %d) named", err, cmd.Process.Pid)
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	l, err := Acquire(t.Context(), dir, Options{Command: "paxsetup init"})
	if err != nil {
		t.Fatalf("Acquire after the holder was killed: %v", err)
	}
	l.Release()
}

// TestHelperHoldLock is the holder TestReleasedWhenHolderDies starts and
// kills; run directly, it does nothing.
func TestHelperHoldLock(t *testing.T) {
	dir := os.Getenv("SETUPLOCK_HELPER_DIR")
	if dir == "" {
		return
	}
	if _, err := Acquire(context.Background(), dir, Options{Command: "paxsetup helper"}); err != nil {
		fmt.Fprintln(os.Stdout, err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stdout, "locked")
	// Held until killed, or until the test's end closes stdin.
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// TestRefusedFirstRunLeavesNoFolder: a run that takes the lock on a fresh
// folder and writes nothing leaves the filesystem as it found it, and a
// waiter on the removed lock file takes the new one.
func TestRefusedFirstRunLeavesNoFolder(t *testing.T) {
	skipWithoutFlock(t)
	work := t.TempDir()
	dir := filepath.Join(work, "a", "setup")
	first, err := Acquire(t.Context(), dir, Options{Command: "paxsetup init"})
	if err != nil {
		t.Fatal(err)
	}
	// A waiter that opened the lock file before the first run removed it.
	stale, err := openLockFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer stale.Close()
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(work); err != nil || len(entries) != 0 {
		t.Errorf("left in %s: %v (%v), want nothing", work, entries, err)
	}
	if ok, err := tryLock(stale); !ok || err != nil {
		t.Fatalf("lock on the removed file: %v %v", ok, err)
	}
	if stillAt(stale, filepath.Join(dir, FileName)) {
		t.Error("a removed lock file is taken for the lock at its path")
	}
	// The stale lock must not keep the next run out.
	l, err := Acquire(t.Context(), dir, Options{Command: "paxsetup init"})
	if err != nil {
		t.Fatalf("Acquire beside a lock on the removed file: %v", err)
	}
	l.Release()
}

func TestLockFileSymlinkRefused(t *testing.T) {
	skipWithoutFlock(t)
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "precious")
	if err := os.WriteFile(target, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, FileName)); err != nil {
		t.Fatal(err)
	}
	if l, err := Acquire(t.Context(), dir, Options{}); err == nil {
		l.Release()
		t.Error("Acquire followed a symbolic link at the lock's path")
	}
	if data, _ := os.ReadFile(target); string(data) != "keep me" {
		t.Errorf("the link's target was changed: %q", data)
	}
}
