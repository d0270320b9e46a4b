//go:build unix

package setuplock

import (
	"errors"
	"os"
	"syscall"
)

// openLockFile refuses a symbolic link at the lock's path: truncating it
// as root would empty whatever file it points to.
func openLockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
}

// tryLock takes an exclusive flock without blocking. flock locks belong to
// the open file, so a second open of the same file conflicts even within
// one process.
func tryLock(f *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		}
		return false, err
	}
}
