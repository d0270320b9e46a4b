// Command build makes the test registry image on the local Docker engine and
// prints its reference, for trying paxsetup without the vendor's image:
//
//	go run ./internal/testregistry/build
//
// With -minio it makes the MinIO image of the S3 tests instead, so that
// scripts/test can build it, minutes long the first time, as a step of its
// own before go test:
//
//	go run ./internal/testregistry/build -minio
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/moby/moby/client"

	"github.com/paxsetup/paxsetup/internal/testregistry/image"
)

func main() {
	os.Exit(run())
}

func run() int {
	minio := flag.Bool("minio", false, "build the MinIO image of the S3 tests instead of the test registry's")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "unexpected argument %q\n", flag.Arg(0))
		flag.Usage()
		return 2
	}
	what, rerun := "test registry image", "go run ./internal/testregistry/build"
	if *minio {
		what, rerun = "MinIO image", rerun+" -minio"
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	// The client negotiates the API version with the engine by default.
	cli, err := client.New(client.FromEnv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "connect to docker engine: %v\n", err)
		return 1
	}
	defer cli.Close()

	var ref string
	if *minio {
		var img image.MinIOImage
		img, err = image.BuildMinIO(ctx, cli, os.Stderr)
		ref = img.Ref
	} else {
		ref, err = image.Build(ctx, cli, os.Stderr)
	}
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(os.Stderr, "interrupted")
		return 130
	case client.IsErrConnectionFailed(err):
		fmt.Fprintf(os.Stderr, "%v\nStart the Docker engine (or set DOCKER_HOST) and re-run %q.\n", err, rerun)
		return 1
	case err != nil:
		fmt.Fprintf(os.Stderr, "build %s: %v\n", what, err)
		return 1
	}
	fmt.Println(ref)
	return 0
}
