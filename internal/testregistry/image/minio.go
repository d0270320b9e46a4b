package image

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/moby/moby/client"
)

// MinIO is an S3-compatible object store, built from the Go module proxy at
// a pinned version so that end-to-end tests run the registry's S3 storage
// driver against a real S3 API: signed requests, multipart uploads,
// listings and presigned redirects.
//
// The version is a pseudo-version because MinIO tags its releases
// RELEASE.<date>, which are not semantic versions: the module proxy serves
// commits only.
const (
	MinIOModule  = "github.com/minio/minio"
	MinIOVersion = "v0.0.0-20260212201848-7aac2a2c5b7c"
	// MinIORepository names the images BuildMinIO tags.
	MinIORepository = "paxsetup-testminio"
)

// MinIOPort is where the image serves the S3 API, inside its container.
const MinIOPort = 9000

// The variables that set MinIO's root credentials: the S3 access key and
// secret key of its one administrative user.
const (
	MinIORootUserEnv     = "MINIO_ROOT_USER"
	MinIORootPasswordEnv = "MINIO_ROOT_PASSWORD"
)

// minioDockerfile runs MinIO from a scratch image as one server with one
// drive, in the container's own filesystem: MinIO needs nothing else there,
// and makes /data and its certificate folder itself. MINIO_BROWSER=off
// leaves out the web console and its second port.
const minioDockerfile = `FROM scratch
COPY minio /bin/minio
ENV MINIO_BROWSER=off
EXPOSE 9000
ENTRYPOINT ["/bin/minio", "server", "--address", ":9000", "/data"]
`

// minioBuildFlags are the go build flags of the MinIO binary, built in the
// module's own folder: a static binary, without the paths of this machine.
var minioBuildFlags = []string{"-trimpath", "-ldflags=-s -w"}

// MinIOImage is a built MinIO image.
type MinIOImage struct {
	Ref string
}

// BuildMinIO returns the MinIO image on the engine behind cli, building it
// first when the engine has none for the pinned version, this Go and the
// engine's architecture. A cold build compiles all of MinIO and takes
// minutes; the image is then reused by every later run on the machine.
// Build output goes to logw, which may be nil.
func BuildMinIO(ctx context.Context, cli *client.Client, logw io.Writer) (MinIOImage, error) {
	if logw == nil {
		logw = io.Discard
	}
	mod, err := downloadModule(ctx, MinIOModule+"@"+MinIOVersion)
	if err != nil {
		return MinIOImage{}, err
	}
	goVersion, err := goEnv(ctx, mod.Dir, "GOVERSION")
	if err != nil {
		return MinIOImage{}, err
	}
	ver, err := cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return MinIOImage{}, fmt.Errorf("query docker engine version: %w", err)
	}
	if ver.Os != "linux" {
		return MinIOImage{}, fmt.Errorf("docker engine runs %s containers; the MinIO image needs a linux engine", ver.Os)
	}
	// The module's h1 sum stands for every file of it; go.sum pins the rest.
	digest := inputsDigest(inputSet{
		"module":     []byte(MinIOModule + "@" + MinIOVersion + " " + mod.Sum),
		"build":      []byte(strings.Join(minioBuildFlags, " ")),
		"Dockerfile": []byte(minioDockerfile),
	}, goVersion, ver.Arch)
	img := MinIOImage{Ref: MinIORepository + ":" + digest[:12]}

	mu := buildMu(MinIORepository)
	mu.Lock()
	defer mu.Unlock()
	if found, err := hasImage(ctx, cli, img.Ref); err != nil || found {
		return img, err
	}
	unlock, err := lockBuilds(ctx, MinIORepository)
	if err != nil {
		return MinIOImage{}, err
	}
	defer unlock()
	if found, err := hasImage(ctx, cli, img.Ref); err != nil || found {
		return img, err
	}

	tmp, err := os.MkdirTemp("", "paxsetup-testminio-")
	if err != nil {
		return MinIOImage{}, fmt.Errorf("create build folder: %w", err)
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "minio")
	fmt.Fprintf(logw, "go build %s@%s (linux/%s)\n", MinIOModule, MinIOVersion, ver.Arch)
	// Built in the module's own folder, with its own go.mod and go.sum:
	// exactly the dependencies that MinIO commit pins, fetched from the
	// module proxy.
	args := append(append([]string{"build"}, minioBuildFlags...), "-o", bin, ".")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = mod.Dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+ver.Arch, "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false")
	var stderr bytes.Buffer
	cmd.Stdout = logw
	cmd.Stderr = io.MultiWriter(logw, &stderr)
	if err := cmd.Run(); err != nil {
		return MinIOImage{}, fmt.Errorf("go build minio: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return MinIOImage{}, fmt.Errorf("read minio for the MinIO image: %w", err)
	}
	buildContext, err := tarFiles([]tarFile{{"Dockerfile", 0o644, []byte(minioDockerfile)}, {"minio", 0o755, b}})
	if err != nil {
		return MinIOImage{}, err
	}
	if err := imageBuild(ctx, cli, buildContext, img.Ref, digest, logw); err != nil {
		return MinIOImage{}, err
	}
	return img, nil
}
