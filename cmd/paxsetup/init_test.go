package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

// newTestFactory runs commands in-process with buffers for streams, the real
// engine, and no terminal.
func newTestFactory(env map[string]string) (*Factory, *bytes.Buffer, *bytes.Buffer) {
	f := DefaultFactory()
	var out, errb bytes.Buffer
	f.IO = &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb}
	f.Getenv = func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
	return f, &out, &errb
}

// TestInitBadInput feeds each kind of bad input to init and checks that it
// fails with one line naming the flag and the fix, before writing anything
// or starting a container.
func TestInitBadInput(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	work := t.TempDir()
	goodAdmin := writeSecret(t, work, "admin.pw", adminPW)
	goodReader := writeSecret(t, work, "reader.pw", readerPW)
	short := writeSecret(t, work, "short.pw", "elevenchars")

	held, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	heldPort := held.Addr().(*net.TCPAddr).Port

	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		noYes    bool
		wantCode int
		wantErr  []string
	}{
		{name: "underscore in host", args: []string{"--host", "reg_1.local"}, wantCode: exitUsage, wantErr: []string{"--host", `"_"`}},
		{name: "space in host", args: []string{"--host", "bad host"}, wantCode: exitUsage, wantErr: []string{"--host", "bad host"}},
		{name: "port out of range", args: []string{"--port", "70000"}, wantCode: exitUsage, wantErr: []string{"--port", "1 to 65535"}},
		{name: "port zero", args: []string{"--port", "0"}, wantCode: exitUsage, wantErr: []string{"--port"}},
		{name: "port in use", args: []string{"--port", strconv.Itoa(heldPort)}, wantCode: exitUsage, wantErr: []string{"--port", "held by process", "paxsetup.test", "choose another port"}},
		{name: "pull never without the image", args: []string{"--image", "paxsetup-absent:nope"}, wantCode: exitError, wantErr: []string{"--pull", "docker load"}},
		{name: "unknown mode", args: []string{"--mode", "bogus"}, wantCode: exitUsage, wantErr: []string{"--mode", "selfsigned"}},
		{name: "colon in user", args: []string{"--admin-user", "a:b"}, wantCode: exitUsage, wantErr: []string{"--admin-user", ":"}},
		{name: "same user twice", args: []string{"--reader-user", "admin"}, wantCode: exitUsage, wantErr: []string{"--reader-user"}},
		{name: "password over 72 bytes", args: []string{"--admin-password-file", ""}, env: map[string]string{"PAXSETUP_ADMIN_PASSWORD": strings.Repeat("x", 73)}, wantCode: exitUsage, wantErr: []string{"--admin-password-file", "72"}},
		{name: "password under 12 characters", args: []string{"--admin-password-file", short}, wantCode: exitUsage, wantErr: []string{"--admin-password-file", "12"}},
		{name: "missing password file", args: []string{"--reader-password-file", filepath.Join(work, "nope")}, wantCode: exitUsage, wantErr: []string{"--reader-password-file", "nope"}},
		{name: "days zero", args: []string{"--days", "0"}, wantCode: exitUsage, wantErr: []string{"--days"}},
		{name: "no terminal and no --yes", noYes: true, wantCode: exitUsage, wantErr: []string{"--yes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := uniqueName(t)
			removeContainer(t, cli, name)
			dir := filepath.Join(t.TempDir(), "setup")
			args := []string{"init", "--dir", dir, "--host", "registry.local", "--port", strconv.Itoa(freePort(t)),
				"--image", img, "--pull", "never", "--name", name,
				"--admin-password-file", goodAdmin, "--reader-password-file", goodReader}
			if !tt.noYes {
				args = append(args, "--yes")
			}
			args = append(args, tt.args...)
			f, _, errb := newTestFactory(tt.env)
			code := Main(args, f)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, tt.wantCode, errb)
			}
			msg := strings.TrimSpace(errb.String())
			if strings.Count(msg, "\n") != 0 {
				t.Errorf("want a one-line error, got:\n%s", msg)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("the setup folder was created by a refused run")
			}
			_, err := cli.ContainerInspect(context.Background(), name, client.ContainerInspectOptions{})
			if err == nil {
				t.Errorf("a refused run started container %s", name)
			}
		})
	}
}
