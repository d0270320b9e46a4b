// Command build makes the test registry image on the local Docker engine and
// prints its reference, for trying paxsetup without the vendor's image:
//
//	go run ./internal/testregistry/build
package main

import (
	"context"
	"errors"
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	// The client negotiates the API version with the engine by default.
	cli, err := client.New(client.FromEnv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "connect to docker engine: %v\n", err)
		return 1
	}
	defer cli.Close()

	ref, err := image.Build(ctx, cli, os.Stderr)
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(os.Stderr, "interrupted")
		return 130
	case client.IsErrConnectionFailed(err):
		fmt.Fprintf(os.Stderr, "%v\nStart the Docker engine (or set DOCKER_HOST) and re-run \"go run ./internal/testregistry/build\".\n", err)
		return 1
	case err != nil:
		fmt.Fprintf(os.Stderr, "build test registry image: %v\n", err)
		return 1
	}
	fmt.Println(ref)
	return 0
}
