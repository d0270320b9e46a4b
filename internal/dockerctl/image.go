package dockerctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/distribution/reference"

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
	ctx, cancel := bound(ctx, 0)
	defer cancel()
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
	ctx, cancel := bound(ctx, 0)
	defer cancel()
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
// HTTP 200, so stopping early would miss it. Credentials come from the
// docker CLI's config.json, as `docker pull` would use them.
func (c *Client) pull(ctx context.Context, ref string, progress io.Writer) error {
	auth, note, err := registryAuth(ctx, c.configDir, ref)
	if err != nil {
		return fmt.Errorf("pull image %q: %w", ref, err)
	}
	if note != "" {
		fmt.Fprintln(progress, note)
	}
	stream, err := c.api.ImagePull(ctx, ref, client.ImagePullOptions{RegistryAuth: auth})
	if err != nil {
		return fmt.Errorf("pull image %q: %w%s", ref, pullError(err), airGapHint(ref))
	}
	defer stream.Close()
	// Closing the stream is what unblocks a Decode waiting on a stalled
	// registry when the operator presses Ctrl-C.
	stop := context.AfterFunc(ctx, func() { _ = stream.Close() })
	defer stop()

	display := newPullDisplay(progress)
	dec := json.NewDecoder(stream)
	for {
		var m pullMessage
		if err := dec.Decode(&m); err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return fmt.Errorf("pull image %q: %w", ref, ctxErr)
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			// The engine went away mid-pull (restarted, crashed, killed
			// by the OOM killer): the stream ends inside a record.
			return fmt.Errorf("pull image %q: the engine stopped answering mid-pull (%w): check it with `docker info` and run again; layers already pulled are kept", ref, err)
		}
		if m.Error != nil && m.Error.Message != "" {
			return fmt.Errorf("pull image %q: %w%s%s", ref, m.Error, authHint(m.Error.Message, ref), airGapHint(ref))
		}
		if m.ErrorText != "" {
			return fmt.Errorf("pull image %q: %s%s%s", ref, m.ErrorText, authHint(m.ErrorText, ref), airGapHint(ref))
		}
		display.show(m.Message)
	}
}

// airGapHint is the way in for a host that cannot reach the image's
// registry (air-gapped, or no credentials there): a tarball made where the
// registry can be reached.
func airGapHint(ref string) string {
	return fmt.Sprintf("\nif this host cannot pull from that registry, load the image from a tarball instead: "+
		"on a host that can, run `docker pull %s && docker save %s | gzip > spectro-registry.tar.gz`, "+
		"copy the file here and run init again with --image-archive spectro-registry.tar.gz", ref, ref)
}

// pullError adds the way out to an engine refusing the pull outright.
func pullError(err error) error {
	if cerrdefs.IsUnauthorized(err) || cerrdefs.IsPermissionDenied(err) {
		return fmt.Errorf("%w: log in with `docker login` (paxsetup uses the credentials it saves), or load the image with --image-archive", err)
	}
	return classify(err)
}

// authHint explains a refused pull: registries answer "denied" or
// "unauthorized" both for a missing login and for an image that does not
// exist.
func authHint(msg, ref string) string {
	low := strings.ToLower(msg)
	if strings.Contains(low, "unauthorized") || strings.Contains(low, "denied") || strings.Contains(low, "authentication required") {
		domain := ref
		if named, err := reference.ParseNormalizedNamed(ref); err == nil {
			domain = reference.Domain(named)
		}
		return fmt.Sprintf(" (log in with `docker login %s`: paxsetup uses the credentials it saves; or check the image name; or load the image with --image-archive)", domain)
	}
	return ""
}

// ImageConfig is what an image says about how it runs: paxsetup reads it
// rather than assuming the vendor's layout.
type ImageConfig struct {
	// ID is the image's ID ("sha256:...").
	ID         string
	Entrypoint []string
	Cmd        []string
	// ExposedPorts are the ports the image declares, e.g. "5000/tcp",
	// sorted.
	ExposedPorts []string
	// User is the image's USER: "", "root", "1000", "1000:1000",
	// "registry"...
	User string
	OS   string
	Arch string
}

// ImageConfig reads the image's configuration; an absent image is
// ErrNotFound.
func (c *Client) ImageConfig(ctx context.Context, ref string) (ImageConfig, error) {
	ctx, cancel := bound(ctx, 0)
	defer cancel()
	res, err := c.api.ImageInspect(ctx, ref)
	if err != nil {
		return ImageConfig{}, fmt.Errorf("inspect image %q: %w", ref, classify(err))
	}
	out := ImageConfig{ID: res.ID, OS: res.Os, Arch: res.Architecture}
	if cfg := res.Config; cfg != nil {
		out.Entrypoint = cfg.Entrypoint
		out.Cmd = cfg.Cmd
		out.User = cfg.User
		for p := range cfg.ExposedPorts {
			out.ExposedPorts = append(out.ExposedPorts, p)
		}
		slices.Sort(out.ExposedPorts)
	}
	return out, nil
}

// TCPPort returns the image's one exposed TCP port, or 0 when it exposes
// none or several.
func (ic ImageConfig) TCPPort() int {
	port := 0
	for _, p := range ic.ExposedPorts {
		num, proto, _ := strings.Cut(p, "/")
		if proto != "" && proto != "tcp" {
			continue
		}
		n, err := strconv.Atoi(num)
		if err != nil || port != 0 {
			return 0
		}
		port = n
	}
	return port
}

// ImageUser is the user an image runs as, as far as its USER says without
// looking inside the image.
type ImageUser struct {
	// Root is set for no USER, "root", "0" and "0:..." forms.
	Root bool
	// UID and GID are set when USER gives them as numbers; GID is -1 when
	// USER gives no group (the container's group then comes from the
	// image's /etc/passwd, or is 0).
	UID, GID int
	// Numeric is set when UID is known.
	Numeric bool
	// Name is USER as written, for messages.
	Name string
}

// ParseImageUser reads an image's USER ("", "root", "1000", "1000:1000",
// "registry", "registry:registry").
func ParseImageUser(user string) ImageUser {
	u := ImageUser{Name: user, GID: -1}
	name, group, hasGroup := strings.Cut(user, ":")
	if name == "" || name == "root" || name == "0" {
		u.Root = true
		u.Numeric = true
		u.UID = 0
	} else if uid, err := strconv.Atoi(name); err == nil && uid >= 0 {
		u.UID, u.Numeric = uid, true
	}
	if hasGroup {
		if gid, err := strconv.Atoi(group); err == nil && gid >= 0 {
			u.GID = gid
		}
	}
	return u
}
