package setup

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/testregistry/image"
)

// BenchmarkCreateToHealth measures, on the real engine and the stand-in
// image, the time from asking the engine to create the registry container
// to /health answering: paxsetup's own path (Create, Start, then the
// verification that polls /health while watching the container) against
// what an operator types, `docker run` and a curl loop polling every 50 ms,
// with the same image, mounts, environment and certificate. The two
// alternate, so that load from anything else on the host falls on both
// alike; each iteration runs both once. Reported: the medians, in ms.
//
// Run it with scripts/bench-container, or:
//
//	go test ./internal/setup -run '^$' -bench CreateToHealth -benchtime 10x
func BenchmarkCreateToHealth(b *testing.B) {
	ctx := context.Background()
	if _, err := exec.LookPath("curl"); err != nil {
		b.Fatal("this benchmark compares against curl: install it (apt install curl)")
	}
	cli, err := client.New(client.FromEnv)
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	ref, err := image.Build(ctx, cli, nil)
	if err != nil {
		b.Fatalf("build the stand-in image: %v", err)
	}
	eng, err := dockerctl.Connect(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()

	// One setup's files, made once: key generation is not what is measured.
	dir := b.TempDir()
	a := config.Defaults()
	a.Host, a.Image, a.Name = "registry.local", ref, "paxsetup-bench"
	opts := Options{Dir: dir, Answers: a, AdminPassword: answers.Password{Value: "bench-admin-password"},
		ReaderPassword: answers.Password{Value: "bench-reader-password"}, Now: time.Now}
	l := Layout{Dir: dir}
	for _, d := range []string{l.Auth(), l.Certs(), l.Data()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := writeUsers(ctx, l, opts); err != nil {
		b.Fatal(err)
	}
	if err := ensureCerts(ctx, l, opts); err != nil {
		b.Fatal(err)
	}

	var paxsetup, dockerRun, paxStart, cliStart []time.Duration
	b.ResetTimer()
	for i := range b.N {
		runs := []func(){
			func() {
				started, total := benchPaxsetup(b, eng, l, a, i)
				paxStart, paxsetup = append(paxStart, started), append(paxsetup, total)
			},
			func() {
				started, total := benchDockerRun(b, l, a, i)
				cliStart, dockerRun = append(cliStart, started), append(dockerRun, total)
			},
		}
		if i%2 == 1 {
			slices.Reverse(runs)
		}
		for _, run := range runs {
			run()
		}
	}
	b.StopTimer()
	b.ReportMetric(median(paxsetup), "ms-paxsetup")
	b.ReportMetric(median(dockerRun), "ms-docker-run+curl")
	b.Logf("paxsetup create->health (ms): %v", millis(paxsetup))
	b.Logf("docker run + curl loop (ms):  %v", millis(dockerRun))
	b.Logf("of which create+start, median: paxsetup %.0f ms, docker run -d %.0f ms", median(paxStart), median(cliStart))
}

func benchPort(b *testing.B) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// benchPaxsetup runs what startNew runs to start a registry in an init run
// (Create, Start, waitReady), and removes the container afterwards (not
// timed). It returns the time to the engine's answer to Start, and to
// /health answering.
func benchPaxsetup(b *testing.B, eng *dockerctl.Client, l Layout, a config.Answers, i int) (started, total time.Duration) {
	ctx := context.Background()
	a.Port = benchPort(b)
	a.Name = fmt.Sprintf("paxsetup-bench-%d-%d", os.Getpid(), i)
	spec, err := containerSpec(l, a, "")
	if err != nil {
		b.Fatal(err)
	}
	vopts, err := VerifyOptions(l.Dir, a)
	if err != nil {
		b.Fatal(err)
	}
	vopts.Timeout = 60 * time.Second
	start := time.Now()
	id, err := eng.Create(ctx, spec)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := eng.Remove(ctx, id); err != nil {
			b.Fatal(err)
		}
	}()
	if err := eng.Start(ctx, id); err != nil {
		b.Fatal(err)
	}
	started = time.Since(start)
	if _, err := waitReady(ctx, eng, id, vopts, 0, nil); err != nil {
		b.Fatal(err)
	}
	return started, time.Since(start)
}

// benchDockerRun starts the same container with the docker CLI and polls
// /health with curl every 50 ms, as the manual procedure does.
func benchDockerRun(b *testing.B, l Layout, a config.Answers, i int) (started, total time.Duration) {
	a.Port = benchPort(b)
	name := fmt.Sprintf("paxsetup-bench-cli-%d-%d", os.Getpid(), i)
	spec, err := containerSpec(l, a, "")
	if err != nil {
		b.Fatal(err)
	}
	args := []string{"run", "-d", "--name", name, "--restart", "always",
		"--log-opt", "max-size=" + dockerctl.DefaultLogMaxSize, "--log-opt", "max-file=" + strconv.Itoa(dockerctl.DefaultLogMaxFiles),
		"-p", strconv.Itoa(a.Port) + ":" + strconv.Itoa(spec.ContainerPort)}
	for _, m := range spec.Mounts {
		v := m.Source + ":" + m.Target
		if m.ReadOnly {
			v += ":ro"
		}
		args = append(args, "-v", v)
	}
	for _, e := range spec.Env {
		args = append(args, "-e", e)
	}
	args = append(args, spec.Image)
	args = append(args, spec.Cmd...)
	hostPort := a.Host + ":" + strconv.Itoa(a.Port)
	poll := "until curl -sf -o /dev/null --cacert " + l.Certs() + "/ca.crt --resolve " + hostPort + ":127.0.0.1 https://" + hostPort + "/health; do sleep 0.05; done"

	start := time.Now()
	if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
		b.Fatalf("docker run: %v\n%s", err, out)
	}
	started = time.Since(start)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "sh", "-c", poll).CombinedOutput(); err != nil {
		b.Fatalf("curl loop: %v\n%s", err, out)
	}
	total = time.Since(start)
	if out, err := exec.Command("docker", "rm", "-f", name).CombinedOutput(); err != nil {
		b.Fatalf("docker rm: %v\n%s", err, out)
	}
	return started, total
}

func median(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return float64(m.Microseconds()) / 1000
}

func millis(ds []time.Duration) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = d.Milliseconds()
	}
	return out
}
