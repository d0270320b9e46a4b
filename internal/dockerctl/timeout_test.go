package dockerctl

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// TestFrozenEngineTimesOut: an engine that never answers an inspect ends
// the call after callTimeout with ErrEngineTimeout and a way to look into
// it, instead of hanging the run.
func TestFrozenEngineTimesOut(t *testing.T) {
	saved := callTimeout
	callTimeout = 100 * time.Millisecond
	t.Cleanup(func() { callTimeout = saved })
	c := newFakeClient(&fakeEngine{containerInspectFunc: func(ctx context.Context, _ string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
		<-ctx.Done()
		return client.ContainerInspectResult{}, ctx.Err()
	}})
	_, err := c.Inspect(context.Background(), "spectro-registry")
	if !errors.Is(err, ErrEngineTimeout) || !strings.Contains(err.Error(), "docker info") {
		t.Fatalf("err = %v, want ErrEngineTimeout saying how to look into it", err)
	}
}
