package dockerctl

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/moby/moby/api/types/jsonstream"
	"golang.org/x/term"
)

// pullDisplay shows a pull as it happens. On a terminal each layer keeps one
// line that is redrawn in place with its status and byte counts, as `docker
// pull` shows it; elsewhere (a log file, CI) each status change is one plain
// line and the byte counters, which arrive many times a second, are dropped.
type pullDisplay struct {
	w     io.Writer
	tty   bool
	width int

	// layers are the IDs with a line on screen, top to bottom; the cursor
	// sits on the line below the last.
	layers []string
	last   string
}

// newPullDisplay shows progress on w, redrawing lines when w is a terminal.
func newPullDisplay(w io.Writer) *pullDisplay {
	tty, width := terminalWidth(w)
	return &pullDisplay{w: w, tty: tty, width: width}
}

// terminalWidth reports whether w is a terminal that understands cursor
// movement, and its width.
func terminalWidth(w io.Writer) (bool, int) {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok || os.Getenv("TERM") == "dumb" {
		return false, 0
	}
	fd := int(f.Fd())
	if !term.IsTerminal(fd) {
		return false, 0
	}
	width, _, err := term.GetSize(fd)
	if err != nil || width <= 0 {
		width = 80
	}
	return true, width
}

// ANSI sequences for redrawing a line above the cursor.
const (
	eraseLine = "\x1b[2K"
	cursorUp  = "\x1b[%dA"
	cursorDn  = "\x1b[%dB"
)

func (d *pullDisplay) show(m jsonstream.Message) {
	if !d.tty {
		if line := statusLine(m); line != "" && line != d.last {
			fmt.Fprintln(d.w, line)
			d.last = line
		}
		return
	}
	// Layer records carry a progressDetail (empty for "Pulling fs layer",
	// "Download complete"); the rest ("Pulling from", "Digest",
	// "Status") are one-off lines.
	if m.ID == "" || m.Progress == nil {
		if m.Status == "" {
			return
		}
		d.layers = nil
		fmt.Fprintln(d.w, d.fit(joinID(m.ID, m.Status)))
		return
	}
	line := d.fit(m.ID + ": " + m.Status + progressText(m.Progress))
	at := -1
	for i, id := range d.layers {
		if id == m.ID {
			at = i
		}
	}
	if at < 0 {
		d.layers = append(d.layers, m.ID)
		fmt.Fprintln(d.w, line)
		return
	}
	up := len(d.layers) - at
	fmt.Fprintf(d.w, cursorUp+"\r"+eraseLine+"%s\r"+cursorDn, up, line, up)
}

// fit keeps a line within the terminal's width: a wrapped line would throw
// the cursor arithmetic off.
func (d *pullDisplay) fit(s string) string {
	if d.width > 1 && len(s) >= d.width {
		return s[:d.width-1]
	}
	return s
}

func joinID(id, status string) string {
	if id == "" {
		return status
	}
	return id + ": " + status
}

// progressText renders byte counts as " 12.5MB/40.1MB", or "" when the
// record has none.
func progressText(p *jsonstream.Progress) string {
	switch {
	case p == nil || (p.Current <= 0 && p.Total <= 0):
		return ""
	case p.Total <= 0 || p.Current > p.Total:
		return " " + humanSize(p.Current)
	}
	const barWidth = 20
	filled := int(float64(p.Current) / float64(p.Total) * barWidth)
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", barWidth-filled)
	return fmt.Sprintf(" [%s] %s/%s", bar, humanSize(p.Current), humanSize(p.Total))
}

// humanSize writes a byte count the way docker does: decimal units, three
// significant digits.
func humanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%dB", n)
	}
	return fmt.Sprintf("%.3g%s", f, units[i])
}

// statusLine renders a pull record as one plain line, or "" for the byte
// counters ("Downloading", "Extracting"), which arrive many times a second.
func statusLine(m jsonstream.Message) string {
	if m.Status == "" {
		return ""
	}
	if p := m.Progress; p != nil && (p.Current > 0 || p.Total > 0) {
		return ""
	}
	return joinID(m.ID, m.Status)
}
