package image

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/moby/client"
)

// moduleProgram is a server the tests run from a scratch image: one
// program built from the Go module proxy at a pinned version.
type moduleProgram struct {
	// Module and Version pin the source; Package is the main package in
	// it, relative to the module's root (".", "./cmd/pebble").
	Module, Version, Package string
	// Binary is the program's file name in the build context.
	Binary string
	// Repository names the images; the tag is a digest of the inputs.
	Repository string
	Dockerfile string
	// BuildFlags are go build's flags, besides -o.
	BuildFlags []string
	// Inputs are further inputs of the image (a config file), by name;
	// they go into the build context too.
	Inputs inputSet
	// ModuleFiles are files of the module the image also holds: build
	// context name to path in the module.
	ModuleFiles map[string]string
}

// build returns the program's image on the engine behind cli, building it
// first when the engine has none for these inputs, this Go and the
// engine's architecture, and the module's folder. Build output goes to
// logw, which may be nil.
func (p moduleProgram) build(ctx context.Context, cli *client.Client, logw io.Writer) (ref string, mod module, err error) {
	if logw == nil {
		logw = io.Discard
	}
	if mod, err = downloadModule(ctx, p.Module+"@"+p.Version); err != nil {
		return "", mod, err
	}
	goVersion, err := goEnv(ctx, mod.Dir, "GOVERSION")
	if err != nil {
		return "", mod, err
	}
	ver, err := cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return "", mod, fmt.Errorf("query docker engine version: %w", err)
	}
	if ver.Os != "linux" {
		return "", mod, fmt.Errorf("docker engine runs %s containers; the %s image needs a linux engine", ver.Os, p.Binary)
	}
	// The module's h1 sum stands for every file of it; go.sum pins the rest.
	inputs := inputSet{
		"module":     []byte(p.Module + "@" + p.Version + " " + mod.Sum),
		"build":      []byte(strings.Join(p.BuildFlags, " ")),
		"Dockerfile": []byte(p.Dockerfile),
	}
	for name, data := range p.Inputs {
		inputs[name] = data
	}
	digest := inputsDigest(inputs, goVersion, ver.Arch)
	ref = p.Repository + ":" + digest[:12]

	mu := buildMu(p.Repository)
	mu.Lock()
	defer mu.Unlock()
	if found, err := hasImage(ctx, cli, ref); err != nil || found {
		return ref, mod, err
	}
	unlock, err := lockBuilds(ctx, p.Repository)
	if err != nil {
		return "", mod, err
	}
	defer unlock()
	if found, err := hasImage(ctx, cli, ref); err != nil || found {
		return ref, mod, err
	}

	tmp, err := os.MkdirTemp("", p.Repository+"-")
	if err != nil {
		return "", mod, fmt.Errorf("create build folder: %w", err)
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, p.Binary)
	fmt.Fprintf(logw, "go build %s@%s %s (linux/%s)\n", p.Module, p.Version, p.Package, ver.Arch)
	// Built in the module's own folder, with its own go.mod and go.sum:
	// exactly the dependencies that version pins, fetched from the module
	// proxy.
	args := append(append([]string{"build"}, p.BuildFlags...), "-o", bin, p.Package)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = mod.Dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+ver.Arch, "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false")
	var stderr bytes.Buffer
	cmd.Stdout = logw
	cmd.Stderr = io.MultiWriter(logw, &stderr)
	if err := cmd.Run(); err != nil {
		return "", mod, fmt.Errorf("go build %s: %w: %s", p.Binary, err, strings.TrimSpace(stderr.String()))
	}
	files := []tarFile{{"Dockerfile", 0o644, []byte(p.Dockerfile)}}
	for _, name := range slices.Sorted(maps.Keys(p.Inputs)) {
		files = append(files, tarFile{name, 0o644, p.Inputs[name]})
	}
	add := func(name, path string, mode int64) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read %s for the %s image: %w", name, p.Binary, err)
		}
		files = append(files, tarFile{name, mode, b})
		return nil
	}
	if err := add(p.Binary, bin, 0o755); err != nil {
		return "", mod, err
	}
	for _, name := range slices.Sorted(maps.Keys(p.ModuleFiles)) {
		if err := add(name, filepath.Join(mod.Dir, p.ModuleFiles[name]), 0o644); err != nil {
			return "", mod, err
		}
	}
	buildContext, err := tarFiles(files)
	if err != nil {
		return "", mod, err
	}
	if err := imageBuild(ctx, cli, buildContext, ref, digest, logw); err != nil {
		return "", mod, err
	}
	return ref, mod, nil
}
