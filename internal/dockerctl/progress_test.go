package dockerctl

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/jsonstream"
)

// screen replays what the display wrote as a terminal would show it: each
// line, after cursor movements and erasures.
func screen(t *testing.T, out string) []string {
	t.Helper()
	var lines []string
	row, col := 0, 0
	ensure := func() {
		for len(lines) <= row {
			lines = append(lines, "")
		}
	}
	esc := regexp.MustCompile(`^\x1b\[(\d*)([ABK])`)
	for i := 0; i < len(out); {
		if m := esc.FindStringSubmatch(out[i:]); m != nil {
			n := 1
			if m[1] != "" {
				n = atoi(t, m[1])
			}
			switch m[2] {
			case "A":
				row -= n
			case "B":
				row += n
			case "K":
				ensure()
				lines[row] = ""
			}
			i += len(m[0])
			continue
		}
		switch c := out[i]; c {
		case '\n':
			row++
			col = 0
		case '\r':
			col = 0
		default:
			ensure()
			line := lines[row]
			for len(line) < col {
				line += " "
			}
			lines[row] = line[:col] + string(c) + line[min(len(line), col+1):]
			col++
		}
		i++
	}
	if row < 0 {
		t.Fatalf("the cursor left the screen")
	}
	return lines
}

func atoi(t *testing.T, s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("bad number %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func messages(t *testing.T, records ...string) []jsonstream.Message {
	t.Helper()
	var out []jsonstream.Message
	for _, r := range records {
		var m jsonstream.Message
		if err := json.Unmarshal([]byte(r), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// twoLayers is a pull of two layers whose progress interleaves, as the
// engine downloads layers in parallel.
var twoLayers = []string{
	`{"status":"Pulling from palette/spectro-registry","id":"4.7.0"}`,
	`{"status":"Pulling fs layer","progressDetail":{},"id":"aaaa"}`,
	`{"status":"Pulling fs layer","progressDetail":{},"id":"bbbb"}`,
	`{"status":"Downloading","progressDetail":{"current":1000000,"total":4000000},"id":"aaaa"}`,
	`{"status":"Downloading","progressDetail":{"current":500,"total":1000},"id":"bbbb"}`,
	`{"status":"Downloading","progressDetail":{"current":2000000,"total":4000000},"id":"aaaa"}`,
	`{"status":"Download complete","progressDetail":{},"id":"bbbb"}`,
	`{"status":"Pull complete","progressDetail":{},"id":"bbbb"}`,
	`{"status":"Extracting","progressDetail":{"current":4000000,"total":4000000},"id":"aaaa"}`,
	`{"status":"Digest: sha256:0123"}`,
}

func TestPullDisplayTerminal(t *testing.T) {
	var out strings.Builder
	d := &pullDisplay{w: &out, tty: true, width: 100}
	for _, m := range messages(t, twoLayers...) {
		d.show(m)
	}
	got := screen(t, out.String())
	want := []string{
		"4.7.0: Pulling from palette/spectro-registry",
		"aaaa: Extracting [====================] 4MB/4MB",
		"bbbb: Pull complete",
		"Digest: sha256:0123",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("screen =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(out.String(), "aaaa: Downloading [=====               ] 1MB/4MB") {
		t.Errorf("no byte counts shown while downloading:\n%q", out.String())
	}
}

func TestPullDisplayTerminalFitsWidth(t *testing.T) {
	var out strings.Builder
	d := &pullDisplay{w: &out, tty: true, width: 20}
	for _, m := range messages(t, twoLayers[:4]...) {
		d.show(m)
	}
	for _, line := range screen(t, out.String()) {
		if len(line) >= 20 {
			t.Errorf("line %q is as wide as the terminal: it would wrap", line)
		}
	}
}

func TestPullDisplayPlain(t *testing.T) {
	var out strings.Builder
	d := &pullDisplay{w: &out}
	for _, m := range messages(t, twoLayers...) {
		d.show(m)
	}
	want := `4.7.0: Pulling from palette/spectro-registry
aaaa: Pulling fs layer
bbbb: Pulling fs layer
bbbb: Download complete
bbbb: Pull complete
Digest: sha256:0123
`
	if out.String() != want {
		t.Errorf("plain output =\n%s\nwant\n%s", out.String(), want)
	}
	if strings.Contains(out.String(), "\x1b") {
		t.Error("escape sequences in plain output")
	}
}

func TestNewPullDisplayPlainForNonTerminals(t *testing.T) {
	var out strings.Builder
	if d := newPullDisplay(&out); d.tty {
		t.Error("a strings.Builder was taken for a terminal")
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 999: "999B", 1000: "1kB", 1536000: "1.54MB", 25300000: "25.3MB", 4e9: "4GB"} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}
