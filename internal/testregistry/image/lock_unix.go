//go:build unix

package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockBuilds takes a machine-wide lock on the builds of the images tagged
// repository, so that test binaries that go test runs in parallel build an
// image once instead of each leaving a duplicate untagged image behind. The
// kernel drops the lock if the process dies.
func lockBuilds(ctx context.Context, repository string) (unlock func(), err error) {
	path := filepath.Join(os.TempDir(), repository+"-build.lock")
	// Read-only is enough for flock, and lets users other than the file's
	// creator share it.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open build lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("take build lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for build lock %s: %w", path, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
