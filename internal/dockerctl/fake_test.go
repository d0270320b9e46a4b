package dockerctl

import (
	"context"
	"fmt"
	"io"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// fakeEngine stands in for the moby client. Calling a method whose function
// field is nil panics, so a test notices a call it did not expect.
type fakeEngine struct {
	engine

	clientVersion        string
	imageLoadFunc        func(ctx context.Context, input io.Reader, options ...client.ImageLoadOption) (client.ImageLoadResult, error)
	serverVersionFunc    func(ctx context.Context, options client.ServerVersionOptions) (client.ServerVersionResult, error)
	infoFunc             func(ctx context.Context, options client.InfoOptions) (client.SystemInfoResult, error)
	imageInspectFunc     func(ctx context.Context, ref string, options ...client.ImageInspectOption) (client.ImageInspectResult, error)
	imagePullFunc        func(ctx context.Context, ref string, options client.ImagePullOptions) (client.ImagePullResponse, error)
	containerCreateFunc  func(ctx context.Context, options client.ContainerCreateOptions) (client.ContainerCreateResult, error)
	containerStartFunc   func(ctx context.Context, id string, options client.ContainerStartOptions) (client.ContainerStartResult, error)
	containerStopFunc    func(ctx context.Context, id string, options client.ContainerStopOptions) (client.ContainerStopResult, error)
	containerRemoveFunc  func(ctx context.Context, id string, options client.ContainerRemoveOptions) (client.ContainerRemoveResult, error)
	containerRenameFunc  func(ctx context.Context, id string, options client.ContainerRenameOptions) (client.ContainerRenameResult, error)
	containerInspectFunc func(ctx context.Context, id string, options client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	containerListFunc    func(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
	containerLogsFunc    func(ctx context.Context, id string, options client.ContainerLogsOptions) (client.ContainerLogsResult, error)
}

func (f *fakeEngine) ClientVersion() string { return f.clientVersion }

func (f *fakeEngine) ImageLoad(ctx context.Context, input io.Reader, options ...client.ImageLoadOption) (client.ImageLoadResult, error) {
	return f.imageLoadFunc(ctx, input, options...)
}

func (f *fakeEngine) ServerVersion(ctx context.Context, options client.ServerVersionOptions) (client.ServerVersionResult, error) {
	return f.serverVersionFunc(ctx, options)
}

func (f *fakeEngine) Info(ctx context.Context, options client.InfoOptions) (client.SystemInfoResult, error) {
	return f.infoFunc(ctx, options)
}

func (f *fakeEngine) ImageInspect(ctx context.Context, ref string, options ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	return f.imageInspectFunc(ctx, ref, options...)
}

func (f *fakeEngine) ImagePull(ctx context.Context, ref string, options client.ImagePullOptions) (client.ImagePullResponse, error) {
	return f.imagePullFunc(ctx, ref, options)
}

func (f *fakeEngine) ContainerCreate(ctx context.Context, options client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
	return f.containerCreateFunc(ctx, options)
}

func (f *fakeEngine) ContainerStart(ctx context.Context, id string, options client.ContainerStartOptions) (client.ContainerStartResult, error) {
	return f.containerStartFunc(ctx, id, options)
}

func (f *fakeEngine) ContainerStop(ctx context.Context, id string, options client.ContainerStopOptions) (client.ContainerStopResult, error) {
	return f.containerStopFunc(ctx, id, options)
}

func (f *fakeEngine) ContainerRemove(ctx context.Context, id string, options client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
	return f.containerRemoveFunc(ctx, id, options)
}

func (f *fakeEngine) ContainerRename(ctx context.Context, id string, options client.ContainerRenameOptions) (client.ContainerRenameResult, error) {
	return f.containerRenameFunc(ctx, id, options)
}

func (f *fakeEngine) ContainerInspect(ctx context.Context, id string, options client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	return f.containerInspectFunc(ctx, id, options)
}

func (f *fakeEngine) ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error) {
	return f.containerListFunc(ctx, options)
}

func (f *fakeEngine) ContainerLogs(ctx context.Context, id string, options client.ContainerLogsOptions) (client.ContainerLogsResult, error) {
	return f.containerLogsFunc(ctx, id, options)
}

// newFakeClient is a *Client over f, as Connect would return over a real
// engine.
func newFakeClient(f *fakeEngine) *Client {
	return &Client{api: f, host: "unix:///test/docker.sock", endpoint: Endpoint{Host: "unix:///test/docker.sock", Source: "default socket"}}
}

// daemonError is shaped like the client's errors for an engine response: the
// same prefix, and a containerd errdefs class that cerrdefs.Is* recognises.
func daemonError(class interface{ WithMessage(string) error }, msg string) error {
	return fmt.Errorf("Error response from daemon: %w", class.WithMessage(msg))
}

// notFound is what the client returns for a 404 from the engine.
func notFound(what, id string) error {
	return daemonError(cerrdefs.ErrNotFound, fmt.Sprintf("No such %s: %s", what, id))
}

// pullStream is the pull response: pull reads the raw stream, so
// JSONMessages and Wait are left to the nil embedded interface.
type pullStream struct {
	client.ImagePullResponse
	r io.ReadCloser
}

func (p *pullStream) Read(b []byte) (int, error) { return p.r.Read(b) }
func (p *pullStream) Close() error               { return p.r.Close() }

// pullOf returns a pull stream holding the given JSON records, one per line
// as the engine sends them.
func pullOf(records ...string) *pullStream {
	return &pullStream{r: io.NopCloser(strings.NewReader(strings.Join(records, "\n") + "\n"))}
}
