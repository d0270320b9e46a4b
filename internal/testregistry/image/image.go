// Package image builds the container image of the test stand-in for the
// vendor's spectro-registry, so end-to-end tests can run paxsetup against a
// registry that answers like the real one.
package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
)

// Repository is the image name Build tags its images with; the tag is a
// digest of the inputs.
const Repository = "paxsetup-testregistry"

// dockerfile lays the image out like the vendor's: the registry binary as
// entrypoint, serving the built-in default config unless given arguments.
const dockerfile = `FROM scratch
COPY registry /bin/registry
COPY config.yml /etc/spectro/config.yml
EXPOSE 5000
ENTRYPOINT ["/bin/registry"]
CMD ["serve", "/etc/spectro/config.yml"]
`

// inputsLabel carries the full input digest; the tag holds only a prefix.
const inputsLabel = "io.paxsetup.testregistry.inputs"

// buildMus serialise the builds of one image within one process, as
// lockBuilds does across processes: one per image, so that an image's long
// build (MinIO's takes minutes) holds up no other.
var buildMus sync.Map

// buildMu is the mutex of the images tagged repository.
func buildMu(repository string) *sync.Mutex {
	mu, _ := buildMus.LoadOrStore(repository, new(sync.Mutex))
	return mu.(*sync.Mutex)
}

// Build returns a reference to the test registry image on the engine behind
// cli, building it first when the engine has no image for the current
// sources. Build output (the go build and the engine's build log) goes to
// logw, which may be nil.
//
// The image is built from source with the go command on PATH, so Build
// needs the module's source tree; it finds it from this package's location.
func Build(ctx context.Context, cli *client.Client, logw io.Writer) (ref string, err error) {
	if logw == nil {
		logw = io.Discard
	}
	src, err := sourceDir(ctx)
	if err != nil {
		return "", err
	}
	modRoot, err := moduleRoot(src)
	if err != nil {
		return "", err
	}
	goVersion, err := goEnv(ctx, modRoot, "GOVERSION")
	if err != nil {
		return "", err
	}
	ver, err := cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return "", fmt.Errorf("query docker engine version: %w", err)
	}
	if ver.Os != "linux" {
		return "", fmt.Errorf("docker engine runs %s containers; the test registry image needs a linux engine", ver.Os)
	}

	inputs, err := readInputs(src, modRoot)
	if err != nil {
		return "", err
	}
	digest := inputsDigest(inputs, goVersion, ver.Arch)
	ref = Repository + ":" + digest[:12]

	mu := buildMu(Repository)
	mu.Lock()
	defer mu.Unlock()

	if found, err := hasImage(ctx, cli, ref); err != nil {
		return "", err
	} else if found {
		return ref, nil
	}
	unlock, err := lockBuilds(ctx, Repository)
	if err != nil {
		return "", err
	}
	defer unlock()
	// Another process may have built it while this one waited for the lock.
	if found, err := hasImage(ctx, cli, ref); err != nil {
		return "", err
	} else if found {
		return ref, nil
	}

	tmp, err := os.MkdirTemp("", "paxsetup-testregistry-")
	if err != nil {
		return "", fmt.Errorf("create build folder: %w", err)
	}
	defer os.RemoveAll(tmp)

	bin := filepath.Join(tmp, "registry")
	if err := goBuild(ctx, modRoot, src, bin, ver.Arch, logw); err != nil {
		return "", err
	}
	buildContext, err := contextTar(bin, inputs["config.yml"])
	if err != nil {
		return "", err
	}
	if err := imageBuild(ctx, cli, buildContext, ref, digest, logw); err != nil {
		return "", err
	}
	return ref, nil
}

func hasImage(ctx context.Context, cli *client.Client, ref string) (bool, error) {
	_, err := cli.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return true, nil
	case cerrdefs.IsNotFound(err):
		return false, nil
	default:
		return false, fmt.Errorf("inspect image %s: %w", ref, err)
	}
}

// sourceDir returns the folder of the registry program, the parent of this
// package.
func sourceDir(ctx context.Context) (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		dir := filepath.Dir(filepath.Dir(file))
		if _, err := os.Stat(filepath.Join(dir, "main.go")); err == nil {
			return dir, nil
		}
	}
	// Under -trimpath the caller's file is a module path, not a file; ask
	// the go command, which resolves it from the working directory's module.
	pkg := path.Dir(reflect.TypeFor[inputSet]().PkgPath())
	out, err := exec.CommandContext(ctx, "go", "list", "-f", "{{.Dir}}", pkg).Output()
	if err != nil {
		return "", fmt.Errorf("find source folder of %s with go list: %w", pkg, commandError(err))
	}
	return strings.TrimSpace(string(out)), nil
}

// moduleRoot returns the nearest folder at or above dir holding go.mod.
func moduleRoot(dir string) (string, error) {
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("find go.mod above %s: none found", dir)
		}
		d = parent
	}
}

func goEnv(ctx context.Context, dir, name string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "env", name)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %w", name, commandError(err))
	}
	return strings.TrimSpace(string(out)), nil
}

// inputSet maps an input's name to its content.
type inputSet map[string][]byte

// readInputs reads what the image is made from: the files of the registry
// program (its tests aside) and the module's go.mod and go.sum, which pin
// the distribution code compiled in.
func readInputs(src, modRoot string) (inputSet, error) {
	entries, err := os.ReadDir(src)
	if err != nil {
		return nil, fmt.Errorf("read registry source folder: %w", err)
	}
	inputs := inputSet{}
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read registry source: %w", err)
		}
		inputs[e.Name()] = b
	}
	if _, ok := inputs["config.yml"]; !ok {
		return nil, fmt.Errorf("read registry source: no config.yml in %s", src)
	}
	for _, name := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(modRoot, name))
		if err != nil {
			return nil, fmt.Errorf("read module file: %w", err)
		}
		inputs["module/"+name] = b
	}
	return inputs, nil
}

// inputsDigest returns the hex SHA-256 of everything that decides the
// image's content. Each field is length-prefixed so that moving bytes from
// one field to the next changes the digest.
func inputsDigest(inputs inputSet, goVersion, arch string) string {
	h := sha256.New()
	field := func(s string) {
		fmt.Fprintf(h, "%d:%s", len(s), s)
	}
	field("go " + goVersion)
	field("arch " + arch)
	field(dockerfile)
	names := make([]string, 0, len(inputs))
	for name := range inputs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		field(name)
		field(string(inputs[name]))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// goBuild compiles the registry program static, for the engine's
// architecture, so it runs in a scratch image.
func goBuild(ctx context.Context, modRoot, src, out, arch string, logw io.Writer) error {
	rel, err := filepath.Rel(modRoot, src)
	if err != nil {
		return fmt.Errorf("locate registry source in module: %w", err)
	}
	pkg := "./" + filepath.ToSlash(rel)
	fmt.Fprintf(logw, "go build %s (linux/%s)\n", pkg, arch)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = modRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	var stderr bytes.Buffer
	cmd.Stdout = logw
	cmd.Stderr = io.MultiWriter(logw, &stderr)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w: %s", pkg, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// contextTar returns the build context: the Dockerfile, the binary and the
// default config. Fixed times keep the engine's COPY cache keyed on content.
func contextTar(bin string, config []byte) (*bytes.Buffer, error) {
	binary, err := os.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("read built registry binary: %w", err)
	}
	return tarFiles([]tarFile{
		{"Dockerfile", 0o644, []byte(dockerfile)},
		{"registry", 0o755, binary},
		{"config.yml", 0o644, config},
	})
}

// imageBuild sends the context to the engine and reads its message stream
// to the end: the engine reports a failed build in the stream, not in the
// HTTP status.
func imageBuild(ctx context.Context, cli *client.Client, buildContext io.Reader, ref, digest string, logw io.Writer) error {
	res, err := cli.ImageBuild(ctx, buildContext, client.ImageBuildOptions{
		Tags:        []string{ref},
		Remove:      true,
		ForceRemove: true,
		Labels:      map[string]string{inputsLabel: digest},
	})
	if err != nil {
		return fmt.Errorf("build image %s: %w", ref, err)
	}
	defer res.Body.Close()

	dec := json.NewDecoder(res.Body)
	for {
		var msg jsonstream.Message
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("build image %s: read engine output: %w", ref, err)
		}
		if msg.Error != nil {
			return fmt.Errorf("build image %s: %s", ref, strings.TrimSpace(msg.Error.Message))
		}
		switch {
		case msg.Stream != "":
			io.WriteString(logw, msg.Stream)
		case msg.Status != "":
			fmt.Fprintln(logw, msg.Status)
		}
	}
	// An engine that drops the connection mid-build ends the stream without
	// an error message; the tag is the proof the build finished.
	if _, err := cli.ImageInspect(ctx, ref); err != nil {
		return fmt.Errorf("build image %s: engine reported no error but the image is missing: %w", ref, err)
	}
	return nil
}

// commandError adds the command's stderr to err when the command ran and
// failed.
func commandError(err error) error {
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && len(exitErr.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(exitErr.Stderr)))
	}
	return err
}
