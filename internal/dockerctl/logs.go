package dockerctl

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// Logs returns the last tail lines of the container's stdout and stderr,
// interleaved as written (all lines when tail <= 0).
func (c *Client) Logs(ctx context.Context, id string, tail int) (string, error) {
	ctx, cancel := bound(ctx, 0)
	defer cancel()
	// A container with a terminal has a single raw stream; without one the
	// engine multiplexes stdout and stderr with frame headers.
	ins, err := c.api.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return "", fmt.Errorf("read logs of container %q: %w", id, classify(err))
	}
	opts := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true}
	if tail > 0 {
		opts.Tail = strconv.Itoa(tail)
	}
	rc, err := c.api.ContainerLogs(ctx, id, opts)
	if err != nil {
		return "", fmt.Errorf("read logs of container %q: %w", id, classify(err))
	}
	defer rc.Close()
	var buf bytes.Buffer
	if cfg := ins.Container.Config; cfg != nil && cfg.Tty {
		_, err = io.Copy(&buf, rc)
	} else {
		_, err = stdcopy.StdCopy(&buf, &buf, rc)
	}
	if err != nil {
		return buf.String(), fmt.Errorf("read logs of container %q: %w", id, err)
	}
	return buf.String(), nil
}

// LogOptions choose what StreamLogs shows.
type LogOptions struct {
	// Tail is how many lines from the end to show; "all" or "" for all.
	Tail string
	// Follow keeps streaming new lines until ctx ends.
	Follow bool
	// Timestamps prefixes each line with the engine's time stamp.
	Timestamps bool
	// Since shows only lines newer than this.
	Since time.Time
}

// StreamLogs copies the container's logs to stdout and stderr, each stream
// to its own writer, following new lines when opts.Follow until ctx ends
// (which is not an error).
func (c *Client) StreamLogs(ctx context.Context, id string, opts LogOptions, stdout, stderr io.Writer) error {
	ins, err := c.api.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return fmt.Errorf("read logs of container %q: %w", id, classify(err))
	}
	lo := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: opts.Follow, Timestamps: opts.Timestamps}
	if opts.Tail != "" && opts.Tail != "all" {
		n, err := strconv.Atoi(opts.Tail)
		if err != nil || n < 0 {
			return fmt.Errorf("read logs of container %q: tail %q is not a number of lines or \"all\"", id, opts.Tail)
		}
		lo.Tail = opts.Tail
	}
	if !opts.Since.IsZero() {
		lo.Since = opts.Since.Format(time.RFC3339Nano)
	}
	rc, err := c.api.ContainerLogs(ctx, id, lo)
	if err != nil {
		if ctx.Err() != nil && opts.Follow {
			return nil
		}
		return fmt.Errorf("read logs of container %q: %w", id, classify(err))
	}
	defer rc.Close()
	stop := context.AfterFunc(ctx, func() { _ = rc.Close() })
	defer stop()
	if cfg := ins.Container.Config; cfg != nil && cfg.Tty {
		_, err = io.Copy(stdout, rc)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, rc)
	}
	if err != nil && ctx.Err() != nil && opts.Follow {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read logs of container %q: %w", id, err)
	}
	return nil
}
