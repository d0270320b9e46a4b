package preflight

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/paxsetup/paxsetup/internal/layout"
)

const gib = 1 << 30

// The vendor's minimum is 2 GiB of memory. A VM sold as "2 GB" shows a
// little less to the kernel, so below the minimum is a warning, and only
// below half of it a failure.
const (
	memMin  = 2 * gib
	memFail = 1 * gib
)

// Disk limits where data/ lives: packs are container images, each from tens
// of megabytes to gigabytes.
const (
	diskWarn = 10 * gib
	diskFail = 1 * gib
)

func (e *env) checkCPU(ctx context.Context) Check {
	n, err := e.d.CPUs(ctx)
	switch {
	case err != nil:
		return Check{Name: CheckCPU, Status: Warn, Detail: "could not count the CPUs: " + err.Error()}
	case n < 1:
		return Check{Name: CheckCPU, Status: Fail, Detail: "no CPU is available", Fix: "give the host at least 1 CPU"}
	}
	return Check{Name: CheckCPU, Status: OK, Detail: fmt.Sprintf("%d CPUs (at least 1 needed)", n)}
}

func (e *env) checkMemory(ctx context.Context) Check {
	total, err := e.d.Memory(ctx)
	switch {
	case err != nil:
		return Check{Name: CheckMemory, Status: Warn, Detail: "could not read the memory size: " + err.Error()}
	case total < memFail:
		return Check{Name: CheckMemory, Status: Fail,
			Detail: fmt.Sprintf("%s of memory, far below the vendor's minimum of 2 GiB", bytesShown(total)),
			Fix:    "give the host at least 2 GiB of memory"}
	case total < memMin:
		return Check{Name: CheckMemory, Status: Warn,
			Detail: fmt.Sprintf("%s of memory, below the vendor's minimum of 2 GiB: large pack uploads may fail", bytesShown(total)),
			Fix:    "give the host at least 2 GiB of memory"}
	}
	return Check{Name: CheckMemory, Status: OK, Detail: fmt.Sprintf("%s of memory (2 GiB needed)", bytesShown(total))}
}

func (e *env) checkDisk(ctx context.Context) Check {
	switch e.opts.Storage {
	case "inmemory":
		return Check{Name: CheckDisk, Status: OK, Detail: "packs are kept in memory (lost on restart): no disk needed"}
	case "s3":
		return Check{Name: CheckDisk, Status: OK, Detail: "packs are kept in S3: no local disk needed"}
	}
	data := layout.Layout{Dir: e.opts.Dir}.Data()
	path := existingAncestor(data)
	free, err := e.d.DiskFree(ctx, path)
	if err != nil {
		return Check{Name: CheckDisk, Status: Warn, Detail: fmt.Sprintf("could not read the free space at %s: %v", path, err)}
	}
	where := fmt.Sprintf("%s free where %s will live (%s)", bytesShown(free), data, path)
	if path == data {
		where = fmt.Sprintf("%s free in %s", bytesShown(free), data)
	}
	fix := "free space on that filesystem, or put the setup on a larger one (--dir)"
	switch {
	case free < diskFail:
		return Check{Name: CheckDisk, Status: Fail, Detail: where + ": not enough for a single pack", Fix: fix}
	case free < diskWarn:
		return Check{Name: CheckDisk, Status: Warn, Detail: where + ": enough for a few packs only", Fix: fix}
	}
	return Check{Name: CheckDisk, Status: OK, Detail: where}
}

// existingAncestor is the nearest folder of path that exists: the
// filesystem data/ will be created on.
func existingAncestor(path string) string {
	for p := path; ; {
		if _, err := os.Stat(p); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return p
		}
		parent := filepath.Dir(p)
		if parent == p {
			return p
		}
		p = parent
	}
}

func bytesShown(n uint64) string {
	switch {
	case n >= gib:
		return fmt.Sprintf("%.1f GiB", float64(n)/gib)
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
