package dockerctl

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

func TestParsePullPolicy(t *testing.T) {
	tests := []struct {
		in      string
		want    PullPolicy
		wantErr string
	}{
		{in: "always", want: PullAlways},
		{in: "missing", want: PullMissing},
		{in: "never", want: PullNever},
		{in: "", want: PullMissing},
		{in: "Never", wantErr: `invalid --pull value "Never": use always, missing or never`},
		{in: "if-not-present", wantErr: `invalid --pull value "if-not-present"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePullPolicy(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParsePullPolicy(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

const testImage = "us-docker.pkg.dev/palette-images/palette/spectro-registry:4.7.0"

// A pull as a 20.10 engine streams it, byte counters included.
var goodPull = []string{
	`{"status":"Pulling from palette-images/palette/spectro-registry","id":"4.7.0"}`,
	`{"status":"Pulling fs layer","progressDetail":{},"id":"a1b2"}`,
	`{"status":"Downloading","progressDetail":{"current":1024,"total":4096},"progress":"[=>   ]","id":"a1b2"}`,
	`{"status":"Downloading","progressDetail":{"current":4096,"total":4096},"progress":"[=====]","id":"a1b2"}`,
	`{"status":"Download complete","progressDetail":{},"id":"a1b2"}`,
	`{"status":"Pull complete","progressDetail":{},"id":"a1b2"}`,
	`{"status":"Digest: sha256:0123"}`,
	`{"status":"Status: Downloaded newer image for ` + testImage + `"}`,
}

const goodPullLines = `4.7.0: Pulling from palette-images/palette/spectro-registry
a1b2: Pulling fs layer
a1b2: Download complete
a1b2: Pull complete
Digest: sha256:0123
Status: Downloaded newer image for ` + testImage + "\n"

func TestEnsureImage(t *testing.T) {
	tests := []struct {
		name         string
		policy       PullPolicy
		present      bool
		stream       []string
		wantPull     bool
		wantErr      string
		wantIs       error
		wantProgress string
	}{
		{name: "missing, present", policy: PullMissing, present: true},
		{name: "default is missing", policy: "", present: true},
		{name: "never, present", policy: PullNever, present: true},
		{
			name: "never, absent", policy: PullNever, wantIs: ErrImageMissing,
			wantErr: `image "` + testImage + `" is not present and --pull is never: ` +
				`load it with "docker load -i FILE" (or --image-archive), or use --pull missing`,
		},
		{name: "missing, absent", policy: PullMissing, stream: goodPull, wantPull: true, wantProgress: goodPullLines},
		{name: "always, present", policy: PullAlways, present: true, stream: goodPull, wantPull: true, wantProgress: goodPullLines},
		{
			name: "error in the stream", policy: PullMissing, wantPull: true,
			stream: []string{
				`{"status":"Pulling from palette-images/palette/spectro-registry","id":"4.7.0"}`,
				`{"errorDetail":{"message":"manifest for ` + testImage + ` not found: manifest unknown"},"error":"manifest for ` + testImage + ` not found: manifest unknown"}`,
				`{"status":"never read"}`,
			},
			wantErr:      `pull image "` + testImage + `": manifest for ` + testImage + ` not found: manifest unknown`,
			wantProgress: "4.7.0: Pulling from palette-images/palette/spectro-registry\n",
		},
		{
			name: "error only as the legacy field", policy: PullAlways, wantPull: true,
			stream: []string{`{"error":"Get \"https://us-docker.pkg.dev/v2/\": dial tcp: lookup us-docker.pkg.dev: no such host"}`},
			wantErr: "lookup us-docker.pkg.dev: no such host\nif this host cannot pull from that registry, load the image from a tarball instead: " +
				"on a host that can, run `docker pull " + testImage + " && docker save " + testImage + " | gzip > spectro-registry.tar.gz`, " +
				"copy the file here and run init again with --image-archive spectro-registry.tar.gz",
		},
		{
			name: "stream cut short", policy: PullAlways, wantPull: true,
			stream:  []string{`{"status":"Pulling fs layer","id":"a1b2"`},
			wantErr: `pull image "` + testImage + `": the engine stopped answering mid-pull (unexpected EOF)`,
		},
		{name: "unknown policy", policy: "sometimes", present: true, wantErr: `unknown pull policy "sometimes"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pulled := false
			c := newFakeClient(&fakeEngine{
				imageInspectFunc: func(_ context.Context, ref string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
					if !tt.present {
						return client.ImageInspectResult{}, notFound("image", ref)
					}
					return client.ImageInspectResult{}, nil
				},
				imagePullFunc: func(_ context.Context, ref string, _ client.ImagePullOptions) (client.ImagePullResponse, error) {
					if ref != testImage {
						t.Errorf("pulled %q, want %q", ref, testImage)
					}
					pulled = true
					return pullOf(tt.stream...), nil
				},
			})
			var progress strings.Builder
			err := c.EnsureImage(context.Background(), testImage, tt.policy, &progress)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("EnsureImage: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
			if pulled != tt.wantPull {
				t.Errorf("pulled = %v, want %v", pulled, tt.wantPull)
			}
			if got := progress.String(); got != tt.wantProgress {
				t.Errorf("progress =\n%s\nwant\n%s", got, tt.wantProgress)
			}
		})
	}
}

// progressFunc is an io.Writer that calls a function on each write.
type progressFunc func(p []byte)

func (f progressFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }

func TestEnsureImageCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The registry sends one status line and then stalls, as a slow or
	// firewalled registry does; the operator presses Ctrl-C after seeing it.
	pr, pw := io.Pipe()
	defer pw.Close()
	c := newFakeClient(&fakeEngine{
		imageInspectFunc: func(_ context.Context, ref string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
			return client.ImageInspectResult{}, notFound("image", ref)
		},
		imagePullFunc: func(context.Context, string, client.ImagePullOptions) (client.ImagePullResponse, error) {
			go io.WriteString(pw, `{"status":"Pulling fs layer","id":"a1b2"}`+"\n")
			return &pullStream{r: pr}, nil
		},
	})
	err := c.EnsureImage(ctx, testImage, PullMissing, progressFunc(func([]byte) { cancel() }))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
}

func TestImageExists(t *testing.T) {
	boom := errors.New("engine exploded")
	tests := []struct {
		name    string
		err     error
		want    bool
		wantErr error
	}{
		{name: "present", want: true},
		{name: "absent", err: notFound("image", "r:1"), want: false},
		{name: "engine failure", err: boom, wantErr: boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFakeClient(&fakeEngine{
				imageInspectFunc: func(context.Context, string, ...client.ImageInspectOption) (client.ImageInspectResult, error) {
					return client.ImageInspectResult{}, tt.err
				},
			})
			got, err := c.ImageExists(context.Background(), "r:1")
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ImageExists = %v, want %v", got, tt.want)
			}
		})
	}
}
