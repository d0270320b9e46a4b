package image

import (
	"context"
	"io"

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
	ref, _, err := moduleProgram{
		Module: MinIOModule, Version: MinIOVersion, Package: ".",
		Binary: "minio", Repository: MinIORepository, Dockerfile: minioDockerfile,
		BuildFlags: minioBuildFlags,
	}.build(ctx, cli, logw)
	if err != nil {
		return MinIOImage{}, err
	}
	return MinIOImage{Ref: ref}, nil
}
