package dockerctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
)

// PullPolicy says when EnsureImage may pull the image (the --pull flag).
type PullPolicy string

const (
	// PullAlways pulls every time, to pick up a moved tag.
	PullAlways PullPolicy = "always"
	// PullMissing pulls only when the engine lacks the image; the default.
	PullMissing PullPolicy = "missing"
	// PullNever never pulls: air-gapped sites load the image from a tarball.
	PullNever PullPolicy = "never"
)

// ParsePullPolicy reads a --pull value; empty means PullMissing.
func ParsePullPolicy(s string) (PullPolicy, error) {
	switch p := PullPolicy(s); p {
	case "":
		return PullMissing, nil
	case PullAlways, PullMissing, PullNever:
		return p, nil
	}
	return "", fmt.Errorf("invalid --pull value %q: use %s, %s or %s", s, PullAlways, PullMissing, PullNever)
}

// ImageExists reports whether the engine holds the image ref.
func (c *Client) ImageExists(ctx context.Context, ref string) (bool, error) {
	_, err := c.api.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("inspect image %q: %w", ref, err)
	}
	return true, nil
}

// ImageID returns the engine's ID ("sha256:...") of the image ref, so a caller
// can tell whether a container runs the image the tag now names. An absent
// image is ErrNotFound.
func (c *Client) ImageID(ctx context.Context, ref string) (string, error) {
	res, err := c.api.ImageInspect(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("inspect image %q: %w", ref, classify(err))
	}
	return res.ID, nil
}

// EnsureImage makes the image ref present according to policy (empty means
// PullMissing), writing one line per pull status update to progress (which
// may be nil). With PullNever and the image absent it returns ErrImageMissing.
func (c *Client) EnsureImage(ctx context.Context, ref string, policy PullPolicy, progress io.Writer) error {
	if progress == nil {
		progress = io.Discard
	}
	switch policy {
	case PullAlways:
		return c.pull(ctx, ref, progress)
	case PullMissing, PullNever, "":
	default:
		return fmt.Errorf("ensure image %q: unknown pull policy %q", ref, policy)
	}
	ok, err := c.ImageExists(ctx, ref)
	if err != nil || ok {
		return err
	}
	if policy == PullNever {
		return &engineError{
			kind: ErrImageMissing,
			msg: fmt.Sprintf("image %q is not present and --pull is never: "+
				`load it with "docker load -i FILE" (or --image-archive), or use --pull missing`, ref),
		}
	}
	return c.pull(ctx, ref, progress)
}

// pullMessage is one record of the engine's pull stream. Engines send the
// failure both as errorDetail and, for older clients, as a bare "error"
// string; jsonstream.Message decodes only the first.
type pullMessage struct {
	jsonstream.Message
	ErrorText string `json:"error,omitempty"`
}

// pull reads the engine's progress stream to its end: the engine reports a
// failed pull (unknown tag, denied, no network) inside the stream, after an
// HTTP 200, so stopping early would miss it.
func (c *Client) pull(ctx context.Context, ref string, progress io.Writer) error {
	stream, err := c.api.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err != nil {
		return fmt.Errorf("pull image %q: %w", ref, err)
	}
	defer stream.Close()
	// Closing the stream is what unblocks a Decode waiting on a stalled
	// registry when the operator presses Ctrl-C.
	stop := context.AfterFunc(ctx, func() { _ = stream.Close() })
	defer stop()

	dec := json.NewDecoder(stream)
	last := ""
	for {
		var m pullMessage
		if err := dec.Decode(&m); err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return fmt.Errorf("pull image %q: %w", ref, ctxErr)
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("pull image %q: read progress: %w", ref, err)
		}
		if m.Error != nil && m.Error.Message != "" {
			return fmt.Errorf("pull image %q: %w", ref, m.Error)
		}
		if m.ErrorText != "" {
			return fmt.Errorf("pull image %q: %s", ref, m.ErrorText)
		}
		if line := statusLine(m.Message); line != "" && line != last {
			fmt.Fprintln(progress, line)
			last = line
		}
	}
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
	if m.ID == "" {
		return m.Status
	}
	return m.ID + ": " + m.Status
}
