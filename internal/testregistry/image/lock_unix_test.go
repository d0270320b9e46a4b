//go:build unix

package image

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLockBuildsExcludes(t *testing.T) {
	const repo = "paxsetup-test-lock"
	unlock, err := lockBuilds(t.Context(), repo)
	if err != nil {
		t.Fatalf("first lock: %v", err)
	}
	// flock locks belong to the open file, so a second open conflicts even
	// within one process, as it would from another test binary.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if unlock2, err := lockBuilds(ctx, repo); !errors.Is(err, context.DeadlineExceeded) {
		if err == nil {
			unlock2()
		}
		t.Fatalf("second lock while held: err = %v, want a deadline error", err)
	}

	// Another image's build goes ahead while this one's lock is held.
	other, err := lockBuilds(ctx, repo+"-other")
	if err != nil {
		t.Fatalf("lock of another image while the first is held: %v", err)
	}
	other()
	unlock()

	unlock, err = lockBuilds(t.Context(), repo)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	unlock()
}
