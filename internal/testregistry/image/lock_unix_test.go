//go:build unix

package image

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLockBuildsExcludes(t *testing.T) {
	unlock, err := lockBuilds(t.Context())
	if err != nil {
		t.Fatalf("first lock: %v", err)
	}
	// flock locks belong to the open file, so a second open conflicts even
	// within one process, as it would from another test binary.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if unlock2, err := lockBuilds(ctx); !errors.Is(err, context.DeadlineExceeded) {
		if err == nil {
			unlock2()
		}
		t.Fatalf("second lock while held: err = %v, want a deadline error", err)
	}
	unlock()

	unlock, err = lockBuilds(t.Context())
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	unlock()
}
