package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/paxsetup/paxsetup/internal/testregistry/image"
)

// TestMain lets testscript run paxsetup in-process and builds the binary the
// end-to-end tests run, once for the package.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"paxsetup": func() { os.Exit(Main(os.Args[1:], DefaultFactory())) },
	})
}

var (
	binOnce sync.Once
	binPath string
	binErr  error

	imgOnce sync.Once
	imgRef  string
	imgErr  error
)

// paxsetupBinary builds cmd/paxsetup once per test run.
func paxsetupBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		// One place per checkout, reused by every run, so runs leave no
		// binaries behind; go build replaces it when the sources changed.
		wd, err := os.Getwd()
		if err != nil {
			binErr = err
			return
		}
		sum := sha256.Sum256([]byte(wd))
		dir := filepath.Join(os.TempDir(), "paxsetup-test-bin-"+hex.EncodeToString(sum[:6]))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "paxsetup")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// dockerClient connects to the engine; a test that needs one fails, never
// skips, when it is missing.
func dockerClient(t testing.TB) *client.Client {
	t.Helper()
	cli, err := client.New(client.FromEnv)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	}
	if err != nil {
		t.Fatalf("this test needs a Docker engine (start one with scripts/docker-up): %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// standInImage builds the stand-in registry image once per test run.
func standInImage(t testing.TB) string {
	t.Helper()
	cli := dockerClient(t)
	imgOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		var log bytes.Buffer
		imgRef, imgErr = image.Build(ctx, cli, &log)
		if imgErr != nil {
			imgErr = fmt.Errorf("%w\n%s", imgErr, log.String())
		}
	})
	if imgErr != nil {
		t.Fatalf("build the stand-in registry image: %v", imgErr)
	}
	return imgRef
}

// freePort returns a TCP port nothing listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// removeContainer force-removes name at the end of the test, whatever
// happened, and never touches the setup's files.
func removeContainer(t testing.TB, cli *client.Client, name string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = cli.ContainerRemove(ctx, name, client.ContainerRemoveOptions{Force: true})
	})
}

// uniqueName is a container name no other test uses.
func uniqueName(t testing.TB) string {
	return "paxsetup-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
}
