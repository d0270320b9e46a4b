package dockerctl

import (
	"context"
	"testing"
	"time"

	"github.com/moby/moby/client/pkg/versions"
)

// TestRealEngine needs the Docker engine of DOCKER_HOST (or the default
// socket). It fails rather than skips without one: a skipped test would let
// a broken CI engine pass unnoticed.
func TestRealEngine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c, err := Connect(ctx)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer c.Close()

	info, err := c.Engine(ctx)
	if err != nil {
		t.Fatalf("Engine: %v", err)
	}
	// 1.40 (Docker 19.03) is the oldest API the moby client negotiates down to.
	if versions.LessThan(info.APIVersion, "1.40") {
		t.Errorf("engine API version %q is below 1.40", info.APIVersion)
	}
	if info.Version == "" || info.OS == "" {
		t.Errorf("Engine = %+v, want version and OS filled in", info)
	}
}
