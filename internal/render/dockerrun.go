package render

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/paxsetup/paxsetup/internal/dockerctl"
)

// ErrSecretInCommand is returned by DockerRun for a spec whose environment
// looks like it holds a secret: a printed command ends up in shell history,
// tickets and screenshots.
var ErrSecretInCommand = errors.New("refusing to print a secret in a docker command")

// secretEnvWords mark variables that hold secrets (REGISTRY_STORAGE_S3_SECRETKEY,
// REGISTRY_HTTP_SECRET, AWS_SECRET_ACCESS_KEY, ...).
var secretEnvWords = []string{"SECRET", "PASSWORD", "ACCESSKEY", "ACCESS_KEY", "TOKEN", "CREDENTIAL"}

// DockerRun returns the `docker run` command that creates the container
// spec describes, one option per line, each word quoted for a POSIX shell so
// that it can be pasted or run with `sh -c` as it is.
func DockerRun(spec dockerctl.Spec) (string, error) {
	if spec.Image == "" || spec.Name == "" {
		return "", errors.New("docker run: the spec has no image or no name")
	}
	for _, kv := range spec.Env {
		k, _, _ := strings.Cut(kv, "=")
		for _, w := range secretEnvWords {
			if strings.Contains(strings.ToUpper(k), w) {
				return "", fmt.Errorf("%w: variable %s", ErrSecretInCommand, k)
			}
		}
	}
	lines := [][]string{{"docker", "run", "--detach"}, {"--name", spec.Name}}
	if spec.RestartAlways {
		lines = append(lines, []string{"--restart", "always"})
	}
	if spec.HostPort != 0 {
		ctr := spec.ContainerPort
		if ctr == 0 {
			ctr = dockerctl.DefaultContainerPort
		}
		p := strconv.Itoa(spec.HostPort) + ":" + strconv.Itoa(ctr)
		if spec.HostIP != "" {
			host := spec.HostIP
			if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
				host = "[" + host + "]"
			}
			p = host + ":" + p
		}
		lines = append(lines, []string{"--publish", p})
	}
	if spec.Network != "" {
		lines = append(lines, []string{"--network", spec.Network})
		for _, a := range spec.Aliases {
			lines = append(lines, []string{"--network-alias", a})
		}
	}
	maxSize, maxFiles := spec.LogMaxSize, spec.LogMaxFiles
	if maxSize == "" {
		maxSize = dockerctl.DefaultLogMaxSize
	}
	if maxFiles <= 0 {
		maxFiles = dockerctl.DefaultLogMaxFiles
	}
	lines = append(lines, []string{"--log-driver", "json-file", "--log-opt", "max-size=" + maxSize, "--log-opt", "max-file=" + strconv.Itoa(maxFiles)})
	for _, m := range spec.Mounts {
		if spec.Relabel {
			// --mount has no SELinux option; --volume's Z relabels, as the
			// engine's Binds do for paxsetup.
			if strings.Contains(m.Source, ":") || strings.Contains(m.Target, ":") {
				return "", fmt.Errorf("docker run: bind mount %s -> %s: a path with ':' cannot be relabelled for SELinux", m.Source, m.Target)
			}
			mode := "rw,Z"
			if m.ReadOnly {
				mode = "ro,Z"
			}
			lines = append(lines, []string{"--volume", m.Source + ":" + m.Target + ":" + mode})
			continue
		}
		opt := "type=bind," + csvField("source="+m.Source) + "," + csvField("target="+m.Target)
		if m.ReadOnly {
			opt += ",readonly"
		}
		lines = append(lines, []string{"--mount", opt})
	}
	for _, kv := range spec.Env {
		lines = append(lines, []string{"--env", kv})
	}
	keys := make([]string, 0, len(spec.Labels))
	for k := range spec.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lines = append(lines, []string{"--label", k + "=" + spec.Labels[k]})
	}
	// docker would read such an image reference as an option.
	if strings.HasPrefix(spec.Image, "-") {
		return "", fmt.Errorf("docker run: image %q starts with '-'", spec.Image)
	}
	lines = append(lines, append([]string{spec.Image}, spec.Cmd...))

	var b strings.Builder
	for i, words := range lines {
		if i > 0 {
			b.WriteString(" \\\n  ")
		}
		for j, w := range words {
			if j > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(ShellQuote(w))
		}
	}
	b.WriteByte('\n')
	return b.String(), nil
}

// csvField quotes one field of docker's --mount value, which docker splits
// as CSV: a path holding a comma or a quote would otherwise be cut.
func csvField(s string) string {
	if !strings.ContainsAny(s, ",\"\n\r") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// ShellQuote returns s as one word for a POSIX shell: unchanged when it
// holds only characters no shell treats specially, else in single quotes,
// inside which nothing is special but the quote itself (closed, escaped
// with a backslash, and reopened).
func ShellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./-_", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
