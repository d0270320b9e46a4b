//go:build !linux

package wizard

import "os"

// flushTerminalInput is a no-op where tcflush is not wired up: keys typed
// ahead then reach the first question.
func flushTerminalInput(*os.File) {}
