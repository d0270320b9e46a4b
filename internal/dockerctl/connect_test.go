package dockerctl

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
)

// TestConnectErrors points the real client at sockets that fail the ways a
// host does, because the client reports refusal and permission problems only
// as text: a fake error would prove nothing about the mapping.
func TestConnectErrors(t *testing.T) {
	// Unix socket paths are limited to about 100 bytes; t.TempDir can be
	// longer under some test runners.
	dir, err := os.MkdirTemp("", "dockerctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	missing := filepath.Join(dir, "missing.sock")

	// A socket file nobody listens on: what a crashed engine leaves behind.
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()

	// Root may open any socket, so a mode-0660 socket cannot deny these
	// tests; the dialer fails the way connect(2) does for a user outside
	// the docker group.
	denied := func(context.Context, string, string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", syscall.EACCES)}
	}

	tests := []struct {
		name     string
		opts     []client.Opt
		wantIs   error
		wantText []string
	}{
		{
			name:     "no socket",
			opts:     []client.Opt{client.WithHost("unix://" + missing)},
			wantIs:   ErrEngineUnreachable,
			wantText: []string{"unix://" + missing, "no such socket", "start the Docker engine (sudo systemctl start docker) or set DOCKER_HOST"},
		},
		{
			name:     "connection refused",
			opts:     []client.Opt{client.WithHost("unix://" + stale)},
			wantIs:   ErrEngineUnreachable,
			wantText: []string{"unix://" + stale, "start the Docker engine (sudo systemctl start docker) or set DOCKER_HOST"},
		},
		{
			name:     "permission denied",
			opts:     []client.Opt{client.WithHost("unix:///var/run/docker.sock"), client.WithDialContext(denied)},
			wantIs:   ErrPermission,
			wantText: []string{"unix:///var/run/docker.sock", "sudo usermod -aG docker $USER", "log in again", "run with sudo"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := connect(context.Background(), tt.opts...)
			if err == nil {
				c.Close()
				t.Fatal("connect succeeded, want an error")
			}
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("error %q is not %v", err, tt.wantIs)
			}
			for _, want := range tt.wantText {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestConnectErrorClasses(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		wantIs  []error
		wantNot []error
	}{
		{
			name:   "refused",
			err:    &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)},
			wantIs: []error{ErrEngineUnreachable, syscall.ECONNREFUSED},
		},
		{
			name:   "denied",
			err:    &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", syscall.EACCES)},
			wantIs: []error{ErrPermission, syscall.EACCES},
		},
		{
			name:   "unknown host",
			err:    &net.DNSError{Err: "no such host", Name: "docker.example", IsNotFound: true},
			wantIs: []error{ErrEngineUnreachable},
		},
		{
			name:   "cancelled",
			err:    context.Canceled,
			wantIs: []error{context.Canceled},
		},
		{
			name:    "TLS settings",
			err:     errors.New("the server probably has client authentication (--tlsverify) enabled; check your TLS client certification settings: remote error: tls: bad certificate"),
			wantNot: []error{ErrEngineUnreachable, ErrPermission},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := connectError("unix:///var/run/docker.sock", tt.err)
			for _, want := range tt.wantIs {
				if !errors.Is(err, want) {
					t.Errorf("error %q is not %v", err, want)
				}
			}
			for _, not := range tt.wantNot {
				if errors.Is(err, not) {
					t.Errorf("error %q is %v", err, not)
				}
			}
			if !strings.Contains(err.Error(), tt.err.Error()) && len(tt.wantNot) > 0 {
				t.Errorf("error %q hides the client's message %q", err, tt.err)
			}
		})
	}
}

func TestEngine(t *testing.T) {
	tests := []struct {
		name       string
		secOpts    []string
		components []system.ComponentVersion
		want       func(*EngineInfo)
	}{
		{name: "rootful", secOpts: []string{"name=seccomp,profile=default", "name=cgroupns"}, want: func(*EngineInfo) {}},
		{
			name: "rootless", secOpts: []string{"name=seccomp,profile=default", "name=rootless", "name=cgroupns"},
			want: func(e *EngineInfo) { e.Rootless = true },
		},
		{
			name: "SELinux", secOpts: []string{"name=seccomp,profile=default", "name=selinux"},
			want: func(e *EngineInfo) { e.SELinux = true },
		},
		{
			// Podman 4's compatible service, rootless, on Fedora.
			name:       "Podman",
			secOpts:    []string{"name=rootless", "name=seccomp,profile=/usr/share/containers/seccomp.json", "name=selinux"},
			components: []system.ComponentVersion{{Name: "Podman Engine", Version: "4.3.1"}},
			want:       func(e *EngineInfo) { e.Rootless, e.SELinux, e.Podman = true, true, true },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeEngine{
				clientVersion: "1.41",
				serverVersionFunc: func(context.Context, client.ServerVersionOptions) (client.ServerVersionResult, error) {
					return client.ServerVersionResult{Version: "20.10.24", APIVersion: "1.41", Os: "linux", Arch: "amd64", Components: tt.components}, nil
				},
				infoFunc: func(context.Context, client.InfoOptions) (client.SystemInfoResult, error) {
					return client.SystemInfoResult{Info: system.Info{OperatingSystem: "Debian GNU/Linux 12 (bookworm)", SecurityOptions: tt.secOpts}}, nil
				},
			}
			got, err := newFakeClient(f).Engine(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := EngineInfo{
				Host: "unix:///test/docker.sock", Source: "default socket",
				Version: "20.10.24", APIVersion: "1.41", ClientAPIVersion: "1.41", OS: "linux", Arch: "amd64",
				OperatingSystem: "Debian GNU/Linux 12 (bookworm)",
			}
			tt.want(&want)
			if got != want {
				t.Errorf("Engine = %+v, want %+v", got, want)
			}
		})
	}
}
