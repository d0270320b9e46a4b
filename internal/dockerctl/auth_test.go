package dockerctl

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
)

// fakeHelper installs docker-credential-NAME on PATH as a shell script that
// answers like a real helper: the server on stdin, JSON on stdout, and the
// "not found" message for anything else.
func fakeHelper(t *testing.T, name, server, user, secret string) {
	t.Helper()
	bin := t.TempDir()
	script := `#!/bin/sh
[ "$1" = get ] || exit 2
read -r server
if [ "$server" = "` + server + `" ]; then
  printf '{"ServerURL":"%s","Username":"` + user + `","Secret":"` + secret + `"}' "$server"
  exit 0
fi
echo "credentials not found in native keychain"
exit 1
`
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-"+name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func decodeAuth(t *testing.T, header string) registry.AuthConfig {
	t.Helper()
	raw, err := base64.URLEncoding.DecodeString(header)
	if err != nil {
		t.Fatalf("X-Registry-Auth is not base64url: %v", err)
	}
	var ac registry.AuthConfig
	if err := json.Unmarshal(raw, &ac); err != nil {
		t.Fatal(err)
	}
	return ac
}

func basic(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

func TestRegistryAuth(t *testing.T) {
	const vendor = "us-docker.pkg.dev/palette-images/palette/spectro-registry:4.7.0"
	tests := []struct {
		name     string
		config   string
		helper   func(t *testing.T)
		ref      string
		want     *registry.AuthConfig
		wantNote string
	}{
		{
			name:   "auths: base64 user:password",
			config: `{"auths":{"us-docker.pkg.dev":{"auth":"` + basic("_json_key", "p:a:ss") + `"}}}`,
			ref:    vendor,
			want:   &registry.AuthConfig{Username: "_json_key", Password: "p:a:ss", ServerAddress: "us-docker.pkg.dev"},
		},
		{
			name:   "auths key written as a URL",
			config: `{"auths":{"https://us-docker.pkg.dev/v2/":{"auth":"` + basic("u", "p") + `"}}}`,
			ref:    vendor,
			want:   &registry.AuthConfig{Username: "u", Password: "p", ServerAddress: "us-docker.pkg.dev"},
		},
		{
			name:   "Docker Hub's key",
			config: `{"auths":{"https://index.docker.io/v1/":{"auth":"` + basic("hubuser", "hubpw") + `"}}}`,
			ref:    "registry:2",
			want:   &registry.AuthConfig{Username: "hubuser", Password: "hubpw", ServerAddress: dockerHubServer},
		},
		{
			name:   "another registry's login is not sent",
			config: `{"auths":{"gcr.io":{"auth":"` + basic("u", "p") + `"}}}`,
			ref:    vendor,
		},
		{
			name:   "credHelpers: the helper for the registry",
			config: `{"auths":{"us-docker.pkg.dev":{}},"credHelpers":{"us-docker.pkg.dev":"pax-test"}}`,
			helper: func(t *testing.T) { fakeHelper(t, "pax-test", "us-docker.pkg.dev", "oauth2accesstoken", "ya29.token") },
			ref:    vendor,
			want:   &registry.AuthConfig{Username: "oauth2accesstoken", Password: "ya29.token", ServerAddress: "us-docker.pkg.dev"},
		},
		{
			name:   "credsStore: an identity token",
			config: `{"credsStore":"pax-store"}`,
			helper: func(t *testing.T) { fakeHelper(t, "pax-store", "us-docker.pkg.dev", "<token>", "refresh-token") },
			ref:    vendor,
			want:   &registry.AuthConfig{IdentityToken: "refresh-token", ServerAddress: "us-docker.pkg.dev"},
		},
		{
			name:   "credsStore holding nothing for the registry",
			config: `{"credsStore":"pax-store"}`,
			helper: func(t *testing.T) { fakeHelper(t, "pax-store", "gcr.io", "u", "p") },
			ref:    vendor,
		},
		{
			name:     "a helper that is not installed",
			config:   `{"credHelpers":{"us-docker.pkg.dev":"pax-absent"}}`,
			ref:      vendor,
			wantNote: `config.json names the credential helper "pax-absent" but docker-credential-pax-absent is not on PATH; pulling us-docker.pkg.dev without credentials`,
		},
		{
			name:     "auth that is not base64",
			config:   `{"auths":{"us-docker.pkg.dev":{"auth":"%%%"}}}`,
			ref:      vendor,
			wantNote: "is not base64 of user:password; pulling without credentials (run docker login us-docker.pkg.dev again)",
		},
		{
			name:     "config.json that is not JSON",
			config:   `{"auths":`,
			ref:      vendor,
			wantNote: "is not valid JSON",
		},
		{name: "no config.json", ref: vendor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.config != "" {
				writeFile(t, filepath.Join(dir, "config.json"), []byte(tt.config))
			}
			if tt.helper != nil {
				tt.helper(t)
			}
			header, note, err := registryAuth(context.Background(), dir, tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantNote != "" && !strings.Contains(note, tt.wantNote) {
				t.Errorf("note = %q, want %q", note, tt.wantNote)
			}
			if tt.wantNote == "" && note != "" {
				t.Errorf("unexpected note %q", note)
			}
			if tt.want == nil {
				if header != "" {
					t.Errorf("credentials sent: %+v", decodeAuth(t, header))
				}
				return
			}
			if header == "" {
				t.Fatal("no credentials sent")
			}
			if got := decodeAuth(t, header); got != *tt.want {
				t.Errorf("credentials = %+v, want %+v", got, *tt.want)
			}
		})
	}
}

// TestPullSendsCredentials checks the credentials reach the engine with the
// pull, and that a refused pull says how to log in.
func TestPullSendsCredentials(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "config.json"), []byte(`{"auths":{"us-docker.pkg.dev":{"auth":"`+basic("u", "pw")+`"}}}`))
	var got string
	c := newFakeClient(&fakeEngine{
		imagePullFunc: func(_ context.Context, _ string, opts client.ImagePullOptions) (client.ImagePullResponse, error) {
			got = opts.RegistryAuth
			return pullOf(`{"errorDetail":{"message":"unauthorized: authentication failed"},"error":"unauthorized: authentication failed"}`), nil
		},
	})
	c.configDir = dir
	err := c.EnsureImage(context.Background(), testImage, PullAlways, nil)
	if err == nil || !strings.Contains(err.Error(), "docker login us-docker.pkg.dev") || !strings.Contains(err.Error(), "--image-archive") {
		t.Errorf("error = %v, want the login and archive hints", err)
	}
	if ac := decodeAuth(t, got); ac.Username != "u" || ac.Password != "pw" {
		t.Errorf("engine got credentials %+v", ac)
	}
}
