package dockerctl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

var (
	// ErrEngineUnreachable means no Docker engine answers at the configured
	// address: it is not running, or DOCKER_HOST points elsewhere.
	ErrEngineUnreachable = errors.New("docker engine unreachable")
	// ErrPermission means the engine's socket exists but this user may not
	// use it.
	ErrPermission = errors.New("permission denied on the docker engine socket")
	// ErrImageMissing means the image is absent and the pull policy forbids
	// pulling it.
	ErrImageMissing = errors.New("image missing")
	// ErrNotFound means the container or image does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the name is taken by another container.
	ErrConflict = errors.New("name in use")
	// ErrPortInUse means the container could not start because its host port
	// is held by another container or process; ContainersPublishing names
	// the container, if it is one.
	ErrPortInUse = errors.New("port in use")
	// ErrPrivilegedPort means a rootless engine may not publish a port below
	// 1024 (net.ipv4.ip_unprivileged_port_start).
	ErrPrivilegedPort = errors.New("privileged port refused by a rootless engine")
)

// engineError carries a sentinel for callers to branch on, a message for the
// operator, and the engine's own error for anyone who needs the detail.
type engineError struct {
	kind error
	msg  string
	err  error
}

func (e *engineError) Error() string { return e.msg }

func (e *engineError) Unwrap() []error {
	if e.err == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.err}
}

// daemonPrefix starts every error the engine returns in a response; inside
// our own "start container ..." context it only adds noise.
const daemonPrefix = "Error response from daemon: "

// classify tags engine errors that callers branch on with a sentinel, keeping
// the engine's message, which names the object and often the culprit.
func classify(err error) error {
	var kind error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		return &engineError{kind: ErrEngineTimeout, msg: fmt.Sprintf("the engine did not answer within %s: check it with `docker info` and its log (journalctl -u docker)", callTimeout), err: err}
	case cerrdefs.IsNotFound(err):
		kind = ErrNotFound
	case cerrdefs.IsConflict(err):
		kind = ErrConflict
	case strings.Contains(err.Error(), "cannot expose privileged port"):
		// Rootless Docker's port driver; its own message already names the
		// sysctl to change, so it is kept and a shorter way out added.
		return &engineError{kind: ErrPrivilegedPort, msg: strings.TrimPrefix(err.Error(), daemonPrefix) +
			" (or re-run with --port 8443)", err: err}
	case isPortInUse(err):
		kind = ErrPortInUse
	default:
		return err
	}
	return &engineError{kind: kind, msg: strings.TrimPrefix(err.Error(), daemonPrefix), err: err}
}

// isPortInUse recognises the two ways an engine reports a taken host port:
// "Bind for 0.0.0.0:443 failed: port is already allocated" (another container)
// and "listen tcp4 0.0.0.0:443: bind: address already in use" (a host process,
// seen through docker-proxy). Neither has a typed error in the API.
func isPortInUse(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "port is already allocated") || strings.Contains(msg, "address already in use")
}

// connectError turns a failed ping into an error that says what to do. The
// client reports a refused connection and a permission problem only as text
// (its errConnectionFailed carries no cause for either), hence the string
// matches. Other connection failures (TLS settings, a non-Docker server at
// DOCKER_HOST) keep the client's message: "start the engine" would mislead.
func connectError(host string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("connect to Docker engine at %s: %w", host, err)
	}
	failed := client.IsErrConnectionFailed(err)
	if errors.Is(err, os.ErrPermission) || (failed && strings.Contains(err.Error(), "permission denied")) {
		return &engineError{
			kind: ErrPermission,
			msg: fmt.Sprintf("permission denied on the Docker engine socket %s: "+
				"add your user to the docker group (sudo usermod -aG docker $USER) and log in again, or run with sudo", host),
			err: err,
		}
	}
	var dnsErr *net.DNSError
	detail := ""
	switch {
	case errors.Is(err, os.ErrNotExist):
		detail = " (no such socket)"
	case errors.Is(err, syscall.ECONNREFUSED):
		detail = " (connection refused)"
	case errors.As(err, &dnsErr):
		detail = " (" + dnsErr.Error() + ")"
	case failed && strings.Contains(strings.ToLower(err.Error()), "cannot connect to the docker daemon"):
		// The client's words for a refused or timed-out connection.
	default:
		return fmt.Errorf("connect to Docker engine at %s: %w", host, err)
	}
	return &engineError{
		kind: ErrEngineUnreachable,
		msg: fmt.Sprintf("cannot connect to the Docker engine at %s%s: "+
			"start the Docker engine (sudo systemctl start docker) or set DOCKER_HOST", host, detail),
		err: err,
	}
}

// callTimeout bounds an engine call that a healthy engine answers at once
// (everything but pulls, image loads and followed logs): a frozen engine, a
// stuck dockerd or storage driver, must end a run with an error, not hang
// it past every --timeout. A variable, so that tests can shorten it.
var callTimeout = 60 * time.Second

// ErrEngineTimeout means the engine took longer than callTimeout to answer.
var ErrEngineTimeout = errors.New("the engine did not answer in time")

// bound gives one engine call its deadline: callTimeout, plus extra for a
// call that waits on purpose (a stop's grace period).
func bound(ctx context.Context, extra time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, callTimeout+extra)
}
