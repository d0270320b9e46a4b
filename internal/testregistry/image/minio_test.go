package image

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// builtMinIO holds the single BuildMinIO of this test process.
var builtMinIO struct {
	once sync.Once
	img  MinIOImage
	err  error
	log  bytes.Buffer
}

// minioImage returns the MinIO image, building it once per process. A cold
// build compiles MinIO, which takes minutes: scripts/test builds it before
// go test starts.
func minioImage(t *testing.T) MinIOImage {
	t.Helper()
	cli := engine(t)
	builtMinIO.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		started := time.Now()
		builtMinIO.img, builtMinIO.err = BuildMinIO(ctx, cli, &builtMinIO.log)
		t.Logf("BuildMinIO returned %s in %s", builtMinIO.img.Ref, time.Since(started).Round(time.Millisecond))
	})
	if builtMinIO.err != nil {
		t.Fatalf("build MinIO image: %v\nbuild output:\n%s", builtMinIO.err, builtMinIO.log.String())
	}
	return builtMinIO.img
}

// TestBuildMinIOReusesImage: the image is tagged by its inputs, so a second
// BuildMinIO finds it and builds nothing, and it runs MinIO's server on
// MinIOPort without the console.
func TestBuildMinIOReusesImage(t *testing.T) {
	cli := engine(t)
	img := minioImage(t)
	before, err := cli.ImageInspect(t.Context(), img.Ref)
	if err != nil {
		t.Fatalf("inspect %s: %v", img.Ref, err)
	}

	var log bytes.Buffer
	again, err := BuildMinIO(t.Context(), cli, &log)
	if err != nil {
		t.Fatalf("second BuildMinIO: %v", err)
	}
	if again != img {
		t.Errorf("second BuildMinIO returned %+v, want %+v", again, img)
	}
	if log.Len() != 0 {
		t.Errorf("second BuildMinIO rebuilt the image; its output:\n%s", log.String())
	}
	if !regexp.MustCompile(`^` + MinIORepository + `:[0-9a-f]{12}$`).MatchString(img.Ref) {
		t.Errorf("ref %q is not %s:<12 hex>", img.Ref, MinIORepository)
	}

	cfg := before.Config
	if cfg == nil {
		t.Fatalf("image %s has no config", img.Ref)
	}
	port := strconv.Itoa(MinIOPort)
	if got, want := strings.Join(cfg.Entrypoint, " "), "/bin/minio server --address :"+port+" /data"; got != want {
		t.Errorf("entrypoint = %q, want %q", got, want)
	}
	if _, ok := cfg.ExposedPorts[port+"/tcp"]; !ok || len(cfg.ExposedPorts) != 1 {
		t.Errorf("exposed ports %v, want %s/tcp alone", cfg.ExposedPorts, port)
	}
	if !slices.Contains(cfg.Env, "MINIO_BROWSER=off") {
		t.Errorf("env %q lacks MINIO_BROWSER=off", cfg.Env)
	}
	if before.Config.Labels[inputsLabel] == "" {
		t.Errorf("image lacks the %s label", inputsLabel)
	}
}
