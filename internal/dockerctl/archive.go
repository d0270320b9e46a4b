package dockerctl

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/distribution/reference"
	"github.com/moby/moby/client"
)

// ErrArchiveLacksImage means an image archive loaded but did not hold the
// image asked for.
var ErrArchiveLacksImage = errors.New("image archive does not hold the image")

// gzipMagic starts every gzip stream (RFC 1952); `docker save | gzip` is the
// usual way archives reach air-gapped sites.
var gzipMagic = []byte{0x1f, 0x8b}

// LoadImageArchive loads a `docker save` tarball (plain or gzip-compressed,
// told apart by its first bytes, not its name) into the engine and checks
// that it held ref, by the names the engine reports loading and, for
// engines that report none, by looking ref up. Progress lines go to
// progress, which may be nil. An archive without ref is
// ErrArchiveLacksImage, naming what it held instead.
func (c *Client) LoadImageArchive(ctx context.Context, path, ref string, progress io.Writer) error {
	if progress == nil {
		progress = io.Discard
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open image archive: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("open image archive: %w", err)
	}

	counted := &countingReader{r: f}
	br := bufio.NewReaderSize(counted, 1<<20)
	var body io.Reader = br
	kind := "tar"
	if head, _ := br.Peek(len(gzipMagic)); bytes.Equal(head, gzipMagic) {
		// Decompressed here rather than left to the engine: Docker
		// decompresses loads itself, but not every engine that speaks its
		// API does.
		gz, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("read image archive %s: %w", path, err)
		}
		defer gz.Close()
		body, kind = gz, "gzip-compressed tar"
	}
	fmt.Fprintf(progress, "loading %s (%s, %s)\n", path, kind, humanSize(fi.Size()))

	stopTicker := c.reportLoad(progress, counted, fi.Size())
	res, err := c.api.ImageLoad(ctx, body, client.ImageLoadWithQuiet(true))
	if err != nil {
		stopTicker()
		return fmt.Errorf("load image archive %s: %w", path, loadError(ctx, err))
	}
	defer res.Close()
	loaded, err := readLoadStream(ctx, res)
	stopTicker()
	if err != nil {
		return fmt.Errorf("load image archive %s: %w", path, err)
	}
	for _, name := range loaded {
		fmt.Fprintf(progress, "loaded %s\n", name)
	}
	return c.checkLoaded(ctx, path, ref, loaded)
}

// reportLoad prints how far a large upload has got every few seconds, on a
// terminal only: a log needs the outcome, not the ticks.
func (c *Client) reportLoad(w io.Writer, r *countingReader, total int64) (stop func()) {
	tty, _ := terminalWidth(w)
	if !tty {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(w, "\r"+eraseLine+"sent %s of %s", humanSize(r.n.Load()), humanSize(total))
			}
		}
	}()
	var once atomic.Bool
	return func() {
		if once.CompareAndSwap(false, true) {
			close(done)
			fmt.Fprint(w, "\r"+eraseLine)
		}
	}
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func loadError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return classify(err)
}

// Prefixes of the engine's load report (moby daemon/images: "Loaded image:
// NAME" per tag, "Loaded image ID: sha256:..." for an untagged image).
const (
	loadedTagPrefix = "Loaded image: "
	loadedIDPrefix  = "Loaded image ID: "
)

// readLoadStream reads the engine's load report to its end, returning the
// names (or IDs, for untagged images) it loaded. The engine reports a bad
// archive inside the stream, after an HTTP 200.
func readLoadStream(ctx context.Context, r io.Reader) ([]string, error) {
	dec := json.NewDecoder(r)
	var loaded []string
	for {
		var m pullMessage
		if err := dec.Decode(&m); err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return loaded, ctxErr
			}
			if errors.Is(err, io.EOF) {
				return loaded, nil
			}
			return loaded, fmt.Errorf("the engine stopped answering mid-load (%w): check it with `docker info` and run again", err)
		}
		if m.Error != nil && m.Error.Message != "" {
			return loaded, fmt.Errorf("%w%s", m.Error, archiveHint(m.Error.Message))
		}
		if m.ErrorText != "" {
			return loaded, fmt.Errorf("%s%s", m.ErrorText, archiveHint(m.ErrorText))
		}
		// Podman's compatible API reports several names on one line,
		// comma-separated.
		for _, line := range strings.Split(m.Stream, "\n") {
			for _, prefix := range []string{loadedTagPrefix, loadedIDPrefix, "Loaded image(s): "} {
				if rest, ok := strings.CutPrefix(line, prefix); ok {
					for _, name := range strings.Split(rest, ",") {
						if name = strings.TrimSpace(name); name != "" {
							loaded = append(loaded, name)
						}
					}
					break
				}
			}
		}
	}
}

// archiveHint explains the engine's words for a file that is not an image
// archive.
func archiveHint(msg string) string {
	if strings.Contains(msg, "manifest.json") || strings.Contains(msg, "invalid tar header") || strings.Contains(msg, "unexpected EOF") {
		return ": the file is not a complete `docker save` archive (make it with `docker save IMAGE | gzip > FILE`)"
	}
	return ""
}

// checkLoaded makes sure ref was among what the archive held: by name, or,
// since engines name images differently (Podman stores a short name as
// localhost/NAME, Docker as docker.io/library/NAME), by the image ID that
// ref resolves to on this engine.
func (c *Client) checkLoaded(ctx context.Context, path, ref string, loaded []string) error {
	want := normalize(ref)
	var names []string
	for _, name := range loaded {
		if normalize(name) == want {
			return nil
		}
		if !strings.HasPrefix(name, "sha256:") {
			names = append(names, name)
		}
	}
	if id, err := c.ImageID(ctx, ref); err == nil {
		if len(loaded) == 0 {
			// The engine loaded without naming anything: ref being
			// there is all there is to go on.
			return nil
		}
		for _, name := range loaded {
			if other, err := c.ImageID(ctx, name); err == nil && other == id {
				return nil
			}
		}
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	held := "no tagged image"
	if len(names) > 0 {
		held = strings.Join(names, ", ")
	}
	fix := fmt.Sprintf("save it with its name (docker save %s | gzip > FILE)", ref)
	if len(names) == 1 {
		fix = fmt.Sprintf("pass --image %s", names[0])
	}
	return &engineError{
		kind: ErrArchiveLacksImage,
		msg:  fmt.Sprintf("--image-archive %s holds %s, not %s: %s", path, held, ref, fix),
	}
}

// normalize writes a reference the way the engine stores it, so that
// "registry:2" and "docker.io/library/registry:2" compare equal.
func normalize(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.TagNameOnly(named).String()
}
