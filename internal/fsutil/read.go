package fsutil

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Limits for the files an operator names. A password or key file is a few
// hundred bytes and a certificate chain a few KiB: the limits only stop a
// wrong path (a log, a disk image, /dev/zero) from being read whole.
const (
	MaxSecretFile = 64 << 10 // passwords, S3 keys
	MaxPEMFile    = 1 << 20  // certificates, keys, CA bundles
	MaxConfigFile = 1 << 20  // answers files
)

var (
	// ErrNotRegular is returned for a FIFO, device, socket or folder: reading
	// one can block forever or never end.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge is returned for a file over the limit given.
	ErrTooLarge = errors.New("file too large")
)

// ReadRegularFile reads path when it is a regular file (a symlink to one
// counts) of at most max bytes. Anything else is refused before a read that
// could block or exhaust memory; the error names the path and the limit.
func ReadRegularFile(path string, max int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := checkRegular(path, fi, max); err != nil {
		return nil, err
	}
	// O_NONBLOCK: should the path be swapped for a FIFO after the Stat,
	// the open returns at once instead of waiting for a writer; the Stat
	// of the open file below then refuses it.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := checkRegular(path, fi, max); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	// The size may have grown since the Stat.
	if int64(len(data)) > max {
		return nil, tooLarge(path, max)
	}
	return data, nil
}

func checkRegular(path string, fi fs.FileInfo, max int64) error {
	if !fi.Mode().IsRegular() {
		return &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w (it is %s): give a plain file", ErrNotRegular, kind(fi.Mode()))}
	}
	if fi.Size() > max {
		return tooLarge(path, max)
	}
	return nil
}

func tooLarge(path string, max int64) error {
	return &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: over the limit of %s; is it the right file?", ErrTooLarge, Size(max))}
}

// Size formats a byte count as people write limits: 64 KiB, 1 MiB.
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a plain file"
}
