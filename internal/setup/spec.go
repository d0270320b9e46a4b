package setup

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"sort"

	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/render"
)

// containerSpec is the registry container: the vendor's documented
// `docker run` for the mode, with the folders this setup owns.
func containerSpec(l Layout, a config.Answers, imageID string) (dockerctl.Spec, error) {
	spec, files, err := baseSpec(l, a)
	if err != nil {
		return spec, err
	}
	h, err := specHash(spec, imageID, files)
	if err != nil {
		return spec, err
	}
	spec.Labels[LabelSpec] = h
	return spec, nil
}

// baseSpec is the container for answers a, without the label that pins the
// files' content, and the files that label covers.
func baseSpec(l Layout, a config.Answers) (dockerctl.Spec, []string, error) {
	cc, err := containerConfigFor(l, a)
	if err != nil {
		return dockerctl.Spec{}, nil, err
	}
	return dockerctl.Spec{
		Name:          a.Name,
		Image:         a.Image,
		Env:           cc.Env,
		Cmd:           cc.Cmd,
		HostIP:        a.Bind,
		HostPort:      a.Port,
		ContainerPort: render.ContainerPort,
		RestartAlways: true,
		Network:       a.Network,
		Aliases:       aliases(a),
		Mounts:        cc.Mounts,
		Labels:        map[string]string{LabelManaged: "true", LabelDir: l.Dir},
	}, cc.Files, nil
}

// aliases are the container's names on --network: the registry's host name,
// so that containers there reach it as clients elsewhere do.
func aliases(a config.Answers) []string {
	if a.Network == "" {
		return nil
	}
	return []string{a.Host}
}

// DockerRunFor is the `docker run` command equivalent to the container an
// init run with answers a would start, for showing before anything is
// written.
func DockerRunFor(dir string, a config.Answers) (string, error) {
	spec, _, err := baseSpec(Layout{Dir: dir}, a)
	if err != nil {
		return "", err
	}
	return render.DockerRun(spec)
}

// specHash identifies everything the running registry depends on, files
// included: the registry reads its certificate only at start, so a new
// certificate needs a new container.
func specHash(spec dockerctl.Spec, imageID string, files []string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "image=%s\nid=%s\nport=%s:%d->%d\n", spec.Image, imageID, spec.HostIP, spec.HostPort, spec.ContainerPort)
	fmt.Fprintf(h, "cmd=%q\nenv=%q\nrestart=%v\n", spec.Cmd, spec.Env, spec.RestartAlways)
	for _, m := range spec.Mounts {
		fmt.Fprintf(h, "mount=%s:%s:%v\n", m.Source, m.Target, m.ReadOnly)
	}
	// Only a spec on a network says so, so that the containers of setups
	// without one keep their hash and are not replaced by an upgrade.
	if spec.Network != "" {
		fmt.Fprintf(h, "network=%s aliases=%q\n", spec.Network, spec.Aliases)
	}
	keys := make([]string, 0, len(spec.Labels))
	for k := range spec.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "label=%s=%s\n", k, spec.Labels[k])
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(h, "file=%s:%x\n", f, sum)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
