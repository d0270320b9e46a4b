package wizard

import (
	"os"

	"golang.org/x/sys/unix"
)

// flushTerminalInput discards input the terminal received and nobody read
// (tcflush with TCIFLUSH).
func flushTerminalInput(f *os.File) {
	_ = unix.IoctlSetInt(int(f.Fd()), unix.TCFLSH, unix.TCIFLUSH)
}
