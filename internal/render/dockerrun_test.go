package render

import (
	"encoding/csv"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/paxsetup/paxsetup/internal/dockerctl"
)

func sampleSpec() dockerctl.Spec {
	return dockerctl.Spec{
		Name:          "spectro-registry",
		Image:         "us-docker.pkg.dev/palette-images/palette/spectro-registry:4.7.0",
		Cmd:           []string{"serve", ConfigFile},
		Env:           []string{"REGISTRY_LOG_LEVEL=info"},
		HostPort:      443,
		ContainerPort: ContainerPort,
		RestartAlways: true,
		Mounts: []dockerctl.Mount{
			{Source: "/srv/pax setup/auth", Target: ContainerAuthDir, ReadOnly: true},
			{Source: "/srv/it's,odd/data", Target: ContainerDataDir},
		},
		Labels: map[string]string{"io.paxsetup.managed": "true", "io.paxsetup.dir": "/srv/pax setup"},
	}
}

func TestDockerRunGolden(t *testing.T) {
	got, err := DockerRun(sampleSpec())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "docker-run.golden", []byte(got))
}

// TestDockerRunWordsSurviveTheShell hands the printed command to a real
// shell with docker replaced by printf, and checks every word arrives as it
// was meant, the --mount values included once docker splits them as CSV.
func TestDockerRunWordsSurviveTheShell(t *testing.T) {
	spec := sampleSpec()
	spec.HostIP = "::1"
	spec.Env = append(spec.Env, "REGISTRY_X=$(touch /tmp/pwned) `id` \"q\" 'q' ; | & * ~ \\")
	cmd, err := DockerRun(spec)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sh", "-c", "docker() { printf '%s\\n' \"$@\"; }\n"+cmd).Output()
	if err != nil {
		t.Fatalf("sh: %v\n%s", err, cmd)
	}
	words := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	want := []string{"run", "--detach", "--name", "spectro-registry", "--restart", "always", "--publish", "[::1]:443:5000"}
	for i, w := range want {
		if i >= len(words) || words[i] != w {
			t.Fatalf("word %d = %q, want %q; all: %q", i, at(words, i), w, words)
		}
	}
	var mounts [][]string
	for i, w := range words {
		if w == "--mount" {
			rec, err := csv.NewReader(strings.NewReader(words[i+1])).Read()
			if err != nil {
				t.Fatalf("docker cannot split --mount %q: %v", words[i+1], err)
			}
			mounts = append(mounts, rec)
		}
	}
	if len(mounts) != 2 || mounts[0][1] != "source=/srv/pax setup/auth" || mounts[0][3] != "readonly" ||
		mounts[1][1] != "source=/srv/it's,odd/data" || len(mounts[1]) != 3 {
		t.Errorf("mounts as docker reads them = %q", mounts)
	}
	if !contains(words, spec.Env[1]) {
		t.Errorf("the hostile env value did not arrive as one word: %q", words)
	}
	if got := words[len(words)-3:]; got[0] != spec.Image || got[1] != "serve" || got[2] != ConfigFile {
		t.Errorf("image and command = %q", got)
	}
}

func TestDockerRunRelabel(t *testing.T) {
	spec := sampleSpec()
	spec.Relabel = true
	got, err := DockerRun(spec)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "docker-run-relabel.golden", []byte(got))
	spec.Mounts[0].Source = "/srv/a:b"
	if _, err := DockerRun(spec); err == nil || !strings.Contains(err.Error(), "SELinux") {
		t.Errorf("a ':' in a relabelled path: err = %v", err)
	}
}

func TestDockerRunRefusesSecrets(t *testing.T) {
	for _, kv := range []string{"REGISTRY_STORAGE_S3_SECRETKEY=x", "REGISTRY_STORAGE_S3_ACCESSKEY=x", "REGISTRY_HTTP_SECRET=x", "ADMIN_PASSWORD=x"} {
		spec := sampleSpec()
		spec.Env = []string{kv}
		_, err := DockerRun(spec)
		if !errors.Is(err, ErrSecretInCommand) {
			t.Errorf("%s: err = %v, want ErrSecretInCommand", kv, err)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for _, s := range []string{"", "plain", "a b", "it's", "'", "''", "$HOME", "a\nb", "\\", "-rf", "🔑"} {
		out, err := exec.Command("sh", "-c", "printf %s "+ShellQuote(s)).Output()
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if string(out) != s {
			t.Errorf("ShellQuote(%q) = %s, the shell read %q", s, ShellQuote(s), out)
		}
	}
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "(none)"
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestDockerRunNetwork(t *testing.T) {
	spec := sampleSpec()
	spec.Network, spec.Aliases = "acme net", []string{"registry.example.com"}
	got, err := DockerRun(spec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "--network 'acme net' \\\n  --network-alias registry.example.com") {
		t.Errorf("the command does not join the network under the host's name:\n%s", got)
	}
}
